"""Threads (one per task instance) and the stepping state that decides where a thread stops."""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field

from dap_server.engines.base import PauseKind, StepRef
from dap_server.sources.model import Span, Step

LOG_TAIL = 20


class Intent(enum.Enum):
    NONE = "none"
    NEXT = "next"  # stop before the next step of this thread, or after its last step
    OUT = "out"  # stop after the last step of this thread
    PAUSE = "pause"  # stop at the next step boundary, whatever it is


@dataclass
class Pause:
    step: StepRef
    kind: PauseKind
    exit_code: int | None = None
    reason: str | None = None  # failure category (ExitCode, Timeout, ...)


@dataclass(eq=False)
class ThreadState:
    id: int
    task_id: str
    name: str
    pipeline_task: str | None
    instance: int | None
    step_names: tuple[str, ...]
    run_name: str
    current: int | None = None  # index of the step running or paused (last known)
    pause: Pause | None = None  # set while the thread is stopped (the user sees it)
    intent: Intent = Intent.NONE
    intent_from: int = -1  # step index the NEXT started from
    exit_code_override: int | None = None  # setVariable exitCode while stopped on a failure
    logs: dict[int, deque[str]] = field(default_factory=dict)
    steps: tuple[Step, ...] = ()  # where each step is written (from the engine), if it said
    frames: tuple[tuple[str, Span], ...] = ()  # enclosing items, innermost first (from the engine)

    @property
    def last_index(self) -> int:
        return len(self.step_names) - 1

    def step_name(self, index: int) -> str:
        name = self.step_names[index] if 0 <= index < len(self.step_names) else ""
        return name or f"unnamed-{index}"

    def remember_log(self, index: int, line: str) -> None:
        self.logs.setdefault(index, deque(maxlen=LOG_TAIL)).append(line.rstrip("\n"))

    def stepping_stop(self, kind: PauseKind, index: int) -> bool:
        """Whether a pause (kind, index) of this thread ends the current step request."""
        if self.intent is Intent.PAUSE:
            return kind is not PauseKind.FAILURE
        if self.intent is Intent.NEXT:
            return (kind is PauseKind.BEFORE and index > self.intent_from) or (
                kind is PauseKind.AFTER and index == self.last_index
            )
        if self.intent is Intent.OUT:
            return kind is PauseKind.AFTER and index == self.last_index
        return False

    def start_next(self) -> None:
        """`next` from the current pause."""
        assert self.pause is not None
        self.intent = Intent.NEXT
        self.intent_from = self.pause.step.step_index

    def at_task_end(self) -> bool:
        """Stopped after the task's last step: stepping goes on into the tasks that depend on it."""
        return (
            self.pause is not None
            and self.pause.kind is PauseKind.AFTER
            and self.pause.step.step_index == self.last_index
        )


@dataclass
class FrameRef:
    thread: ThreadState
    kind: str  # step | task | run
    step_index: int | None
    """A stack frame id's meaning: which thread, and step, task or run."""
