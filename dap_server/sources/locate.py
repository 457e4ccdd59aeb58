"""Where a source line can stop: the step or pipeline task a breakpoint binds to."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .argo import ArgoDocument, ArgoTask
from .files import load_file
from .model import Document, PipelineTask, SourceError, Span, Step


@dataclass(frozen=True)
class StepTarget:
    """A line inside a step (canonical line through end line, script body included)."""

    step: Step

    @property
    def span(self) -> Span:
        return self.step.span


@dataclass(frozen=True)
class TaskTarget:
    """A line inside a pipeline task but outside any step embedded in it."""

    task: PipelineTask

    @property
    def span(self) -> Span:
        return self.task.span


@dataclass(frozen=True)
class Miss:
    """A line that binds to nothing, with a message saying why and what is nearest."""

    message: str


def locate(path: str, line: int, docs: list[Document] | None = None) -> StepTarget | TaskTarget | Miss:
    """The step or pipeline task a breakpoint on `line` (1-based) of `path` binds to.

    docs: the file's documents (say, `parse_text` of an unsaved buffer); by default
    `load_file(path)`, and a file that does not parse gives a Miss with the error. Only
    documents of `path` count (by name, absolute or real path); if none of `docs` has
    that path they all count (a buffer parsed under another name)."""
    if docs is None:
        try:
            docs = load_file(path)
        except SourceError as exc:
            return Miss(f"the file does not parse: {exc}")
    steps, tasks = _targets(path, docs)
    for step in steps:
        if step.span.line <= line <= step.span.end_line:
            return StepTarget(step)
    inside = [t for t in tasks if t.span.line <= line <= t.span.end_line]
    if inside:
        return TaskTarget(min(inside, key=lambda t: t.span.end_line - t.span.line))
    return Miss(_miss_message(path, line, steps, tasks))


def breakpoint_locations(
    path: str, line: int, end_line: int | None = None, docs: list[Document] | None = None
) -> list[Span]:
    """Spans (canonical line to end line) of every step and pipeline task that a
    breakpoint on some line of `line..end_line` binds to, in file order."""
    end = end_line if end_line is not None and end_line >= line else line
    if docs is None:
        try:
            docs = load_file(path)
        except SourceError:
            return []
    steps, tasks = _targets(path, docs)
    spans = {s.span for s in steps if s.span.line <= end and s.span.end_line >= line}
    for task in tasks:
        span = task.span
        if span.line > end or span.end_line < line:
            continue
        inner = [s.span for s in task.task.steps] if task.task is not None and task.task_ref is None else []
        if _uncovered(max(line, span.line), min(end, span.end_line), inner):
            spans.add(span)
    return sorted(spans, key=lambda s: (s.line, s.column))


def _targets(path: str, docs: list[Document]) -> tuple[list[Step], list[PipelineTask]]:
    """Steps and pipeline tasks written in `path` (referenced Tasks of other files excluded)."""
    names = {path, os.path.abspath(path), os.path.realpath(path)}
    mine = [d for d in docs if d.path in names or os.path.realpath(d.path) in names] or docs
    steps: list[Step] = []
    tasks: list[PipelineTask] = []
    for doc in mine:
        if isinstance(doc, ArgoDocument):
            steps.extend(doc.steps())
            for call in doc.tasks():
                tasks.append(call)
                if call.template is None and call.ref_template is None and call.task is not None:
                    steps.extend(call.task.steps)  # an inline template
            continue
        if doc.task is not None and doc.task_ref is None:
            steps.extend(doc.task.steps)
        if doc.pipeline is not None and doc.pipeline_ref is None:
            for task in doc.pipeline.all_tasks():
                tasks.append(task)
                if task.task is not None and task.task_ref is None:
                    steps.extend(task.task.steps)
    return steps, tasks


def _uncovered(low: int, high: int, spans: list[Span]) -> bool:
    """Whether some line of low..high lies outside every span."""
    current = low
    for span in sorted(spans, key=lambda s: s.line):
        if span.end_line < current:
            continue
        if span.line > current:
            return True
        current = span.end_line + 1
        if current > high:
            return False
    return current <= high


def _task_word(task: PipelineTask) -> str:
    if isinstance(task, ArgoTask):
        return "steps item" if task.group is not None else "DAG task"
    return "pipeline task"


def _distance(line: int, span: Span) -> int:
    return span.line - line if line < span.line else line - span.end_line


def _miss_message(path: str, line: int, steps: list[Step], tasks: list[PipelineTask]) -> str:
    head = f"line {line} is not inside {'a step or pipeline task' if tasks else 'a step'}"
    candidates: list[tuple[int, int, str]] = [
        (
            _distance(line, s.span),
            -s.span.line,
            f'step is "{s.label}" at line {s.span.line} (a breakpoint there stops before it)',
        )
        for s in steps
    ]
    candidates += [
        (
            _distance(line, t.span),
            -t.span.line,
            f'{_task_word(t)} is "{t.name}" at line {t.span.line} (a breakpoint there stops before its first step)',
        )
        for t in tasks
    ]
    if not candidates:
        return f"{head}: {os.path.basename(path)} has no Tekton steps or pipeline tasks"
    return f"{head}: the nearest {min(candidates)[2]}"
