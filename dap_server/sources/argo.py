"""The Argo walk: Workflow, WorkflowTemplate, ClusterWorkflowTemplate and CronWorkflow
documents to templates, leaf containers (Steps) and DAG tasks / steps items (tasks).

The model classes are reused where they fit and extended by subclassing (no field of the
shared model is renamed):

- a leaf template (`container`, `script`, `containerSet`) owns a `TaskSpec` whose `steps`
  are its containers: `main` for container and script templates (the emissary's container
  name, so `ctr/main/before`), each containerSet container by its name. A Step's span is the
  `container:` / `script:` key line through the end of its value (script source included),
  or the `-` line of a containerSet container;
- a `steps` or `dag` template owns a `PipelineSpec` whose `tasks` are `ArgoTask`s (a
  `PipelineTask` with the template call, the steps group and the resolved target); a steps
  item's span starts at its own `-` (`- - name:` gives the inner dash);
- `ArgoDocument` (a `Document`) holds the templates by name, the entrypoint, `onExit` and
  `workflowTemplateRef`.

A document without a spec (or with `spec: {}`) is a stub with nothing to map: it is skipped
like documents of other kinds. Local `template:` names are checked while parsing (unless
the document takes its templates from a `workflowTemplateRef`); `templateRef` and
`workflowTemplateRef` are resolved across files by `resolve` (called by `SourceSet.resolve`).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from .compose import MappingNode, ScalarNode, SequenceNode, Walker, kind_of, pick, scalar
from .model import Document, PipelineSpec, PipelineTask, Ref, SourceError, Span, Step, TaskSpec, construct

GROUP = "argoproj.io"
KINDS = frozenset({"Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow"})
RUNNABLE = KINDS
TEMPLATE_KINDS = frozenset({"WorkflowTemplate", "ClusterWorkflowTemplate"})
LEAF_TYPES = ("container", "script", "containerSet")
TYPES = (*LEAF_TYPES, "steps", "dag", "suspend", "resource", "data", "http", "plugin")
MAIN = "main"  # the container of container and script templates

_SPEC = frozenset({"templates", "entrypoint", "onExit", "workflowTemplateRef", "workflowSpec"})
_TEMPLATE = frozenset({"name", *TYPES})
_CALL = frozenset({"name", "template", "templateRef", "inline", "onExit"})
_REF = frozenset({"name", "template", "clusterScope"})


def text_of(value: Any) -> str:
    """An Argo parameter value as the string Argo passes (JSON for lists and maps)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return "" if value is None else str(value)


@dataclass(eq=False)
class Template:
    """One item of `spec.templates`."""

    name: str
    type: str  # container, script, containerSet, steps, dag, suspend, resource, ...
    span: Span  # the template item: its `-` line to its last line
    node: yaml.MappingNode = field(repr=False)
    document: ArgoDocument | None = field(default=None, repr=False)
    spec: TaskSpec | None = None  # leaf templates: the containers as steps
    calls: PipelineSpec | None = None  # steps / dag templates: DAG tasks or steps items
    groups: list[list[ArgoTask]] = field(default_factory=list)  # steps templates: parallel groups

    def data(self) -> dict[str, Any]:
        return construct(self.node, self.span.path)

    @property
    def leaf(self) -> bool:
        return self.type in LEAF_TYPES

    @property
    def key(self) -> str:
        owner = self.document.key if self.document is not None else "?"
        return f"{owner}/{self.name}"


@dataclass(eq=False)
class ArgoTask(PipelineTask):
    """A DAG task or a steps item: one call of a template."""

    template: str | None = None  # `template:` (a template of the same workflow)
    ref_template: str | None = None  # `templateRef.template` (task_ref names the WorkflowTemplate)
    group: int | None = None  # steps templates: index of the parallel group
    owner: Template | None = field(default=None, repr=False)  # the steps/dag template it is in
    target: Template | None = field(default=None, repr=False)  # the template it calls, once resolved

    @property
    def called(self) -> str:
        """What it calls, for messages: `tmpl` or `WorkflowTemplate/name/tmpl`."""
        if self.ref_template is not None and self.task_ref is not None:
            return f"{self.task_ref.key}/{self.ref_template}"
        return self.template or self.name


