"""The step supervisor alone, as a real process: every path of engine-protocols.md A2."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from dap_server.engines import markers
from dap_server.engines.base import PauseKind, Resume
from dap_server.engines.local.supervisor import (
    UsageError,
    command_line,
    parse_args,
    parse_duration,
)
from dap_server.engines.markers import PauseDetector, marker_writes

from .helpers import WAIT, Step, alive, eventually, processes_matching, watching

DEBUG = ["-debug_before_step", "-debug_after_step", "-breakpoint_on_failure"]


def headline(message: str) -> str:
    return message.split("\n")[0]


def is_log(message: str) -> object:
    """Predicate: a Go log line carrying exactly `message`."""
    return lambda line: markers.log_message(line.rstrip("\n")) == message


def release(tekton: Path, index: int, kind: PauseKind, action: Resume) -> None:
    markers.apply_writes(str(tekton), marker_writes(kind, action, index))


def touched(path: Path) -> list[str]:
    """A command that records that it ran by creating `path`."""
    return ["sh", "-c", f'echo ran > "{path}"; echo "step output"']


def test_success_writes_out_and_exit_code(tmp_path: Path) -> None:
    step = Step(tmp_path, 0, ["sh", "-c", "echo hello; echo warn >&2"])
    assert step.wait() == 0
    assert step.stdout == ["hello\n"]
    assert step.stderr == ["warn\n"]
    assert step.file("out").exists() and not step.file("out.err").exists()
    assert step.file("status/exitCode").read_text() == "0"
    assert '"key":"StartedAt"' in (tmp_path / "termination-0").read_text()


def test_failure_writes_err_and_keeps_the_code(tmp_path: Path) -> None:
    step = Step(tmp_path, 0, ["sh", "-c", "exit 3"])
    assert step.wait() == 3
    assert step.file("out.err").exists() and not step.file("out").exists()
    assert not step.file("status/exitCode").exists()


def test_killed_command_reports_128_plus_signal(tmp_path: Path) -> None:
    step = Step(tmp_path, 0, ["sh", "-c", "kill -9 $$"])
    assert step.wait() == 128 + 9
    assert step.file("out.err").exists()


def test_next_step_waits_for_the_previous_out(tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    step = Step(tmp_path, 1, touched(ran))
    eventually(lambda: watching(step.proc.pid), what="the supervisor to wait on inotify")
    assert step.proc.poll() is None and not ran.exists()
    markers.write_file_atomic(str(tmp_path / "run/0/out"), "")
    assert step.wait() == 0
    assert ran.exists() and step.file("out").exists()


def test_skip_after_a_failed_previous_step(tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    (tmp_path / "run/0").mkdir(parents=True)
    (tmp_path / "run/0/out.err").touch()
    step = Step(tmp_path, 1, touched(ran))
    assert step.wait() == 1
    assert not ran.exists()
    assert step.file("out.err").exists() and not step.file("out").exists()
    assert [markers.log_message(line.rstrip("\n")) for line in step.stderr] == [
        "Skipping step because a previous step failed"
    ]


def test_breakpoint_on_failure_runs_after_a_failed_previous_step(tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    (tmp_path / "run/0").mkdir(parents=True)
    (tmp_path / "run/0/out.err").touch()
    step = Step(tmp_path, 1, touched(ran), ["-breakpoint_on_failure"])
    assert step.wait() == 0
    assert ran.exists() and step.file("out").exists()


def test_before_step_pause_then_continue(tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    step = Step(tmp_path, 0, touched(ran), ["-debug_before_step"])
    step.expect(is_log(headline(markers.BEFORE_STEP_MESSAGE)))
    assert step.expect(lambda _: True) == markers.BEFORE_STEP_MESSAGE.split("\n")[1] + "\n"
    assert step.expect(lambda _: True) == markers.BEFORE_STEP_MESSAGE.split("\n")[2] + "\n"
    assert step.proc.poll() is None and not ran.exists()
    release(tmp_path, 0, PauseKind.BEFORE, Resume.CONTINUE)
    assert step.wait() == 0
    assert ran.exists() and step.stdout == ["step output\n"]
    assert step.file("out").exists()


def test_before_step_fail_continue_does_not_run_the_step(tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    step = Step(tmp_path, 0, touched(ran), ["-debug_before_step"])
    step.expect(is_log(headline(markers.BEFORE_STEP_MESSAGE)))
    release(tmp_path, 0, PauseKind.BEFORE, Resume.FAIL_CONTINUE)
    assert step.wait() == 1
    assert not ran.exists()
    assert step.file("out.err").exists() and not step.file("out").exists()
    step.expect(is_log(markers.SKIP_BEFORE_STEP_FAIL))


@pytest.mark.parametrize(
    ("action", "exit_code", "post"),
    [(Resume.CONTINUE, 0, "out"), (Resume.FAIL_CONTINUE, 1, "out.err")],
)
def test_on_failure_pause_exits_with_the_code_the_script_wrote(
    tmp_path: Path, action: Resume, exit_code: int, post: str
) -> None:
    step = Step(tmp_path, 0, ["sh", "-c", "echo failing; exit 5"], ["-breakpoint_on_failure"])
    step.expect(is_log(headline(markers.ON_FAILURE_MESSAGE)))
    # the real code is known during the pause (termination message), no post file yet
    assert '"key":"ExitCode","value":"5"' in (tmp_path / "termination-0").read_text()
    assert not step.file("out").exists() and not step.file("out.err").exists()
    release(tmp_path, 0, PauseKind.FAILURE, action)
    assert step.wait() == exit_code
    step.expect(is_log(f"Breakpoint exiting with exit code {exit_code}"))
    assert step.file(post).exists()


def test_on_failure_exit_code_is_whatever_the_file_says(tmp_path: Path) -> None:
    step = Step(tmp_path, 0, ["false"], ["-breakpoint_on_failure"])
    step.expect(is_log(headline(markers.ON_FAILURE_MESSAGE)))
    markers.write_file_atomic(str(step.file("out.breakpointexit")), "7\n")
    assert step.wait() == 7


def test_on_failure_bad_exit_code_content_exits_zero_with_tektons_error(tmp_path: Path) -> None:
    step = Step(tmp_path, 0, ["false"], ["-breakpoint_on_failure"])
    step.expect(is_log(headline(markers.ON_FAILURE_MESSAGE)))
    markers.write_file_atomic(str(step.file("out.breakpointexit")), "abc")
    assert step.wait() == 0
    step.expect(is_log("Breakpoint exiting with exit code abc"))
    step.expect(lambda line: "error occurred while reading breakpoint exit code : " in line)


@pytest.mark.parametrize("flags", [[], ["-breakpoint_on_failure"]])
def test_step_timeout_kills_and_fails_without_breakpoint(tmp_path: Path, flags: list[str]) -> None:
    token = f"{uuid.uuid4().int % 10**6}.5"
    step = Step(tmp_path, 0, ["sh", "-c", f"sleep 1{token} & sleep 2{token}"], ["-timeout", "300ms", *flags])
    assert step.wait() == 1
    assert step.file("out.err").exists()
    assert not any(markers.ON_FAILURE_MESSAGE.split("\n")[0] in line for line in step.stderr)
    step.expect(is_log("context deadline exceeded"))
    assert '"key":"Reason","value":"TimeoutExceeded"' in (tmp_path / "termination-0").read_text()
    eventually(lambda: not processes_matching(token), what="the timed-out step's processes to end")


def test_on_error_continue_writes_out_and_the_real_code(tmp_path: Path) -> None:
    step = Step(tmp_path, 0, ["sh", "-c", "exit 4"], ["-on_error", "continue"])
    assert step.wait() == 0
    assert step.file("out").exists() and not step.file("out.err").exists()
    assert step.file("status/exitCode").read_text() == "4"


@pytest.mark.parametrize(
    ("action", "exit_code", "post"),
    [(Resume.CONTINUE, 0, "out"), (Resume.FAIL_CONTINUE, 1, "out.err")],
)
def test_after_step_pause_holds_the_post_file(tmp_path: Path, action: Resume, exit_code: int, post: str) -> None:
    step = Step(tmp_path, 0, ["echo", "done"], ["-debug_after_step"])
    step.expect(is_log(headline(markers.AFTER_STEP_MESSAGE)))
    step.expect(lambda line: line == "done\n", "stdout")
    assert not step.file("out").exists() and not step.file("out.err").exists()
    release(tmp_path, 0, PauseKind.AFTER, action)
    assert step.wait() == exit_code
    assert step.file(post).exists()


def test_after_step_pause_for_a_tolerated_failure(tmp_path: Path) -> None:
    step = Step(tmp_path, 0, ["sh", "-c", "exit 6"], ["-debug_after_step", "-on_error", "continue"])
    step.expect(is_log(headline(markers.AFTER_STEP_MESSAGE)))
    assert '"key":"ExitCode","value":"6"' in (tmp_path / "termination-0").read_text()
    release(tmp_path, 0, PauseKind.AFTER, Resume.CONTINUE)
    assert step.wait() == 0
    assert step.file("status/exitCode").read_text() == "6"


def test_every_pause_of_a_debug_step_through_the_detector(tmp_path: Path) -> None:
    """Before, then (the command fails) onFailure: what the engine's detector sees on stderr."""
    step = Step(tmp_path, 0, ["sh", "-c", "echo oops >&2; exit 2"], DEBUG)
    step.expect(is_log(headline(markers.BEFORE_STEP_MESSAGE)))
    release(tmp_path, 0, PauseKind.BEFORE, Resume.CONTINUE)
    step.expect(is_log(headline(markers.ON_FAILURE_MESSAGE)))
    release(tmp_path, 0, PauseKind.FAILURE, Resume.FAIL_CONTINUE)
    assert step.wait() == 1
    detector = PauseDetector()
    seen = [(detector.feed(line), line) for line in step.stderr]
    assert [d.pause for d, _ in seen if d.pause] == [PauseKind.BEFORE, PauseKind.FAILURE]
    assert [line for d, line in seen if not d.protocol] == ["oops\n"]
    assert [d.exit_code for d, _ in seen if d.exit_code is not None] == [1]


