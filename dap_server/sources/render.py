"""`pipeline-dap map`: the source map as an indented tree or as JSON.

Text (paths relative to the first document's folder)::

    Pipeline/build-and-test  pipeline.yaml:4-84
      task fetch  pipeline.yaml:30-38 -> Task/git-clone tasks/git-clone.yaml:3-42
        step clone  tasks/git-clone.yaml:21-34
      finally report  pipeline.yaml:77-84 -> Task/report tasks/report.yaml:1-19
        step summary  tasks/report.yaml:14-19

JSON (absolute paths, 1-based lines, every key always present)::

    {"documents": [{
        "kind": "Pipeline", "name": "build-and-test", "apiVersion": "tekton.dev/v1",
        "path": "/abs/pipeline.yaml", "line": 4, "endLine": 84,
        "ref": REF | null,          # TaskRun taskRef / PipelineRun pipelineRef
        "spec": SPAN | null,        # embedded taskSpec / pipelineSpec of a run
        "tasks": [TASK, ...],       # pipeline tasks then finally tasks ([] for Tasks)
        "steps": [STEP, ...]}]}     # a Task's / TaskRun's steps ([] for pipelines)
    TASK = {"name", "finally": bool, "path", "line", "endLine", "column",
            "ref": REF | null, "spec": SPAN | null (embedded taskSpec), "steps": [STEP]}
    STEP = {"name", "index", "path", "line", "endLine", "column"}
    REF  = {"kind", "name", "resolver": str | null, "path", "line", "endLine",
            "resolved": bool, "error": str | null,
            "target": {"kind", "name", "path", "line", "endLine"} | null}
    SPAN = {"path", "line", "endLine"}

A step's name is Tekton's `unnamed-<index>` when it has none.

Argo documents (text: one line per template, its steps and its calls) add to the JSON
document `"entrypoint": str | null` and `"templates": [TEMPLATE]`; their `tasks` are every
DAG task and steps item, their `steps` every leaf container::

    TEMPLATE = {"name", "type", "path", "line", "endLine", "tasks": [TASK], "steps": [STEP]}

An Argo TASK also has `"group": int | null` (steps group) and `"calls": str` (the template,
or `WorkflowTemplate/name/template`); its `ref` is the templateRef (or `template`, kind
"template") and `ref.target` the called template.
"""

from __future__ import annotations

import json
import os
from typing import Any

from .argo import ArgoDocument, ArgoTask, Template
from .model import Document, PipelineSpec, PipelineTask, Ref, Span, Step, TaskSpec


def render_map(docs: list[Document], as_json: bool, base: str | None = None) -> str:
    """The source map of `docs` (resolved or not: unresolved references are shown as
    such). base: folder the text paths are relative to (default: the first document's)."""
    if as_json:
        return json.dumps({"documents": [_doc_json(d) for d in docs]}, indent=2) + "\n"
    if base is None:
        base = os.path.dirname(docs[0].path) if docs else os.getcwd()
    return _Text(base).render(docs)


# ---- text -------------------------------------------------------------------------


class _Text:
    def __init__(self, base: str) -> None:
        self.base = base
        self.out: list[str] = []

    def where(self, span: Span) -> str:
        path = span.path
        if os.path.isabs(path):
            path = os.path.relpath(path, self.base)
        return f"{path}:{span.line}-{span.end_line}"

    def render(self, docs: list[Document]) -> str:
        for doc in docs:
            if isinstance(doc, ArgoDocument):
                self.argo(doc)
                continue
            head = f"{doc.key}  {self.where(doc.span)}"
            if doc.task_ref is not None:
                head += self.arrow(doc.task_ref, doc.task)
            elif doc.pipeline_ref is not None:
                head += self.arrow(doc.pipeline_ref, doc.pipeline)
            self.out.append(head)
            if doc.task is not None:
                self.steps(doc.task.steps, "  ")
            if doc.pipeline is not None:
                for task in doc.pipeline.all_tasks():
                    self.task(task)
        return "\n".join(self.out) + "\n"

    def argo(self, doc: ArgoDocument) -> None:
        head = f"{doc.key}  {self.where(doc.span)}"
        if doc.workflow_template_ref is not None:
            ref, base = doc.workflow_template_ref, doc.base
            head += (
                f" -> {ref.key} {self.where(base.span)}"
                if base is not None
                else (f" -> {ref.key} (unresolved: {ref.error or 'not resolved'})")
            )
        entry = doc.run_entrypoint()
        if entry is not None:
            head += f"  entrypoint {entry}"
        self.out.append(head)
        for template in doc.templates.values():
            self.out.append(f"  template {template.name} ({template.type})  {self.where(template.span)}")
            if template.spec is not None:
                self.steps(template.spec.steps, "    ")
            for task in _argo_tasks(template):
                word = f"step [{task.group}]" if task.group is not None else "task"
                line = f"    {word} {task.name}  {self.where(task.span)}"
                target = task.target
                if target is not None and target.document is not None and target.document is not doc:
                    line += f" -> {target.key} {self.where(target.span)}"
                elif target is not None:
                    line += f" -> {target.name}" if task.template is not None else " (inline)"
                else:
                    called = task.task_ref
                    reason = called.error if called is not None and called.error else "not resolved"
                    line += f" -> {task.called} (unresolved: {reason})"
                self.out.append(line)
                if task.template is None and task.ref_template is None and task.task is not None:
                    self.steps(task.task.steps, "      ")

    def arrow(self, ref: Ref, target: TaskSpec | PipelineSpec | None) -> str:
        if target is None:
            reason = ref.error or (f"{ref.resolver} resolver" if ref.resolver else "not resolved")
            return f" -> {ref.key} (unresolved: {reason})"
        document = target.document
        key = document.key if document is not None else ref.key
        return f" -> {key} {self.where(target.span)}"

    def task(self, task: PipelineTask) -> None:
        word = "finally" if task.is_finally else "task"
        line = f"  {word} {task.name}  {self.where(task.span)}"
        if task.task_ref is not None:
            line += self.arrow(task.task_ref, task.task)
        elif task.task is None:
            line += " (runs a pipeline: not supported)"
        self.out.append(line)
        if task.task is not None:
            self.steps(task.task.steps, "    ")

    def steps(self, steps: list[Step], indent: str) -> None:
        for step in steps:
            self.out.append(f"{indent}step {step.label}  {self.where(step.span)}")