@dataclass(eq=False)
class ArgoDocument(Document):
    """An Argo Workflow, WorkflowTemplate, ClusterWorkflowTemplate or CronWorkflow."""

    templates: dict[str, Template] = field(default_factory=dict)
    entrypoint: str | None = None
    on_exit: str | None = None
    spec_node: yaml.MappingNode | None = field(default=None, repr=False)  # spec, or spec.workflowSpec
    workflow_template_ref: Ref | None = None
    base: ArgoDocument | None = field(default=None, repr=False)  # the workflowTemplateRef, resolved

    @property
    def runnable(self) -> bool:
        return self.kind in RUNNABLE

    def spec_data(self) -> dict[str, Any]:
        """The workflow spec as data (CronWorkflow: its workflowSpec)."""
        return construct(self.spec_node, self.path) if self.spec_node is not None else {}

    def template(self, name: str) -> Template | None:
        """A template by name, this document's own first, then its workflowTemplateRef's."""
        found = self.templates.get(name)
        if found is None and self.base is not None:
            found = self.base.templates.get(name)
        return found

    def all_templates(self) -> list[Template]:
        return list(self.templates.values())

    def steps(self) -> list[Step]:
        return [s for t in self.templates.values() if t.spec is not None for s in t.spec.steps]

    def tasks(self) -> list[ArgoTask]:
        out: list[ArgoTask] = []
        for template in self.templates.values():
            if template.calls is not None:
                out.extend(t for t in template.calls.tasks if isinstance(t, ArgoTask))
        return out

    def run_entrypoint(self) -> str | None:
        if self.entrypoint is not None:
            return self.entrypoint
        return self.base.entrypoint if self.base is not None else None


def is_argo(doc: Document) -> bool:
    return isinstance(doc, ArgoDocument)


# ---- the walk ------------------------------------------------------------------------------


