"""Processes of the local engine: supervisors started in their own session, their output read
line by line, and the end of everything they started."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Mapping, Sequence

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


async def exit_of(proc: asyncio.subprocess.Process) -> bool:
    """Wait until the supervisor has exited. True: its pipes are closed too (the normal end).
    False: it exited but something the step started, outside its process group, still holds
    its pipes; that session has then been ended, and a process that made its own session may
    still hold them (the caller stops reading). Needed because `Process.wait()` also waits
    for the pipes to close (Python 3.11), which would wait for ever."""
    waiter = asyncio.ensure_future(proc.wait())
    try:
        while True:
            done, _ = await asyncio.wait({waiter}, timeout=PIPE_GRACE)
            if done:
                return True
            if proc.returncode is not None:
                kill_session(proc.pid)
                done, _ = await asyncio.wait({waiter}, timeout=PIPE_GRACE)
                return bool(done)
    finally:
        waiter.cancel()


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