def test_command_not_found(tmp_path: Path) -> None:
    step = Step(tmp_path, 0, ["no-such-command-pipeline-dap"])
    assert step.wait() == 1
    assert step.file("out.err").exists()
    step.expect(lambda line: 'Error executing command: exec: "no-such-command-pipeline-dap"' in line)


def test_cancel_while_paused_leaves_nothing(tmp_path: Path) -> None:
    step = Step(tmp_path, 0, ["true"], DEBUG)
    step.expect(is_log(headline(markers.BEFORE_STEP_MESSAGE)))
    step.proc.send_signal(signal.SIGTERM)
    assert step.wait() == 9
    step.expect(is_log("Step was cancelled"))
    assert step.file("out.err").exists()
    assert '"key":"Reason","value":"Cancelled"' in (tmp_path / "termination-0").read_text()


def test_cancel_while_running_kills_the_whole_process_group(tmp_path: Path) -> None:
    token = f"{uuid.uuid4().int % 10**6}.25"
    started = tmp_path / "started"
    script = f'sleep 1{token} & echo go > "{started}"; sleep 2{token}'
    step = Step(tmp_path, 0, ["sh", "-c", script])
    eventually(started.exists, what="the command to start")
    eventually(lambda: len(processes_matching(token, "sleep ")) == 2, what="both sleeps")
    step.proc.send_signal(signal.SIGTERM)
    assert step.wait() == 9
    assert step.file("out.err").exists()
    eventually(lambda: not processes_matching(token), what="every process of the step to end")


