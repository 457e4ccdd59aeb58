"""Breakpoint locations given by people (`--break` of `debug` and `translate`), and step labels.

A location is `PATH:LINE`, `PATH:LINE:after`, `TASK/STEP`, or `STEP` (a lone Task's
step; in a Pipeline a bare name may also be a pipeline task). Named forms take an
optional `:after` too. Named forms are mapped to a path and line with the source map.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from dap_server.sources.model import Document, SourceError, Span
from dap_server.sources.sourceset import SourceSet

_PATH_LINE = re.compile(r"(?P<path>.+):(?P<line>\d+)(?::(?P<mode>after|before))?")
_MODE = re.compile(r"(?P<name>.+):(?P<mode>after|before)")


class LocationError(ValueError):
    """A `--break` location that does not name a line, step or task."""


@dataclass(frozen=True)
class BreakLocation:
    """One breakpoint to send: file (real path), 1-based line, mode."""

    path: str
    line: int
    after: bool = False
    label: str = ""

    def source_breakpoint(self) -> dict[str, Any]:
        """The SourceBreakpoint sent with setBreakpoints."""
        breakpoint: dict[str, Any] = {"line": self.line}
        if self.after:
            breakpoint["mode"] = "after"
        return breakpoint

    def path_line(self) -> str:
        """`PATH:LINE` or `PATH:LINE:after`."""
        return f"{self.path}:{self.line}" + (":after" if self.after else "")

    def describe(self) -> str:
        where = self.label or f"{self.path}:{self.line}"
        return where + (" (after)" if self.after else "")


class SourceMap:
    """The program's document, loaded on first need (only named locations and output
    labels need it; a file that does not parse is reported by the launch anyway)."""

    def __init__(self, program: str, search_paths: list[str], document: Document | None = None) -> None:
        self.program = os.path.realpath(program)
        self.search_paths = [os.path.realpath(p) for p in search_paths] or [os.path.dirname(self.program)]
        self._document: Document | None = document  # already selected and resolved, if given

    def document(self) -> Document:
        """The document a launch of the program runs, references resolved. Raises SourceError."""
        if self._document is None:
            sources = SourceSet(self.search_paths)
            document = sources.select(self.program)
            sources.resolve(document)
            self._document = document
        return self._document

    def step_labels(self) -> dict[tuple[str, int], str]:
        """`task/step` of each step, by (file, canonical line): how output lines are prefixed."""
        try:
            document = self.document()
        except SourceError:
            return {}
        found: dict[tuple[str, int], list[str]] = {}
        if document.pipeline is not None:
            for ptask in document.pipeline.all_tasks():
                for step in ptask.task.steps if ptask.task is not None else []:
                    found.setdefault(_key(step.span), []).append(f"{ptask.name}/{step.name}")
        elif document.task is not None:
            for step in document.task.steps:
                found.setdefault(_key(step.span), []).append(f"{document.task.name}/{step.name}")
        return {key: ",".join(dict.fromkeys(labels)) for key, labels in found.items()}


def _key(span: Span) -> tuple[str, int]:
    return os.path.realpath(span.path), span.line


def parse_path_line(text: str) -> BreakLocation | None:
    """`PATH:LINE` or `PATH:LINE:after` as a location; None when `text` is not of that form.
    Raises LocationError for a missing file or line 0."""
    found = _PATH_LINE.fullmatch(text.strip())
    if not found:
        return None
    path = os.path.realpath(os.path.expanduser(found.group("path")))
    if not os.path.isfile(path):
        raise LocationError(f"{text}: no such file {found.group('path')!r}")
    line = int(found.group("line"))
    if line < 1:
        raise LocationError(f"{text}: lines start at 1")
    return BreakLocation(path, line, found.group("mode") == "after")


def parse_location(text: str, source_map: SourceMap) -> BreakLocation:
    """Turn one `--break` / `b` argument into a breakpoint. Raises LocationError."""
    text = text.strip()
    by_line = parse_path_line(text)
    if by_line is not None:
        return by_line
    mode = _MODE.fullmatch(text)
    name = mode.group("name") if mode else text
    after = bool(mode and mode.group("mode") == "after")
    if not name:
        raise LocationError("empty location: use PATH:LINE, PATH:LINE:after, TASK/STEP or STEP")
    try:
        document = source_map.document()
    except SourceError as error:
        raise LocationError(f"{text}: cannot read the pipeline to find it: {error}") from None
    span, label = _named(document, name)
    return BreakLocation(os.path.realpath(span.path), span.line, after, label)


def _named(document: Document, name: str) -> tuple[Span, str]:
    task_name, slash, step_name = name.partition("/")
    pipeline = document.pipeline
    if slash:
        if pipeline is None:
            raise LocationError(f"{name}: {document.key} is not a pipeline; name the step alone")
        ptask = pipeline.task(task_name)
        if ptask is None:
            tasks = ", ".join(t.name for t in pipeline.all_tasks())
            raise LocationError(f"{name}: no pipeline task {task_name!r} in {document.key} (tasks: {tasks})")
        if ptask.task is None:
            raise LocationError(f"{name}: the steps of pipeline task {task_name!r} are not known")
        step = ptask.task.step(step_name)
        if step is None:
            steps = ", ".join(s.name for s in ptask.task.steps)
            raise LocationError(f"{name}: task {task_name!r} has no step {step_name!r} (steps: {steps})")
        return step.span, f"{ptask.name}/{step.name}"
    if document.task is not None:
        step = document.task.step(name)
        if step is None:
            steps = ", ".join(s.name for s in document.task.steps)
            raise LocationError(f"{name}: {document.key} has no step {name!r} (steps: {steps})")
        return step.span, f"{document.task.name}/{step.name}"
    if pipeline is None:
        raise LocationError(f"{name}: {document.key} has no steps to break on")
    ptask = pipeline.task(name)
    if ptask is not None:
        return ptask.span, ptask.name
    matches = [
        (ptask, step)
        for ptask in pipeline.all_tasks()
        for step in (ptask.task.steps if ptask.task is not None else [])
        if step.name == name
    ]
    if len(matches) == 1:
        ptask, step = matches[0]
        return step.span, f"{ptask.name}/{step.name}"
    if matches:
        options = ", ".join(f"{t.name}/{s.name}" for t, s in matches)
        raise LocationError(f"{name}: several steps have that name; say which: {options}")
    tasks = ", ".join(t.name for t in pipeline.all_tasks())
    raise LocationError(f"{name}: no pipeline task or step of that name in {document.key} (tasks: {tasks})")
