"""The one interface every engine (local, tekton, argo) implements.

Engines run a pipeline and pause at every step boundary they were asked to (before a
step, after it, on its failure). They report what happens as run events and take resume
actions; deciding *whether* a pause is a stop the user sees is the session's job, so an
engine knows nothing about DAP, breakpoints or threads.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dap_server.sources.model import Span, Step


class PauseKind(enum.StrEnum):
    BEFORE = "before"  # before the step's command runs (Tekton -debug_before_step, Argo pause-before)
    AFTER = "after"  # after the command exited, before the next step may start
    FAILURE = "failure"  # the command exited non-zero (Tekton -breakpoint_on_failure)


class Resume(enum.StrEnum):
    CONTINUE = "continue"
    """before/after: go on. failure: count the step as passed (Tekton debug-continue, exit 0)."""
    FAIL_CONTINUE = "fail-continue"
    """before: do not run the step, mark it failed. failure: let the failure stand."""


@dataclass(frozen=True)
class StepRef:
    task_id: str  # the engine's id of a task instance (one thread in the session)
    step_index: int


# ---- run events -----------------------------------------------------------------------


@dataclass(frozen=True)
class TaskStarted:
    task_id: str
    display_name: str  # thread name: pipeline task name (+ " [i]" for fan-out) or the Task name
    pipeline_task: str | None  # name of the pipeline task / DAG task / steps item, None for a lone run
    instance: int | None  # index in a matrix / withItems fan-out, else None
    step_names: tuple[str, ...]
    run_name: str  # TaskRun name (Tekton) / pod node name (Argo)
    # Where the task's steps and enclosing items are written, for frames and breakpoints.
    # `steps[i]` is the source of step i; `frames` are the enclosing items innermost first
    # (pipeline task / DAG task or steps item, then enclosing templates), not the run itself.
    # Engines that leave them empty get the Tekton lookup by pipeline task name.
    steps: tuple[Step, ...] = ()
    frames: tuple[tuple[str, Span], ...] = ()


@dataclass(frozen=True)
class StepPaused:
    step: StepRef
    kind: PauseKind
    exit_code: int | None = None  # FAILURE (and AFTER): the command's exit code
    reason: str | None = None  # FAILURE: ExitCode, OOMKilled, Timeout, ...


@dataclass(frozen=True)
class StepRunning:
    step: StepRef


@dataclass(frozen=True)
class StepFinished:
    step: StepRef
    exit_code: int
    reason: str  # Completed, Error, Skipped, TimeoutExceeded, Cancelled


@dataclass(frozen=True)
class TaskFinished:
    task_id: str
    succeeded: bool
    reason: str  # Succeeded, Failed, Skipped (when expressions), TaskRunTimeout, Cancelled
    message: str = ""


@dataclass(frozen=True)
class Output:
    task_id: str | None  # None for run-level messages
    step_index: int | None
    category: str  # stdout | stderr | console
    text: str  # one line, newline included


@dataclass(frozen=True)
class RunFinished:
    succeeded: bool
    reason: str
    message: str = ""


RunEvent = TaskStarted | StepPaused | StepRunning | StepFinished | TaskFinished | Output | RunFinished
EventSink = Callable[[RunEvent], None]


# ---- inspection ------------------------------------------------------------------------


@dataclass
class StepView:
    """What the Variables pane shows for a step; read when asked (lazy)."""

    task_id: str
    step_index: int
    name: str
    image: str
    command: list[str]
    args: list[str]
    script: str | None
    working_dir: str
    env: dict[str, str]  # resolved; Secret values already masked
    params: dict[str, Any]  # the task's params, resolved (str, list or dict)
    results: dict[str, str]  # results written so far
    workspaces: dict[str, str]  # name -> path
    state: str  # waiting, paused-before, running, paused-after, paused-failure, terminated, skipped
    exit_code: int | None
    started_at: str | None  # RFC 3339
    finished_at: str | None
    pod: str  # the TaskRun's pod (local: the task run name)
    container: str  # step-<name>
    extra: dict[str, str] = field(default_factory=dict)  # engine-specific (node, image digest, restarts)


@dataclass
class ExecResult:
    exit_code: int
    output: str


class EngineError(Exception):
    """A run cannot start or an action failed; the message is for the user."""


class Engine(ABC):
    """A run of one document. Create, `start`, drive with `resume`, end with `cancel`/`close`."""

    after_pauses = True
    """The engine can pause after a step (Tekton cannot: it has before-step and on-failure
    breakpoints only); without, `after` breakpoints are reported as never reached."""

    async def prepare(self) -> None:
        """Check what a start needs (cluster reachable, feature gates) before the launch is
        answered, so a run that cannot start fails the launch itself. Nothing is created."""
        return None

    @abstractmethod
    async def start(self, sink: EventSink) -> None:
        """Begin the run and return at once; events go to `sink` (called on the event loop)."""

    @abstractmethod
    async def resume(self, step: StepRef, kind: PauseKind, action: Resume) -> None:
        """Release a pause reported by StepPaused. A marker write and nothing else."""

    async def debug_python(self, step: StepRef, port: int) -> bool:
        """stepIn on a Python step paused before: run it under debugpy listening on `port`
        (127.0.0.1), stopped at its first line once a client attaches. False: not possible."""
        return False

    async def skip_after(self, step: StepRef) -> None:
        """The debugger will not stop after this step (which is about to run): release its
        after-step pause ahead, so the step does not wait for a round trip. Engines without
        that ability pause as usual and the session releases the pause when it comes."""
        return None

    @abstractmethod
    async def cancel(self) -> None:
        """Stop the run: release every pause, end every process; returns when nothing runs."""

    @abstractmethod
    async def close(self) -> None:
        """Free everything the run holds (temporary folders). Idempotent."""

    @abstractmethod
    def inspect(self, step: StepRef) -> StepView:
        """Variables of a step of a started task."""

    async def inspect_live(self, step: StepRef) -> StepView:
        """`inspect`, topped up from the running step where the engine can (a cluster engine
        reads the real environment and results by exec while the step is paused). Called when
        the user looks at a stopped frame, once per stop; local engines read everything anyway."""
        return self.inspect(step)

    async def set_result(self, step: StepRef, name: str, value: str) -> None:
        raise EngineError("this engine cannot change results")

    async def exec(self, step: StepRef, argv: list[str]) -> ExecResult:
        raise EngineError("this engine cannot run commands in a step")

    def shell_command(self, step: StepRef) -> tuple[list[str], str, dict[str, str]] | None:
        """argv, cwd and env for an interactive shell in the paused step (runInTerminal)."""
        return None
