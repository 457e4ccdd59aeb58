"""The source map's data model: documents, runs, tasks and steps with file and line ranges.

Every object keeps the composed YAML node it came from (PyYAML nodes carry start/end
marks), so data is constructed lazily, only for what a run or a request needs.
Lines are 1-based everywhere in this package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml


class SourceError(Exception):
    """A user mistake in a pipeline file: names the file, line, column and cause."""

    def __init__(self, path: str, line: int, column: int, cause: str) -> None:
        super().__init__(f"{path}:{line}:{column}: {cause}")
        self.path = path
        self.line = line
        self.column = column
        self.cause = cause


@dataclass(frozen=True)
class Span:
    """Where an item lives: canonical line (the `-` line of a sequence item, the first
    content line of a document), last line with content (inclusive), start column."""

    path: str
    line: int
    end_line: int
    column: int = 1

    def contains(self, line: int) -> bool:
        return self.line <= line <= self.end_line


@dataclass(eq=False)
class Step:
    """One item of a Task's `steps:` (Tekton) or one leaf container (Argo)."""

    name: str  # raw name as written ("" when unnamed)
    index: int  # 0-based position among the task's steps
    span: Span
    node: yaml.Node = field(repr=False)
    spec: TaskSpec | None = field(default=None, repr=False)  # the task spec that owns it

    def data(self) -> dict[str, Any]:
        return construct(self.node, self.span.path)

    @property
    def label(self) -> str:
        """The name to show: the step's name, or Tekton's `unnamed-<index>` for an unnamed step."""
        return self.name or f"unnamed-{self.index}"


@dataclass(eq=False)
class Ref:
    """A reference by name to another document (`taskRef`, `pipelineRef`, `templateRef`...)."""

    kind: str  # Task, ClusterTask, Pipeline, WorkflowTemplate, ...
    name: str
    span: Span  # span of the reference mapping
    resolver: str | None = None  # remote resolver (git, bundles, hub...) if any: not resolvable locally
    api_version: str | None = None  # taskRef.apiVersion: set (not tekton.dev) for a custom task
    node: yaml.Node | None = field(default=None, repr=False)  # the reference mapping
    error: str | None = None  # why it is unresolved, after SourceSet.resolve(doc, strict=False)

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(eq=False)
class TaskSpec:
    """A Task's spec: a Task document's `spec`, or an embedded `taskSpec`."""

    name: str  # metadata.name of the Task, or the owner's name for an embedded spec
    span: Span  # the Task document, or the `taskSpec:` mapping
    steps: list[Step]
    node: yaml.Node = field(repr=False)  # the spec mapping node
    document: Document | None = field(default=None, repr=False)

    def data(self) -> dict[str, Any]:
        return construct(self.node, self.span.path)

    def step(self, name: str) -> Step | None:
        return next((s for s in self.steps if s.name == name), None)


@dataclass(eq=False)
class PipelineTask:
    """One item of a Pipeline's `tasks:` or `finally:`."""

    name: str
    span: Span
    is_finally: bool
    node: yaml.Node = field(repr=False)
    task_ref: Ref | None = None
    task: TaskSpec | None = None  # embedded taskSpec, or the resolved taskRef
    pipeline: PipelineSpec | None = field(default=None, repr=False)

    def data(self) -> dict[str, Any]:
        return construct(self.node, self.span.path)


@dataclass(eq=False)
class PipelineSpec:
    """A Pipeline's spec: a Pipeline document's `spec`, or an embedded `pipelineSpec`."""

    name: str
    span: Span
    tasks: list[PipelineTask]
    finally_tasks: list[PipelineTask]
    node: yaml.Node = field(repr=False)
    document: Document | None = field(default=None, repr=False)

    def data(self) -> dict[str, Any]:
        return construct(self.node, self.span.path)

    def all_tasks(self) -> list[PipelineTask]:
        return [*self.tasks, *self.finally_tasks]

    def task(self, name: str) -> PipelineTask | None:
        return next((t for t in self.all_tasks() if t.name == name), None)


@dataclass(eq=False)
class Document:
    """One YAML document of a supported kind."""

    path: str
    index: int  # 0-based position in a multi-document file
    api_version: str
    kind: str
    name: str  # metadata.name (or generateName)
    span: Span
    node: yaml.Node = field(repr=False)
    task: TaskSpec | None = None  # Task; TaskRun with taskSpec (or resolved taskRef)
    pipeline: PipelineSpec | None = None  # Pipeline; PipelineRun with pipelineSpec (or resolved ref)
    task_ref: Ref | None = None  # TaskRun.spec.taskRef
    pipeline_ref: Ref | None = None  # PipelineRun.spec.pipelineRef

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def runnable(self) -> bool:
        return self.kind in RUNNABLE_KINDS

    def data(self) -> dict[str, Any]:
        return construct(self.node, self.path)


RUNNABLE_KINDS = frozenset({"Task", "Pipeline", "TaskRun", "PipelineRun"})


def construct(node: yaml.Node, path: str | None = None) -> dict[str, Any]:
    """Plain Python data of a mapping node (merge keys and aliases honoured).

    path: the file the node comes from, for errors (node marks do not know it).
    Raises SourceError for what cannot be constructed (an unknown `!tag`, a bad merge)."""
    loader = yaml.SafeLoader("")
    try:
        value = loader.construct_object(node, deep=True)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark or node.start_mark
        cause = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        raise SourceError(path or mark.name, mark.line + 1, mark.column + 1, cause) from None
    finally:
        loader.dispose()
    if not isinstance(value, dict):
        mark = node.start_mark
        raise SourceError(path or mark.name, mark.line + 1, mark.column + 1, "expected a mapping")
    return value