class ArgoWalker(Walker):
    """Turns composed root nodes of one file into ArgoDocuments (None for other documents)."""

    __slots__ = ()

    def document(self, index: int, root: yaml.Node) -> ArgoDocument | None:
        head = self.header(root)
        if head is None or head.group != GROUP or head.kind not in KINDS:
            return None  # other Argo kinds (WorkflowEventBinding, ...) hold nothing to run
        top, api_version, kind = head.top, head.api_version, head.kind
        name = self.metadata_name(root, kind, top.get("metadata"))
        doc = ArgoDocument(self.path, index, api_version, kind, name, self.document_span(root), root)
        spec = top.get("spec")
        if spec is None or (type(spec) is MappingNode and not spec.value):
            return None  # a stub (`spec: {}` or none): nothing to map, skipped like other kinds
        if type(spec) is not MappingNode:
            raise self.error(spec, f"the spec of {kind}/{name} must be a mapping, not {kind_of(spec)}")
        if kind == "CronWorkflow":
            inner = pick(spec, _SPEC).get("workflowSpec")
            if inner is None:
                raise self.error(spec, f"CronWorkflow/{name} has no spec.workflowSpec")
            if type(inner) is not MappingNode:
                raise self.error(inner, f"workflowSpec must be a mapping, not {kind_of(inner)}")
            spec = inner
        doc.spec_node = spec
        self.workflow_spec(doc, spec)
        return doc

    def workflow_spec(self, doc: ArgoDocument, spec: yaml.MappingNode) -> None:
        found = pick(spec, _SPEC)
        entry = found.get("entrypoint")
        doc.entrypoint = scalar(entry)
        doc.on_exit = scalar(found.get("onExit"))
        wtr = found.get("workflowTemplateRef")
        if wtr is not None:
            if type(wtr) is not MappingNode:
                raise self.error(wtr, f"workflowTemplateRef must be a mapping, not {kind_of(wtr)}")
            fields = pick(wtr, _REF)
            ref_name = scalar(fields.get("name"))
            if not ref_name:
                raise self.error(wtr, "workflowTemplateRef has no name")
            cluster = (scalar(fields.get("clusterScope")) or "").lower() == "true"
            kind = "ClusterWorkflowTemplate" if cluster else "WorkflowTemplate"
            doc.workflow_template_ref = Ref(kind, ref_name, self.span(wtr), node=wtr)
        templates = found.get("templates")
        if templates is None:
            if wtr is None:
                raise self.error(doc.spec_node or spec, f"{doc.key} has no templates")
        elif type(templates) is not SequenceNode:
            raise self.error(templates, f"templates of {doc.key} must be a list, not {kind_of(templates)}")
        else:
            for item, line, column, end in self.lines.items(templates):
                template = self.template(doc, item, Span(self.path, line, end, column))
                first = doc.templates.get(template.name)
                if first is not None:
                    raise SourceError(
                        self.path,
                        line,
                        column,
                        f'duplicate template name "{template.name}" in {doc.key} (first at line {first.span.line})',
                    )
                doc.templates[template.name] = template
        if wtr is None:
            if doc.kind in ("Workflow", "CronWorkflow") and doc.entrypoint is None:
                raise self.error(spec, f"{doc.key} has no entrypoint (spec.entrypoint names the template to run)")
            for name, node in (("entrypoint", entry), ("onExit", found.get("onExit"))):
                value = scalar(node)
                if value is not None and node is not None and value not in doc.templates:
                    raise self.error(node, f"{name}: {unknown_template(value, doc.templates)}")
            link_local(doc, self.path)

    def key_span(self, mapping: yaml.MappingNode, key: str) -> Span | None:
        """From the line of `key:` to the last line of its value."""
        for k, v in mapping.value:
            if type(k) is ScalarNode and k.value == key:
                mark = k.start_mark
                return Span(self.path, mark.line + 1, self.lines.end_line(v, mark.line), mark.column + 1)
        return None

    def template(self, doc: ArgoDocument, item: yaml.Node, span: Span) -> Template:
        if type(item) is not MappingNode:
            raise SourceError(self.path, span.line, span.column, f"a template must be a mapping, not {kind_of(item)}")
        found = pick(item, _TEMPLATE)
        name = scalar(found.get("name"))
        if not name:
            raise SourceError(self.path, span.line, span.column, "template has no name")
        types = [t for t in TYPES if t in found]
        if not types:
            raise SourceError(
                self.path,
                span.line,
                span.column,
                f'template "{name}" has no container, script, containerSet, steps, dag, suspend or resource',
            )
        if len(types) > 1:
            raise SourceError(
                self.path,
                span.line,
                span.column,
                f'template "{name}" has several types ({", ".join(types)}): keep one',
            )
        kind = types[0]
        template = Template(name, kind, span, item, doc)
        value = found[kind]
        if kind in ("container", "script"):
            if type(value) is not MappingNode:
                raise self.error(value, f'{kind} of template "{name}" must be a mapping, not {kind_of(value)}')
            step_span = self.key_span(item, kind) or self.span(value)
            template.spec = TaskSpec(name, span, [], item, doc)
            template.spec.steps.append(Step(MAIN, 0, step_span, value, template.spec))
        elif kind == "containerSet":
            template.spec = self.container_set(template, value)
        elif kind in ("steps", "dag"):
            template.calls = PipelineSpec(name, span, [], [], item, doc)
            if kind == "steps":
                self.steps_template(template, value)
            else:
                self.dag_template(template, value)
        return template

    def container_set(self, template: Template, value: yaml.Node) -> TaskSpec:
        where = f'containerSet of template "{template.name}"'
        if type(value) is not MappingNode:
            raise self.error(value, f"{where} must be a mapping, not {kind_of(value)}")
        containers = pick(value, frozenset({"containers"})).get("containers")
        if type(containers) is not SequenceNode:
            raise self.error(containers or value, f"{where} needs a list of containers")
        spec = TaskSpec(template.name, template.span, [], template.node, template.document)
        seen: dict[str, int] = {}
        for index, (item, line, column, end) in enumerate(self.lines.items(containers)):
            if type(item) is not MappingNode:
                raise SourceError(self.path, line, column, f"container {index + 1} of {where} must be a mapping")
            cname = scalar(pick(item, frozenset({"name"})).get("name"))
            if not cname:
                raise SourceError(self.path, line, column, f"container {index + 1} of {where} has no name")
            if cname in seen:
                raise SourceError(
                    self.path,
                    line,
                    column,
                    f'duplicate container name "{cname}" in {where} (first at line {seen[cname]})',
                )
            seen[cname] = line
            spec.steps.append(Step(cname, index, Span(self.path, line, end, column), item, spec))
        if not spec.steps:
            raise self.error(containers, f"{where} has no containers")
        return spec

    def steps_template(self, template: Template, value: yaml.Node) -> None:
        if type(value) is not SequenceNode:
            raise self.error(
                value, f'steps of template "{template.name}" must be a list of lists, not {kind_of(value)}'
            )
        assert template.calls is not None
        seen: dict[str, int] = {}
        for group_index, (group, gline, gcolumn, gend) in enumerate(self.lines.items(value)):
            items: list[tuple[yaml.Node, int, int, int]]
            if type(group) is MappingNode:  # a lone step written without its group list
                items = [(group, gline, gcolumn, gend)]
            elif type(group) is SequenceNode:
                items = self.lines.items(group)
            else:
                raise SourceError(
                    self.path,
                    gline,
                    gcolumn,
                    f'steps group {group_index} of "{template.name}" must be a list',
                )
            calls: list[ArgoTask] = []
            for item, line, column, end in items:
                task = self.call(template, item, Span(self.path, line, end, column), "steps item", seen)
                task.group = group_index
                calls.append(task)
                template.calls.tasks.append(task)
            template.groups.append(calls)

    def dag_template(self, template: Template, value: yaml.Node) -> None:
        if type(value) is not MappingNode:
            raise self.error(value, f'dag of template "{template.name}" must be a mapping, not {kind_of(value)}')
        tasks = pick(value, frozenset({"tasks"})).get("tasks")
        if type(tasks) is not SequenceNode:
            raise self.error(tasks or value, f'dag of template "{template.name}" needs a list of tasks')
        assert template.calls is not None
        seen: dict[str, int] = {}
        for item, line, column, end in self.lines.items(tasks):
            template.calls.tasks.append(self.call(template, item, Span(self.path, line, end, column), "DAG task", seen))

    def call(self, owner: Template, item: yaml.Node, span: Span, what: str, seen: dict[str, int]) -> ArgoTask:
        if type(item) is not MappingNode:
            raise SourceError(self.path, span.line, span.column, f"a {what} must be a mapping, not {kind_of(item)}")
        found = pick(item, _CALL)
        name = scalar(found.get("name"))
        if not name:
            raise SourceError(self.path, span.line, span.column, f'a {what} of template "{owner.name}" has no name')
        if name in seen:
            raise SourceError(
                self.path,
                span.line,
                span.column,
                f'duplicate {what} name "{name}" in template "{owner.name}" (first at line {seen[name]})',
            )
        seen[name] = span.line
        task = ArgoTask(name, span, False, item, owner=owner)
        task.pipeline = owner.calls
        ref = found.get("templateRef")
        local = scalar(found.get("template"))
        inline = found.get("inline")
        if ref is not None:
            if type(ref) is not MappingNode:
                raise self.error(ref, f"templateRef must be a mapping, not {kind_of(ref)}")
            fields = pick(ref, _REF)
            ref_name, ref_template = scalar(fields.get("name")), scalar(fields.get("template"))
            if not ref_name or not ref_template:
                raise self.error(ref, f'templateRef of {what} "{name}" needs both name and template')
            cluster = (scalar(fields.get("clusterScope")) or "").lower() == "true"
            kind = "ClusterWorkflowTemplate" if cluster else "WorkflowTemplate"
            task.task_ref = Ref(kind, ref_name, self.span(ref), node=ref)
            task.ref_template = ref_template
        elif local is not None:
            task.template = local
            task.task_ref = Ref("template", local, self.span(found["template"]), node=found["template"])
        elif inline is not None:
            inline_span = self.span(inline)
            task.target = self.template_inline(owner, name, inline, inline_span)
            task.task = task.target.spec
        else:
            raise SourceError(
                self.path,
                span.line,
                span.column,
                f'{what} "{name}" needs a template, a templateRef or an inline template',
            )
        return task

    def template_inline(self, owner: Template, name: str, node: yaml.Node, span: Span) -> Template:
        if type(node) is not MappingNode:
            raise self.error(node, f"inline template must be a mapping, not {kind_of(node)}")
        assert owner.document is not None
        # An inline template has no name of its own: Argo shows the caller's.
        inner = Template(name, "", span, node, owner.document)
        found = pick(node, _TEMPLATE)
        types = [t for t in TYPES if t in found]
        if len(types) != 1:
            raise self.error(node, f'inline template of "{name}" needs exactly one type (container, script, ...)')
        inner.type = types[0]
        if inner.type in ("container", "script"):
            step_span = self.key_span(node, inner.type) or span
            inner.spec = TaskSpec(name, span, [], node, owner.document)
            inner.spec.steps.append(Step(MAIN, 0, step_span, found[inner.type], inner.spec))
        elif inner.type == "containerSet":
            inner.spec = self.container_set(inner, found[inner.type])
        else:
            raise self.error(node, "inline steps or dag templates are not supported")
        return inner


