"""The marker protocol: Tekton's file names and log texts, the pause detector, the scripts' writes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dap_server.engines import markers
from dap_server.engines.base import PauseKind, Resume
from dap_server.engines.markers import Detection, PauseDetector, marker_writes

# Verbatim from tektoncd/pipeline pkg/entrypoint/entrypointer.go (engine-protocols.md A2);
# written out here, not taken from the module, so that a change to the module shows.
TEKTON_ON_FAILURE = (
    "debug onFailure breakpoint has taken effect, waiting for user's decision:\n"
    "1) continue, use cmd: /tekton/debug/scripts/debug-continue\n"
    "2) fail-continue, use cmd: /tekton/debug/scripts/debug-fail-continue"
)
TEKTON_BEFORE_STEP = (
    "debug before step breakpoint has taken effect, waiting for user's decision:\n"
    "1) continue, use cmd: /tekton/debug/scripts/debug-beforestep-continue\n"
    "2) fail-continue, use cmd: /tekton/debug/scripts/debug-beforestep-fail-continue"
)
OUR_AFTER_STEP = (
    "debug after step breakpoint has taken effect, waiting for user's decision:\n"
    "1) continue, use cmd: /tekton/debug/scripts/debug-afterstep-continue\n"
    "2) fail-continue, use cmd: /tekton/debug/scripts/debug-afterstep-fail-continue"
)
GO_LOG_PREFIX = re.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} ")


def test_messages_are_tektons_verbatim() -> None:
    assert markers.ON_FAILURE_MESSAGE == TEKTON_ON_FAILURE
    assert markers.BEFORE_STEP_MESSAGE == TEKTON_BEFORE_STEP
    assert markers.AFTER_STEP_MESSAGE == OUR_AFTER_STEP
    assert markers.SKIP_PREVIOUS_FAILED == "Skipping step because a previous step failed"
    assert markers.SKIP_BEFORE_STEP_FAIL == (
        "Skipping execute step script because before step breakpoint fail-continue"
    )
    assert markers.STEP_CANCELLED == "Step was cancelled"
    assert markers.BREAKPOINT_EXIT_PREFIX == "Breakpoint exiting with exit code "


def test_log_text_has_one_go_prefix_on_the_first_line_only() -> None:
    text = markers.log_text(markers.BEFORE_STEP_MESSAGE, when=0)
    lines = text.split("\n")
    assert len(lines) == 4 and lines[3] == ""
    assert GO_LOG_PREFIX.match(lines[0])
    assert GO_LOG_PREFIX.sub("", lines[0]) == TEKTON_BEFORE_STEP.split("\n")[0]
    assert lines[1:3] == TEKTON_BEFORE_STEP.split("\n")[1:]


def test_paths_are_tektons() -> None:
    assert markers.step_run_dir(2) == "run/2"
    assert markers.post_file(2) == "run/2/out"
    assert markers.err_file(2) == "run/2/out.err"
    assert markers.breakpoint_exit_file(2) == "run/2/out.breakpointexit"
    assert markers.before_step_file(2) == "run/2/out.beforestepexit"
    assert markers.before_step_file(2, fail=True) == "run/2/out.beforestepexit.err"
    assert markers.after_step_file(0) == "run/0/out.afterstepexit"
    assert markers.after_step_file(0, fail=True) == "run/0/out.afterstepexit.err"
    assert markers.exit_code_file(1) == "run/1/status/exitCode"
    assert markers.argo_before_file("main") == "ctr/main/before"
    assert markers.argo_after_file("main") == "ctr/main/after"
    assert markers.argo_exit_code_file("main") == "ctr/main/exitcode"


@pytest.mark.parametrize(
    ("kind", "action", "expected"),
    [
        (PauseKind.FAILURE, Resume.CONTINUE, [("run/3/out", ""), ("run/3/out.breakpointexit", "0\n")]),
        (
            PauseKind.FAILURE,
            Resume.FAIL_CONTINUE,
            [("run/3/out.err", ""), ("run/3/out.breakpointexit", "1\n")],
        ),
        (PauseKind.BEFORE, Resume.CONTINUE, [("run/3/out.beforestepexit", "0\n")]),
        (PauseKind.BEFORE, Resume.FAIL_CONTINUE, [("run/3/out.beforestepexit.err", "1\n")]),
        (PauseKind.AFTER, Resume.CONTINUE, [("run/3/out.afterstepexit", "0\n")]),
        (PauseKind.AFTER, Resume.FAIL_CONTINUE, [("run/3/out.afterstepexit.err", "1\n")]),
    ],
)
def test_marker_writes_are_the_debug_scripts(kind: PauseKind, action: Resume, expected: list[tuple[str, str]]) -> None:
    assert marker_writes(kind, action, 3) == expected


def test_continue_on_error_writes_keep_the_real_code() -> None:
    assert markers.continue_on_error_writes(1, 4) == [
        ("run/1/status/exitCode", "4"),
        ("run/1/out", ""),
        ("run/1/out.breakpointexit", "0\n"),
    ]


def test_apply_writes_creates_complete_files_and_no_leftovers(tmp_path: Path) -> None:
    (tmp_path / "run" / "0").mkdir(parents=True)
    markers.apply_writes(str(tmp_path), marker_writes(PauseKind.FAILURE, Resume.CONTINUE, 0))
    assert (tmp_path / "run/0/out").read_text() == ""
    assert (tmp_path / "run/0/out.breakpointexit").read_text() == "0\n"
    assert sorted(p.name for p in (tmp_path / "run/0").iterdir()) == ["out", "out.breakpointexit"]


def _pause_lines(message: str) -> list[str]:
    return markers.log_text(message).splitlines(keepends=True)


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        (TEKTON_BEFORE_STEP, PauseKind.BEFORE),
        (TEKTON_ON_FAILURE, PauseKind.FAILURE),
        (OUR_AFTER_STEP, PauseKind.AFTER),
    ],
)
def test_detector_recognises_a_pause_and_swallows_its_two_lines(message: str, kind: PauseKind) -> None:
    detector = PauseDetector()
    assert detector.feed("building...\n") == Detection()
    first, second, third = _pause_lines(message)
    assert detector.feed(first) == Detection(pause=kind, protocol=True)
    assert detector.feed(second) == Detection(protocol=True)
    assert detector.feed(third) == Detection(protocol=True)
    # what follows is output again, even if it looks like a follow-up line
    assert detector.feed(third) == Detection()


def test_detector_needs_the_go_log_prefix() -> None:
    detector = PauseDetector()
    headline = TEKTON_BEFORE_STEP.split("\n")[0]
    assert detector.feed(headline + "\n") == Detection()
    assert detector.feed("echo " + markers.log_text(headline)) == Detection()
    assert detector.feed("2024/1/02 03:04:05 " + headline) == Detection()
    assert detector.feed("2024/01/02 03:04:05 " + headline).pause is PauseKind.BEFORE


def test_detector_does_not_swallow_unrelated_lines_after_a_headline() -> None:
    detector = PauseDetector()
    first, _, _ = _pause_lines(TEKTON_ON_FAILURE)
    assert detector.feed(first).pause is PauseKind.FAILURE
    assert detector.feed("some other line\n") == Detection()
    assert detector.feed("2) fail-continue, use cmd: /tekton/debug/scripts/debug-fail-continue\n") == Detection()


def test_detector_reads_the_breakpoint_exit_line() -> None:
    detector = PauseDetector()
    assert detector.feed(markers.log_text("Breakpoint exiting with exit code 0")) == Detection(
        exit_code=0, protocol=True
    )
    assert detector.feed(markers.log_text("Breakpoint exiting with exit code 17")).exit_code == 17
    garbled = detector.feed(markers.log_text("Breakpoint exiting with exit code abc"))
    assert garbled == Detection(exit_code=None, protocol=True)
    assert detector.feed("Breakpoint exiting with exit code 1\n") == Detection()
