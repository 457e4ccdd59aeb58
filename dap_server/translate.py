"""`pipeline-dap translate`: the run object(s) a cluster engine would submit, debug spec filled in.

Tekton (v1.15) validates `spec.debug.breakpoints` strictly (engine-protocols.md A1):
`onFailure: "enabled"` is mandatory whenever breakpoints are present, `beforeSteps`
holds raw, unique Task step names. Tekton has neither after-step breakpoints nor
"don't stop on failure"; the comments in the output say how the adapter honours them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import yaml

from dap_server.sources import SourceSet, locate
from dap_server.sources.argo import is_argo
from dap_server.sources.locate import Miss, StepTarget
from dap_server.sources.locations import BreakLocation, LocationError, SourceMap, parse_location
from dap_server.sources.model import Document, PipelineTask, SourceError, Step, TaskSpec


@dataclass
class StepPlan:
    """Breakpoints asked for on one task's steps."""

    before: set[str] = field(default_factory=set)
    after: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)


def bind(document: Document, loc: BreakLocation) -> tuple[PipelineTask | None, TaskSpec, Step | None]:
    """Which pipeline task / task spec / step a location means in this run."""
    target = locate(loc.path, loc.line)
    if isinstance(target, Miss):
        raise ValueError(target.message)
    for ptask, spec in _task_specs(document):
        if isinstance(target, StepTarget):
            for step in spec.steps:
                if step.span == target.step.span:
                    return ptask, spec, step
        elif ptask is not None and ptask.span == target.task.span:
            return ptask, spec, None
    what = f"step {target.step.name!r}" if isinstance(target, StepTarget) else f"task {target.task.name!r}"
    raise ValueError(f"{loc.path}:{loc.line}: {what} is not part of {document.key}")


def _task_specs(document: Document) -> list[tuple[PipelineTask | None, TaskSpec]]:
    if document.pipeline is not None:
        return [(t, t.task) for t in document.pipeline.all_tasks() if t.task is not None]
    if document.task is not None:
        return [(None, document.task)]
    return []


def debug_spec(spec: TaskSpec, plan: StepPlan, on_failure: bool) -> tuple[dict[str, Any], list[str]]:
    """`spec.debug` for one TaskRun, and the comments that explain it."""
    names = [s.name for s in spec.steps]
    comments: list[str] = []
    # Every named step gets a before-step pause: the adapter needs them to step, to pause on
    # demand, to honour breakpoints added while running and to skip steps after a failure.
    before_steps = [n for n in dict.fromkeys(names) if n]
    asked = sorted(plan.before)
    comments.append(
        "beforeSteps: every named step, so stepping, pause and breakpoints set while running work; "
        + (
            f"the adapter stops before {', '.join(asked)} and releases the others at once"
            if asked
            else "no before-step breakpoint was asked for, the adapter releases each pause at once"
        )
    )
    for name in sorted(plan.after):
        index = names.index(name)
        if index + 1 < len(names):
            comments.append(
                f"after-step breakpoint on {name}: Tekton has none; honoured as the before-step pause of "
                f"{names[index + 1] or f'step {index + 1}'}, shown as stopped after {name}"
            )
        else:
            comments.append(
                f"after-step breakpoint on {name} (the last step): Tekton cannot pause after the last step; "
                "the adapter reports its end (exit code, results) when the container terminates"
            )
    if any(not n for n in names):
        comments.append("unnamed steps cannot be named in beforeSteps: they run without before-step pauses")
    comments.append(
        'onFailure: "enabled" is mandatory whenever breakpoints are set (Tekton v1.15 validation); '
        + (
            "a failing step stops in the debugger (--on-failure)"
            if on_failure
            else "without --on-failure the adapter releases a failure pause with debug-fail-continue so the failure "
            "stands, and skips the later steps with debug-beforestep-fail-continue, as Tekton would without debug"
        )
    )
    return {"breakpoints": {"onFailure": "enabled", "beforeSteps": before_steps}}, comments


