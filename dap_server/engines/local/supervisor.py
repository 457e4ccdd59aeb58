"""Tekton's step entrypoint (`/tekton/bin/entrypoint`), as a host process.

    python -m dap_server.engines.local.supervisor [flags] -- command args...

One supervisor runs one step, exactly as engine-protocols.md A2 describes, with the same
flags, marker files, log lines and exit codes:

1. wait for each `-wait_file` (the previous step's `out`); if its `.err` appears instead,
   write our own `out.err`, log `Skipping step because a previous step failed`, exit 1 --
   unless `-breakpoint_on_failure`, then run anyway;
2. `-debug_before_step`: log the before-step message, wait for `out.beforestepexit` (run) or
   `out.beforestepexit.err` (do not run: `out.err`, log the skip line, exit 1);
3. run the command in its own process group, stdout/stderr inherited, under `-timeout`;
4. success: `status/exitCode` = 0 and `out`, exit 0;
   timeout: `out.err`, log `context deadline exceeded`, exit 1, no breakpoint;
   failure with `-breakpoint_on_failure`: termination message, the onFailure message, wait
   for `out.breakpointexit`, exit with its integer (unreadable: exit 0 with Tekton's text);
   failure with `-on_error continue`: `status/exitCode` = code and `out`, exit 0;
   any other failure: `out.err`, exit with the command's code (128+N if killed by signal N;
   a command that cannot be started: `Error executing command: ...`, exit 1).
5. SIGTERM at any time: kill the command's process group, `out.err`, log `Step was
   cancelled`, exit 9. (Tekton heeds a cancel only while the command runs.)

Our addition, `-debug_after_step`: after a command that succeeded, or failed under
`-on_error continue` without `-breakpoint_on_failure` (a failure otherwise pauses as onFailure,
which is already the after-the-step stop), log the after-step message and wait for
`out.afterstepexit` (then finish as above: `status/exitCode` and `out`) or
`out.afterstepexit.err` (`out.err`, exit 1). `status/exitCode` is written after the pause,
the real exit code is in the termination message (key `ExitCode`) before it.

Differences from Tekton's binary, on purpose: files are awaited with inotify (Tekton polls
every second); markers and post files are written atomically; on step timeout the post file
is `out.err` even under `-breakpoint_on_failure` (Tekton v1.15 writes none there, leaving the
next step waiting for ever); a supervisor and its command die with their parent
(PR_SET_PDEATHSIG: SIGTERM for the supervisor, which then kills the command's process group,
SIGKILL for the command), so a killed adapter leaves no step behind; when the supervisor exits,
what is left of the command's process group is killed, as a container's end would.

Start-up time matters (every step pays it): only the standard library and
`dap_server.engines.markers` are imported; inotify is called through ctypes directly, because
importing `inotify_simple` costs ~18 ms (it imports ctypes.util, shutil and subprocess) and
its first use runs `ldconfig`; inotify_simple, then polling, are the fallbacks.
"""

from __future__ import annotations

import os
import select
import sys
import time

from dap_server.engines import markers

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    import signal
    from collections.abc import Callable, Sequence
    from types import FrameType
    from typing import Any
else:
    try:  # the C module that `signal` wraps: same calls, plain ints; `signal` costs ~6 ms (enum)
        import _signal as signal
    except ImportError:
        import signal

PARENT_PID_ENV = "PIPELINE_DAP_PARENT_PID"
"""Set by the engine to its own pid: the supervisor dies at once if its parent is already gone
(PR_SET_PDEATHSIG is armed after fork, so a parent dying in between would be missed).
Removed from the environment before the command starts."""

TRACE_ENV = "PIPELINE_DAP_SUPERVISOR_TRACE"
"""For benchmarks: a file to append `<event> <CLOCK_MONOTONIC ns>` lines to, at the moments
a pause message is written (`pause-<kind>`), a pause is released (`release-<kind>`) and the
command is forked (`exec`). Removed from the command's environment."""

USAGE_EXIT = 2  # Go's flag package exits 2 on a usage error

_STRING_FLAGS = frozenset(
    {"wait_file", "post_file", "termination_path", "step_metadata_dir", "on_error", "timeout", "entrypoint"}
)
_BOOL_FLAGS = frozenset({"wait_file_content", "breakpoint_on_failure", "debug_before_step", "debug_after_step"})

