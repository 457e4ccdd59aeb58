"""The Argo indexer: one ArgoDocument of the debugger's source map to an `ArgoIndex`.

The source map (`dap_server.sources.argo`) gives the templates, their leaf containers
(Steps) and the DAG tasks / steps items (ArgoTasks) with their spans, and refuses what
Argo would refuse before running anything (unknown `template:` names, duplicate template
or task names, a missing entrypoint): those come to the editor as the file's source
error. This walks the same composed nodes for what only the editor needs: the spans of
parameter declarations, of `template:` / `templateRef` values, of `{{...}}` variables,
`dependencies` and `depends` names, and the problems Argo would reject that the source
map does not look at (undeclared parameters, unknown tasks in expressions, dependency
cycles). `check` adds what needs other documents: `templateRef` and
`workflowTemplateRef` through the workspace index, the output parameters of templates
called across files.

Uses are `model.Use`s with Argo kinds: "input" (`{{inputs.parameters.x}}`), "workflow"
(`{{workflow.parameters.x}}`), "output" (`{{outputs.parameters.x}}`), "task"
(`{{tasks.t...}}` / `{{steps.s...}}`, `sub` is what follows the name, `sub_name` the
output parameter), "template" (`template:`, `entrypoint:`, `onExit:` values) and
"dependency" (`dependencies` items, names in `depends`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import yaml

from dap_server.sources import Document
from dap_server.sources.argo import LEAF_TYPES, TEMPLATE_KINDS, ArgoDocument, ArgoTask, Template
from dap_server.sources.compose import Lines, MappingNode, ScalarNode, SequenceNode, get, pick, scalar

from .model import (
    Decl,
    DocIndex,
    DocRef,
    Lens,
    Problem,
    Related,
    Resolution,
    Resolver,
    Rng,
    Scope,
    Severity,
    Symbol,
    SymbolKind,
    Use,
)
from .tekton import _Builder, _cycles
from .wording import close_to, in_order

ENGINE = "argo"
GROUP = "argoproj.io"

_DOC_SYMBOL = {
    "Workflow": SymbolKind.EVENT,
    "CronWorkflow": SymbolKind.EVENT,
    "WorkflowTemplate": SymbolKind.MODULE,
    "ClusterWorkflowTemplate": SymbolKind.MODULE,
}
_PARAM_FIELDS = frozenset({"name", "value", "default", "description", "enum", "valueFrom", "globalName"})
_SPEC_KEYS = frozenset({"arguments", "templates", "entrypoint", "onExit", "workflowTemplateRef"})
_TEMPLATE_KEYS = frozenset({"name", "inputs", "outputs", "steps", "dag"})
_CALL_KEYS = frozenset({"name", "template", "templateRef", "inline", "dependencies", "depends"})
# What may follow `{{tasks.t.` / `{{steps.s.`, and `.outputs.`
TASK_FIELDS = ("outputs", "status", "id", "ip", "exitCode", "startedAt", "finishedAt", "hostNodeName")
OUTPUT_FIELDS = ("parameters", "result", "artifacts", "exitCode")
WORKFLOW_FIELDS = ("parameters", "name", "namespace", "uid", "status", "creationTimestamp", "duration")
DEPENDS_RESULTS = frozenset(
    {"Succeeded", "Failed", "Errored", "Skipped", "Omitted", "Daemoned", "AnySucceeded", "AllFailed"}
)
_VAR = re.compile(r"\{\{(\s*)([^{}]*?)\s*\}\}")
_DEPENDS_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*(?:\.[A-Za-z]+)?")


@dataclass(eq=False)
class ArgoRef(DocRef):
    """A `templateRef` (key "templateRef", `template` is the template it names) or a
    `workflowTemplateRef` (no template)."""

    template: str | None = None
    template_range: Rng | None = None


@dataclass(eq=False)
class Tmpl:
    """One template (or an inline template of a call): its declaration and its scope
    (`params` its inputs, `results` its output parameters, `tasks` unused)."""

    name: str
    type: str
    decl: Decl
    scope: Scope
    calls: list[Call] = field(default_factory=list)  # dag tasks / steps items, in order
    containers: list[str] = field(default_factory=list)  # leaf templates
    inline: bool = False


@dataclass(eq=False)
class Call:
    """One DAG task or steps item."""

    name: str
    decl: Decl
    owner: Tmpl | None
    group: int | None  # steps: the parallel group
    template: str | None = None  # `template:` (local)
    template_decl: Decl | None = None  # resolved inside the document
    ref: ArgoRef | None = None  # `templateRef`
    inline: Tmpl | None = None
    deps: list[tuple[str, Rng, str]] = field(default_factory=list)  # (task, where, "dependencies"/"depends")

    @property
    def word(self) -> str:
        return "steps item" if self.group is not None else "DAG task"

    @property
    def calls(self) -> str:
        if self.ref is not None:
            return f"templateRef {self.ref.name}/{self.ref.template}"
        if self.template is not None:
            return f"template {self.template}"
        return f"inline {self.inline.type}" if self.inline is not None else ""


@dataclass(eq=False)
class ArgoIndex(DocIndex):
    """A DocIndex with the templates of an Argo document."""

    templates: dict[str, Tmpl] = field(default_factory=dict)
    inlines: list[Tmpl] = field(default_factory=list)
    calls: dict[Decl, Call] = field(default_factory=dict)
    args: dict[str, Decl] = field(default_factory=dict)  # spec.arguments.parameters
    argo_refs: list[ArgoRef] = field(default_factory=list)  # templateRefs, in file order
    base: ArgoRef | None = None  # workflowTemplateRef
    entrypoint: str | None = None

    def refs(self) -> Iterator[DocRef]:
        if self.base is not None:
            yield self.base
        yield from self.argo_refs

    def release(self) -> None:
        super().release()
        for tmpl in (*self.templates.values(), *self.inlines):
            tmpl.calls = []  # break template <-> call cycles: reference counting frees them
        self.templates = {}
        self.inlines = []
        self.calls = {}

    def template_at(self, line: int) -> Tmpl | None:
        """The innermost template (inline ones included) whose lines contain `line`."""
        best: Tmpl | None = None
        for tmpl in (*self.templates.values(), *self.inlines):
            r = tmpl.decl.range
            if r.contains_line(line) and (
                best is None or r.end_line - r.line <= best.decl.range.end_line - best.decl.range.line
            ):
                best = tmpl
        return best

    def call_at(self, line: int) -> Call | None:
        best: Call | None = None
        for call in self.calls.values():
            r = call.decl.range
            if r.contains_line(line) and (
                best is None or r.end_line - r.line <= best.decl.range.end_line - best.decl.range.line
            ):
                best = call
        return best

    def call_named(self, tmpl: Tmpl | None, name: str) -> Call | None:
        if tmpl is None:
            return None
        return next((c for c in tmpl.calls if c.name == name), None)


def accepts(doc: Document) -> bool:
    return isinstance(doc, ArgoDocument)


def index_document(doc: Document, lines: Lines, offset: int) -> DocIndex:
    assert isinstance(doc, ArgoDocument)
    return _Argo(doc, lines, offset).build()


class _Argo(_Builder):
    """Walks one ArgoDocument (positions and problems as in the Tekton builder)."""

    doc: ArgoDocument

    def __init__(self, doc: ArgoDocument, lines: Lines, offset: int) -> None:
        super().__init__(doc, lines, offset)
        self.doc = doc
        self.aix: ArgoIndex | None = None
        self.nodes: dict[Tmpl, yaml.Node] = {}  # the node of each template (scanned at the end)

    def build(self) -> DocIndex:
        doc = self.doc
        root = doc.node
        metadata = get(root, "metadata") if type(root) is MappingNode else None
        name_node = None
        if type(metadata) is MappingNode:
            name_node = get(metadata, "name") or get(metadata, "generateName")
        doc_rng = self.span_rng(doc.span)
        name_rng = self.node_rng(name_node) if name_node is not None else self.line_rng(doc.span.line - 1)
        ix = ArgoIndex(ENGINE, self.path, doc.kind, doc.name, doc.api_version, doc.runnable, doc_rng, name_rng)
        self.ix = self.aix = ix
        ix.entrypoint = doc.entrypoint
        symbol = Symbol(
            f"{doc.kind}/{doc.name}", doc.api_version, _DOC_SYMBOL.get(doc.kind, SymbolKind.OBJECT), doc_rng, name_rng
        )
        root_scope = Scope("workflow", f"{doc.kind}/{doc.name}", doc_rng)
        ix.root = root_scope
        ix.scopes.append(root_scope)
        spec = doc.spec_node
        # a WorkflowTemplate runs only with an entrypoint of its own (SourceSet.select refuses it otherwise)
        runnable = doc.kind not in TEMPLATE_KINDS or doc.entrypoint is not None
        if runnable:
            ix.lenses.append(Lens(self.line_rng(doc.span.line - 1), "Debug", doc.key))
        if spec is not None:
            found = pick(spec, _SPEC_KEYS)
            arguments = found.get("arguments")
            if type(arguments) is MappingNode:
                params = get(arguments, "parameters")
                if type(params) is SequenceNode:
                    group = self.params(arguments, "parameters", params, "arguments", root_scope.params, "the workflow")
                    group.name = "arguments"
                    group.range = self.key_rng(spec, "arguments", arguments)
                    group.selection = self.head_rng(group.range)
                    symbol.children.append(group)
                    ix.args = root_scope.params
            self.template_use_of(found.get("entrypoint"), root_scope)
            self.template_use_of(found.get("onExit"), root_scope)
            wtr = doc.workflow_template_ref
            if wtr is not None and type(wtr.node) is MappingNode:
                base = self.doc_ref(wtr, "workflowTemplateRef")
                ix.base = ArgoRef(base.key, base.kind, base.name, base.range, base.name_range)
                symbol.children.append(
                    Symbol(
                        "workflowTemplateRef",
                        f"{wtr.kind} {wtr.name}",
                        SymbolKind.KEY,
                        ix.base.range,
                        ix.base.name_range,
                    )
                )
            templates_node = found.get("templates")
            if type(templates_node) is SequenceNode:
                tsymbols = [self.template(t, runnable) for t in doc.templates.values()]
                group_rng = self.key_rng(spec, "templates", templates_node)
                symbol.children.append(
                    Symbol(
                        "templates", str(len(tsymbols)), SymbolKind.ARRAY, group_rng, self.head_rng(group_rng), tsymbols
                    )
                )
            self.link_templates()
            for tmpl in (*ix.templates.values(), *ix.inlines):
                self.check_uses(tmpl)
            self.scan_vars(spec, root_scope, frozenset({"templates", "arguments"}), None)
            for tmpl in ix.templates.values():
                if tmpl.calls:
                    self.check_dag(tmpl)
        ix.symbols.append(symbol)
        ix.ranges = self.ranges
        self.unlink()
        return ix

    def link_templates(self) -> None:
        """Point `template:` / entrypoint / onExit uses at their templates (all declared now)."""
        ix = self.aix
        assert ix is not None
        for use in ix.uses:
            if use.kind == "template" and use.target is None:
                tmpl = ix.templates.get(use.name)
                use.target = tmpl.decl if tmpl is not None else None
        for call in ix.calls.values():
            if call.template is not None:
                tmpl = ix.templates.get(call.template)
                call.template_decl = tmpl.decl if tmpl is not None else None

    def unlink(self) -> None:
        """Break the source map's back-links (template <-> document) so the parsed
        document is freed by reference counting."""
        for template in self.doc.templates.values():
            template.document = None
            if template.calls is not None:
                for task in template.calls.tasks:
                    task.pipeline = None
                    if isinstance(task, ArgoTask):
                        task.owner = task.target = None
                template.calls.document = None
            if template.spec is not None:
                template.spec.document = None
                for step in template.spec.steps:
                    step.spec = None

    # ---- declarations ----------------------------------------------------------------

    def params(
        self,
        parent: yaml.MappingNode,
        key: str,
        seq: yaml.SequenceNode,
        kind: str,
        table: dict[str, Decl],
        owner: str,
    ) -> Symbol:
        """Parameter declarations of `parent[key]` (kind "arguments", "input", "output")."""
        group = self.key_rng(parent, key, seq)
        children: list[Symbol] = []
        for item, rng in self.items(seq):
            if type(item) is not MappingNode:
                continue
            found = pick(item, _PARAM_FIELDS)
            name_node = found.get("name")
            name = scalar(name_node)
            if not name or name_node is None:
                continue
            sel = self.node_rng(name_node)
            notes: list[str] = []
            value, default = found.get("value"), found.get("default")
            shown = value if value is not None else default
            if value is not None:
                notes.append("value")
            elif default is not None:
                notes.append("default")
            value_from = found.get("valueFrom")
            if value_from is not None and type(value_from) is MappingNode:
                source = ", ".join(
                    f"{k.value}: {scalar(v) or '...'}" for k, v in value_from.value if type(k) is ScalarNode
                )
                notes.append(f"valueFrom {source}")
            enum = found.get("enum")
            if type(enum) is SequenceNode:
                notes.append("enum " + ", ".join(scalar(e) or "" for e in enum.value))
            decl_kind = {"arguments": "workflow parameter", "input": "input parameter", "output": "output parameter"}[
                kind
            ]
            decl = Decl(
                decl_kind,
                name,
                rng,
                sel,
                owner,
                self.path,
                default=self.text_of(shown),
                description=scalar(found.get("description")),
                notes=notes,
            )
            first = table.get(name)
            if first is not None:
                self.problem(
                    sel,
                    Severity.ERROR,
                    f'{decl_kind} "{name}" is declared twice in {owner}: Argo rejects duplicate parameter names',
                    "duplicate-param",
                    [Related(self.path, first.name_range, f'first declaration of "{name}"')],
                )
            else:
                table[name] = decl
            assert self.ix is not None
            self.ix.decls.append(decl)
            detail = self.text_of(shown) or (notes[-1] if notes else "")
            children.append(
                Symbol(name, detail or "", SymbolKind.FIELD if kind == "output" else SymbolKind.VARIABLE, rng, sel)
            )
        return Symbol(key, str(len(children)), SymbolKind.ARRAY, group, self.head_rng(group), children)

    def template(self, template: Template, runnable: bool, inline_of: Call | None = None) -> Symbol:
        ix = self.aix
        assert ix is not None
        node = template.node
        rng = self.span_rng(template.span)
        name_node = get(node, "name") if inline_of is None else None
        sel = self.node_rng(name_node) if name_node is not None else self.head_rng(rng)
        label = (
            f'template "{template.name}"'
            if inline_of is None
            else f'the inline template of {inline_of.word} "{inline_of.name}"'
        )
        decl = Decl("template", template.name, rng, sel, f"{ix.kind}/{ix.name}", self.path, type=template.type)
        scope = Scope("template", label, rng, ix.root)
        ix.scopes.append(scope)
        tmpl = Tmpl(template.name, template.type, decl, scope, inline=inline_of is not None)
        self.nodes[tmpl] = node
        if inline_of is None:
            ix.templates[template.name] = tmpl
            ix.decls.append(decl)
        else:
            ix.inlines.append(tmpl)
        found = pick(node, _TEMPLATE_KEYS)
        children: list[Symbol] = []
        for key, kind, table in (("inputs", "input", scope.params), ("outputs", "output", scope.results)):
            holder = found.get(key)
            if type(holder) is MappingNode:
                params = get(holder, "parameters")
                if type(params) is SequenceNode:
                    group = self.params(holder, "parameters", params, kind, table, label)
                    group.name = key
                    group.range = self.key_rng(node, key, holder)
                    group.selection = self.head_rng(group.range)
                    children.append(group)
        detail = template.type
        if template.spec is not None:
            for step in template.spec.steps:
                srng = self.span_rng(step.span)
                step_node = step.node
                cname = (
                    get(step_node, "name")
                    if type(step_node) is MappingNode and template.type == "containerSet"
                    else None
                )
                csel = self.node_rng(cname) if cname is not None else self.head_rng(srng)
                image = scalar(get(step_node, "image")) if type(step_node) is MappingNode else None
                tmpl.containers.append(step.label)
                cdecl = Decl("container", step.label, srng, csel, label, self.path, notes=[image] if image else [])
                ix.decls.append(cdecl)
                children.append(Symbol(step.label, image or "", SymbolKind.METHOD, srng, csel))
                if template.type != "containerSet" and image:
                    detail = f"{template.type} {image}"
        if template.calls is not None:
            calls = [t for t in template.calls.tasks if isinstance(t, ArgoTask)]
            for task in calls:
                self.declare_call(task, tmpl)
            value = get(node, template.type)
            if template.type == "dag" and type(value) is MappingNode:
                tasks_node = get(value, "tasks")
                if tasks_node is not None:
                    grng = self.key_rng(value, "tasks", tasks_node)
                    symbols = [self.call(c, t, runnable) for c, t in zip(tmpl.calls, calls, strict=True)]
                    children.append(
                        Symbol("tasks", str(len(symbols)), SymbolKind.ARRAY, grng, self.head_rng(grng), symbols)
                    )
            elif template.type == "steps" and type(value) is SequenceNode:
                groups: list[Symbol] = []
                by_task = dict(zip([id(t) for t in calls], tmpl.calls, strict=True))
                for number, ((group_node, grng), members) in enumerate(
                    zip(self.items(value), template.groups, strict=False)
                ):
                    symbols = [self.call(by_task[id(t)], t, runnable) for t in members]
                    if type(group_node) is SequenceNode:
                        grng = self.node_rng(group_node) if group_node.flow_style else grng
                    groups.append(
                        Symbol(
                            f"group {number + 1}",
                            f"{len(symbols)} in parallel" if len(symbols) > 1 else "",
                            SymbolKind.ARRAY,
                            grng,
                            self.head_rng(grng),
                            symbols,
                        )
                    )
                srng = self.key_rng(node, "steps", value)
                children.append(Symbol("steps", str(len(groups)), SymbolKind.ARRAY, srng, self.head_rng(srng), groups))
        children.sort(key=lambda s: s.range.key())
        symbol_kind = (
            SymbolKind.CLASS
            if template.type in LEAF_TYPES
            else SymbolKind.MODULE
            if template.calls is not None
            else SymbolKind.OBJECT
        )
        return Symbol(template.name, detail, symbol_kind, rng, sel, children)

    def declare_call(self, task: ArgoTask, tmpl: Tmpl) -> None:
        ix = self.aix
        assert ix is not None
        rng = self.span_rng(task.span)
        name_node = get(task.node, "name") if type(task.node) is MappingNode else None
        sel = self.node_rng(name_node) if name_node is not None else self.head_rng(rng)
        word = "steps item" if task.group is not None else "DAG task"
        decl = Decl("task", task.name, rng, sel, tmpl.scope.label, self.path, type=word)
        call = Call(task.name, decl, tmpl, task.group)
        tmpl.calls.append(call)
        ix.calls[decl] = call
        ix.decls.append(decl)

    def call(self, call: Call, task: ArgoTask, runnable: bool) -> Symbol:
        ix = self.aix
        assert ix is not None
        node = task.node
        found = pick(node, _CALL_KEYS) if type(node) is MappingNode else {}
        scope = call.owner.scope if call.owner is not None else ix.root
        assert scope is not None
        children: list[Symbol] = []
        if task.ref_template is not None and task.task_ref is not None:
            ref = self.doc_ref(task.task_ref, "templateRef")
            aref = ArgoRef(ref.key, ref.kind, ref.name, ref.range, ref.name_range, template=task.ref_template)
            tnode = get(task.task_ref.node, "template") if type(task.task_ref.node) is MappingNode else None
            aref.template_range = self.node_rng(tnode) if tnode is not None else ref.range
            call.ref = aref
            ix.argo_refs.append(aref)
        elif task.template is not None:
            call.template = task.template
            self.template_use_of(found.get("template"), scope)
        elif task.target is not None:
            inline = found.get("inline")
            symbol = self.template(task.target, runnable, call)
            call.inline = ix.inlines[-1]
            if inline is not None:
                symbol.range = self.key_rng(node, "inline", inline) if type(node) is MappingNode else symbol.range
            symbol.name = "inline"
            children.append(symbol)
        deps = found.get("dependencies")
        if type(deps) is SequenceNode:
            for item in deps.value:
                name = scalar(item)
                if name is not None and item.start_mark.line >= deps.start_mark.line:
                    r = self.node_rng(item)
                    call.deps.append((name, r, "dependencies"))
        elif deps is not None and scalar(deps) is not None:
            self.problem(
                self.node_rng(deps), Severity.ERROR, "dependencies must be a list of task names", "dependencies"
            )
        depends = found.get("depends")
        if type(depends) is ScalarNode and depends.value and "\n" not in depends.value:
            self.depends(depends, call)
        if runnable and ix.lenses:
            line = call.decl.range.line - self.off
            ix.lenses.append(
                Lens(self.line_rng(line, call.decl.range.col), "Debug from here", ix.lenses[0].object, True)
            )
        children.sort(key=lambda s: s.range.key())
        return Symbol(task.name, call.calls, SymbolKind.FUNCTION, call.decl.range, call.decl.name_range, children)

    def depends(self, node: yaml.ScalarNode, call: Call) -> None:
        """The task names of a `depends` expression (`a && (b.Failed || !c.Skipped)`)."""
        start = node.start_mark
        if start.line != node.end_mark.line:
            return
        raw = self.text[start.line][start.column : node.end_mark.column]
        base = start.column
        if node.style in ('"', "'"):
            raw, base = raw[1:-1], base + 1
        for m in _DEPENDS_NAME.finditer(raw):
            name, _, result = m.group(0).partition(".")
            r = self.rng(start.line, base + m.start(), start.line, base + m.start() + len(name))
            call.deps.append((name, r, "depends"))
            if result and result not in DEPENDS_RESULTS:
                at = base + m.start() + len(name) + 1
                self.problem(
                    self.rng(start.line, at, start.line, at + len(result)),
                    Severity.ERROR,
                    f'depends: "{result}" is not a task result ({", ".join(sorted(DEPENDS_RESULTS))})'
                    + close_to(result, DEPENDS_RESULTS),
                    "depends",
                )

    def template_use_of(self, node: yaml.Node | None, scope: Scope) -> Use | None:
        """A `template:` / `entrypoint:` / `onExit:` value naming a template of this document."""
        ix = self.aix
        assert ix is not None
        name = scalar(node)
        if node is None or name is None:
            return None
        r = self.node_rng(node)
        use = Use("template", name, r, r, scope, name)
        ix.uses.append(use)
        return use

    # ---- variables -------------------------------------------------------------------

    def scan_vars(self, node: yaml.Node, scope: Scope, skip: frozenset[str], tmpl: Tmpl | None) -> None:
        """Every `{{...}}` in the scalars under `node` (keys in `skip` of `node` left out;
        inline templates are scanned with their own scope)."""
        stack: list[yaml.Node] = []
        if type(node) is MappingNode:
            stack.extend(v for k, v in node.value if not (type(k) is ScalarNode and k.value in skip))
        else:
            stack.append(node)
        seen = self.seen
        while stack:
            current = stack.pop()
            if id(current) in seen:
                continue
            seen.add(id(current))
            kind = type(current)
            if kind is ScalarNode:
                if "{{" in current.value:
                    assert isinstance(current, ScalarNode)
                    self.scalar_vars(current, scope, tmpl)
            elif kind is MappingNode:
                for k, v in current.value:
                    if type(k) is ScalarNode and k.value == "inline" and tmpl is not None:
                        continue  # walked with its own scope
                    stack.append(v)
            elif kind is SequenceNode:
                stack.extend(current.value)

    def check_uses(self, tmpl: Tmpl) -> None:
        node = self.nodes.get(tmpl)
        if node is not None:
            self.scan_vars(node, tmpl.scope, frozenset({"name"}), tmpl)

    def scalar_vars(self, node: yaml.ScalarNode, scope: Scope, tmpl: Tmpl | None) -> None:
        start, end = node.start_mark, node.end_mark
        text = self.text
        for line in range(start.line, min(end.line, len(text) - 1) + 1):
            source = text[line]
            low = start.column if line == start.line else 0
            high = end.column if line == end.line else len(source)
            segment = source[low:high]
            if "{{" not in segment:
                continue
            for m in _VAR.finditer(segment):
                expr = m.group(2)
                if expr.startswith("="):
                    continue
                col = low + m.start(2)
                self.var(expr, line, low + m.start(), low + m.end(), col, scope, tmpl)

    def var(self, expr: str, line: int, start: int, end: int, col: int, scope: Scope, tmpl: Tmpl | None) -> None:
        ix = self.aix
        assert ix is not None
        parts = expr.split(".")
        offsets: list[tuple[int, int]] = []
        at = col
        for part in parts:
            offsets.append((at, at + len(part)))
            at += len(part) + 1
        whole = self.rng(line, start, line, end)
        text = "{{" + expr + "}}"

        def part_rng(k: int) -> Rng:
            return self.rng(line, offsets[k][0], line, offsets[k][1])

        root = parts[0]
        if root in ("inputs", "outputs") and len(parts) >= 3 and parts[1] == "parameters":
            name = parts[2]
            if not name:
                return
            table = scope.params if root == "inputs" else scope.results
            what = "input" if root == "inputs" else "output"
            target = table.get(name)
            nrng = part_rng(2)
            ix.uses.append(Use(what, name, whole, nrng, scope, text, target=target))
            if target is None and tmpl is not None:
                self.problem(
                    nrng,
                    Severity.ERROR,
                    f'{text}: {scope.label} declares no {what} parameter "{name}" '
                    f"({in_order(f'{root}.parameters', table)})" + close_to(name, table),
                    f"unknown-{what}",
                )
        elif root == "workflow" and len(parts) >= 3 and parts[1] == "parameters":
            name = parts[2]
            if not name:
                return
            nrng = part_rng(2)
            target = ix.args.get(name)
            ix.uses.append(Use("workflow", name, whole, nrng, scope, text, target=target))
            if target is None and ix.base is None:
                template_doc = ix.kind in TEMPLATE_KINDS
                self.problem(
                    nrng,
                    Severity.WARNING if template_doc else Severity.ERROR,
                    f'{text}: {ix.kind}/{ix.name} declares no workflow parameter "{name}" in spec.arguments.parameters '
                    f"({in_order('parameters', ix.args)})"
                    + close_to(name, ix.args)
                    + ("; it must come from the Workflow that calls this template" if template_doc else ""),
                    "unknown-workflow-param",
                )
        elif root in ("tasks", "steps") and len(parts) >= 2 and parts[1]:
            self.task_var(root, parts, text, whole, part_rng, line, scope, tmpl)

    def task_var(
        self,
        root: str,
        parts: list[str],
        text: str,
        whole: Rng,
        part_rng: Callable[[int], Rng],
        line: int,
        scope: Scope,
        tmpl: Tmpl | None,
    ) -> None:
        ix = self.aix
        assert ix is not None
        name = parts[1]
        if name in ("status", "name") and len(parts) == 2:
            return  # {{steps.name}}, {{tasks.status}}: the group's own
        nrng: Rng = part_rng(1)
        wanted = "dag" if root == "tasks" else "steps"
        owner: Tmpl | None = tmpl
        if owner is None or owner.inline or owner.type != wanted:
            if tmpl is not None:
                where = "a dag template" if root == "tasks" else "a steps template"
                self.problem(whole, Severity.ERROR, f"{text} can only be used in {where}", "task-scope")
            return
        call = ix.call_named(owner, name)
        sub = parts[2] if len(parts) > 2 else None
        sub_name = parts[4] if len(parts) > 4 and sub == "outputs" and parts[3] == "parameters" else None
        sub_rng = part_rng(4) if sub_name else None
        use = Use("task", name, whole, nrng, scope, text, sub, sub_name, sub_rng, call.decl if call else None)
        ix.uses.append(use)
        word = "DAG task" if root == "tasks" else "steps item"
        if call is None:
            names = [c.name for c in owner.calls]
            self.problem(
                nrng,
                Severity.ERROR,
                f'{text}: no {word} "{name}" in {owner.scope.label} ({in_order(root, names)})' + close_to(name, names),
                "unknown-task",
            )
            return
        current = ix.call_at(line + self.off)
        if current is not None and current.owner is not owner:
            current = None
        if current is call:
            self.problem(nrng, Severity.ERROR, f"{text}: a {word} cannot use its own outputs", "self-reference")
        elif (
            current is not None and call.group is not None and current.group is not None and call.group >= current.group
        ):
            self.problem(
                nrng,
                Severity.ERROR,
                f'{text}: steps item "{name}" runs in group {call.group + 1}, not before this one '
                f"(group {current.group + 1}): its outputs do not exist yet",
                "step-order",
            )
        if sub == "outputs" and len(parts) > 3 and parts[3] not in OUTPUT_FIELDS:
            self.problem(
                part_rng(3),
                Severity.ERROR,
                f"{text}: outputs has no {parts[3]!r} ({', '.join(OUTPUT_FIELDS)})",
                "unknown-field",
            )
        elif sub is not None and sub not in TASK_FIELDS:
            self.problem(
                part_rng(2),
                Severity.ERROR,
                f"{text}: {word}s have no {sub!r} ({', '.join(TASK_FIELDS)})",
                "unknown-field",
            )
        if sub_name is not None and sub_rng is not None:
            outputs = self.local_outputs(call)
            if outputs is not None and sub_name not in outputs:
                self.problem(
                    sub_rng,
                    Severity.ERROR,
                    f'{text}: template "{call.template or call.name}" (called by {word} "{name}") declares no output '
                    f'parameter "{sub_name}" ({in_order("outputs.parameters", outputs)})' + close_to(sub_name, outputs),
                    "unknown-output",
                )

    def local_outputs(self, call: Call) -> dict[str, Decl] | None:
        """The output parameters of what `call` runs, when it is in this document."""
        ix = self.aix
        assert ix is not None
        if call.inline is not None:
            return call.inline.scope.results
        if call.template is not None:
            tmpl = ix.templates.get(call.template)
            return tmpl.scope.results if tmpl is not None else None
        return None

    # ---- the graph -------------------------------------------------------------------

    def check_dag(self, tmpl: Tmpl) -> None:
        """Dependencies and depends names, and cycles, of one dag template."""
        names = {c.name: c for c in tmpl.calls}
        edges: dict[str, list[tuple[str, Rng, str]]] = {c.name: [] for c in tmpl.calls}
        ix = self.aix
        assert ix is not None
        scope = tmpl.scope
        for call in tmpl.calls:
            for dep, r, how in call.deps:
                target = names.get(dep)
                ix.uses.append(Use("dependency", dep, r, r, scope, dep, target=target.decl if target else None))
                if tmpl.type != "dag":
                    self.problem(r, Severity.WARNING, f"{how} only works in dag tasks: steps run group by group", how)
                elif target is None:
                    others = [n for n in names if n != call.name]
                    self.problem(
                        r,
                        Severity.ERROR,
                        f'{how}: no DAG task "{dep}" in {tmpl.scope.label} ({in_order("tasks", others)})'
                        + close_to(dep, others),
                        "unknown-task",
                    )
                elif target is call:
                    self.problem(r, Severity.ERROR, f'{how}: task "{dep}" cannot depend on itself', "cycle")
                else:
                    edges[call.name].append((dep, r, how))
        for cycle_edges in _cycles(edges):
            for source, dependency, r, how, path in cycle_edges:
                loop = " → ".join(f'"{n}"' for n in path)
                self.problem(
                    r,
                    Severity.ERROR,
                    f'dependency cycle {loop}: "{source}" depends on "{dependency}" ({how}), which depends on '
                    f'"{source}" again: Argo rejects the workflow',
                    "cycle",
                )
        if tmpl.type == "dag":
            self.missing_dependencies(tmpl, edges)

    def missing_dependencies(self, tmpl: Tmpl, edges: dict[str, list[tuple[str, Rng, str]]]) -> None:
        """`{{tasks.t...}}` in a task must name one of its ancestors (Argo: "missing dependency")."""
        ix = self.aix
        assert ix is not None

        def ancestors(name: str) -> set[str]:
            out: set[str] = set()
            todo = [d for d, _, _ in edges.get(name, [])]
            while todo:
                current = todo.pop()
                if current not in out:
                    out.add(current)
                    todo.extend(d for d, _, _ in edges.get(current, []))
            return out

        for use in ix.uses:
            if use.kind != "task" or use.scope is not tmpl.scope or use.target is None:
                continue
            current = ix.call_at(use.range.line)
            if current is None or current.owner is not tmpl or current.name == use.name:
                continue
            if use.name not in ancestors(current.name):
                self.problem(
                    use.name_range,
                    Severity.ERROR,
                    f'{use.text}: DAG task "{current.name}" does not depend on "{use.name}" (add it to its '
                    "dependencies or depends): Argo rejects the workflow with a missing dependency",
                    "missing-dependency",
                )


# ---- checks that need other documents ---------------------------------------------------


def kinds_for(ref: DocRef) -> list[str]:
    return [ref.kind]


def unresolvable(ref: DocRef) -> Resolution | None:
    return None


def template_of(ix: DocIndex, ref: ArgoRef, resolver: Resolver) -> tuple[ArgoIndex | None, Tmpl | None]:
    """The document and template a templateRef names (None where not found)."""
    target = resolver.resolve(ix, ref).target
    if not isinstance(target, ArgoIndex):
        return None, None
    return target, target.templates.get(ref.template or "")


def called(ix: ArgoIndex, call: Call, resolver: Resolver) -> Tmpl | None:
    """The template a call runs: inline, local, or through its templateRef."""
    if call.inline is not None:
        return call.inline
    if call.ref is not None:
        return template_of(ix, call.ref, resolver)[1]
    if call.template is not None:
        found = ix.templates.get(call.template)
        if found is None and ix.base is not None:
            base = resolver.resolve(ix, ix.base).target
            if isinstance(base, ArgoIndex):
                found = base.templates.get(call.template)
        return found
    return None


def check(ix: DocIndex, resolver: Resolver) -> list[Problem]:
    """Problems of `ix` that need other documents: templateRef / workflowTemplateRef,
    templates and output parameters found through them."""
    problems: list[Problem] = []
    if not isinstance(ix, ArgoIndex):
        return problems
    base: ArgoIndex | None = None
    if ix.base is not None:
        resolved = resolver.resolve(ix, ix.base)
        if resolved.message is not None:
            problems.append(Problem(ix.base.name_range, resolved.severity, resolved.message, "unresolved-ref"))
        elif isinstance(resolved.target, ArgoIndex):
            base = resolved.target
    for ref in ix.argo_refs:
        resolved = resolver.resolve(ix, ref)
        if resolved.message is not None:
            problems.append(Problem(ref.name_range, resolved.severity, resolved.message, "unresolved-ref"))
            continue
        target = resolved.target
        if isinstance(target, ArgoIndex) and ref.template not in target.templates:
            problems.append(
                Problem(
                    ref.template_range or ref.range,
                    Severity.ERROR,
                    f'templateRef: {target.kind}/{target.name} has no template "{ref.template}" '
                    f"({in_order('templates', target.templates)})" + close_to(ref.template or "", target.templates),
                    "unknown-template",
                    [Related(target.path, target.name_range, f"{target.kind}/{target.name}")],
                )
            )
    if ix.base is not None and base is not None:
        names = {**base.templates, **ix.templates}
        for use in ix.uses:
            if use.kind == "template" and use.target is None and use.name not in names:
                problems.append(
                    Problem(
                        use.name_range,
                        Severity.ERROR,
                        f'unknown template "{use.name}" (in {ix.kind}/{ix.name} and its workflowTemplateRef '
                        f"{base.kind}/{base.name}: {', '.join(names) or 'none'})" + close_to(use.name, names),
                        "unknown-template",
                    )
                )
            elif use.kind == "workflow" and use.target is None and use.name not in base.args:
                problems.append(
                    Problem(
                        use.name_range,
                        Severity.ERROR,
                        f"{use.text}: neither {ix.kind}/{ix.name} nor {base.kind}/{base.name} declares the workflow "
                        f'parameter "{use.name}"',
                        "unknown-workflow-param",
                    )
                )
        entry = ix.entrypoint or base.entrypoint
        if ix.kind not in TEMPLATE_KINDS and entry is None:
            problems.append(
                Problem(
                    ix.name_range,
                    Severity.ERROR,
                    f"{ix.kind}/{ix.name} has no entrypoint, nor has {base.kind}/{base.name}: set spec.entrypoint",
                    "no-entrypoint",
                )
            )
        elif entry is not None and entry not in names:
            problems.append(
                Problem(
                    ix.name_range,
                    Severity.ERROR,
                    f'entrypoint: unknown template "{entry}" ({", ".join(names) or "none"})',
                    "unknown-template",
                )
            )
    for use in ix.uses:
        if use.kind != "task" or use.sub_name is None or use.target is None:
            continue
        call = ix.calls.get(use.target)
        if call is None or call.inline is not None or (call.ref is None and call.template in ix.templates):
            continue  # checked while indexing
        tmpl = called(ix, call, resolver)
        if tmpl is None or use.sub_name in tmpl.scope.results:
            continue
        problems.append(
            Problem(
                use.sub_range or use.range,
                Severity.ERROR,
                f'{use.text}: {tmpl.scope.label} (called by {call.word} "{call.name}" through '
                f'{call.calls}) declares no output parameter "{use.sub_name}" '
                f"({in_order('outputs.parameters', tmpl.scope.results)})" + close_to(use.sub_name, tmpl.scope.results),
                "unknown-output",
            )
        )
    return problems
