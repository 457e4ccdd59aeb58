"""The step pause protocol every engine speaks: marker files and the log lines around them.

Tekton's entrypoint (engine-protocols.md A2) blocks a step container on files in the step's
run dir `run/<i>/` and announces each pause with a Go `log` message on stderr; the debug
scripts (A3) release it by writing marker files. Argo's emissary (B1) does the same with
`ctr/<name>/before|after`. This module is the single place that knows those names and texts:

- the local engine's supervisor writes and waits on the very same files, and prints the very
  same lines, so the local engine and a cluster behave alike;
- `PauseDetector` recognises the pause lines in a step's log, one line at a time;
- `marker_writes` lists what Tekton's debug scripts write; the local engine writes those
  files itself, the Kubernetes engines turn them into an exec in the paused container.

Our own addition is the *after-step* pause (flag `-debug_after_step`, marker
`out.afterstepexit`), shaped exactly like Tekton's before-step pause; it follows the
unmerged upstream after-step breakpoint patch (same suffix and message).

Paths here are relative to Tekton's `/tekton` folder (or Argo's `/var/run/argo`), with `/`
separators. The module imports only the standard library at import time: the supervisor
imports it and must start fast. `dap_server.engines.base` costs ~25 ms of start-up
(dataclasses, inspect, typing), so the two helpers that need its enums import it when called.
"""

from __future__ import annotations

import os
import time

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (supervisor start-up time)
if TYPE_CHECKING:
    from dap_server.engines.base import PauseKind, Resume

# ---- Tekton file names (pkg/entrypoint/entrypointer.go, pkg/pod/entrypoint.go) ----------------

RUN_DIR = "run"
POST_FILE_NAME = "out"
ERR_SUFFIX = ".err"
BREAKPOINT_EXIT_SUFFIX = ".breakpointexit"
BEFORE_STEP_SUFFIX = ".beforestepexit"
AFTER_STEP_SUFFIX = ".afterstepexit"  # ours (and the upstream after-step patch's)
STATUS_DIR_NAME = "status"
EXIT_CODE_FILE_NAME = "exitCode"
DEBUG_SCRIPTS_DIR = "/tekton/debug/scripts"


def step_run_dir(step_index: int) -> str:
    """`run/<i>`: the step's run dir (an emptyDir on a cluster)."""
    return f"{RUN_DIR}/{step_index}"


def post_file(step_index: int) -> str:
    """`run/<i>/out`: written when the step is done; releases step i+1."""
    return f"{RUN_DIR}/{step_index}/{POST_FILE_NAME}"


def err_file(step_index: int) -> str:
    """`run/<i>/out.err`: the step failed (or was skipped, timed out, cancelled)."""
    return post_file(step_index) + ERR_SUFFIX


def breakpoint_exit_file(step_index: int) -> str:
    """`run/<i>/out.breakpointexit`: releases an onFailure pause; its content is the exit code."""
    return post_file(step_index) + BREAKPOINT_EXIT_SUFFIX


def before_step_file(step_index: int, fail: bool = False) -> str:
    """`run/<i>/out.beforestepexit` (or `.err` for fail-continue): releases a before-step pause."""
    return post_file(step_index) + BEFORE_STEP_SUFFIX + (ERR_SUFFIX if fail else "")


def after_step_file(step_index: int, fail: bool = False) -> str:
    """`run/<i>/out.afterstepexit` (or `.err` for fail-continue): releases an after-step pause."""
    return post_file(step_index) + AFTER_STEP_SUFFIX + (ERR_SUFFIX if fail else "")


def status_dir(step_index: int) -> str:
    """`run/<i>/status`: the step metadata dir (`-step_metadata_dir`)."""
    return f"{RUN_DIR}/{step_index}/{STATUS_DIR_NAME}"


def exit_code_file(step_index: int) -> str:
    """`run/<i>/status/exitCode`: the step's exit code (success and `onError: continue`)."""
    return f"{status_dir(step_index)}/{EXIT_CODE_FILE_NAME}"


# ---- Argo emissary (cmd/argoexec/commands/emissary.go), relative to /var/run/argo ---------------

ARGO_CTR_DIR = "ctr"


def argo_container_dir(container: str) -> str:
    return f"{ARGO_CTR_DIR}/{container}"


def argo_before_file(container: str) -> str:
    """`ctr/<name>/before`: its existence releases ARGO_DEBUG_PAUSE_BEFORE."""
    return f"{argo_container_dir(container)}/before"