def unknown_template(name: str, templates: dict[str, Template]) -> str:
    close = difflib.get_close_matches(name, sorted(templates), n=1)
    hint = f'; did you mean "{close[0]}"?' if close else ""
    return f'unknown template "{name}" (templates: {", ".join(templates) or "none"}){hint}'


def link_local(doc: ArgoDocument, path: str) -> None:
    """Point every `template:` call of `doc` at its template; SourceError for an unknown name."""
    for task in doc.tasks():
        if task.template is None:
            continue
        target = doc.template(task.template)
        if target is None:
            ref = task.task_ref
            line, column = (ref.span.line, ref.span.column) if ref is not None else (task.span.line, task.span.column)
            raise SourceError(path, line, column, f"{task.name}: {unknown_template(task.template, doc.templates)}")
        task.target = target
        task.task = target.spec


# ---- resolution across files ---------------------------------------------------------------

Finder = Callable[[str, str], Document | None]


def resolve(doc: ArgoDocument, find: Finder, problems: list[SourceError]) -> None:
    """Resolve `workflowTemplateRef` and every `templateRef` reachable from `doc` (in other
    documents too). Problems are appended, each at its reference's line."""
    seen: set[int] = set()
    _resolve(doc, find, problems, seen)
    if doc.kind not in TEMPLATE_KINDS and (doc.workflow_template_ref is None or doc.base is not None):
        entry = doc.run_entrypoint()
        if entry is None:
            problems.append(no_entrypoint(doc))
        elif doc.template(entry) is None:
            problems.append(
                SourceError(doc.path, doc.span.line, 1, f"entrypoint: {unknown_template(entry, doc.templates)}")
            )


