"""Shared bits of the engine tests: a supervisor under test, and a look at what still runs."""

from __future__ import annotations

import os
import queue
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from dap_server.engines.local.supervisor import command_line

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "tekton"
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
        return any(
            os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:inotify"
            for fd in os.listdir(f"/proc/{pid}/fd")
        )
    except OSError:
        return False


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
        return code

    def file(self, name: str) -> Path:
        return self.tekton / "run" / str(self.index) / name

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