# inotify(7)
_IN_MODIFY = 0x002
_IN_ATTRIB = 0x004
_IN_CLOSE_WRITE = 0x008
_IN_MOVED_TO = 0x080
_IN_CREATE = 0x100
_WATCH_MASK = _IN_CREATE | _IN_MOVED_TO | _IN_CLOSE_WRITE | _IN_MODIFY | _IN_ATTRIB
_RECHECK_MS = 1000  # re-check even without events (a missed event must not hang a step)
_POLL_INTERVAL = 0.01  # seconds, when inotify is not available
_PR_SET_PDEATHSIG = 1


class UsageError(Exception):
    pass


class Args:
    """Parsed flags (Tekton's names; Go flag syntax: -name value, -name=value, --name)."""

    def __init__(self) -> None:
        self.wait_files: list[str] = []
        self.wait_file_content = False
        self.post_file = ""
        self.termination_path = ""
        self.step_metadata_dir = ""
        self.on_error = ""
        self.timeout: float | None = None  # seconds; None or 0: no timeout
        self.timeout_error = ""  # a negative timeout fails the step, as in Tekton
        self.breakpoint_on_failure = False
        self.debug_before_step = False
        self.debug_after_step = False
        self.command: list[str] = []


def parse_args(argv: Sequence[str]) -> Args:
    args = Args()
    entrypoint = ""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            i += 1
            break
        if not arg.startswith("-") or arg == "-":
            break  # like Go: flags end at the first non-flag argument
        name = arg[2:] if arg.startswith("--") else arg[1:]
        value: str | None = None
        if "=" in name:
            name, value = name.split("=", 1)
        if name in _BOOL_FLAGS:
            flag = True if value is None else _parse_bool(name, value)
            setattr(args, name, flag)
        elif name in _STRING_FLAGS:
            if value is None:
                i += 1
                if i >= len(argv):
                    raise UsageError(f"flag needs an argument: -{name}")
                value = argv[i]
            if name == "wait_file":
                args.wait_files = [f for f in value.split(",") if f]
            elif name == "timeout":
                seconds = parse_duration(value)
                if seconds < 0:
                    args.timeout_error = "negative timeout specified"
                else:
                    args.timeout = seconds or None
            elif name == "entrypoint":
                entrypoint = value
            else:
                setattr(args, name, value)
        else:
            raise UsageError(f"flag provided but not defined: -{name}")
        i += 1
    args.command = ([entrypoint] if entrypoint else []) + list(argv[i:])
    if not args.command:
        raise UsageError("no command to run")
    return args


def _parse_bool(name: str, value: str) -> bool:
    if value in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if value in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    raise UsageError(f'invalid boolean value "{value}" for -{name}')