def no_entrypoint(doc: ArgoDocument) -> SourceError:
    line = doc.spec_node.start_mark.line + 1 if doc.spec_node is not None else doc.span.line
    return SourceError(doc.path, line, 1, f"{doc.key} has no entrypoint: set spec.entrypoint to run it")


def _resolve(doc: ArgoDocument, find: Finder, problems: list[SourceError], seen: set[int]) -> None:
    if id(doc) in seen:
        return
    seen.add(id(doc))
    ref = doc.workflow_template_ref
    if ref is not None and doc.base is None:
        found = _find(ref, find, "workflowTemplateRef", problems)
        if found is not None:
            doc.base = found
            _resolve(found, find, problems, seen)
        if doc.base is not None:
            try:
                link_local(doc, doc.path)
            except SourceError as exc:
                problems.append(exc)
    for task in doc.tasks():
        if task.ref_template is None or task.task_ref is None:
            continue
        task.task_ref.error = None
        target_doc = _find(task.task_ref, find, "templateRef", problems)
        if target_doc is None:
            task.target, task.task = None, None
            continue
        target = target_doc.templates.get(task.ref_template)
        if target is None:
            cause = f'templateRef: template "{task.ref_template}" not found in {target_doc.key}; ' + unknown_template(
                task.ref_template, target_doc.templates
            )
            task.task_ref.error = cause
            line, column = _template_position(task)
            problems.append(SourceError(task.span.path, line, column, cause))
            continue
        task.target, task.task = target, target.spec
        _resolve(target_doc, find, problems, seen)


