"""Source breakpoints: validation against the source map, and matching at run time.

A breakpoint binds to a step (any line of the step) or to a pipeline task. It is matched
against the step a pause belongs to by the step's source span, so a breakpoint in a
Task file applies to every pipeline task that runs that Task.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field

from dap_server.sources import locate
from dap_server.sources.locate import StepTarget, TaskTarget
from dap_server.sources.model import PipelineTask, Span, Step

from .expressions import validate_hit_condition

MODES = ("before", "after")


@dataclass(eq=False)
class SourceBreakpoint:
    id: int
    path: str
    line: int  # as the client asked (1-based)
    mode: str
    condition: str | None
    hit_condition: str | None
    log_message: str | None
    step: Step | None = None
    task: PipelineTask | None = None
    message: str | None = None  # why it is not verified
    hits: int = 0
    note: str | None = None  # extra info shown while verified (e.g. "not part of this run")

    @property
    def verified(self) -> bool:
        return self.message is None and (self.step is not None or self.task is not None)

    @property
    def span(self) -> Span | None:
        if self.step is not None:
            return self.step.span
        if self.task is not None:
            return self.task.span
        return None


@dataclass
class BreakpointStore:
    """All source breakpoints, per file, as the client last set them."""

    by_path: dict[str, list[SourceBreakpoint]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def set(self, path: str, requested: list[dict[str, object]]) -> list[SourceBreakpoint]:
        """Replace the breakpoints of `path`. Keeps hit counts of breakpoints that stay on the same line."""
        real = os.path.realpath(path)
        old = {(b.line, b.mode): b for b in self.by_path.get(real, [])}
        result: list[SourceBreakpoint] = []
        for item in requested:
            line = int(str(item["line"]))
            mode = str(item.get("mode") or "before")
            bp = SourceBreakpoint(
                id=next(self._ids),
                path=real,
                line=line,
                mode=mode,
                condition=_opt_str(item.get("condition")),
                hit_condition=_opt_str(item.get("hit_condition")),
                log_message=_opt_str(item.get("log_message")),
            )
            previous = old.get((line, mode))
            if previous is not None:
                bp.id, bp.hits = previous.id, previous.hits
            self._bind(bp)
            result.append(bp)
        self.by_path[real] = result
        return result

    def _bind(self, bp: SourceBreakpoint) -> None:
        if bp.mode not in MODES:
            bp.message = f'unknown breakpoint mode "{bp.mode}": use "before" or "after"'
            return
        if bp.hit_condition:
            problem = validate_hit_condition(bp.hit_condition)
            if problem:
                bp.message = problem
                return
        if not os.path.isfile(bp.path):
            bp.message = f"{bp.path}: no such file"
            return
        target = locate(bp.path, bp.line)
        if isinstance(target, StepTarget):
            bp.step = target.step
        elif isinstance(target, TaskTarget):
            bp.task = target.task
        else:
            bp.message = target.message

    def rebind_all(self) -> list[SourceBreakpoint]:
        """Re-resolve every breakpoint (files changed on disk); returns those whose binding changed."""
        changed = []
        for bps in self.by_path.values():
            for bp in bps:
                before = (bp.verified, bp.span, bp.message)
                bp.step, bp.task, bp.message = None, None, None
                self._bind(bp)
                if (bp.verified, bp.span, bp.message) != before:
                    changed.append(bp)
        return changed

    def all(self) -> list[SourceBreakpoint]:
        return [bp for bps in self.by_path.values() for bp in bps]

    def for_step(self, step: Step, task: Span | None, mode: str, first: bool, last: bool) -> list[SourceBreakpoint]:
        """Breakpoints that apply at a pause of `step` (run by the task item at span `task`) in `mode`.

        A step breakpoint matches the step's span; a pipeline-task breakpoint matches before
        its first step (mode before) or after its last step (mode after)."""
        found = []
        for bp in self.by_path.get(step.span.path, []):
            if bp.verified and bp.mode == mode and bp.step is not None and bp.step.span == step.span:
                found.append(bp)
        if task is not None and ((mode == "before" and first) or (mode == "after" and last)):
            for bp in self.by_path.get(task.path, []):
                if bp.verified and bp.mode == mode and bp.task is not None and bp.task.span == task:
                    found.append(bp)
        return found


def _opt_str(value: object) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None
