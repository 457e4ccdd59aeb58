"""A PipelineRun on this machine: the DAG of pipeline tasks, each a TaskRun (`taskrun.py`).

Scheduling follows Tekton's PipelineRun reconciler:

- a task is ready when every task it depends on is done: `runAfter`, and every task whose
  results it uses (`$(tasks.t.results.r)` in params, `when` or matrix); ready tasks run
  concurrently;
- when ready, a task is skipped (TaskFinished reason "Skipped", message = Tekton's skipping
  reason, no TaskStarted) if the run is stopping (a task failed: no new task starts, running
  ones finish), if a timeout was reached, if a parent was skipped for any reason other than
  its `when` expressions ("Parent Tasks were skipped"), if a result it uses is missing because
  its producer did not succeed ("Results were missing"), or if its `when` expressions are
  false. A result missing from a producer that succeeded fails the run instead
  (InvalidTaskResultReference), as in Tekton. So, as in Tekton with
  when expressions scoped to the task, a task that only runs after (`runAfter`) a task
  skipped by `when` still runs; one that uses its results is skipped;
- `finally` tasks run after every other task is done, failed or skipped, concurrently; they
  see `$(tasks.t.status)` / `$(tasks.t.reason)` / `$(tasks.status)`; one that uses a missing
  result is skipped;
- `timeouts.tasks` ends running tasks (TaskRunTimeout) and skips the rest, finally still
  runs; `timeouts.pipeline` (or the run's overall timeout) ends everything, finally
  included; `timeouts.finally` ends running finally tasks;
- the run fails if a task or a finally task failed.

Matrix fan-out: one TaskRun per combination (`matrix.params` cross product, then `include`),
named `<run>-<task>-<i>`, thread name `<task> [i]`; string results of a matrixed task are
collected into arrays for the tasks that use them.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dap_server.engines.base import EngineError, EventSink, Output, TaskFinished
from dap_server.engines.local.common import (
    as_dict,
    as_list,
    child_name,
    duration,
    ensure_dir,
    named_values,
    resolve_params,
)
from dap_server.engines.local.taskrun import TaskOutcome, TaskRunner, TaskRunRequest
from dap_server.sources.model import PipelineSpec, PipelineTask
from dap_server.sources.tekton_vars import (
    Reference,
    Value,
    find_references,
    lookup,
    scalar_text,
    substitute,
    substitute_args,
    substitute_value,
)

WHEN_SKIP = "When Expressions evaluated to false"
PARENT_SKIP = "Parent Tasks were skipped"
MISSING_RESULTS_SKIP = "Results were missing"
STOPPING_SKIP = "PipelineRun was stopping"
CANCELLED_SKIP = "PipelineRun was cancelled"
PIPELINE_TIMEOUT_SKIP = "PipelineRun timeout has been reached"
TASKS_TIMEOUT_SKIP = "PipelineRun Tasks timeout has been reached"
FINALLY_TIMEOUT_SKIP = "PipelineRun Finally timeout has been reached"


@dataclass
class PipelineRunRequest:
    name: str  # the PipelineRun name
    spec: PipelineSpec
    folder: str  # the run folder: one sub-folder per TaskRun
    params: Mapping[str, Value]  # pipeline params, resolved (defaults applied)
    workspaces: Mapping[str, str | None]  # pipeline workspace -> folder (None: unbound optional)
    timeouts: Mapping[str, float | None] = field(default_factory=dict)  # pipeline / tasks / finally
    debug: bool = True
    namespace: str = "default"
    uid: str = ""


@dataclass
class _Node:
    task: PipelineTask
    data: dict[str, Any]
    parents: set[str]  # runAfter and result producers
    result_parents: set[str]
    state: str = "pending"  # pending, running, succeeded, failed, skipped
    reason: str = ""  # the TaskRun reason (or the skipping reason)
    skip_when: bool = False  # skipped by its own when expressions
    results: dict[str, Value] = field(default_factory=dict)
    runners: list[TaskRunner] = field(default_factory=list)


class PipelineRunner:
    def __init__(self, request: PipelineRunRequest, sink: EventSink) -> None:
        self.request = request
        self._sink = sink
        spec = request.spec
        self._where = f'Pipeline "{spec.name}" ({spec.span.path}:{spec.span.line})'
        self._nodes: dict[str, _Node] = {}
        self._warnings: list[str] = []
        for task in spec.all_tasks():
            self._nodes[task.name] = self._node(task)
        self._check()
        self._stopping = False  # a task failed: start no new task
        self._stop_skip: str | None = None  # why pending tasks are skipped (timeout, cancel)
        self._finally_skip: str | None = None
        self._cancelled = False
        self._timed_out = False
        self._invalid_reference_reason: str | None = None
        self._running: dict[str, asyncio.Task[None]] = {}

    # ---- preparation ---------------------------------------------------------------------

    def _node(self, task: PipelineTask) -> _Node:
        data = task.data()
        where = f'{self._where}, task "{task.name}"'
        if task.task is None:
            why = task.task_ref.error if task.task_ref is not None and task.task_ref.error else "not resolved"
            raise EngineError(f"{where}: its Task is {why}")
        if not task.task.steps:
            raise EngineError(f"{where}: a custom task (no steps) cannot be run locally")
        if any("cel" in as_dict(w) for w in as_list(data.get("when"))):
            raise EngineError(f"{where}: CEL when expressions are not supported by the local engine")
        if task.is_finally and data.get("runAfter"):
            raise EngineError(f"{where}: a finally task cannot use runAfter")
        if data.get("retries"):
            self._warnings.append(f"warning: {where}: retries are not run by the local engine (one attempt)\n")
        parents = {str(p) for p in as_list(data.get("runAfter"))}
        result_parents = {str(ref.parts[1]) for ref in _result_references(data)}
        return _Node(task, data, parents | result_parents, result_parents)

    def _check(self) -> None:
        """What Tekton's validation would reject, before anything runs."""
        regular = {t.name for t in self.request.spec.tasks}
        for name, node in self._nodes.items():
            where = f'{self._where}, task "{name}"'
            for parent in sorted(node.parents):
                if parent not in self._nodes:
                    raise EngineError(f'{where}: depends on "{parent}", which is not a task of the pipeline')
                if parent not in regular:
                    raise EngineError(f'{where}: cannot depend on finally task "{parent}"')
            if node.task.is_finally:
                node.parents = set()  # finally tasks wait for every task instead
            assert node.task.task is not None
            task_data = node.task.task.data()
            given = set(named_values(node.data.get("params"))) | {
                str(as_dict(p).get("name")) for p in as_list(as_dict(node.data.get("matrix")).get("params"))
            }
            for decl in map(as_dict, as_list(task_data.get("params"))):
                if "default" not in decl and str(decl.get("name")) not in given:
                    raise EngineError(
                        f'{where}: param "{decl.get("name")}" of Task "{node.task.task.name}" has no value'
                    )
            bound = {str(as_dict(w).get("name")) for w in as_list(node.data.get("workspaces"))}
            for decl in map(as_dict, as_list(task_data.get("workspaces"))):
                if not decl.get("optional") and str(decl.get("name")) not in bound:
                    raise EngineError(f'{where}: workspace "{decl.get("name")}" of its Task is not bound')
            for binding in map(as_dict, as_list(node.data.get("workspaces"))):
                if _pipeline_workspace(binding) not in self.request.workspaces:
                    raise EngineError(f'{where}: pipeline workspace "{_pipeline_workspace(binding)}" is not declared')
        seen: set[str] = set()
        path: list[str] = []

        def visit(name: str) -> None:
            if name in path:
                cycle = " -> ".join([*path[path.index(name) :], name])
                raise EngineError(f"{self._where}: tasks depend on each other in a cycle: {cycle}")
            if name in seen:
                return
            path.append(name)
            for parent in sorted(self._nodes[name].parents):
                visit(parent)
            path.pop()
            seen.add(name)

        for name in self._nodes:
            visit(name)

    # ---- values ----------------------------------------------------------------------------

    def _values(self, node: _Node | None = None) -> dict[str, Value]:
        request = self.request
        values: dict[str, Value] = {f"params.{k}": v for k, v in request.params.items()}
        values.update(
            {
                "context.pipelineRun.name": request.name,
                "context.pipelineRun.namespace": request.namespace,
                "context.pipelineRun.uid": request.uid,
                "context.pipeline.name": request.spec.name,
                "context.pipelineTask.retries": str((node.data.get("retries") if node else None) or 0),
            }
        )
        for name, folder in request.workspaces.items():
            values[f"workspaces.{name}.bound"] = "true" if folder else "false"
        regular = [n for n in self._nodes.values() if not n.task.is_finally]
        for other in self._nodes.values():
            for result, value in other.results.items():
                values[f"tasks.{other.task.name}.results.{result}"] = value
            if other.state in ("succeeded", "failed", "skipped"):
                status = {"succeeded": "Succeeded", "failed": "Failed"}.get(other.state, "None")
                values[f"tasks.{other.task.name}.status"] = status
                values[f"tasks.{other.task.name}.reason"] = other.reason
        states = {n.state for n in regular}
        if "failed" in states:
            values["tasks.status"] = "Failed"
        elif states <= {"succeeded"}:
            values["tasks.status"] = "Succeeded"
        elif states <= {"succeeded", "skipped"}:
            values["tasks.status"] = "Completed"
        else:
            values["tasks.status"] = "None"
        return values

    # ---- running ---------------------------------------------------------------------------

    async def run(self) -> tuple[bool, str, str]:
        """Run the pipeline; (succeeded, reason, message) for RunFinished."""
        for text in self._warnings:
            self._sink(Output(None, None, "console", text))
        loop = asyncio.get_running_loop()
        timers: list[asyncio.TimerHandle] = []
        timeouts = self.request.timeouts
        if timeouts.get("pipeline"):
            timers.append(loop.call_later(timeouts["pipeline"] or 0, self._pipeline_timeout))
        try:
            tasks_timeout = timeouts.get("tasks")
            tasks_timer = loop.call_later(tasks_timeout, self._tasks_timeout) if tasks_timeout else None
            try:
                await self._schedule([n for n in self._nodes.values() if not n.task.is_finally])
            finally:
                if tasks_timer is not None:
                    tasks_timer.cancel()  # it covers the tasks, not the finally tasks
            finals = [n for n in self._nodes.values() if n.task.is_finally]
            if finals:
                if timeouts.get("finally") and self._finally_skip is None:
                    timers.append(loop.call_later(timeouts["finally"] or 0, self._finally_timeout))
                self._stop_skip = self._finally_skip
                await self._schedule(finals)
        finally:
            for timer in timers:
                timer.cancel()
        self._report_results()
        return self._verdict()

    async def _schedule(self, nodes: list[_Node]) -> None:
        pending = list(nodes)
        while pending or self._running:
            progressed = True
            while progressed:
                progressed = False
                for node in list(pending):
                    if any(self._nodes[p].state in ("pending", "running") for p in node.parents):
                        continue
                    pending.remove(node)
                    progressed = True
                    skip = self._skip_reason(node)
                    invalid = self._invalid_reference(node) if skip is None else None
                    if skip is not None:
                        self._skip(node, skip)
                    elif invalid is not None:
                        self._invalid_reference_reason = "InvalidTaskResultReference"
                        self._fail_unstarted(node, invalid)
                    else:
                        self._launch(node)
            if not self._running:
                for node in pending:  # cannot happen in a DAG; never wait for ever
                    self._skip(node, PARENT_SKIP)
                return
            await asyncio.wait(list(self._running.values()), return_when=asyncio.FIRST_COMPLETED)

    def _skip_reason(self, node: _Node) -> str | None:
        if self._stop_skip is not None:
            return self._stop_skip
        if self._stopping and not node.task.is_finally:
            return STOPPING_SKIP
        for parent in node.parents:
            other = self._nodes[parent]
            if other.state == "skipped" and not other.skip_when:
                return PARENT_SKIP
        values = self._values(node)
        for ref in _result_references(node.data):
            producer = self._nodes[str(ref.parts[1])]
            if lookup(ref, values) is None and (producer.state != "succeeded" or node.task.is_finally):
                return MISSING_RESULTS_SKIP  # (a succeeded producer without it: see _invalid_reference)
        for expression in map(as_dict, as_list(node.data.get("when"))):
            given, _ = substitute(scalar_text(expression.get("input", "")), values)
            allowed, _ = substitute_args([scalar_text(v) for v in as_list(expression.get("values"))], values)
            operator = str(expression.get("operator", "in"))
            if (given in allowed) != (operator == "in"):
                node.skip_when = True
                return WHEN_SKIP
        return None

    def _invalid_reference(self, node: _Node) -> str | None:
        """A result a task uses that its producer, which succeeded, did not write: Tekton
        fails the PipelineRun (InvalidTaskResultReference) rather than skipping the task."""
        values = self._values(node)
        for ref in _result_references(node.data):
            if lookup(ref, values) is None:
                task, result = ref.parts[1], ref.parts[3]
                return f"Invalid task result reference: Could not find result with name {result} for task {task}"
        return None

    def _skip(self, node: _Node, reason: str) -> None:
        node.state, node.reason = "skipped", reason
        self._sink(TaskFinished(self._task_id(node), False, "Skipped", reason))

    def _task_id(self, node: _Node, instance: int | None = None) -> str:
        suffix = f"-{node.task.name}" + (f"-{instance}" if instance is not None else "")
        return child_name(self.request.name, suffix)

    def _launch(self, node: _Node) -> None:
        values = self._values(node)
        try:
            combinations = self._combinations(node, values)
            params = self._params(node, values)
            workspaces = self._workspaces(node, values)
            context = _pipeline_context(values)
            timeout = duration(node.data.get("timeout"), f'task "{node.task.name}"')
            assert node.task.task is not None
            requests = []
            for instance, combination in enumerate(combinations) if combinations is not None else [(None, {})]:
                task_id = self._task_id(node, instance)
                requests.append(
                    TaskRunRequest(
                        name=task_id,
                        display_name=node.task.name if instance is None else f"{node.task.name} [{instance}]",
                        spec=node.task.task,
                        folder=os.path.join(self.request.folder, task_id),
                        params={**params, **combination},
                        workspaces=workspaces,
                        context=context,
                        pipeline_task=node.task.name,
                        instance=instance,
                        timeout=timeout,
                        debug=self.request.debug,
                        namespace=self.request.namespace,
                    )
                )
            node.runners = [TaskRunner(r, self._sink) for r in requests]
        except (EngineError, OSError) as exc:
            self._fail_unstarted(node, str(exc))
            return
        node.state = "running"
        self._running[node.task.name] = asyncio.ensure_future(self._run_node(node))

    def _fail_unstarted(self, node: _Node, message: str) -> None:
        """A task that could not start (a type error found only now, say): it failed."""
        node.state, node.reason = "failed", "Failed"
        self._stopping = True
        self._sink(Output(None, None, "console", f'Task "{node.task.name}" cannot start: {message}\n'))
        self._sink(TaskFinished(self._task_id(node), False, "Failed", message))

    async def _run_node(self, node: _Node) -> None:
        try:
            outcomes: list[TaskOutcome] = await asyncio.gather(*(r.run() for r in node.runners))
        finally:
            self._running.pop(node.task.name, None)
        if len(outcomes) == 1 and node.runners[0].request.instance is None:
            node.results = dict(outcomes[0].results)
        else:
            node.results = _collect_matrix_results(outcomes)
        failed = [o for o in outcomes if not o.succeeded]
        node.state = "failed" if failed else "succeeded"
        node.reason = failed[0].reason if failed else "Succeeded"
        if failed and not node.task.is_finally:
            self._stopping = True

    def _params(self, node: _Node, values: Mapping[str, Value]) -> dict[str, object]:
        out: dict[str, object] = {}
        for name, raw in named_values(node.data.get("params")).items():
            value, _ = substitute_value(raw, values)
            out[name] = value
        return out

    def _combinations(self, node: _Node, values: Mapping[str, Value]) -> list[dict[str, object]] | None:
        matrix = as_dict(node.data.get("matrix"))
        if not matrix:
            return None
        axes: list[tuple[str, list[str]]] = []
        for param in map(as_dict, as_list(matrix.get("params"))):
            items, _ = substitute_value(param.get("value", []), values)
            if not isinstance(items, list):
                raise EngineError(f'matrix param "{param.get("name")}" of task "{node.task.name}" is not an array')
            axes.append((str(param.get("name")), items))
        names = [name for name, _ in axes]
        combos: list[dict[str, object]] = []
        if axes:  # (the product of no axes would be one empty combination)
            combos = [dict(zip(names, c, strict=True)) for c in itertools.product(*(i for _, i in axes))]
        originals = list(combos)
        for include in map(as_dict, as_list(matrix.get("include"))):
            extra = {
                name: substitute_value(raw, values)[0] for name, raw in named_values(include.get("params")).items()
            }
            keys = [k for k in extra if k in names]
            targets = [c for c in originals if all(c.get(k) == extra[k] for k in keys)]
            for combo in targets:  # an include adds its other params where its matrix values match
                for key, value in extra.items():
                    combo.setdefault(key, value)
            if not targets:  # or, matching nothing, is a combination of its own
                combos.append(dict(extra))
        return combos

    def _workspaces(self, node: _Node, values: Mapping[str, Value]) -> dict[str, str | None]:
        bound: dict[str, str | None] = {}
        for binding in map(as_dict, as_list(node.data.get("workspaces"))):
            source = self.request.workspaces.get(_pipeline_workspace(binding))
            sub = scalar_text(binding.get("subPath") or "")
            if source is not None and sub:
                sub_text, _ = substitute(sub, values)
                source = ensure_dir(os.path.join(source, sub_text))
            bound[str(binding.get("name"))] = source
        return bound

    def _report_results(self) -> None:
        values = self._values()
        for result in map(as_dict, as_list(self.request.spec.data().get("results"))):
            value, missing = substitute_value(result.get("value", ""), values)
            if missing:
                continue
            shown = value if isinstance(value, str) else repr(value)
            self._sink(Output(None, None, "console", f'Pipeline result "{result.get("name")}": {shown}\n'))

    def _verdict(self) -> tuple[bool, str, str]:
        nodes = list(self._nodes.values())
        failed = sum(n.state == "failed" for n in nodes)
        skipped = sum(n.state == "skipped" for n in nodes)
        cancelled = sum(n.reason in ("Cancelled", "TaskRunTimeout") for n in nodes)
        completed = sum(n.state in ("succeeded", "failed") for n in nodes)
        message = f"Tasks Completed: {completed} (Failed: {failed}, Cancelled {cancelled}), Skipped: {skipped}"
        if self._cancelled:
            return False, "Cancelled", f'PipelineRun "{self.request.name}" was cancelled'
        if self._timed_out:
            return (
                False,
                "PipelineRunTimeout",
                f'PipelineRun "{self.request.name}" failed to finish in time; {message}',
            )
        if failed:
            return False, self._invalid_reference_reason or "Failed", message
        return True, "Completed" if skipped else "Succeeded", message

    # ---- stopping ------------------------------------------------------------------------

    def _end_running(self, reason: str, message: str, finally_too: bool) -> None:
        for name in list(self._running):
            node = self._nodes[name]
            if finally_too or not node.task.is_finally:
                for runner in node.runners:
                    runner.stop(reason, message)

    def _pipeline_timeout(self) -> None:
        self._timed_out = True
        self._stop_skip = self._finally_skip = PIPELINE_TIMEOUT_SKIP
        message = f'TaskRun cancelled as the PipelineRun "{self.request.name}" has timed out'
        self._end_running("TaskRunTimeout", message, finally_too=True)

    def _tasks_timeout(self) -> None:
        self._timed_out = True
        if self._stop_skip is None:
            self._stop_skip = TASKS_TIMEOUT_SKIP
        message = f'TaskRun cancelled as the tasks of PipelineRun "{self.request.name}" have timed out'
        self._end_running("TaskRunTimeout", message, finally_too=False)

    def _finally_timeout(self) -> None:
        self._timed_out = True
        self._stop_skip = FINALLY_TIMEOUT_SKIP
        message = f'TaskRun cancelled as the finally tasks of PipelineRun "{self.request.name}" have timed out'
        self._end_running("TaskRunTimeout", message, finally_too=True)

    def cancel(self) -> None:
        self._cancelled = True
        self._stop_skip = self._finally_skip = CANCELLED_SKIP
        message = f'TaskRun cancelled as the PipelineRun "{self.request.name}" was cancelled'
        self._end_running("Cancelled", message, finally_too=True)

    def runners(self) -> list[TaskRunner]:
        return [r for n in self._nodes.values() for r in n.runners]


