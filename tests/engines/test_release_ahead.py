"""An after-step pause released ahead (Engine.skip_after): the marker exists before the command
ends, so the supervisor neither logs the pause nor waits; the step's post file follows at once."""

from __future__ import annotations

from pathlib import Path

from dap_server.engines import markers
from dap_server.engines.base import PauseKind, Resume

from .helpers import Step


def headline(message: str) -> str:
    return message.splitlines()[0]


def test_an_after_marker_written_ahead_skips_the_pause(tmp_path: Path) -> None:
    step = Step(tmp_path, 0, ["echo", "done"], ["-debug_before_step", "-debug_after_step"])
    step.expect(lambda line: headline(markers.BEFORE_STEP_MESSAGE) in line)
    markers.apply_writes(str(tmp_path), markers.marker_writes(PauseKind.AFTER, Resume.CONTINUE, 0))  # ahead
    markers.apply_writes(str(tmp_path), markers.marker_writes(PauseKind.BEFORE, Resume.CONTINUE, 0))
    assert step.wait() == 0
    assert step.file("out").exists() and step.stdout == ["done\n"]
    assert not any(headline(markers.AFTER_STEP_MESSAGE) in line for line in step.stderr)


def test_without_the_marker_ahead_the_after_pause_is_taken(tmp_path: Path) -> None:
    step = Step(tmp_path, 0, ["echo", "done"], ["-debug_before_step", "-debug_after_step"])
    step.expect(lambda line: headline(markers.BEFORE_STEP_MESSAGE) in line)
    markers.apply_writes(str(tmp_path), markers.marker_writes(PauseKind.BEFORE, Resume.CONTINUE, 0))
    step.expect(lambda line: headline(markers.AFTER_STEP_MESSAGE) in line)
    assert not step.file("out").exists()
    markers.apply_writes(str(tmp_path), markers.marker_writes(PauseKind.AFTER, Resume.CONTINUE, 0))
    assert step.wait() == 0