def argo_after_file(container: str) -> str:
    """`ctr/<name>/after`: its existence releases ARGO_DEBUG_PAUSE_AFTER."""
    return f"{argo_container_dir(container)}/after"


def argo_exit_code_file(container: str) -> str:
    """`ctr/<name>/exitcode`: written by the emissary last, after any pause-after."""
    return f"{argo_container_dir(container)}/exitcode"


# ---- log texts (verbatim from pkg/entrypoint/entrypointer.go and cmd/entrypoint/main.go) -------

ON_FAILURE_MESSAGE = (
    "debug onFailure breakpoint has taken effect, waiting for user's decision:\n"
    f"1) continue, use cmd: {DEBUG_SCRIPTS_DIR}/debug-continue\n"
    f"2) fail-continue, use cmd: {DEBUG_SCRIPTS_DIR}/debug-fail-continue"
)
BEFORE_STEP_MESSAGE = (
    "debug before step breakpoint has taken effect, waiting for user's decision:\n"
    f"1) continue, use cmd: {DEBUG_SCRIPTS_DIR}/debug-beforestep-continue\n"
    f"2) fail-continue, use cmd: {DEBUG_SCRIPTS_DIR}/debug-beforestep-fail-continue"
)
AFTER_STEP_MESSAGE = (
    "debug after step breakpoint has taken effect, waiting for user's decision:\n"
    f"1) continue, use cmd: {DEBUG_SCRIPTS_DIR}/debug-afterstep-continue\n"
    f"2) fail-continue, use cmd: {DEBUG_SCRIPTS_DIR}/debug-afterstep-fail-continue"
)
BREAKPOINT_EXIT_PREFIX = "Breakpoint exiting with exit code "
BREAKPOINT_READ_ERROR_PREFIX = "error occurred while reading breakpoint exit code : "
SKIP_PREVIOUS_FAILED = "Skipping step because a previous step failed"
SKIP_BEFORE_STEP_FAIL = "Skipping execute step script because before step breakpoint fail-continue"
FAIL_AFTER_STEP = "Marking step failed because after step breakpoint fail-continue"  # ours
STEP_CANCELLED = "Step was cancelled"
DEADLINE_EXCEEDED = "context deadline exceeded"  # Go's context.DeadlineExceeded, logged on step timeout
EXEC_ERROR_PREFIX = "Error executing command: "

# Termination message keys (result.InternalTektonResultType entries)
TERMINATION_INTERNAL_TYPE = 3
KEY_STARTED_AT = "StartedAt"
KEY_EXIT_CODE = "ExitCode"
KEY_REASON = "Reason"
REASON_TIMEOUT = "TimeoutExceeded"
REASON_CANCELLED = "Cancelled"


def log_prefix(when: float | None = None) -> str:
    """Go's default `log` prefix: local time as `YYYY/MM/DD HH:MM:SS `."""
    return time.strftime("%Y/%m/%d %H:%M:%S ", time.localtime(when))


def log_text(message: str, when: float | None = None) -> str:
    """What Go's `log.Println(message)` writes: one prefix, on the first line only."""
    return log_prefix(when) + message + "\n"


def log_message(line: str) -> str | None:
    """The message of a `log` line (`YYYY/MM/DD HH:MM:SS msg`), or None when it has no prefix."""
    if len(line) < 20 or line[4] != "/" or line[7] != "/" or line[10] != " " or line[19] != " ":
        return None
    stamp = line[:4] + line[5:7] + line[8:10] + line[11:13] + line[14:16] + line[17:19]
    if not stamp.isdigit() or line[13] != ":" or line[16] != ":":
        return None
    return line[20:]


_strip_log_prefix = log_message  # its first name, still used by the Kubernetes Tekton engine


# ---- recognising pauses in a step's log ----------------------------------------------------------


class Detection:
    """What one log line means for the protocol (see `PauseDetector.feed`)."""

    __slots__ = ("exit_code", "pause", "protocol")

    def __init__(self, pause: PauseKind | None = None, exit_code: int | None = None, protocol: bool = False):
        self.pause = pause  # a pause of this kind has begun (the step now waits for its marker)
        self.exit_code = exit_code  # "Breakpoint exiting with exit code N": the onFailure pause ended
        self.protocol = protocol  # the line is the protocol's, not the step's own output

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Detection):
            return NotImplemented
        return (self.pause, self.exit_code, self.protocol) == (other.pause, other.exit_code, other.protocol)

    def __hash__(self) -> int:
        return hash((self.pause, self.exit_code, self.protocol))

    def __repr__(self) -> str:
        return f"Detection(pause={self.pause!r}, exit_code={self.exit_code!r}, protocol={self.protocol!r})"