def _find(ref: Ref, find: Finder, key: str, problems: list[SourceError]) -> ArgoDocument | None:
    found = find(ref.kind, ref.name)
    if isinstance(found, ArgoDocument):
        return found
    cause = f'{key}: {ref.kind} "{ref.name}" not found in the search paths'
    ref.error = cause
    line, column = ref.span.line, ref.span.column
    if type(ref.node) is MappingNode:
        name = pick(ref.node, frozenset({"name"})).get("name")
        if name is not None:
            line, column = name.start_mark.line + 1, name.start_mark.column + 1
    problems.append(SourceError(ref.span.path, line, column, cause))
    return None


def _template_position(task: ArgoTask) -> tuple[int, int]:
    node = task.task_ref.node if task.task_ref is not None else None
    if type(node) is MappingNode:
        value = pick(node, frozenset({"template"})).get("template")
        if value is not None:
            return value.start_mark.line + 1, value.start_mark.column + 1
    return task.span.line, task.span.column


def files_of(doc: ArgoDocument) -> set[str]:
    """Every file a resolved Argo run uses."""
    files: set[str] = set()
    for each in _reachable(doc):
        files.add(each.path)
    return files


def _reachable(doc: ArgoDocument) -> Iterator[ArgoDocument]:
    seen: set[int] = set()
    todo = [doc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if current.base is not None:
            todo.append(current.base)
        for task in current.tasks():
            target = task.target
            if target is not None and target.document is not None:
                todo.append(target.document)


# ---- copies for a SourceSet ------------------------------------------------------------------


def clone(doc: ArgoDocument) -> ArgoDocument:
    """A copy whose references can be resolved without touching the original."""
    new = dataclasses.replace(doc, templates={}, base=None)
    if doc.workflow_template_ref is not None:
        new.workflow_template_ref = dataclasses.replace(doc.workflow_template_ref, error=None)
    for name, template in doc.templates.items():
        copy = dataclasses.replace(template, document=new, groups=[])
        if template.spec is not None:
            spec = TaskSpec(template.spec.name, template.spec.span, [], template.spec.node, new)
            spec.steps = [dataclasses.replace(s, spec=spec) for s in template.spec.steps]
            copy.spec = spec
        if template.calls is not None:
            calls = PipelineSpec(template.calls.name, template.calls.span, [], [], template.calls.node, new)
            by_id: dict[int, ArgoTask] = {}
            for task in template.calls.tasks:
                assert isinstance(task, ArgoTask)
                moved = dataclasses.replace(task, owner=copy, pipeline=calls)
                if task.task_ref is not None:
                    moved.task_ref = dataclasses.replace(task.task_ref, error=None)
                if task.template is not None or task.ref_template is not None:
                    moved.target, moved.task = None, None
                by_id[id(task)] = moved
                calls.tasks.append(moved)
            copy.groups = [[by_id[id(t)] for t in group] for group in template.groups]
            copy.calls = calls
        new.templates[name] = copy
    if doc.workflow_template_ref is None:
        link_local(new, new.path)
    return new