def _references(*items: object) -> list[Reference]:
    """Every Tekton reference in the strings of nested YAML values."""
    out: list[Reference] = []
    stack: list[object] = list(items)
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.extend(find_references(item))
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return out


def _pipeline_workspace(binding: Mapping[str, Any]) -> str:
    """The pipeline workspace a pipeline task's binding names (`workspace`, else its own name)."""
    return str(binding.get("workspace", binding.get("name")))


def _result_references(data: Mapping[str, Any]) -> list[Reference]:
    """The `$(tasks.t.results.r...)` a pipeline task uses (params, when, matrix)."""
    return [
        ref
        for ref in _references(data.get("params"), data.get("when"), data.get("matrix"))
        if ref.root == "tasks" and len(ref.parts) > 3 and ref.parts[2] == "results"
    ]


def _pipeline_context(values: Mapping[str, Value]) -> dict[str, str]:
    """The pipeline-level context.* values a TaskRun of the pipeline also resolves."""
    return {k.removeprefix("context."): v for k, v in values.items() if k.startswith("context.") and isinstance(v, str)}


def _collect_matrix_results(outcomes: list[TaskOutcome]) -> dict[str, Value]:
    collected: dict[str, list[str]] = {}
    for outcome in outcomes:
        for name, value in outcome.results.items():
            if isinstance(value, str):
                collected.setdefault(name, []).append(value)
    return dict(collected)


def resolve_pipeline_params(
    spec: PipelineSpec, data: Mapping[str, Any], given: Mapping[str, object]
) -> dict[str, Value]:
    """Pipeline params (`data` is `spec.data()`): declared, with defaults, and given (run
    params, launch params)."""
    decls = [as_dict(p) for p in as_list(data.get("params"))]
    return resolve_params(decls, given, f'Pipeline "{spec.name}" ({spec.span.path}:{spec.span.line})')