class PauseDetector:
    """Line-oriented recogniser of the pause messages in ONE step container's stderr.

    Feed it every line in order (trailing newline optional). A pause message is three lines;
    its first line (with the `log` prefix) starts the pause, the two "1) ... 2) ..." lines that
    follow are protocol too and are swallowed when they are exactly the expected ones.
    """

    def __init__(self) -> None:
        from dap_server.engines.base import PauseKind  # lazily: see the module docstring

        self._headlines: dict[str, tuple[PauseKind, list[str]]] = {}
        for kind, message in (
            (PauseKind.BEFORE, BEFORE_STEP_MESSAGE),
            (PauseKind.FAILURE, ON_FAILURE_MESSAGE),
            (PauseKind.AFTER, AFTER_STEP_MESSAGE),
        ):
            first, *rest = message.split("\n")
            self._headlines[first] = (kind, rest)
        self._expect: list[str] = []

    def feed(self, line: str) -> Detection:
        text = line.rstrip("\r\n")
        if self._expect:
            expected = self._expect.pop(0)
            if text == expected:
                return Detection(protocol=True)
            self._expect.clear()  # not the message we thought: treat the line as output
        message = log_message(text)
        if message is None:
            return Detection()
        headline = self._headlines.get(message)
        if headline is not None:
            kind, follow = headline
            self._expect = list(follow)
            return Detection(pause=kind, protocol=True)
        if message.startswith(BREAKPOINT_EXIT_PREFIX):
            value = message[len(BREAKPOINT_EXIT_PREFIX) :]
            code = int(value) if value.lstrip("-").isdigit() else None
            return Detection(exit_code=code, protocol=True)
        return Detection()


# ---- what the debug scripts write -----------------------------------------------------------------


def marker_writes(kind: PauseKind, action: Resume, step_index: int) -> list[tuple[str, str]]:
    """Exactly what Tekton's debug script for (kind, action) writes, in order, as
    (path relative to /tekton, content). `touch` is an empty content; `echo "0" >` is "0\\n".

    - failure + continue (`debug-continue`): `out`, then `out.breakpointexit` = 0
    - failure + fail-continue (`debug-fail-continue`): `out.err`, then `out.breakpointexit` = 1
    - before + continue / fail-continue: `out.beforestepexit` = 0 / `out.beforestepexit.err` = 1
    - after + continue / fail-continue (ours): `out.afterstepexit` = 0 / `out.afterstepexit.err` = 1
    """
    from dap_server.engines.base import PauseKind, Resume  # lazily: see the module docstring

    fail = action == Resume.FAIL_CONTINUE
    if kind == PauseKind.FAILURE:
        if fail:
            return [(err_file(step_index), ""), (breakpoint_exit_file(step_index), "1\n")]
        return [(post_file(step_index), ""), (breakpoint_exit_file(step_index), "0\n")]
    if kind == PauseKind.BEFORE:
        return [(before_step_file(step_index, fail), "1\n" if fail else "0\n")]
    if kind == PauseKind.AFTER:
        return [(after_step_file(step_index, fail), "1\n" if fail else "0\n")]
    raise ValueError(f"unknown pause kind {kind!r}")


def continue_on_error_writes(step_index: int, exit_code: int) -> list[tuple[str, str]]:
    """Release an onFailure pause of an `onError: continue` step so that the failure is
    tolerated, as Tekton does without a debugger: the real exit code in `status/exitCode`,
    then `out` (the next step runs), then `out.breakpointexit` = 0 (the container exits 0,
    like the entrypoint does for a tolerated failure). Not a Tekton script: Tekton's
    `debug-fail-continue` would fail the task here."""
    return [
        (exit_code_file(step_index), str(exit_code)),
        (post_file(step_index), ""),
        (breakpoint_exit_file(step_index), "0\n"),
    ]


# ---- writing files so that their existence is the signal ---------------------------------------


def write_file_atomic(path: str, content: str) -> None:
    """Write `content` to `path` so that the file appears complete: a temporary file in the
    same folder, renamed over `path` (waiters look for the name, never see a partial file)."""
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        if content:
            os.write(fd, content.encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)


def apply_writes(root: str, writes: list[tuple[str, str]]) -> None:
    """Perform `marker_writes(...)` under the folder that stands for /tekton, in order."""
    for rel, content in writes:
        write_file_atomic(os.path.join(root, *rel.split("/")), content)
