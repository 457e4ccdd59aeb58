"""`pipeline-dap translate --engine argo`: the Workflow that would be submitted, with Argo's
emissary pauses (engine-protocols.md B1) set where the breakpoints are.

- A breakpoint on a template's container / script (a Step) pauses every invocation of that
  template: `ARGO_DEBUG_PAUSE_BEFORE` (or `_AFTER` for `:after`) is set to exactly `"true"` in
  that container's env.
- A breakpoint on one DAG task / steps item pauses that invocation only, without cloning the
  template (which would rename its pods): the called template gets an input parameter
  `pipeline-dap-pause-before` (`-after`) with `default: "false"`, its first (last, for after)
  container takes the env var from it, and the breakpointed call passes `"true"`.
- `on_failure`: Argo has no pause on failure; every container pauses after its command and the
  adapter releases the ones that succeeded.

Templates that live in a WorkflowTemplate (templateRef, workflowTemplateRef) are changed in
that document, which is printed after the Workflow: apply it before submitting.
"""

from __future__ import annotations

import os
from typing import Any

import yaml

from dap_server.sources import locate
from dap_server.sources.argo import ArgoDocument, ArgoTask, Template
from dap_server.sources.locate import StepTarget, TaskTarget
from dap_server.sources.locations import parse_path_line
from dap_server.sources.model import Document, SourceError, Step

BEFORE_ENV = "ARGO_DEBUG_PAUSE_BEFORE"
AFTER_ENV = "ARGO_DEBUG_PAUSE_AFTER"
PARAM = {BEFORE_ENV: "pipeline-dap-pause-before", AFTER_ENV: "pipeline-dap-pause-after"}

Target = Step | ArgoTask | StepTarget | TaskTarget


class _Docs:
    """The data of every document the run uses, changed in place, printed in order."""

    def __init__(self, run: ArgoDocument) -> None:
        self.run = run
        self.order: list[ArgoDocument] = [run]
        self.data: dict[int, dict[str, Any]] = {id(run): run.data()}
        self.touched: set[int] = {id(run)}

    def of(self, doc: ArgoDocument) -> dict[str, Any]:
        if id(doc) not in self.data:
            self.data[id(doc)] = doc.data()
            self.order.append(doc)
        self.touched.add(id(doc))
        return self.data[id(doc)]

    def template(self, template: Template) -> dict[str, Any]:
        doc = template.document
        if doc is None:
            raise SourceError(template.span.path, template.span.line, 1, "template without a document")
        data = self.of(doc)
        spec = data["spec"]
        if doc.kind == "CronWorkflow":
            spec = spec["workflowSpec"]
        for item in spec.get("templates") or []:
            if isinstance(item, dict) and item.get("name") == template.name:
                return item
        raise SourceError(template.span.path, template.span.line, 1, f'template "{template.name}" not found')


def _containers(template: dict[str, Any]) -> list[dict[str, Any]]:
    for key in ("container", "script"):
        if isinstance(template.get(key), dict):
            return [template[key]]
    containers = (template.get("containerSet") or {}).get("containers") or []
    return [c for c in containers if isinstance(c, dict)]


def _set_env(container: dict[str, Any], name: str, value: str) -> None:
    env = container.setdefault("env", [])
    for item in env:
        if isinstance(item, dict) and item.get("name") == name:
            if item.get("value") != "true":  # an always-pause wins over a per-call parameter
                item["value"] = value
            return
    env.append({"name": name, "value": value})


def _bind(target: Target) -> Step | ArgoTask:
    if isinstance(target, StepTarget):
        return target.step
    if isinstance(target, TaskTarget):
        if not isinstance(target.task, ArgoTask):
            raise ValueError(f"{target.task.name} is not an Argo DAG task or steps item")
        return target.task
    return target


def _from_text(text: str) -> tuple[Step | ArgoTask, bool]:
    loc = parse_path_line(text)
    if loc is None:
        raise ValueError(f"{text}: Argo breakpoints are given as PATH:LINE or PATH:LINE:after")
    found = locate(loc.path, loc.line)
    if isinstance(found, StepTarget | TaskTarget):
        return _bind(found), loc.after
    raise ValueError(f"{os.path.basename(loc.path)}:{loc.line}: {found.message}")


def _template_of_step(doc: ArgoDocument, step: Step, docs: _Docs) -> Template:
    for each in [doc, *[d for d in docs.order if d is not doc]]:
        for template in each.templates.values():
            if template.spec is not None and any(s.span == step.span for s in template.spec.steps):
                return template
    for task in _all_tasks(doc):
        target = task.target
        if target is not None and target.spec is not None and any(s.span == step.span for s in target.spec.steps):
            return target
    raise ValueError(f"{step.span.path}:{step.span.line}: this container is not used by {doc.key}")


