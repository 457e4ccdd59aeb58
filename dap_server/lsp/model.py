"""What the language server knows about one YAML document, independent of the engine.

An indexer (Tekton now; Argo later, beside it) walks one document of the debugger's
source map (`dap_server.sources.parse_text`) and fills a `DocIndex`: outline symbols,
declarations (params, results, workspaces, tasks, steps), uses (`$(params.x)`, runAfter
names, references to other documents), scopes (what names a position can see), code
lenses, and the problems it can find without looking at other documents. Everything
that depends on other documents (references by name) is checked later, against the
workspace index, by the indexer's `check`.

Positions are 0-based lines and columns counted in code points (what Python string
indices count); the server converts columns to the client's encoding at the boundary.
Every `Rng` an index holds is registered in `DocIndex.ranges`, so an unchanged document
that moved up or down in its file (lines inserted above it) is shifted, not re-parsed.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol


class Rng:
    """A mutable range (see `DocIndex.shift`): 0-based, end exclusive, code points."""

    __slots__ = ("col", "end_col", "end_line", "line")

    def __init__(self, line: int, col: int, end_line: int, end_col: int) -> None:
        self.line = line
        self.col = col
        self.end_line = end_line
        self.end_col = end_col

    def contains(self, line: int, col: int) -> bool:
        if line < self.line or line > self.end_line:
            return False
        if line == self.line and col < self.col:
            return False
        return not (line == self.end_line and col > self.end_col)

    def contains_line(self, line: int) -> bool:
        return self.line <= line <= self.end_line

    def key(self) -> tuple[int, int, int, int]:
        return (self.line, self.col, self.end_line, self.end_col)

    def __repr__(self) -> str:
        return f"Rng({self.line}:{self.col}-{self.end_line}:{self.end_col})"


class Severity(enum.IntEnum):
    """LSP DiagnosticSeverity values."""

    ERROR = 1
    WARNING = 2
    INFORMATION = 3
    HINT = 4


@dataclass(eq=False)
class Related:
    path: str
    range: Rng
    message: str


@dataclass(eq=False)
class Problem:
    """A diagnostic: where, how bad, what to tell the user."""

    range: Rng
    severity: Severity
    message: str
    code: str
    related: list[Related] = field(default_factory=list)


class SymbolKind(enum.IntEnum):
    """The LSP SymbolKind values the outline uses."""

    FILE = 1
    MODULE = 2
    NAMESPACE = 3
    PACKAGE = 4
    CLASS = 5
    METHOD = 6
    PROPERTY = 7
    FIELD = 8
    FUNCTION = 12
    VARIABLE = 13
    ARRAY = 18
    OBJECT = 19
    KEY = 20
    STRUCT = 23
    EVENT = 24


@dataclass(eq=False)
class Symbol:
    name: str
    detail: str
    kind: SymbolKind
    range: Rng
    selection: Rng
    children: list[Symbol] = field(default_factory=list)


@dataclass(eq=False)
class Decl:
    """A declared name: a param, result, workspace, pipeline task or step."""

    kind: str  # "param" | "result" | "workspace" | "task" | "step"
    name: str
    range: Rng  # the whole declaration (its sequence item)
    name_range: Rng  # the name's value
    owner: str  # what declares it, for people: 'Task "build"', 'Pipeline "x"', ...
    path: str
    type: str | None = None
    default: str | None = None  # as written in YAML
    description: str | None = None
    notes: list[str] = field(default_factory=list)  # "optional", "finally", ...


@dataclass(eq=False)
class DocRef:
    """A reference by name to another document (taskRef, pipelineRef, templateRef...)."""

    key: str  # "taskRef" | "pipelineRef" | ...
    kind: str  # Task, ClusterTask, Pipeline...
    name: str
    range: Rng  # the reference mapping
    name_range: Rng  # its `name:` value (the mapping when it has none)
    resolver: str | None = None
    api_version: str | None = None


@dataclass(eq=False)
class Scope:
    """What a position can see: a task spec, a pipeline, or one pipeline task of it.

    Lookups walk `parent`: an embedded taskSpec sees the pipeline's params (Tekton
    propagates them into embedded specs), a run's embedded spec sees the run's params."""

    kind: str  # "task" | "pipeline" | "ptask"
    label: str  # for messages: 'Task "build"', 'Pipeline "x"', 'pipeline task "fetch"'
    range: Rng
    parent: Scope | None = None
    params: dict[str, Decl] = field(default_factory=dict)
    results: dict[str, Decl] = field(default_factory=dict)
    workspaces: dict[str, Decl] = field(default_factory=dict)
    steps: dict[str, Decl] = field(default_factory=dict)
    tasks: dict[str, PTask] = field(default_factory=dict)  # pipeline scopes
    ptask: PTask | None = None  # ptask scopes

    def chain(self) -> Iterator[Scope]:
        scope: Scope | None = self
        while scope is not None:
            yield scope
            scope = scope.parent

    def find(self, what: str, name: str) -> Decl | None:
        for scope in self.chain():
            table: dict[str, Decl] = getattr(scope, what)
            found = table.get(name)
            if found is not None:
                return found
        return None

    def visible(self, what: str) -> dict[str, Decl]:
        """Every name of `what` this scope sees, nearest declaration first."""
        out: dict[str, Decl] = {}
        for scope in self.chain():
            table: dict[str, Decl] = getattr(scope, what)
            for name, decl in table.items():
                out.setdefault(name, decl)
        return out

    def pipeline(self) -> Scope | None:
        return next((s for s in self.chain() if s.kind == "pipeline"), None)

    def enclosing_ptask(self) -> PTask | None:
        return next((s.ptask for s in self.chain() if s.ptask is not None), None)

    def task_scope(self) -> Scope | None:
        return next((s for s in self.chain() if s.kind == "task"), None)


@dataclass(eq=False)
class PTask:
    """One pipeline task (Tekton `tasks:`/`finally:` item; later an Argo DAG task)."""

    name: str
    decl: Decl
    is_finally: bool
    ref: DocRef | None = None  # taskRef
    embedded: Scope | None = None  # the scope of an embedded taskSpec
    runs_pipeline: bool = False  # pipelineRef / pipelineSpec (pipelines in pipelines)
    run_after: list[tuple[str, Rng]] = field(default_factory=list)
    params: list[tuple[str, Rng]] = field(default_factory=list)  # param names it passes
    matrix_params: list[str] = field(default_factory=list)
    bindings: list[Binding] = field(default_factory=list)
    scope: Scope | None = None


@dataclass(eq=False)
class Binding:
    """A workspace binding of a pipeline task or run: `- name: <name>  workspace: <workspace>`."""

    name: str
    name_range: Rng
    workspace: str | None  # the pipeline workspace it binds (pipeline tasks)
    workspace_range: Rng | None


@dataclass(eq=False)
class Use:
    """A use of a name: a `$(...)` reference, a runAfter entry, a workspace binding."""

    kind: str  # "param" | "result" | "workspace" | "task" | "runAfter" | "binding"
    name: str
    range: Rng  # the whole `$(...)` (or the name scalar)
    name_range: Rng  # the name part
    scope: Scope
    text: str
    sub: str | None = None  # tasks.t.<sub>: "results" | "status" | "reason"
    sub_name: str | None = None  # tasks.t.results.<sub_name>
    sub_range: Rng | None = None  # range of sub_name
    target: Decl | None = None  # resolved inside the document (params, workspaces, results, tasks)


@dataclass(eq=False)
class Lens:
    """A code lens: "Debug" on a runnable document, "Debug from here" on a pipeline task
    (then `range.line` is the task's canonical line, where the breakpoint goes)."""

    range: Rng
    title: str
    object: str  # Kind/name to run
    from_here: bool = False


@dataclass(eq=False)
class DebugBlock:
    """A TaskRun's `spec.debug.breakpoints.beforeSteps` entries, checked against the Task."""

    before_steps: list[tuple[str, Rng]]


@dataclass(eq=False)
class DocIndex:
    """The index of one document. `engine` names the indexer that made it."""

    engine: str
    path: str
    kind: str
    name: str
    api_version: str
    runnable: bool
    range: Rng
    name_range: Rng
    root: Scope | None = None  # the spec scope (task or pipeline) when the document has one
    ref: DocRef | None = None  # a run's taskRef / pipelineRef
    symbols: list[Symbol] = field(default_factory=list)
    decls: list[Decl] = field(default_factory=list)
    uses: list[Use] = field(default_factory=list)
    scopes: list[Scope] = field(default_factory=list)
    lenses: list[Lens] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # found without other documents
    pipeline: Scope | None = None  # the pipeline scope (Pipeline, PipelineRun pipelineSpec)
    debug: DebugBlock | None = None
    description: str | None = None
    ranges: list[Rng] = field(default_factory=list, repr=False)
    # the last check against other documents: (workspace epoch, problems, keys looked up);
    # its ranges are this index's own, so they stay right when the document moves
    checked: tuple[int, list[Problem], frozenset[tuple[str, str]]] | None = field(default=None, repr=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.name)

    def shift(self, delta: int) -> None:
        """Move every position by `delta` lines (the document moved in its file)."""
        if delta:
            for rng in self.ranges:
                rng.line += delta
                rng.end_line += delta

    def release(self) -> None:
        """Break the cycles between scopes and pipeline tasks of an index nobody uses any
        more, so reference counting frees it at once (see index.py, `_no_gc`)."""
        for scope in self.scopes:
            scope.parent = None
            scope.ptask = None
            scope.tasks = {}
        self.root = None
        self.pipeline = None

    def scope_at(self, line: int) -> Scope | None:
        """The innermost scope whose lines contain `line`."""
        best: Scope | None = None
        for scope in self.scopes:
            r = scope.range
            if r.line <= line <= r.end_line and (
                best is None or (r.end_line - r.line) <= (best.range.end_line - best.range.line)
            ):
                best = scope
        return best

    def refs(self) -> Iterator[DocRef]:
        """Every reference to another document this one makes."""
        if self.ref is not None:
            yield self.ref
        if self.pipeline is not None:
            for task in self.pipeline.tasks.values():
                if task.ref is not None:
                    yield task.ref


@dataclass
class Resolution:
    """What a reference by name leads to: the document, or why there is none."""

    target: DocIndex | None
    message: str | None = None  # why it is unresolved (None when resolved)
    severity: Severity = Severity.ERROR


class Resolver(Protocol):
    """Resolves references by name (the workspace index)."""

    def resolve(self, owner: DocIndex, ref: DocRef) -> Resolution: ...