def translate(
    program: str,
    locations: list[str],
    on_failure: bool = False,
    obj: str | None = None,
    search_paths: list[str] | None = None,
    engine: str = "tekton",
    params: dict[str, str] | None = None,
) -> str:
    """The YAML text `translate` prints. Raises SourceError / ValueError for user mistakes."""
    program = os.path.realpath(program)
    sources = SourceSet(search_paths or [os.path.dirname(program)])
    document = sources.select(program, obj)
    sources.resolve(document)
    if is_argo(document):
        if engine != "argo":
            raise ValueError(f"{document.key} is an Argo document: use --engine argo")
        from dap_server.translate_argo import translate_argo

        source_map = SourceMap(program, search_paths or [], document)
        bound = [parse_location(text, source_map) for text in locations]
        return translate_argo(document, [b.path_line() for b in bound], on_failure)
    if engine != "tekton":
        raise ValueError(f"{document.key} is a Tekton document: use --engine tekton")
    plans: dict[str | None, StepPlan] = {}
    source_map = SourceMap(program, search_paths or [], document)
    for text in locations:
        try:
            loc = parse_location(text, source_map)
        except LocationError as exc:
            raise ValueError(str(exc)) from None
        ptask, spec, step = bind(document, loc)
        plan = plans.setdefault(ptask.name if ptask else None, StepPlan())
        if step is not None:
            (plan.after if loc.after else plan.before).add(step.name)
        elif spec.steps:
            if loc.after:
                plan.after.add(spec.steps[-1].name)
            else:
                plan.before.add(spec.steps[0].name)
    header = [
        f"pipeline-dap translate: {document.key} ({os.path.relpath(document.path)}) for the tekton engine",
        "Needs enable-api-fields: alpha in ConfigMap feature-flags (namespace tekton-pipelines).",
    ]
    if document.pipeline is not None:
        return _pipeline_output(document, plans, on_failure, header, params or {})
    assert document.task is not None
    return _taskrun_output(document, plans.get(None, StepPlan()), on_failure, header, params or {})


def _taskrun_output(
    document: Document, plan: StepPlan, on_failure: bool, header: list[str], params: dict[str, str]
) -> str:
    spec = document.task
    assert spec is not None
    debug, comments = debug_spec(spec, plan, on_failure)
    run: dict[str, Any] = {
        "apiVersion": "tekton.dev/v1",
        "kind": "TaskRun",
        "metadata": {
            "generateName": f"{spec.name}-debug-",
            "labels": {"app.kubernetes.io/managed-by": "pipeline-dap"},
        },
    }
    body: dict[str, Any] = {}
    if document.kind == "TaskRun":
        data = document.data()
        body.update({k: v for k, v in (data.get("spec") or {}).items() if k != "debug"})
        run["metadata"]["generateName"] = f"{document.name}-debug-"
    elif spec.document is not None and spec.document is document:
        body["taskRef"] = {"name": spec.name, "kind": "Task"}
    if params:
        body["params"] = [{"name": k, "value": v} for k, v in params.items()]
    body["timeout"] = "0s"
    body["debug"] = debug
    run["spec"] = body
    comments.append("timeout 0s: pauses count toward a TaskRun's timeout, so the debug run has none")
    return _emit(header + comments, [run])


def _pipeline_output(
    document: Document,
    plans: dict[str | None, StepPlan],
    on_failure: bool,
    header: list[str],
    params: dict[str, str],
) -> str:
    pipeline = document.pipeline
    assert pipeline is not None
    header = [
        *header,
        "Tekton does not pass spec.debug from a PipelineRun to its TaskRuns (tektoncd/pipeline#5184):",
        "this is the debug spec of each pipeline task's TaskRun, keyed by pipeline task name;",
        "the adapter creates those TaskRuns itself with it.",
    ]
    out: dict[str, Any] = {}
    notes: list[str] = []
    for ptask in pipeline.all_tasks():
        if ptask.task is None:
            continue
        plan = plans.get(ptask.name, StepPlan())
        debug, comments = debug_spec(ptask.task, plan, on_failure)
        out[ptask.name] = {"debug": debug, "timeout": "0s"}
        asked = sorted(plan.before | {f"{n} (after)" for n in plan.after})
        if asked:
            notes.append(f"{ptask.name}: breakpoints on {', '.join(asked)}")
        notes.extend(f"{ptask.name}: {c}" for c in comments if c.startswith("after-step"))
    common = debug_spec(TaskSpec("", document.span, [], document.node), StepPlan(), on_failure)[1]
    return _emit(header + notes + common[-1:], [out])


def _emit(comments: list[str], docs: list[dict[str, Any]]) -> str:
    lines = [f"# {c}" for c in comments]
    body = yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False)
    return "\n".join(lines) + "\n" + body


__all__ = ["SourceError", "bind", "translate"]