_DURATION_UNITS = (("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("μs", 1e-6), ("ms", 1e-3), ("s", 1.0))
_DURATION_UNITS_LONG = (("m", 60.0), ("h", 3600.0))


def parse_duration(text: str) -> float:
    """Go's time.ParseDuration, in seconds: "1h2m3.5s", "300ms", "-1s", "0"."""
    s = text.strip()
    sign = 1.0
    if s[:1] in ("+", "-"):
        sign = -1.0 if s[0] == "-" else 1.0
        s = s[1:]
    if s == "0":
        return 0.0
    if not s:
        raise UsageError(f'time: invalid duration "{text}"')
    total = 0.0
    while s:
        j = 0
        while j < len(s) and (s[j].isdigit() or s[j] == "."):
            j += 1
        number, s = s[:j], s[j:]
        if not number or number == "." or number.count(".") > 1:
            raise UsageError(f'time: invalid duration "{text}"')
        for unit, scale in (*_DURATION_UNITS, *_DURATION_UNITS_LONG):
            if s.startswith(unit) and not (unit == "m" and s.startswith("ms")):
                total += float(number) * scale
                s = s[len(unit) :]
                break
        else:
            raise UsageError(f'time: missing or unknown unit in duration "{text}"')
    return sign * total


# ---- small system helpers --------------------------------------------------------------------


class Libc:
    """The few libc calls Python does not offer (through ctypes, loaded once)."""

    def __init__(self) -> None:
        self._lib: Any = None
        self._watcher: Watcher | None = None
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                self._lib = ctypes.CDLL(None, use_errno=True)
            except (ImportError, OSError):
                self._lib = None

    def die_with_parent(self, expected_parent: int | None, signum: int = signal.SIGKILL) -> None:
        """PR_SET_PDEATHSIG: the kernel sends `signum` to this process when its parent dies."""
        if self._lib is None:
            return
        try:
            self._lib.prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0)
        except AttributeError:
            return
        if expected_parent is not None and os.getppid() != expected_parent:
            os._exit(1)  # the parent died before the death signal was armed

    def watcher(self) -> Watcher:
        """This process's file watcher (one inotify instance per process: see Watcher)."""
        if self._watcher is None:
            self._watcher = Watcher(self)
        return self._watcher

    def inotify_init(self) -> int:
        """A non-blocking inotify fd, or -1."""
        if self._lib is None:
            return -1
        try:
            return int(self._lib.inotify_init1(os.O_CLOEXEC | os.O_NONBLOCK))
        except AttributeError:
            return -1

    def inotify_add_watch(self, fd: int, folder: str) -> int:
        return int(self._lib.inotify_add_watch(fd, os.fsencode(folder), _WATCH_MASK))

    def inotify_rm_watch(self, fd: int, wd: int) -> None:
        self._lib.inotify_rm_watch(fd, wd)


def log(message: str) -> None:
    """Go's log.Println to stderr, as ONE write (a reader gets the whole message at once)."""
    data = markers.log_text(message).encode()
    while data:
        try:
            written = os.write(2, data)
        except OSError:
            return  # nobody reads our stderr any more: nothing to tell
        data = data[written:]


def _ready(path: str, expect_content: bool) -> bool:
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        return False
    return size > 0 or not expect_content


class Watcher:
    """Waits for files with inotify: one instance for the supervisor's whole life, a watch per
    wait, removed when the wait ends, the instance never closed.

    Measured on Linux 6.x: closing an inotify instance that had a watch blocks 8-15 ms (the
    kernel waits for an SRCU grace period), and so does the exit of a process that still has
    one; removing the watch costs microseconds, and a process whose watches are all removed
    exits without that wait. Closing after each wait put ~8 ms into every hand-over between
    steps. Falls back to inotify_simple (when libc cannot be loaded) and then to polling."""

    def __init__(self, libc: Libc) -> None:
        self._libc = libc
        self._fd = -2  # -2: not created yet; -1: no inotify here, poll
        self._wd = -1
        self._simple: Any = None  # an inotify_simple.INotify, when it is what we have
        self._poller: select.poll | None = None

    def _arm(self, folder: str) -> bool:
        """Watch `folder`; False when only polling is possible."""
        if self._fd == -2:
            self._fd = self._libc.inotify_init()
            if self._fd < 0:
                try:
                    import inotify_simple

                    self._simple = inotify_simple.INotify(nonblocking=True)
                    self._fd = int(self._simple.fileno())
                except (ImportError, OSError):
                    self._fd = -1
            if self._fd >= 0:
                self._poller = select.poll()
                self._poller.register(self._fd, select.POLLIN)
        if self._fd < 0:
            return False
        try:
            if self._simple is not None:
                self._wd = int(self._simple.add_watch(folder, _WATCH_MASK))
            else:
                self._wd = self._libc.inotify_add_watch(self._fd, folder)
        except OSError:
            self._wd = -1
        return self._wd >= 0

    def release(self) -> None:
        """Remove the current watch (see the class docstring for why it matters)."""
        if self._wd >= 0:
            try:
                if self._simple is not None:
                    self._simple.rm_watch(self._wd)
                else:
                    self._libc.inotify_rm_watch(self._fd, self._wd)
            except OSError:
                pass
            self._wd = -1
        self._drain()  # events of the wait that ended

    def _drain(self) -> None:
        try:
            while self._fd >= 0 and os.read(self._fd, 65536):
                pass
        except BlockingIOError:
            pass

    def wait_for_any(self, paths: Sequence[str], expect_content: bool = False) -> str:
        """Block until one of `paths` exists (the first, with `expect_content`, must be non-empty);
        return it. Tried in order, so `[file, file + ".err"]` behaves like Tekton's waiter. All
        paths are in one folder, watched before the re-check (a file created in between is
        never missed); without inotify, polled every 10 ms."""

        def found() -> str | None:
            for n, path in enumerate(paths):
                if _ready(path, expect_content and n == 0):
                    return path
            return None

        hit = found()
        if hit is not None:
            return hit
        watching = self._arm(os.path.dirname(paths[0]) or ".")
        try:
            while True:
                hit = found()
                if hit is not None:
                    return hit
                if not watching or self._poller is None:
                    time.sleep(_POLL_INTERVAL)
                elif self._poller.poll(_RECHECK_MS):
                    self._drain()
        finally:
            self.release()


def wait_for_any(paths: Sequence[str], expect_content: bool = False, libc: Libc | None = None) -> str:
    """`Watcher.wait_for_any` with the process's watcher (`libc.watcher()`); pass the process's
    Libc: without one, each call leaves an inotify instance open."""
    return (libc or Libc()).watcher().wait_for_any(paths, expect_content)


def look_path(name: str) -> str:
    """Go's exec.LookPath: a name without a slash is searched in PATH; not found is an OSError
    with Go's text."""
    if "/" in name:
        return name
    for folder in os.environ.get("PATH", os.defpath).split(os.pathsep):
        path = os.path.join(folder or ".", name)
        if os.access(path, os.X_OK) and not os.path.isdir(path):
            return path
    raise OSError(2, f'exec: "{name}": executable file not found in $PATH')


def kill_group(pgid: int) -> bool:
    """SIGKILL a process group; False when it is already gone. (No contextlib: start-up time.)"""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        return False
    return True


def _exit_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code  # killed by signal N: 128+N, as shells report it


def _rfc3339_ms(when: float) -> str:
    """Tekton's timeFormat `2006-01-02T15:04:05.000Z07:00`, in UTC."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when)) + f".{int(when % 1 * 1000):03d}Z"


# ---- the entrypoint --------------------------------------------------------------------------


class Supervisor:
    def __init__(self, args: Args, libc: Libc) -> None:
        self.args = args
        self.libc = libc
        self.watcher = libc.watcher()
        self.child = 0  # the command's pid (and process group id) once forked
        self.termination: list[tuple[str, str]] = []
        self._trace = os.environ.pop(TRACE_ENV, "")

    # -- files

    def _write(self, path: str, content: str = "") -> None:
        if path:
            folder = os.path.dirname(path)
            if folder:
                os.makedirs(folder, exist_ok=True)
            markers.write_file_atomic(path, content)

    def write_post_file(self, failed: bool) -> None:
        if self.args.post_file:
            self._write(self.args.post_file + (markers.ERR_SUFFIX if failed else ""))

    def write_exit_code(self, code: str) -> None:
        if self.args.step_metadata_dir:
            self._write(os.path.join(self.args.step_metadata_dir, markers.EXIT_CODE_FILE_NAME), code)

    def write_termination(self, *extra: tuple[str, str]) -> None:
        """The termination message: a JSON list of {key, value, type} (values need no escaping:
        times, integers and reason words)."""
        entries = self.termination + list(extra)
        body = ",".join(f'{{"key":"{k}","value":"{v}","type":{markers.TERMINATION_INTERNAL_TYPE}}}' for k, v in entries)
        if self.args.termination_path:
            self._try(self._write, self.args.termination_path, f"[{body}]")

    @staticmethod
    def _try(action: Callable[..., None], *args: Any) -> None:
        """Best effort: the termination message, and files written while being cancelled."""
        try:
            action(*args)
        except OSError:
            return

    def trace(self, event: str) -> None:
        if self._trace:
            with open(self._trace, "a") as out:
                out.write(f"{event} {time.monotonic_ns()}\n")

    # -- signals

    def on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        """Cancel: end the command's process group, fail the step, exit 9 (SIGKILL's number)."""
        if self.child:
            kill_group(self.child)
        self.watcher.release()  # an exit with a watch left would take 8-15 ms more
        self._try(self.write_post_file, True)
        self.write_termination((markers.KEY_REASON, markers.REASON_CANCELLED))
        log(markers.STEP_CANCELLED)
        os._exit(int(signal.SIGKILL))

    # -- running the command

    def spawn(self) -> int:
        """fork + exec the command in its own process group, dying with us. Returns the pid;
        raises OSError (with the exec error) when the command cannot be started."""
        argv = self.args.command
        program = look_path(argv[0])  # raises the exec error; searched before fork, not in the child
        read_end, write_end = os.pipe2(os.O_CLOEXEC)
        parent = os.getpid()
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        pid = os.fork()
        if pid == 0:  # the child: never returns
            try:
                os.close(read_end)
                for signum in (signal.SIGTERM, signal.SIGPIPE, signal.SIGXFSZ):
                    signal.signal(signum, signal.SIG_DFL)  # Python ignores SIGPIPE/SIGXFSZ: exec keeps that
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
                os.setpgid(0, 0)
                self.libc.die_with_parent(parent)
                os.execv(program, argv)
            except OSError as exc:
                os.write(write_end, f"{exc.errno}:{exc.strerror}".encode())
            finally:
                os._exit(127)
        # also here, so that no window exists where a kill of the group misses the child
        # (EACCES when the child already did it and exec'd: fine)
        self._try(os.setpgid, pid, pid)
        self.child = pid
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        os.close(write_end)
        try:
            error = b""
            while chunk := os.read(read_end, 4096):
                error += chunk
        finally:
            os.close(read_end)
        if error:
            os.waitpid(pid, 0)
            self.child = 0
            number, _, text = error.decode(errors="replace").partition(":")
            raise OSError(int(number) if number.isdigit() else 0, f'exec: "{argv[0]}": {text}')
        return pid

    def wait_child(self, pid: int, timeout: float | None) -> int | None:
        """The command's exit code, or None if `timeout` passed (the group is then killed)."""
        if timeout is None:
            return _exit_code(os.waitpid(pid, 0)[1])
        deadline = time.monotonic() + timeout
        try:
            pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            pidfd = -1
        try:
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    return _exit_code(status)
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                if pidfd >= 0:
                    select.select([pidfd], [], [], left)
                else:
                    time.sleep(min(left, _POLL_INTERVAL))
        finally:
            if pidfd >= 0:
                os.close(pidfd)
        kill_group(pid)
        os.waitpid(pid, 0)
        return None

    def kill_leftovers(self) -> None:
        """What the command left running in its group dies with the step, as in a container."""
        if self.child:
            kill_group(self.child)

    # -- pauses

    def pause(self, message: str, kind: str, marker: str) -> bool:
        """Log a pause message and wait for `marker` (True) or `marker.err` (False)."""
        self.trace(f"pause-{kind}")
        log(message)
        hit = self.watcher.wait_for_any([marker, marker + markers.ERR_SUFFIX])
        self.trace(f"release-{kind}")
        return hit == marker

    def breakpoint_on_failure(self, exit_code: int) -> int:
        """Tekton's CheckForBreakpointOnFailure: pause, then exit with the code in the file."""
        self.write_termination((markers.KEY_EXIT_CODE, str(exit_code)))
        self.trace("pause-failure")
        log(markers.ON_FAILURE_MESSAGE)
        exit_file = self.args.post_file + markers.BREAKPOINT_EXIT_SUFFIX
        self.watcher.wait_for_any([exit_file])
        self.trace("release-failure")
        try:
            with open(exit_file) as f:
                content = f.read()
        except OSError as exc:
            log(f"{markers.BREAKPOINT_READ_ERROR_PREFIX}breakpoint postfile {exit_file} not found: {exc}")
            return 0
        text = content.removesuffix("\n")
        log(markers.BREAKPOINT_EXIT_PREFIX + text)
        try:
            return int(text)
        except ValueError:
            log(f'{markers.BREAKPOINT_READ_ERROR_PREFIX}strconv.Atoi: parsing "{text}": invalid syntax')
            return 0

    def finish_ok(self, exit_code: int) -> int:
        """The command succeeded (or its failure is tolerated): after-step pause, then
        `status/exitCode` and `out`; exit 0."""
        self.write_termination((markers.KEY_EXIT_CODE, str(exit_code)))
        after_marker = self.args.post_file + markers.AFTER_STEP_SUFFIX
        # A marker written ahead (the debugger will not stop there) releases the pause before it
        # is taken: no message, no wait. Our own pause, so no Tekton behaviour changes.
        if (
            self.args.debug_after_step
            and not os.path.exists(after_marker)
            and not self.pause(markers.AFTER_STEP_MESSAGE, "after", after_marker)
        ):
            self.write_post_file(failed=True)
            log(markers.FAIL_AFTER_STEP)
            return 1
        self.write_exit_code(str(exit_code))
        self.write_post_file(failed=False)
        return 0

    def run(self) -> int:
        """Steps 1-4 of the module docstring (main() installs the SIGTERM handler: step 5)."""
        args = self.args
        for wait_file in args.wait_files:
            hit = self.watcher.wait_for_any([wait_file, wait_file + markers.ERR_SUFFIX], args.wait_file_content)
            if hit != wait_file and not args.breakpoint_on_failure:
                self.write_post_file(failed=True)
                self.termination.append((markers.KEY_STARTED_AT, _rfc3339_ms(time.time())))
                self.write_termination()
                log(markers.SKIP_PREVIOUS_FAILED)
                return 1
        if args.debug_before_step and not self.pause(
            markers.BEFORE_STEP_MESSAGE, "before", args.post_file + markers.BEFORE_STEP_SUFFIX
        ):
            self.write_post_file(failed=True)
            self.termination.append((markers.KEY_STARTED_AT, _rfc3339_ms(time.time())))
            self.write_termination()
            log(markers.SKIP_BEFORE_STEP_FAIL)
            return 1
        self.termination.append((markers.KEY_STARTED_AT, _rfc3339_ms(time.time())))
        if args.timeout_error:
            return self.exec_error(args.timeout_error)
        self.trace("exec")
        try:
            pid = self.spawn()
        except OSError as exc:
            return self.exec_error(exc.strerror or str(exc))
        devnull = os.open(os.devnull, os.O_WRONLY)  # only the command holds the stdout pipe now:
        os.dup2(devnull, 1)  # the engine sees its end of file when the command is done
        os.close(devnull)
        code = self.wait_child(pid, args.timeout)
        if code is None:
            self.write_termination((markers.KEY_REASON, markers.REASON_TIMEOUT))
            self.write_post_file(failed=True)
            log(markers.DEADLINE_EXCEEDED)
            return 1
        if code == 0:
            return self.finish_ok(0)
        if args.breakpoint_on_failure:
            return self.breakpoint_on_failure(code)
        if args.on_error == "continue":
            return self.finish_ok(code)
        self.write_termination((markers.KEY_EXIT_CODE, str(code)))
        self.write_post_file(failed=True)
        return code

    def exec_error(self, message: str) -> int:
        """The command could not run (not found, not executable, negative timeout). Tekton logs
        the error only after an onFailure pause, which exits first, so it is never seen there;
        we log it first."""
        if self.args.breakpoint_on_failure:
            log(markers.EXEC_ERROR_PREFIX + message)
            return self.breakpoint_on_failure(1)
        self.write_termination()
        self.write_post_file(failed=True)
        log(markers.EXEC_ERROR_PREFIX + message)
        return 1