# ---- JSON ---------------------------------------------------------------------------


def _span_json(span: Span) -> dict[str, Any]:
    return {"path": span.path, "line": span.line, "endLine": span.end_line}


def _step_json(step: Step) -> dict[str, Any]:
    return {
        "name": step.label,
        "index": step.index,
        **_span_json(step.span),
        "column": step.span.column,
    }


def _ref_json(ref: Ref, target: TaskSpec | PipelineSpec | None) -> dict[str, Any]:
    resolved = None
    if target is not None:
        document = target.document
        kind, name = (document.kind, document.name) if document is not None else (ref.kind, ref.name)
        resolved = {"kind": kind, "name": name, **_span_json(target.span)}
    return {
        "kind": ref.kind,
        "name": ref.name,
        "resolver": ref.resolver,
        **_span_json(ref.span),
        "resolved": target is not None,
        "error": ref.error,
        "target": resolved,
    }


def _task_json(task: PipelineTask) -> dict[str, Any]:
    embedded = task.task_ref is None and task.task is not None
    return {
        "name": task.name,
        "finally": task.is_finally,
        **_span_json(task.span),
        "column": task.span.column,
        "ref": _ref_json(task.task_ref, task.task) if task.task_ref is not None else None,
        "spec": _span_json(task.task.span) if embedded and task.task is not None else None,
        "steps": [_step_json(s) for s in task.task.steps] if task.task is not None else [],
    }


def _argo_tasks(template: Template) -> list[ArgoTask]:
    calls = template.calls
    return [t for t in calls.tasks if isinstance(t, ArgoTask)] if calls is not None else []


def _argo_task_json(task: ArgoTask) -> dict[str, Any]:
    out = _task_json(task)
    target = task.target
    ref = task.task_ref
    if ref is not None:
        out["ref"] = {
            "kind": ref.kind,
            "name": ref.name,
            "resolver": None,
            **_span_json(ref.span),
            "resolved": target is not None,
            "error": ref.error,
            "target": (
                {"kind": "template", "name": target.name, **_span_json(target.span)} if target is not None else None
            ),
        }
    if task.template is not None or task.ref_template is not None:
        out["steps"] = []  # the called template's steps are listed under it
    out["group"] = task.group
    out["calls"] = task.called
    return out


def _argo_doc_json(doc: ArgoDocument) -> dict[str, Any]:
    templates = []
    for template in doc.templates.values():
        templates.append(
            {
                "name": template.name,
                "type": template.type,
                **_span_json(template.span),
                "tasks": [_argo_task_json(t) for t in _argo_tasks(template)],
                "steps": [_step_json(s) for s in template.spec.steps] if template.spec is not None else [],
            }
        )
    ref = None
    if doc.workflow_template_ref is not None:
        base = doc.base
        wtr = doc.workflow_template_ref
        ref = {
            "kind": wtr.kind,
            "name": wtr.name,
            "resolver": None,
            **_span_json(wtr.span),
            "resolved": base is not None,
            "error": wtr.error,
            "target": {"kind": base.kind, "name": base.name, **_span_json(base.span)} if base is not None else None,
        }
    return {
        "kind": doc.kind,
        "name": doc.name,
        "apiVersion": doc.api_version,
        **_span_json(doc.span),
        "ref": ref,
        "spec": None,
        "tasks": [_argo_task_json(t) for t in doc.tasks()],
        "steps": [_step_json(s) for s in doc.steps()],
        "entrypoint": doc.run_entrypoint(),
        "templates": templates,
    }


def _doc_json(doc: Document) -> dict[str, Any]:
    if isinstance(doc, ArgoDocument):
        return _argo_doc_json(doc)
    ref: dict[str, Any] | None = None
    spec: dict[str, Any] | None = None
    if doc.task_ref is not None:
        ref = _ref_json(doc.task_ref, doc.task)
    elif doc.pipeline_ref is not None:
        ref = _ref_json(doc.pipeline_ref, doc.pipeline)
    elif doc.kind == "TaskRun" and doc.task is not None:
        spec = _span_json(doc.task.span)
    elif doc.kind == "PipelineRun" and doc.pipeline is not None:
        spec = _span_json(doc.pipeline.span)
    return {
        "kind": doc.kind,
        "name": doc.name,
        "apiVersion": doc.api_version,
        **_span_json(doc.span),
        "ref": ref,
        "spec": spec,
        "tasks": [_task_json(t) for t in doc.pipeline.all_tasks()] if doc.pipeline is not None else [],
        "steps": [_step_json(s) for s in doc.task.steps] if doc.task is not None else [],
    }
