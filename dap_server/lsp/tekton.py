"""The Tekton indexer: one Document of the debugger's source map to a `DocIndex`.

The source map (`dap_server.sources`) gives documents, tasks and steps with their spans;
this walks the same composed nodes for what only the editor needs: the spans of params,
results and workspaces declarations, of reference names, of `$(...)` variables, the
scopes that say which names a position sees, and the problems Tekton would reject that
can be seen inside one document. `check` then adds the problems that need other
documents (references by name), through a `Resolver` (the workspace index).

Variables are found with `dap_server.sources.tekton_vars.find_references`, the parser the
local engine substitutes with, on the raw text of each scalar (so columns are exact in
quoted, folded and block scalars alike).
"""

from __future__ import annotations

import yaml

from dap_server.sources import Document, PipelineSpec, PipelineTask, Ref, Span, TaskSpec
from dap_server.sources.compose import Lines, MappingNode, ScalarNode, SequenceNode, get, pick, scalar
from dap_server.sources.tekton_vars import find_references

from .model import (
    Binding,
    DebugBlock,
    Decl,
    DocIndex,
    DocRef,
    Lens,
    Problem,
    PTask,
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
from .wording import close_to, listing

ENGINE = "tekton"
GROUP = "tekton.dev"
TASK_KINDS = frozenset({"Task", "ClusterTask"})

_DOC_SYMBOL = {
    "Task": SymbolKind.CLASS,
    "ClusterTask": SymbolKind.CLASS,
    "Pipeline": SymbolKind.MODULE,
    "TaskRun": SymbolKind.EVENT,
    "PipelineRun": SymbolKind.EVENT,
}
_DECL_SYMBOL = {"param": SymbolKind.VARIABLE, "result": SymbolKind.FIELD, "workspace": SymbolKind.STRUCT}
_DECL_FIELDS = frozenset(
    {"name", "type", "default", "description", "optional", "readOnly", "mountPath", "value", "properties"}
)
# Keys of a task spec / pipeline task whose text holds no variables to check (declarations,
# free text), or that are walked on their own (embedded specs).
_TASK_SKIP = frozenset({"params", "results", "workspaces", "description", "displayName"})
_PTASK_SKIP = frozenset({"name", "taskSpec", "runAfter", "description", "displayName", "pipelineSpec"})
_PIPELINE_SKIP = frozenset({"params", "workspaces", "description", "displayName", "tasks", "finally"})
_TASK_KEYS = frozenset({"params", "results", "workspaces", "steps", "description"})
_PIPELINE_KEYS = frozenset({"params", "workspaces", "results", "tasks", "finally", "description"})
_PTASK_KEYS = frozenset(
    {"taskRef", "taskSpec", "pipelineRef", "pipelineSpec", "runAfter", "params", "workspaces", "matrix"}
)
_RUN_KEYS = frozenset({"params", "workspaces", "debug"})
_DEBUG_KEYS = ("onFailure", "beforeSteps")


def index_document(doc: Document, lines: Lines, offset: int) -> DocIndex:
    """The index of `doc`, parsed from a text whose line 0 is line `offset` of its file."""
    return _Builder(doc, lines, offset).build()


class _Builder:
    def __init__(self, doc: Document, lines: Lines, offset: int) -> None:
        self.doc = doc
        self.lines = lines
        self.text = lines.lines
        self.off = offset
        self.path = doc.path
        self.ranges: list[Rng] = []
        self.seen: set[int] = set()
        self.ix: DocIndex | None = None

    # ---- positions -------------------------------------------------------------------

    def rng(self, line: int, col: int, end_line: int, end_col: int) -> Rng:
        r = Rng(line + self.off, col, end_line + self.off, end_col)
        self.ranges.append(r)
        return r

    def line_end(self, line: int) -> int:
        return len(self.text[line]) if 0 <= line < len(self.text) else 0

    def line_rng(self, line: int, col: int = 0) -> Rng:
        """From `col` to the end of 0-based chunk line `line`."""
        return self.rng(line, col, line, max(col, self.line_end(line)))

    def span_rng(self, span: Span) -> Rng:
        end = span.end_line - 1
        return self.rng(span.line - 1, span.column - 1, end, self.line_end(end))

    def bounds(self, node: yaml.Node) -> tuple[int, int, int, int]:
        """Chunk-relative (line, col, end line, end col) of a node: a block collection or
        block scalar ends at the end of its last content line; a one-line quoted scalar is
        its text without the quotes."""
        start = node.start_mark
        if type(node) is ScalarNode:
            if node.style in ("|", ">"):
                last = self.lines.end_line(node, start.line) - 1
                return start.line, start.column, last, self.line_end(last)
            end = node.end_mark
            if node.style in ('"', "'") and start.line == end.line and end.column - start.column >= 2:
                return start.line, start.column + 1, end.line, end.column - 1  # the text, not the quotes
            return start.line, start.column, end.line, end.column
        if getattr(node, "flow_style", False):
            end = node.end_mark
            return start.line, start.column, end.line, end.column
        last = self.lines.end_line(node, start.line) - 1
        return start.line, start.column, last, self.line_end(last)

    def node_rng(self, node: yaml.Node) -> Rng:
        return self.rng(*self.bounds(node))

    def key_rng(self, mapping: yaml.MappingNode, key: str, value: yaml.Node) -> Rng:
        """From `key:` to the end of its value (the value alone for a merged key)."""
        for k, v in mapping.value:
            if v is value and type(k) is ScalarNode and k.value == key:
                _, _, end_line, end_col = self.bounds(value)
                return self.rng(k.start_mark.line, k.start_mark.column, end_line, end_col)
        return self.node_rng(value)

    def items(self, seq: yaml.SequenceNode) -> list[tuple[yaml.Node, Rng]]:
        out = []
        for item, line, column, end in self.lines.items(seq):
            out.append((item, self.rng(line - 1, column - 1, end - 1, self.line_end(end - 1))))
        return out

    def text_of(self, node: yaml.Node | None) -> str | None:
        """A value as written, for hovers (long values cut)."""
        if node is None:
            return None
        if type(node) is ScalarNode:
            text = str(node.value)
            if node.style in ('"', "'"):
                text = f"{node.style}{text}{node.style}"
        else:
            start, end = node.start_mark, node.end_mark
            if start.line == end.line:
                text = self.text[start.line][start.column : end.column]
            else:
                last = self.lines.end_line(node, start.line)
                chunk = [self.text[start.line][start.column :], *self.text[start.line + 1 : last]]
                text = "\n".join(chunk)
        return text if len(text) <= 400 else text[:400] + " ..."

    # ---- problems --------------------------------------------------------------------

    def problem(
        self, rng: Rng, severity: Severity, message: str, code: str, related: list[Related] | None = None
    ) -> None:
        assert self.ix is not None
        self.ix.problems.append(Problem(rng, severity, message, code, related or []))

    # ---- documents -------------------------------------------------------------------

    def build(self) -> DocIndex:
        doc = self.doc
        root = doc.node
        metadata = get(root, "metadata") if type(root) is MappingNode else None
        name_node = None
        if type(metadata) is MappingNode:
            name_node = get(metadata, "name") or get(metadata, "generateName")
        doc_rng = self.span_rng(doc.span)
        name_rng = self.node_rng(name_node) if name_node is not None else self.line_rng(doc.span.line - 1)
        ix = self.ix = DocIndex(ENGINE, self.path, doc.kind, doc.name, doc.api_version, doc.runnable, doc_rng, name_rng)
        spec = get(root, "spec") if type(root) is MappingNode else None
        symbol = Symbol(
            f"{doc.kind}/{doc.name}",
            doc.api_version,
            _DOC_SYMBOL.get(doc.kind, SymbolKind.OBJECT),
            doc_rng,
            name_rng,
        )
        if doc.runnable:
            ix.lenses.append(Lens(self.line_rng(doc.span.line - 1), "Debug", doc.key))
        if type(spec) is MappingNode:
            description = get(spec, "description")
            ix.description = scalar(description)
            if doc.kind in TASK_KINDS and doc.task is not None:
                ix.root, symbol.children = self.task(doc.task, f'{doc.kind} "{doc.name}"', None, doc_rng)
            elif doc.kind == "Pipeline" and doc.pipeline is not None:
                ix.root, symbol.children = self.pipeline(doc.pipeline, f'Pipeline "{doc.name}"', None, doc_rng)
            elif doc.kind in ("TaskRun", "PipelineRun"):
                symbol.children = self.run(doc, spec, doc_rng)
        ix.symbols.append(symbol)
        ix.ranges = self.ranges
        return ix

    def run(self, doc: Document, spec: yaml.MappingNode, doc_rng: Rng) -> list[Symbol]:
        ix = self.ix
        assert ix is not None
        label = f'{doc.kind} "{doc.name}"'
        found = pick(spec, _RUN_KEYS)
        scope = Scope("run", label, doc_rng)
        ix.scopes.append(scope)
        children: list[Symbol] = []
        params = found.get("params")
        if type(params) is SequenceNode:
            children.append(self.decl_group(spec, "params", "param", params, label, scope.params, given=True))
        workspaces = found.get("workspaces")
        if type(workspaces) is SequenceNode:
            children.append(
                self.decl_group(spec, "workspaces", "workspace", workspaces, label, scope.workspaces, given=True)
            )
        ref = doc.task_ref or doc.pipeline_ref
        if ref is not None:
            key = "taskRef" if doc.task_ref is not None else "pipelineRef"
            ix.ref = self.doc_ref(ref, key)
            children.append(Symbol(key, f"{ref.kind} {ref.name}", SymbolKind.KEY, ix.ref.range, ix.ref.name_range))
        elif doc.task is not None:
            ix.root, inner = self.task(doc.task, f"the taskSpec of {label}", scope, self.span_rng(doc.task.span))
            children.extend(inner)
        elif doc.pipeline is not None:
            ix.root, inner = self.pipeline(
                doc.pipeline, f"the pipelineSpec of {label}", scope, self.span_rng(doc.pipeline.span)
            )
            children.extend(inner)
        debug = found.get("debug")
        if debug is not None:
            if doc.kind == "TaskRun":
                self.debug(spec, debug)
            else:
                self.problem(
                    self.key_rng(spec, "debug", debug),
                    Severity.WARNING,
                    "a PipelineRun has no spec.debug in Tekton (only TaskRuns do; TEP-0097 is not "
                    "implemented): Tekton drops this block. Set breakpoints in the debugger instead: "
                    "pipeline-dap pauses each task's TaskRun for you.",
                    "debug-pipelinerun",
                )
        children.sort(key=lambda s: s.range.key())
        return children

    def doc_ref(self, ref: Ref, key: str) -> DocRef:
        node = ref.node
        name_rng: Rng | None = None
        rng: Rng
        if type(node) is MappingNode:
            rng = self.node_rng(node)
            name_node = get(node, "name") or get(node, "resolver")
            if name_node is not None:
                name_rng = self.node_rng(name_node)
        else:
            rng = self.span_rng(ref.span)
        return DocRef(key, ref.kind, ref.name, rng, name_rng or rng, ref.resolver, ref.api_version)

    # ---- declarations ----------------------------------------------------------------

    def decl_group(
        self,
        parent: yaml.MappingNode,
        key: str,
        kind: str,
        seq: yaml.SequenceNode,
        owner: str,
        table: dict[str, Decl],
        *,
        given: bool = False,
        scan: Scope | None = None,
    ) -> Symbol:
        """Declarations of `kind` from the list `parent[key]`, into `table`; with `scan`,
        the `value` of each item is searched for variables (Pipeline results)."""
        group = self.key_rng(parent, key, seq)
        children: list[Symbol] = []
        ix = self.ix
        assert ix is not None
        for item, rng in self.items(seq):
            if type(item) is not MappingNode:
                continue
            found = pick(item, _DECL_FIELDS)
            name_node = found.get("name")
            name = scalar(name_node)
            if not name or name_node is None:
                continue
            sel = self.node_rng(name_node)
            value = found.get("value")
            default = found.get("default")
            type_ = scalar(found.get("type"))
            if kind == "param" and type_ is None:
                typed = default if default is not None else value
                type_ = (
                    "array"
                    if type(typed) is SequenceNode
                    else "object"
                    if type(typed) is MappingNode or found.get("properties") is not None
                    else "string"
                )
            notes: list[str] = []
            for flag in ("optional", "readOnly"):
                if scalar(found.get(flag)) == "true":
                    notes.append(flag)
            mount = scalar(found.get("mountPath"))
            if mount:
                notes.append(f"mountPath {mount}")
            decl = Decl(
                kind,
                name,
                rng,
                sel,
                owner,
                self.path,
                type=type_ if kind != "workspace" else None,
                default=self.text_of(value if given or kind == "result" else default),
                description=scalar(found.get("description")),
                notes=notes,
            )
            if given:
                decl.notes.insert(0, "given by the run")
            first = table.get(name)
            if first is not None:
                self.problem(
                    sel,
                    Severity.ERROR,
                    f'{kind} "{name}" is declared twice in {owner}: Tekton rejects duplicate {kind} names',
                    f"duplicate-{kind}",
                    [Related(self.path, first.name_range, f'first declaration of {kind} "{name}"')],
                )
            else:
                table[name] = decl
            ix.decls.append(decl)
            detail = " ".join(x for x in (decl.type, *notes) if x)
            children.append(Symbol(name, detail, _DECL_SYMBOL[kind], rng, sel))
            if scan is not None and value is not None:
                self.scan(value, scan, frozenset())
        return Symbol(key, f"{len(children)}", SymbolKind.ARRAY, group, self.head_rng(group), children)

    def head_rng(self, rng: Rng) -> Rng:
        """The first line of `rng` (a selection range for a group)."""
        line = rng.line - self.off
        return self.rng(line, rng.col, line, max(rng.col, self.line_end(line)))

    # ---- tasks and steps -------------------------------------------------------------

    def task(self, spec: TaskSpec, label: str, parent: Scope | None, rng: Rng) -> tuple[Scope, list[Symbol]]:
        ix = self.ix
        assert ix is not None
        node = spec.node
        scope = Scope("task", label, rng, parent)
        ix.scopes.append(scope)
        children: list[Symbol] = []
        if type(node) is not MappingNode:
            return scope, children
        found = pick(node, _TASK_KEYS)
        for key, kind in (("params", "param"), ("workspaces", "workspace"), ("results", "result")):
            seq = found.get(key)
            if type(seq) is SequenceNode:
                table: dict[str, Decl] = getattr(scope, key)
                children.append(self.decl_group(node, key, kind, seq, label, table))
        steps_node = found.get("steps")
        if spec.steps and steps_node is not None:
            step_symbols = []
            for step in spec.steps:
                srng = self.span_rng(step.span)
                name_node = get(step.node, "name") if type(step.node) is MappingNode else None
                sel = self.node_rng(name_node) if name_node is not None else self.head_rng(srng)
                image = scalar(get(step.node, "image")) if type(step.node) is MappingNode else None
                decl = Decl("step", step.label, srng, sel, label, self.path, notes=[image] if image else [])
                if step.name:
                    scope.steps[step.name] = decl
                ix.decls.append(decl)
                step_symbols.append(Symbol(step.label, image or "", SymbolKind.METHOD, srng, sel))
            group = self.key_rng(node, "steps", steps_node)
            children.append(
                Symbol(
                    "steps",
                    f"{len(step_symbols)}",
                    SymbolKind.ARRAY,
                    group,
                    self.head_rng(group),
                    step_symbols,
                )
            )
        self.scan(node, scope, _TASK_SKIP)
        children.sort(key=lambda s: s.range.key())
        return scope, children

    def pipeline(self, spec: PipelineSpec, label: str, parent: Scope | None, rng: Rng) -> tuple[Scope, list[Symbol]]:
        ix = self.ix
        assert ix is not None
        node = spec.node
        scope = Scope("pipeline", label, rng, parent)
        ix.scopes.append(scope)
        ix.pipeline = scope
        children: list[Symbol] = []
        if type(node) is not MappingNode:
            return scope, children
        found = pick(node, _PIPELINE_KEYS)
        for key, kind in (("params", "param"), ("workspaces", "workspace")):
            seq = found.get(key)
            if type(seq) is SequenceNode:
                children.append(self.decl_group(node, key, kind, seq, label, getattr(scope, key)))
        # every task is declared before any is walked: uses may name a later task
        declared: list[tuple[PipelineTask, PTask]] = []
        for task in spec.all_tasks():
            declared.append((task, self.declare_ptask(task, scope, label)))
        for key, is_finally in (("tasks", False), ("finally", True)):
            seq = found.get(key)
            if seq is None:
                continue
            symbols = [self.ptask(t, p, scope) for t, p in declared if t.is_finally == is_finally]
            group = self.key_rng(node, key, seq)
            children.append(Symbol(key, f"{len(symbols)}", SymbolKind.ARRAY, group, self.head_rng(group), symbols))
        results = found.get("results")
        if type(results) is SequenceNode:
            children.append(self.decl_group(node, "results", "result", results, label, scope.results, scan=scope))
        self.scan(node, scope, _PIPELINE_SKIP | {"results"})
        self.check_graph(scope)
        children.sort(key=lambda s: s.range.key())
        return scope, children

    def declare_ptask(self, task: PipelineTask, pipeline: Scope, label: str) -> PTask:
        ix = self.ix
        assert ix is not None
        rng = self.span_rng(task.span)
        name_node = get(task.node, "name") if type(task.node) is MappingNode else None
        sel = self.node_rng(name_node) if name_node is not None else self.head_rng(rng)
        decl = Decl("task", task.name, rng, sel, label, self.path, notes=["finally"] if task.is_finally else [])
        ptask = PTask(task.name, decl, task.is_finally)
        pipeline.tasks[task.name] = ptask
        ix.decls.append(decl)
        return ptask

    def ptask(self, task: PipelineTask, ptask: PTask, pipeline: Scope) -> Symbol:
        ix = self.ix
        assert ix is not None
        node = task.node
        decl = ptask.decl
        scope = Scope("ptask", f'pipeline task "{task.name}"', decl.range, pipeline, ptask=ptask)
        ptask.scope = scope
        ix.scopes.append(scope)
        children: list[Symbol] = []
        found = pick(node, _PTASK_KEYS) if type(node) is MappingNode else {}
        detail = "finally · " if task.is_finally else ""
        if task.task_ref is not None:
            ptask.ref = self.doc_ref(task.task_ref, "taskRef")
            detail += f"taskRef {task.task_ref.name or task.task_ref.resolver or ''}"
        elif task.task is not None:
            embedded, inner = self.task(
                task.task,
                f'the taskSpec of pipeline task "{task.name}"',
                scope,
                self.span_rng(task.task.span),
            )
            ptask.embedded = embedded
            children.extend(inner)
            detail += "taskSpec"
        else:
            ptask.runs_pipeline = "pipelineRef" in found or "pipelineSpec" in found
            detail += "pipeline"
            if ptask.runs_pipeline:
                self.problem(
                    decl.name_range,
                    Severity.WARNING,
                    f'pipeline task "{task.name}" runs a Pipeline (pipelineRef/pipelineSpec, a Tekton alpha '
                    "feature): pipeline-dap cannot debug pipelines in pipelines, a launch of this Pipeline fails",
                    "pipeline-in-pipeline",
                )
        run_after = found.get("runAfter")
        if type(run_after) is SequenceNode:
            for item in run_after.value:
                name = scalar(item)
                if name is not None and item.start_mark.line >= run_after.start_mark.line:
                    r = self.node_rng(item)
                    ptask.run_after.append((name, r))
                    target = pipeline.tasks.get(name)
                    ix.uses.append(Use("runAfter", name, r, r, scope, name, target=target.decl if target else None))
        elif run_after is not None:
            self.problem(self.node_rng(run_after), Severity.ERROR, "runAfter must be a list of task names", "run-after")
        params = found.get("params")
        if type(params) is SequenceNode:
            for item in params.value:
                if type(item) is MappingNode:
                    name_node = get(item, "name")
                    name = scalar(name_node)
                    if name and name_node is not None:
                        ptask.params.append((name, self.node_rng(name_node)))
        matrix = found.get("matrix")
        if type(matrix) is MappingNode:
            self.matrix_params(matrix, ptask)
        bindings = found.get("workspaces")
        if type(bindings) is SequenceNode:
            for item in bindings.value:
                if type(item) is not MappingNode:
                    continue
                name_node, ws_node = get(item, "name"), get(item, "workspace")
                name = scalar(name_node)
                if not name or name_node is None:
                    continue
                ws = scalar(ws_node)
                ws_rng = self.node_rng(ws_node) if ws_node is not None and ws else None
                ptask.bindings.append(Binding(name, self.node_rng(name_node), ws, ws_rng))
                if ws is not None and ws_rng is not None:
                    bound = scope.find("workspaces", ws)
                    ix.uses.append(Use("binding", ws, ws_rng, ws_rng, scope, ws, target=bound))
                    if bound is None:
                        self.problem(
                            ws_rng,
                            Severity.ERROR,
                            f'pipeline task "{task.name}" binds workspace "{ws}", which {pipeline.label} '
                            f"does not declare ({listing('workspaces', scope.visible('workspaces'))})"
                            + close_to(ws, scope.visible("workspaces")),
                            "unknown-workspace",
                        )
        if type(node) is MappingNode:
            self.scan(node, scope, _PTASK_SKIP)
        if ix.runnable:
            line = decl.range.line - self.off
            ix.lenses.append(Lens(self.line_rng(line, decl.range.col), "Debug from here", f"{ix.kind}/{ix.name}", True))
        children.sort(key=lambda s: s.range.key())
        return Symbol(task.name, detail.strip(), SymbolKind.FUNCTION, decl.range, decl.name_range, children)

    def matrix_params(self, matrix: yaml.MappingNode, ptask: PTask) -> None:
        lists: list[yaml.Node] = []
        params = get(matrix, "params")
        if params is not None:
            lists.append(params)
        include = get(matrix, "include")
        if type(include) is SequenceNode:
            lists.extend(p for i in include.value if type(i) is MappingNode and (p := get(i, "params")) is not None)
        for seq in lists:
            if type(seq) is SequenceNode:
                for item in seq.value:
                    if type(item) is MappingNode:
                        name = scalar(get(item, "name"))
                        if name:
                            ptask.matrix_params.append(name)

    # ---- debug -----------------------------------------------------------------------

    def debug(self, spec: yaml.MappingNode, debug: yaml.Node) -> None:
        """A TaskRun's spec.debug against Tekton's admission rules (engine-protocols A1)."""
        ix = self.ix
        assert ix is not None
        whole = self.key_rng(spec, "debug", debug)
        if type(debug) is not MappingNode:
            if scalar(debug) is not None or type(debug) is SequenceNode:
                self.problem(whole, Severity.ERROR, "spec.debug must be a mapping (breakpoints: ...)", "debug")
            return
        block = DebugBlock([])
        ix.debug = block
        for key_node, value in debug.value:
            key = key_node.value if type(key_node) is ScalarNode else None
            if key == "breakpoints":
                self.breakpoints(debug, value, block)
            elif key == "breakpoint":
                self.problem(
                    self.key_rng(debug, "breakpoint", value),
                    Severity.ERROR,
                    "spec.debug.breakpoint (a list, Tekton before v0.53) was replaced by "
                    'spec.debug.breakpoints.onFailure: "enabled"; current Tekton ignores it',
                    "debug-old-form",
                )
            elif key is not None:
                self.problem(
                    self.rng(
                        key_node.start_mark.line,
                        key_node.start_mark.column,
                        key_node.end_mark.line,
                        key_node.end_mark.column,
                    ),
                    Severity.WARNING,
                    f"Tekton ignores spec.debug.{key}: only spec.debug.breakpoints (onFailure, beforeSteps) exists",
                    "debug-unknown-key",
                )

    def breakpoints(self, debug: yaml.MappingNode, node: yaml.Node, block: DebugBlock) -> None:
        whole = self.key_rng(debug, "breakpoints", node)
        if type(node) is not MappingNode:
            if scalar(node) is None and type(node) is not SequenceNode:
                return  # `breakpoints:` with nothing: Go decodes it as absent
            self.problem(whole, Severity.ERROR, "spec.debug.breakpoints must be a mapping", "debug")
            return
        on_failure = get(node, "onFailure")
        value = scalar(on_failure)
        if value is None:
            self.problem(
                whole,
                Severity.ERROR,
                'Tekton rejects spec.debug.breakpoints without onFailure: "enabled" ("onFailure breakpoint '
                'is empty, it is only allowed to be set as enabled"), even when only beforeSteps is used: '
                'add onFailure: "enabled"',
                "debug-on-failure",
            )
        elif value != "enabled" and on_failure is not None:
            self.problem(
                self.node_rng(on_failure),
                Severity.ERROR,
                f'"{value}" is not a valid onFailure breakpoint value: the only one Tekton accepts is "enabled"',
                "debug-on-failure",
            )
        for key_node, _ in node.value:
            key = key_node.value if type(key_node) is ScalarNode else None
            if key is None or key in _DEBUG_KEYS:
                continue
            self.problem(
                self.rng(
                    key_node.start_mark.line,
                    key_node.start_mark.column,
                    key_node.end_mark.line,
                    key_node.end_mark.column,
                ),
                Severity.WARNING,
                f"Tekton does not implement breakpoints.{key} and ignores it: only onFailure and beforeSteps "
                "exist (use the debugger's breakpoints for the rest)",
                "debug-unknown-key",
            )
        before = get(node, "beforeSteps")
        if before is None:
            return
        if type(before) is not SequenceNode:
            if scalar(before) is not None:
                self.problem(self.node_rng(before), Severity.ERROR, "beforeSteps must be a list of step names", "debug")
            return
        first: dict[str, Rng] = {}
        for item in before.value:
            name = scalar(item)
            if name is None:
                continue
            r = self.node_rng(item)
            if name in first:
                self.problem(
                    r,
                    Severity.ERROR,
                    f'beforeSteps lists "{name}" twice: Tekton rejects the TaskRun ("before step must be '
                    f'unique, the same step: {name} is defined multiple times")',
                    "debug-duplicate-step",
                    [Related(self.path, first[name], f'first "{name}"')],
                )
                continue
            first[name] = r
            block.before_steps.append((name, r))

    # ---- variables ---------------------------------------------------------------------

    def scan(self, node: yaml.Node, scope: Scope, skip: frozenset[str]) -> None:
        """Every `$(...)` in the scalars under `node` (the keys in `skip` of `node` itself left out)."""
        stack: list[yaml.Node] = []
        if type(node) is MappingNode:
            stack.extend(v for k, v in node.value if not (type(k) is ScalarNode and k.value in skip))
        else:
            stack.append(node)
        seen = self.seen
        while stack:
            current = stack.pop()
            ident = id(current)
            if ident in seen:
                continue
            seen.add(ident)
            kind = type(current)
            if kind is ScalarNode:
                if "$(" in current.value:
                    assert isinstance(current, ScalarNode)
                    self.scalar_uses(current, scope)
            elif kind is MappingNode:
                for k, v in current.value:
                    if type(k) is ScalarNode and k.value in ("taskSpec", "pipelineSpec"):
                        continue  # walked with their own scope
                    stack.append(v)
            elif kind is SequenceNode:
                stack.extend(current.value)

    def scalar_uses(self, node: yaml.ScalarNode, scope: Scope) -> None:
        start, end = node.start_mark, node.end_mark
        text = self.text
        for line in range(start.line, min(end.line, len(text) - 1) + 1):
            source = text[line]
            low = start.column if line == start.line else 0
            high = end.column if line == end.line else len(source)
            segment = source[low:high]
            if "$(" not in segment:
                continue
            for ref in find_references(segment):
                self.use(ref.parts, ref.expr, line, low + ref.start, low + ref.end, scope)

    def use(self, parts: tuple[str | int, ...], expr: str, line: int, col: int, end: int, scope: Scope) -> None:
        ix = self.ix
        assert ix is not None
        root = parts[0]
        if root not in ("params", "results", "workspaces", "tasks") or len(parts) < 2:
            return
        name = parts[1]
        if not isinstance(name, str):
            return
        # where each name part is inside `$(...)`: searched in order after the root
        offsets: list[tuple[int, int]] = []
        pos = len(str(root))
        for part in parts[1:4]:
            text = str(part)
            at = expr.find(text, pos)
            if at < 0:
                break
            offsets.append((at, at + len(text)))
            pos = at + len(text)
        base = col + 2
        whole = self.rng(line, col, line, end)
        name_rng = self.rng(line, base + offsets[0][0], line, base + offsets[0][1]) if offsets else whole
        text = f"$({expr})"
        if root == "params":
            self.param_use(Use("param", name, whole, name_rng, scope, text), scope)
        elif root == "workspaces":
            target = scope.find("workspaces", name)
            u = Use("workspace", name, whole, name_rng, scope, text, target=target)
            ix.uses.append(u)
            if target is None:
                visible = scope.visible("workspaces")
                self.problem(
                    name_rng,
                    Severity.ERROR,
                    f'{text}: no workspace "{name}" in {self.where(scope, "workspaces")} '
                    f"({listing('workspaces', visible)})" + close_to(name, visible),
                    "unknown-workspace",
                )
        elif root == "results":
            task = scope.task_scope()
            target = task.results.get(name) if task is not None else None
            ix.uses.append(Use("result", name, whole, name_rng, scope, text, target=target))
            if task is None:
                self.problem(whole, Severity.ERROR, f"{text} can only be used inside a Task's steps", "result-scope")
            elif target is None:
                self.problem(
                    name_rng,
                    Severity.ERROR,
                    f'{text}: {task.label} declares no result "{name}" ({listing("results", task.results)})'
                    + close_to(name, task.results),
                    "unknown-result",
                )
        else:
            self.task_use(parts, text, whole, name_rng, offsets, line, base, scope)

    def where(self, scope: Scope, what: str) -> str:
        labels = [
            f"the spec.{what} of {s.label}" if s.kind == "run" else s.label for s in scope.chain() if s.kind != "ptask"
        ]
        return " nor in ".join(labels) if labels else "this document"

    def param_use(self, use: Use, scope: Scope) -> None:
        ix = self.ix
        assert ix is not None
        use.target = scope.find("params", use.name)
        ix.uses.append(use)
        if use.target is None:
            visible = scope.visible("params")
            self.problem(
                use.name_range,
                Severity.ERROR,
                f'{use.text}: no param "{use.name}" in {self.where(scope, "params")} '
                f"({listing('params', visible)})" + close_to(use.name, visible),
                "unknown-param",
            )

    def task_use(
        self,
        parts: tuple[str | int, ...],
        text: str,
        whole: Rng,
        name_rng: Rng,
        offsets: list[tuple[int, int]],
        line: int,
        base: int,
        scope: Scope,
    ) -> None:
        ix = self.ix
        assert ix is not None
        name = str(parts[1])
        pipeline = scope.pipeline()
        current = scope.enclosing_ptask()
        in_finally = current is not None and current.is_finally
        if len(parts) == 2 and name == "status":  # $(tasks.status): the aggregate status
            if not in_finally:
                self.problem(
                    whole,
                    Severity.ERROR,
                    f"{text} (the pipeline's status) can only be used in finally tasks",
                    "status-scope",
                )
            return
        sub = parts[2] if len(parts) > 2 and isinstance(parts[2], str) else None
        sub_name = parts[3] if sub == "results" and len(parts) > 3 and isinstance(parts[3], str) else None
        sub_rng = None
        if sub_name is not None and len(offsets) >= 3:
            sub_rng = self.rng(line, base + offsets[2][0], line, base + offsets[2][1])
        if pipeline is None:
            self.problem(whole, Severity.ERROR, f"{text} can only be used in a Pipeline", "task-scope")
            return
        target = pipeline.tasks.get(name)
        use = Use(
            "task",
            name,
            whole,
            name_rng,
            scope,
            text,
            sub,
            sub_name,
            sub_rng,
            target.decl if target else None,
        )
        ix.uses.append(use)
        if target is None:
            self.problem(
                name_rng,
                Severity.ERROR,
                f'{text}: no pipeline task "{name}" in {pipeline.label} ({listing("tasks", pipeline.tasks)})'
                + close_to(name, pipeline.tasks),
                "unknown-task",
            )
            return
        if sub in ("status", "reason") and not in_finally:
            self.problem(
                whole,
                Severity.ERROR,
                f"{text}: only finally tasks can read another task's {sub} (Tekton rejects it elsewhere)",
                "status-scope",
            )
        elif sub == "results" and target.is_finally and current is not None and not in_finally:
            self.problem(
                name_rng,
                Severity.ERROR,
                f'{text}: "{name}" is a finally task; only finally tasks and Pipeline results can use its results',
                "finally-result",
            )

    # ---- the task graph ----------------------------------------------------------------

    def check_graph(self, pipeline: Scope) -> None:
        """runAfter names, finally rules, and dependency cycles (runAfter + result references)."""
        ix = self.ix
        assert ix is not None
        tasks = pipeline.tasks
        edges: dict[str, list[tuple[str, Rng, str]]] = {name: [] for name in tasks}
        for name, ptask in tasks.items():
            for after, r in ptask.run_after:
                target = tasks.get(after)
                if ptask.is_finally:
                    self.problem(
                        r,
                        Severity.ERROR,
                        f'finally task "{name}" cannot use runAfter: finally tasks run after all tasks',
                        "run-after",
                    )
                elif target is None:
                    others = [n for n, t in tasks.items() if not t.is_finally and n != name]
                    self.problem(
                        r,
                        Severity.ERROR,
                        f'runAfter: no pipeline task "{after}" in {pipeline.label} '
                        f"({listing('tasks', others)})" + close_to(after, others),
                        "unknown-task",
                    )
                elif target.is_finally:
                    self.problem(
                        r,
                        Severity.ERROR,
                        f'runAfter: "{after}" is a finally task; tasks cannot run after it',
                        "run-after",
                    )
                else:
                    edges[name].append((after, r, "runAfter"))
        for use in ix.uses:
            if use.kind != "task" or use.sub != "results" or use.target is None:
                continue
            owner = use.scope.enclosing_ptask()
            if owner is None or owner.is_finally or use.scope.pipeline() is not pipeline:
                continue
            if use.name in tasks and not tasks[use.name].is_finally:
                edges[owner.name].append((use.name, use.name_range, use.text))
        for cycle_edges in _cycles(edges):
            for source, dependency, r, how, path in cycle_edges:
                loop = " → ".join(f'"{n}"' for n in path)
                why = "runs after" if how == "runAfter" else f"uses a result of ({how})"
                self.problem(
                    r,
                    Severity.ERROR,
                    f'dependency cycle {loop}: "{source}" {why} "{dependency}", which depends on "{source}" '
                    "again (runAfter and result references must not loop back)",
                    "cycle",
                )


def _cycles(
    edges: dict[str, list[tuple[str, Rng, str]]],
) -> list[list[tuple[str, str, Rng, str, list[str]]]]:
    """For each strongly connected component with a cycle: its edges, each with one cycle
    through it (as a path of task names that ends where it starts)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[set[str]] = []
    counter = 0
    for start in edges:
        if start in index:
            continue
        work: list[tuple[str, int]] = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            out = edges.get(node, [])
            if i < len(out):
                work.append((node, i + 1))
                nxt = out[i][0]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            for target, _, _ in out:
                if target in on_stack:
                    low[node] = min(low[node], low[target])
            if low[node] == index[node]:
                component: set[str] = set()
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.add(top)
                    if top == node:
                        break
                components.append(component)
    found = []
    for component in components:
        inner = [
            (source, target, r, how)
            for source in sorted(component)
            for target, r, how in edges.get(source, [])
            if target in component
        ]
        if not inner:
            continue
        with_paths = []
        for source, target, r, how in inner:
            with_paths.append((source, target, r, how, [source, *_path(edges, target, source, component)]))
        found.append(with_paths)
    return found


def _path(edges: dict[str, list[tuple[str, Rng, str]]], start: str, goal: str, within: set[str]) -> list[str]:
    """Shortest path of task names from `start` to `goal` inside `within` (both ends included)."""
    previous: dict[str, str | None] = {start: None}
    queue = [start]
    while queue:
        node = queue.pop(0)
        if node == goal:
            break
        for target, _, _ in edges.get(node, []):
            if target in within and target not in previous:
                previous[target] = node
                queue.append(target)
    path: list[str] = []
    node_: str | None = goal if goal in previous else start
    while node_ is not None:
        path.append(node_)
        node_ = previous.get(node_)
    return list(reversed(path))


# ---- checks that need other documents ---------------------------------------------------


def kinds_for(ref: DocRef) -> list[str]:
    """The kinds a reference may name: a Task stands in for a ClusterTask and back, as in
    the debugger's SourceSet."""
    if ref.kind in TASK_KINDS:
        return [ref.kind, "ClusterTask" if ref.kind == "Task" else "Task"]
    return [ref.kind]


def unresolvable(ref: DocRef) -> Resolution | None:
    """Why a reference cannot be resolved in the workspace at all (None if it can be)."""
    if ref.api_version and not ref.api_version.startswith(GROUP + "/"):
        return Resolution(
            None,
            f'{ref.key} to a custom task ({ref.api_version} {ref.kind} "{ref.name}"): pipeline-dap cannot '
            "run it locally",
            Severity.WARNING,
        )
    if ref.resolver is not None:
        return Resolution(
            None,
            f'{ref.key} uses the "{ref.resolver}" resolver, which pipeline-dap cannot resolve locally: copy '
            f"the {ref.kind} into a file of the workspace and refer to it by name",
            Severity.WARNING,
        )
    return None


def check(ix: DocIndex, resolver: Resolver) -> list[Problem]:
    """Problems of `ix` that depend on other documents: unresolved references, results of
    referenced Tasks, params and workspaces a referenced Task needs, beforeSteps names."""
    problems: list[Problem] = []
    if ix.ref is not None:
        resolved = resolver.resolve(ix, ix.ref)
        if resolved.message is not None:
            problems.append(Problem(ix.ref.name_range, resolved.severity, resolved.message, "unresolved-ref"))
    pipeline = ix.pipeline
    tasks: dict[str, Scope | None] = {}
    if pipeline is not None:
        for name, ptask in pipeline.tasks.items():
            tasks[name] = task_of(ix, ptask, resolver, problems)
            if ptask.ref is not None and tasks[name] is not None:
                _check_inputs(ptask, tasks[name], problems)
        for use in ix.uses:
            if use.kind == "task" and use.sub == "results" and use.sub_name is not None and use.target is not None:
                scope = tasks.get(use.name)
                if scope is None or use.sub_name in scope.results:
                    continue
                embedded = pipeline.tasks[use.name].embedded is not None
                who = scope.label if embedded else f'{scope.label} (run by pipeline task "{use.name}")'
                problems.append(
                    Problem(
                        use.sub_range or use.range,
                        Severity.ERROR,
                        f'{use.text}: {who} has no result "{use.sub_name}" '
                        f"({listing('results', scope.results)})" + close_to(use.sub_name, scope.results),
                        "unknown-result",
                    )
                )
    if ix.debug is not None:
        task: Scope | None = ix.root
        if ix.ref is not None:
            resolved = resolver.resolve(ix, ix.ref)
            task = resolved.target.root if resolved.target is not None else None
        if task is not None:
            for name, r in ix.debug.before_steps:
                if name in task.steps:
                    continue
                hint = ""
                if name.startswith("step-") and name[5:] in task.steps:
                    hint = f'; use the step name "{name[5:]}", not its container name "{name}"'
                else:
                    hint = close_to(name, task.steps)
                problems.append(
                    Problem(
                        r,
                        Severity.WARNING,
                        f'beforeSteps: {task.label} has no step "{name}", and Tekton silently ignores '
                        "names it does not know, so nothing will pause there "
                        f"({listing('steps', task.steps)}){hint}",
                        "debug-unknown-step",
                    )
                )
    return problems


def task_of(ix: DocIndex, ptask: PTask, resolver: Resolver, problems: list[Problem] | None = None) -> Scope | None:
    """The task scope a pipeline task runs: its embedded taskSpec, or its resolved taskRef."""
    if ptask.embedded is not None:
        return ptask.embedded
    if ptask.ref is None:
        return None
    resolved = resolver.resolve(ix, ptask.ref)
    if resolved.message is not None and problems is not None:
        problems.append(Problem(ptask.ref.name_range, resolved.severity, resolved.message, "unresolved-ref"))
    if resolved.target is None:
        return None
    return resolved.target.root


def _check_inputs(ptask: PTask, task: Scope | None, problems: list[Problem]) -> None:
    """Params without a default and non-optional workspaces that the Task needs."""
    if task is None:
        return
    given = {name for name, _ in ptask.params} | set(ptask.matrix_params)
    missing = [d.name for name, d in task.params.items() if d.default is None and name not in given]
    head = ptask.decl.name_range
    if missing:
        names = ", ".join(f'"{m}"' for m in missing)
        problems.append(
            Problem(
                head,
                Severity.ERROR,
                f'pipeline task "{ptask.name}" does not give {task.label} '
                f"its param{'s' if len(missing) > 1 else ''} {names}, "
                f"which {'have' if len(missing) > 1 else 'has'} no default",
                "missing-param",
            )
        )
    bound = {b.name for b in ptask.bindings}
    needed = [n for n, d in task.workspaces.items() if "optional" not in d.notes and n not in bound]
    if needed:
        names = ", ".join(f'"{m}"' for m in needed)
        problems.append(
            Problem(
                head,
                Severity.ERROR,
                f'pipeline task "{ptask.name}" does not bind the workspace{"s" if len(needed) > 1 else ""} '
                f"{names} that {task.label} needs",
                "missing-workspace",
            )
        )
    for binding in ptask.bindings:
        if binding.name not in task.workspaces:
            problems.append(
                Problem(
                    binding.name_range,
                    Severity.ERROR,
                    f'{task.label} declares no workspace "{binding.name}" '
                    f"({listing('workspaces', task.workspaces)})" + close_to(binding.name, task.workspaces),
                    "unknown-workspace",
                )
            )