def _all_tasks(doc: ArgoDocument) -> list[ArgoTask]:
    seen: set[int] = set()
    out: list[ArgoTask] = []
    todo = [doc] + ([doc.base] if doc.base is not None else [])
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        for task in current.tasks():
            out.append(task)
            if task.target is not None and task.target.document is not None:
                todo.append(task.target.document)
    return out


def _call_data(task: ArgoTask, docs: _Docs) -> dict[str, Any]:
    owner = task.owner
    assert owner is not None
    template = docs.template(owner)
    if "dag" in template:
        items = template["dag"].get("tasks") or []
    else:
        items = [
            step for group in template.get("steps") or [] for step in (group if isinstance(group, list) else [group])
        ]
    for item in items:
        if isinstance(item, dict) and item.get("name") == task.name:
            return item
    raise SourceError(task.span.path, task.span.line, task.span.column, f'"{task.name}" not found')


def translate_argo(document: Document, locations: list[Target | str], on_failure: bool = False) -> str:
    """The Workflow (and changed WorkflowTemplates) as YAML, with the pauses set."""
    if not isinstance(document, ArgoDocument):
        raise ValueError(f"{document.key} is not an Argo document")
    docs = _Docs(document)
    notes: list[str] = []
    for location in locations:
        if isinstance(location, str):
            target, after = _from_text(location)
        else:
            target, after = _bind(location), False
        var = AFTER_ENV if after else BEFORE_ENV
        if isinstance(target, ArgoTask):  # bound on the file: the run's own (resolved) copy
            target = next((t for t in _all_tasks(document) if t.span == target.span), target)
        if isinstance(target, Step):
            template = _template_of_step(document, target, docs)
            data = docs.template(template)
            containers = _containers(data)
            container = containers[target.index] if target.index < len(containers) else containers[0]
            _set_env(container, var, "true")
            notes.append(
                f'{"after" if after else "before"} container "{target.name}" of template '
                f'"{template.name}" (every invocation)'
            )
            continue
        called = target.target
        if called is None or not called.leaf:
            raise ValueError(
                f"{target.span.path}:{target.span.line}: {target.name} calls a steps/dag template; "
                "set the breakpoint on a container of the templates it runs"
            )
        data = docs.template(called)
        param = PARAM[var]
        declared = data.setdefault("inputs", {}).setdefault("parameters", [])
        if not any(isinstance(p, dict) and p.get("name") == param for p in declared):
            declared.append({"name": param, "default": "false"})
        containers = _containers(data)
        _set_env(containers[-1] if after else containers[0], var, f"{{{{inputs.parameters.{param}}}}}")
        call = _call_data(target, docs)
        args = call.setdefault("arguments", {}).setdefault("parameters", [])
        args[:] = [p for p in args if not (isinstance(p, dict) and p.get("name") == param)]
        args.append({"name": param, "value": "true"})
        notes.append(f'{"after" if after else "before"} "{target.name}" only (calls template "{called.name}")')
    if on_failure:
        for each in [document, *_reachable_docs(document)]:
            for template in each.templates.values():
                if template.leaf:
                    for container in _containers(docs.template(template)):
                        _set_env(container, AFTER_ENV, "true")
        notes.append("onFailure: every container pauses after its command; the adapter releases successes")
    header = [
        f'{document.key}: debug pauses for Argo\'s emissary (ARGO_DEBUG_PAUSE_BEFORE/AFTER, exactly "true")',
        *(f"pause {n}" for n in notes),
        "A paused container waits for /var/run/argo/ctr/<container>/before (or /after) to exist.",
        "Pauses clear the pod's activeDeadlineSeconds (the controller drops it when the env var is",
        "present), but NOT a template `timeout`: a paused pod is still killed when its timeout passes.",
    ]
    parts = []
    for doc in docs.order:
        if id(doc) in docs.touched:
            note = "" if doc is document else f"# apply this {doc.kind} before submitting (it was changed)\n"
            parts.append(note + yaml.safe_dump(docs.data[id(doc)], sort_keys=False, width=1000))
    return "".join(f"# {line}\n" for line in header) + "---\n".join(parts)


def _reachable_docs(doc: ArgoDocument) -> list[ArgoDocument]:
    found: dict[int, ArgoDocument] = {}
    if doc.base is not None:
        found[id(doc.base)] = doc.base
    for task in _all_tasks(doc):
        target = task.target
        if target is not None and target.document is not None and target.document is not doc:
            found[id(target.document)] = target.document
    return list(found.values())