def test_supervisor_and_command_die_with_their_parent(tmp_path: Path) -> None:
    """A killed adapter (here: a parent process killed with SIGKILL) leaves no step behind."""
    token = f"{uuid.uuid4().int % 10**6}.75"
    started = tmp_path / "started"
    argv = command_line([], ["sh", "-c", f'sleep 1{token} & echo go > "{started}"; sleep 2{token}'])
    parent_code = (
        f"import subprocess, sys, time\np = subprocess.Popen({argv!r})\nprint(p.pid, flush=True)\ntime.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        supervisor_pid = int(parent.stdout.readline())
        eventually(started.exists, what="the command to start")
        eventually(lambda: len(processes_matching(token, "sleep ")) == 2, what="both sleeps")
        parent.kill()
        parent.wait(timeout=WAIT)
        eventually(lambda: not alive(supervisor_pid), what="the supervisor to die with its parent")
        eventually(lambda: not processes_matching(token), what="the command's processes to die")
    finally:
        parent.kill()
        parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()


def test_step_environment_does_not_reach_the_supervisor_python(tmp_path: Path) -> None:
    """PYTHONPATH / PYTHONHOME of a step must not break the supervisor (it runs -I -S)."""
    step = Step(
        tmp_path,
        0,
        ["sh", "-c", 'echo "$PYTHONHOME"'],
        env={"PYTHONHOME": "/nonexistent", "PYTHONPATH": "/nonexistent"},
    )
    assert step.wait() == 0
    assert step.stdout == ["/nonexistent\n"]


def test_supervisor_private_variables_do_not_reach_the_command(tmp_path: Path) -> None:
    step = Step(
        tmp_path,
        0,
        ["sh", "-c", 'echo "[$PIPELINE_DAP_PARENT_PID][$PIPELINE_DAP_SUPERVISOR_TRACE]"'],
        env={"PIPELINE_DAP_PARENT_PID": str(os.getpid()), "PIPELINE_DAP_SUPERVISOR_TRACE": ""},
    )
    assert step.wait() == 0
    assert step.stdout == ["[][]\n"]


def test_supervisor_imports_stay_light() -> None:
    """Start-up time: no pydantic, yaml, asyncio, dataclasses or the engine interface."""
    code = (
        f"import sys; sys.path.insert(0, {_root()!r}); import dap_server.engines.local.supervisor; "
        "print(' '.join(sorted(sys.modules)))"
    )
    argv = [*command_line([], [])[:4], code]
    loaded = set(subprocess.run(argv, capture_output=True, text=True, check=True).stdout.split())
    assert "dap_server.engines.local.supervisor" in loaded
    heavy = {"yaml", "pydantic", "asyncio", "dataclasses", "typing", "subprocess", "dap_server.engines.base"}
    assert not heavy & loaded


def _root() -> str:
    return str(Path(__file__).resolve().parents[2])


def test_python_dash_m_entry_point(tmp_path: Path) -> None:
    (tmp_path / "run/0").mkdir(parents=True)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "dap_server.engines.local.supervisor",
            "-post_file",
            "run/0/out",
            "--",
            "echo",
            "m",
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": _root()},
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert (result.returncode, result.stdout) == (0, "m\n")
    assert (tmp_path / "run/0/out").exists()


def test_flags_parse_like_go() -> None:
    args = parse_args(
        [
            "-wait_file",
            "a/out",
            "--post_file=b/out",
            "-breakpoint_on_failure",
            "-debug_before_step=false",
            "-on_error",
            "continue",
            "-timeout",
            "1m30s",
            "-entrypoint",
            "echo",
            "--",
            "-x",
        ]
    )
    assert args.wait_files == ["a/out"] and args.post_file == "b/out"
    assert args.breakpoint_on_failure and not args.debug_before_step
    assert args.on_error == "continue" and args.timeout == 90.0
    assert args.command == ["echo", "-x"]
    with pytest.raises(UsageError):
        parse_args(["-no_such_flag", "--", "true"])
    with pytest.raises(UsageError):
        parse_args(["-post_file"])


def test_unknown_flag_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(command_line(["-bogus"], ["true"]), capture_output=True, text=True, timeout=WAIT)
    assert result.returncode == 2 and "flag provided but not defined: -bogus" in result.stderr


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0),
        ("300ms", 0.3),
        ("1.5s", 1.5),
        ("2m", 120.0),
        ("1h2m3s", 3723.0),
        ("-1s", -1.0),
        ("10us", 1e-5),
    ],
)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5", "1x", "s", "1..2s"])
def test_bad_go_durations(text: str) -> None:
    with pytest.raises(UsageError):
        parse_duration(text)


def test_negative_timeout_fails_the_step(tmp_path: Path) -> None:
    step = Step(tmp_path, 0, ["true"], ["-timeout", "-1s"])
    assert step.wait() == 1
    assert step.file("out.err").exists()
    step.expect(lambda line: "negative timeout specified" in line)
