"""Shared bits of the engine tests: a supervisor under test, and a look at what still runs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from dap_server.engines.base import (
    Output,
    PauseKind,
    Resume,
    RunEvent,
    RunFinished,
    StepFinished,
    StepPaused,
    TaskFinished,
    TaskStarted,
)
from dap_server.engines.local.engine import LocalEngine
from dap_server.engines.local.supervisor import command_line
from dap_server.engines.options import RunOptions
from dap_server.sources import Document, SourceSet

E = TypeVar("E")

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "tekton"
ENGINE_FIXTURES = FIXTURES / "engine"
WAIT = 10.0  # seconds any single expected thing may take on a slow machine (never a timing assertion)


def processes_matching(token: str, program: str = "") -> list[int]:
    """Pids of live processes whose command line contains `token` (and starts with `program`):
    a /proc scan, no psutil."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{entry}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if token in cmdline and cmdline.startswith(program) and state != "Z" and int(entry) != os.getpid():
            found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def watching(pid: int) -> bool:
    """True when `pid` holds an inotify descriptor: it has reached a wait for a marker file."""
    try:
        return any(os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:inotify" for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


async def eventually_async(check: Callable[[], bool], timeout: float = WAIT, what: str = "condition") -> None:
    """`eventually` for async tests: the event loop keeps running while we wait."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def eventually(check: Callable[[], bool], timeout: float = WAIT, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


class Step:
    """One supervisor process for step `index` of a fake pod folder `tekton` (tmp dir)."""

    def __init__(
        self,
        tekton: Path,
        index: int,
        command: list[str],
        flags: Iterable[str] = (),
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.tekton = tekton
        self.index = index
        run = tekton / "run" / str(index)
        (run / "status").mkdir(parents=True, exist_ok=True)
        args = [
            "-post_file",
            str(run / "out"),
            "-termination_path",
            str(tekton / f"termination-{index}"),
            "-step_metadata_dir",
            str(run / "status"),
        ]
        if index > 0:
            (tekton / "run" / str(index - 1)).mkdir(parents=True, exist_ok=True)
            args += ["-wait_file", str(tekton / "run" / str(index - 1) / "out")]
        self.proc = subprocess.Popen(
            command_line([*args, *flags], command),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})},
            cwd=cwd or tekton,
            start_new_session=True,
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._lines: dict[str, queue.Queue[str]] = {"stdout": queue.Queue(), "stderr": queue.Queue()}
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, "stdout", self.stdout), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, "stderr", self.stderr), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: object, name: str, into: list[str]) -> None:
        assert stream is not None
        for raw in iter(stream.readline, b""):  # type: ignore[attr-defined]
            line = raw.decode()
            into.append(line)
            self._lines[name].put(line)

    def expect(self, predicate: Callable[[str], bool], stream: str = "stderr") -> str:
        """Wait for the next line of `stream` for which `predicate` holds (lines of that
        stream before it are passed over); return it."""
        deadline = time.monotonic() + WAIT
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no such {stream} line; got {self.stdout!r} / {self.stderr!r}")
            try:
                line = self._lines[stream].get(timeout=left)
            except queue.Empty:
                continue
            if predicate(line):
                return line

    def wait(self) -> int:
        code = self.proc.wait(timeout=WAIT)
        for reader in self._readers:
            reader.join(timeout=WAIT)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()
        return code

    def file(self, name: str) -> Path:
        return self.tekton / "run" / str(self.index) / name

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# ---- the local engine under test ---------------------------------------------------------------

Policy = Callable[[StepPaused], Resume | None]


def release_all(event: StepPaused) -> Resume | None:
    """Continue every pause; let failures stand."""
    return Resume.FAIL_CONTINUE if event.kind is PauseKind.FAILURE else Resume.CONTINUE


def load(path: Path, obj: str | None = None, search: Path | None = None) -> Document:
    sources = SourceSet([str(search or path.parent)])
    document = sources.select(str(path), obj)
    sources.resolve(document)
    return document


class EngineRun:
    """A LocalEngine with its events recorded; pauses answered by `policy` (None: left paused)."""

    def __init__(self, document: Document, options: RunOptions, policy: Policy | None = release_all) -> None:
        self.engine = LocalEngine(document, options)
        self.events: list[RunEvent] = []
        self.policy = policy
        self.finished = asyncio.Event()
        self._changed = asyncio.Event()

    def _sink(self, event: RunEvent) -> None:
        self.events.append(event)
        self._changed.set()
        if isinstance(event, RunFinished):
            self.finished.set()
        if isinstance(event, StepPaused) and self.policy is not None:
            action = self.policy(event)
            if action is not None:
                asyncio.get_running_loop().create_task(self.engine.resume(event.step, event.kind, action))

    async def start(self) -> EngineRun:
        await self.engine.start(self._sink)
        return self

    async def wait_for(self, predicate: Callable[[RunEvent], bool], timeout: float = WAIT) -> RunEvent:
        """The first recorded event (past or future) for which `predicate` holds."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for event in self.events:
                if predicate(event):
                    return event
            self._changed.clear()
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AssertionError(f"no such event; got {self.events!r}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def finish(self, timeout: float = 30) -> RunFinished:
        await asyncio.wait_for(self.finished.wait(), timeout)
        return self.run_finished

    @property
    def run_finished(self) -> RunFinished:
        return next(e for e in self.events if isinstance(e, RunFinished))

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    def task(self, pipeline_task: str) -> str:
        """The task_id of a started pipeline task."""
        return next(e.task_id for e in self.of(TaskStarted) if e.pipeline_task == pipeline_task)

    @property
    def run_name(self) -> str:
        """The PipelineRun name (from the first pipeline task that started)."""
        first = next(e for e in self.of(TaskStarted) if e.pipeline_task)
        assert first.pipeline_task is not None
        return first.task_id.removesuffix(f"-{first.pipeline_task}")

    def skipped(self) -> dict[str, str]:
        """Pipeline task name -> skipping reason, for every skipped task."""
        prefix = f"{self.run_name}-"
        return {e.task_id.removeprefix(prefix): e.message for e in self.of(TaskFinished) if e.reason == "Skipped"}

    def task_finished(self, task_id_suffix: str) -> TaskFinished:
        return next(e for e in self.of(TaskFinished) if e.task_id.endswith(task_id_suffix))

    def output(self, task_id: str | None = None) -> str:
        return "".join(e.text for e in self.of(Output) if task_id is None or e.task_id == task_id)

    def steps_finished(self, task_id: str) -> list[tuple[int, str]]:
        return [(e.exit_code, e.reason) for e in self.of(StepFinished) if e.step.task_id == task_id]


async def run_to_end(
    path: Path, policy: Policy | None = release_all, obj: str | None = None, **options: Any
) -> EngineRun:
    run = EngineRun(load(path, obj), RunOptions(**options), policy)
    await run.start()
    try:
        await run.finish()
    finally:
        await run.engine.close()
    return run
