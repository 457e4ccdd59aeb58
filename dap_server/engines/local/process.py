"""Processes of the local engine: supervisors started in their own session, their output read
line by line, and the end of everything they started."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Collection, Mapping, Sequence

from dap_server.engines.local.supervisor import PARENT_PID_ENV, command_line

LINE_LIMIT = 1 << 20  # longer lines are cut into pieces of this size
KILL_GRACE = 3.0  # seconds a SIGTERMed supervisor has before SIGKILL (it needs milliseconds)
PIPE_GRACE = 0.5  # seconds a supervisor's pipes may outlive it before its session is ended


async def spawn_supervisor(
    flags: Sequence[str], command: Sequence[str], cwd: str, env: Mapping[str, str]
) -> asyncio.subprocess.Process:
    """Start a step supervisor: own session (its id is the supervisor's pid, which finds
    everything it started), stdout and stderr piped, stdin closed."""
    return await asyncio.create_subprocess_exec(
        *command_line(flags, command),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=cwd,
        env={**env, PARENT_PID_ENV: str(os.getpid())},
        start_new_session=True,
        limit=LINE_LIMIT,
    )


async def lines(stream: asyncio.StreamReader | None) -> AsyncIterator[str]:
    """The lines of a pipe as they come, each ending in a newline (one is added to a last
    line without one); a line much longer than the stream's limit comes in pieces."""
    if stream is None:
        return
    while True:
        try:
            raw = await stream.readuntil(b"\n")
        except asyncio.IncompleteReadError as end:
            if end.partial:
                yield end.partial.decode(errors="replace") + "\n"
            return
        except asyncio.LimitOverrunError as long:
            raw = await stream.readexactly(long.consumed)
            text = raw.decode(errors="replace")
            yield text if text.endswith("\n") else text + "\n"
            continue
        yield raw.decode(errors="replace")


async def drain(proc: asyncio.subprocess.Process, readers: Collection[asyncio.Future[None]]) -> None:
    """Wait until `readers` (tasks reading the process's pipes) have reached the end of the
    pipes and the process has exited: the normal end. If the process has exited but a pipe
    stays open (something it started, out of its process group, still holds it), end its
    session and, after a grace, stop waiting for the readers (the caller cancels them).

    `Process.wait()` cannot tell these apart in Python 3.11: called before the exit it also
    waits for the pipes to close (for ever, here), called after it returns at once."""
    while True:
        _, pending = await asyncio.wait(readers, timeout=PIPE_GRACE)
        if not pending:
            await proc.wait()
            return
        if proc.returncode is not None:
            kill_session(proc.pid)
            _, pending = await asyncio.wait(pending, timeout=PIPE_GRACE)
            if pending:  # held by a process in a session of its own: let go of our ends
                transport = getattr(proc, "_transport", None)  # Process has no public close()
                if transport is not None:
                    transport.close()
            return


def signal_process(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)


def session_members(sid: int) -> list[int]:
    """Pids of the live processes of session `sid` (a /proc scan)."""
    found: list[int] = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # after "pid (comm)": state ppid pgrp session ...
        if len(fields) > 3 and fields[3] == str(sid) and fields[0] != "Z":
            found.append(int(entry))
    return found


def kill_session(sid: int) -> None:
    """SIGKILL every process left in session `sid`: what a killed supervisor's command left.
    A process that started a session of its own escapes; nothing else does."""
    for pid in session_members(sid):
        signal_process(pid, signal.SIGKILL)