_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
_BOOTSTRAP = (
    f"import sys; sys.path.insert(0, {_PACKAGE_ROOT!r}); "
    "from dap_server.engines.local.supervisor import run_and_exit; run_and_exit()"
)


def command_line(flags: Sequence[str], command: Sequence[str], python: str = sys.executable) -> list[str]:
    """The argv that runs a supervisor with `flags` over `command`.

    `-I -S`: the step's environment (PYTHONPATH, PYTHONHOME...) must not change the
    supervisor, and `site` (.pth files: an editable install costs ~12 ms) is not needed: the
    code is imported from this very checkout, the one the engine runs from.
    """
    return [python, "-I", "-S", "-c", _BOOTSTRAP, *flags, "--", *command]


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
    except UsageError as exc:
        sys.stderr.write(f"{exc}\n")
        return USAGE_EXIT
    parent = os.environ.pop(PARENT_PID_ENV, "")
    libc = Libc()
    supervisor = Supervisor(args, libc)
    signal.signal(signal.SIGTERM, supervisor.on_sigterm)
    # SIGTERM, not SIGKILL, for the supervisor itself (its handler is in place first): the
    # handler kills the command's whole process group (the command's own death signal reaches
    # only the command, not what it started) and fails the step, at any point, waits included.
    libc.die_with_parent(int(parent) if parent.isdigit() else None, signal.SIGTERM)
    try:
        return supervisor.run()
    finally:
        supervisor.kill_leftovers()


def run_and_exit() -> None:
    """main(), then exit at once: interpreter shutdown would add ~3 ms between the step's
    post file and its end, on the path from one step to the next (nothing is buffered: the
    supervisor writes with os.write)."""
    code = main()
    sys.stderr.flush()
    os._exit(code & 0xFF)


if __name__ == "__main__":
    run_and_exit()
