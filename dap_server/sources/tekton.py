"""The Tekton walk: composed YAML documents to Documents, TaskSpecs, PipelineTasks, Steps.

Only the keys the source map needs are visited (apiVersion, kind, metadata.name, spec,
steps, stepTemplate.image, tasks, finally, taskRef, taskSpec, pipelineRef,
pipelineSpec and a few per step); nothing is constructed into Python data. Errors are
the mistakes Tekton itself would reject, reported at the offending node.
"""

from __future__ import annotations

import difflib

import yaml

from .compose import Lines, MappingNode, SequenceNode, Walker, compose, kind_of, pick, scalar
from .model import Document, PipelineSpec, PipelineTask, Ref, SourceError, Span, Step, TaskSpec

GROUP = "tekton.dev"
VERSIONS = frozenset({"v1", "v1beta1"})
TASK_KINDS = frozenset({"Task", "ClusterTask"})
MAPPED_KINDS = frozenset({"Task", "ClusterTask", "Pipeline", "TaskRun", "PipelineRun"})
# Tekton kinds that are real but hold nothing to run or map: skipped like other groups.
OTHER_KINDS = frozenset({"StepAction", "CustomRun", "Run", "VerificationPolicy", "PipelineResource", "Condition"})

_TASK = frozenset({"steps", "stepTemplate", "apiVersion", "kind"})
_STEP = frozenset({"name", "image", "ref", "script", "command"})
_PIPELINE = frozenset({"tasks", "finally"})
_PTASK = frozenset({"name", "taskRef", "taskSpec", "pipelineRef", "pipelineSpec"})
_REF = frozenset({"name", "kind", "apiVersion", "resolver", "bundle"})
_TASKRUN = frozenset({"taskRef", "taskSpec"})
_PIPELINERUN = frozenset({"pipelineRef", "pipelineSpec"})


def parse(path: str, text: str) -> list[Document]:
    """The Tekton documents of one file's text (other documents are skipped)."""
    roots = compose(path, text)
    walker = _Walker(path, Lines(path, text))
    docs: list[Document] = []
    for index, root in enumerate(roots):
        doc = walker.document(index, root)
        if doc is not None:
            docs.append(doc)
    return docs


class _Walker(Walker):
    __slots__ = ()

    # ---- documents ----------------------------------------------------------------

    def document(self, index: int, root: yaml.Node) -> Document | None:
        head = self.header(root)
        if head is None or head.group != GROUP or head.kind in OTHER_KINDS:
            return None
        top, api_version, kind, version = head.top, head.api_version, head.kind, head.version
        if kind not in MAPPED_KINDS:
            close = difflib.get_close_matches(kind, sorted(MAPPED_KINDS), n=1)
            hint = f'; did you mean "{close[0]}"?' if close else ""
            raise self.error(
                top["kind"],
                f'unknown Tekton kind "{kind}" (expected Task, Pipeline, TaskRun or PipelineRun){hint}',
            )
        if version not in VERSIONS:
            raise self.error(
                top["apiVersion"],
                f"unsupported apiVersion {api_version} for {kind}: use tekton.dev/v1 or tekton.dev/v1beta1",
            )
        name = self.metadata_name(root, kind, top.get("metadata"))
        span = self.document_span(root)
        doc = Document(self.path, index, api_version, kind, name, span, root)
        spec = top.get("spec")
        if spec is None:
            raise self.error(root, f"{kind}/{name} has no spec")
        if type(spec) is not MappingNode:
            raise self.error(spec, f"the spec of {kind}/{name} must be a mapping, not {kind_of(spec)}")
        if kind in TASK_KINDS:
            doc.task = self.task_spec(spec, name, span, doc, spec, f"{kind}/{name}", embedded=False)
        elif kind == "Pipeline":
            doc.pipeline = self.pipeline_spec(spec, name, span, doc)
        elif kind == "TaskRun":
            self.task_run(doc, spec)
        else:
            self.pipeline_run(doc, spec)
        return doc

    def task_run(self, doc: Document, spec: yaml.MappingNode) -> None:
        found = pick(spec, _TASKRUN)
        ref, embedded = found.get("taskRef"), found.get("taskSpec")
        if ref is not None and embedded is not None:
            raise self.error(ref, f"TaskRun/{doc.name} has both taskRef and taskSpec: keep one")
        if ref is not None:
            doc.task_ref = self.ref(ref, "taskRef", "Task")
        elif embedded is not None:
            what = f"the taskSpec of TaskRun/{doc.name}"
            doc.task = self.task_spec(embedded, doc.name, self.span(embedded), doc, spec, what, embedded=True)
        else:
            raise self.error(spec, f"TaskRun/{doc.name} needs a taskRef or a taskSpec")

    def pipeline_run(self, doc: Document, spec: yaml.MappingNode) -> None:
        found = pick(spec, _PIPELINERUN)
        ref, embedded = found.get("pipelineRef"), found.get("pipelineSpec")
        if ref is not None and embedded is not None:
            raise self.error(ref, f"PipelineRun/{doc.name} has both pipelineRef and pipelineSpec: keep one")
        if ref is not None:
            doc.pipeline_ref = self.ref(ref, "pipelineRef", "Pipeline")
        elif embedded is not None:
            if type(embedded) is not MappingNode:
                raise self.error(embedded, f"pipelineSpec must be a mapping, not {kind_of(embedded)}")
            doc.pipeline = self.pipeline_spec(embedded, doc.name, self.span(embedded), doc)
        else:
            raise self.error(spec, f"PipelineRun/{doc.name} needs a pipelineRef or a pipelineSpec")

    def ref(self, node: yaml.Node, key: str, default_kind: str) -> Ref:
        if type(node) is not MappingNode:
            raise self.error(node, f"{key} must be a mapping such as `{key}: {{name: ...}}`, not {kind_of(node)}")
        found = pick(node, _REF)
        name = scalar(found.get("name")) or ""
        resolver = scalar(found.get("resolver"))
        if resolver is None and found.get("bundle") is not None:
            resolver = "bundles"
        if not name and resolver is None:
            raise self.error(node, f"{key} has no name")
        kind = scalar(found.get("kind")) or default_kind
        return Ref(kind, name, self.span(node), resolver, scalar(found.get("apiVersion")), node)

    # ---- tasks and steps ----------------------------------------------------------

    def task_spec(
        self,
        spec: yaml.Node,
        name: str,
        span: Span,
        doc: Document,
        where: yaml.Node,
        what: str,
        *,
        embedded: bool,
    ) -> TaskSpec:
        if type(spec) is not MappingNode:
            raise self.error(spec, f"{what} must be a mapping, not {kind_of(spec)}")
        found = pick(spec, _TASK)
        task = TaskSpec(name, span, [], spec, doc)
        steps = found.get("steps")
        if steps is None:
            if embedded and "kind" in found:  # a custom task's embedded spec: nothing to step through
                return task
            raise self.error(where if embedded else spec, f"{what} has no steps")
        if type(steps) is not SequenceNode:
            raise self.error(steps, f"steps of {what} must be a list, not {kind_of(steps)}")
        template = found.get("stepTemplate")
        template_image = None
        if type(template) is MappingNode:
            template_image = scalar(pick(template, _STEP).get("image"))
        path = self.path
        names: dict[str, int] = {}
        append = task.steps.append
        for index, (item, line, column, end) in enumerate(self.lines.items(steps)):
            if type(item) is not MappingNode:
                raise SourceError(path, line, column, f"step {index + 1} must be a mapping, not {kind_of(item)}")
            fields = pick(item, _STEP)
            step_name = scalar(fields.get("name")) or ""
            label = step_name or f"unnamed-{index}"
            if step_name:
                if step_name in names:
                    raise SourceError(
                        path,
                        line,
                        column,
                        f'duplicate step name "{step_name}" in {what} (first at line {names[step_name]})',
                    )
                names[step_name] = line
            if template_image is None and "ref" not in fields and scalar(fields.get("image")) is None:
                raise SourceError(
                    path, line, column, f'step "{label}" has no image (give one, or a stepTemplate image)'
                )
            if "script" in fields and "command" in fields:
                raise SourceError(path, line, column, f'step "{label}" has both script and command: Tekton allows one')
            append(Step(step_name, index, Span(path, line, end, column), item, task))
        return task

    def pipeline_spec(self, spec: yaml.MappingNode, name: str, span: Span, doc: Document) -> PipelineSpec:
        found = pick(spec, _PIPELINE)
        pipeline = PipelineSpec(name, span, [], [], spec, doc)
        seen: dict[str, int] = {}
        for key, is_finally in (("tasks", False), ("finally", True)):
            seq = found.get(key)
            if seq is None:
                continue
            if type(seq) is not SequenceNode:
                raise self.error(seq, f"{key} of Pipeline {name} must be a list, not {kind_of(seq)}")
            out = pipeline.finally_tasks if is_finally else pipeline.tasks
            for position, (item, line, column, end) in enumerate(self.lines.items(seq)):
                span = Span(self.path, line, end, column)
                task = self.pipeline_task(item, key, position, span, seen, doc)
                task.is_finally = is_finally
                task.pipeline = pipeline
                out.append(task)
        return pipeline

    def pipeline_task(
        self, item: yaml.Node, key: str, position: int, span: Span, seen: dict[str, int], doc: Document
    ) -> PipelineTask:
        if type(item) is not MappingNode:
            raise SourceError(
                self.path,
                span.line,
                span.column,
                f"{key} item {position + 1} must be a mapping, not {kind_of(item)}",
            )
        found = pick(item, _PTASK)
        name = scalar(found.get("name"))
        if not name:
            raise SourceError(self.path, span.line, span.column, f"{key} item {position + 1} has no name")
        if name in seen:
            raise SourceError(
                self.path,
                span.line,
                span.column,
                f'duplicate pipeline task name "{name}" (first at line {seen[name]};'
                " tasks and finally share one set of names)",
            )
        seen[name] = span.line
        task = PipelineTask(name, span, False, item)
        ref, embedded = found.get("taskRef"), found.get("taskSpec")
        if ref is not None and embedded is not None:
            raise self.error(ref, f'pipeline task "{name}" has both taskRef and taskSpec: keep one')
        if ref is not None:
            task.task_ref = self.ref(ref, "taskRef", "Task")
        elif embedded is not None:
            what = f'the taskSpec of pipeline task "{name}"'
            task.task = self.task_spec(embedded, name, self.span(embedded), doc, item, what, embedded=True)
        elif "pipelineRef" not in found and "pipelineSpec" not in found:
            raise SourceError(
                self.path, span.line, span.column, f'pipeline task "{name}" needs a taskRef or a taskSpec'
            )
        return task
