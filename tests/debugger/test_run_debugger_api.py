"""run_debugger() in-process, with string streams: the API the CLI wraps."""

from __future__ import annotations

import io
import re

from dap_server.debugger import run_debugger
from tests.debugger.scripted import SINGLE


async def test_run_debugger_with_string_streams() -> None:
    out = io.StringIO()
    code = await run_debugger(
        str(SINGLE),
        ["count"],
        False,
        {"who": "tester"},
        False,
        "local",
        [],
        out=out,
        inp=io.StringIO("params who\nc\n"),
    )
    text = out.getvalue()
    assert code == 0, text
    assert "[single-task/greet] hello tester" in text, text
    assert re.search(r"^Stopped \(breakpoint\) in thread \d+ \(single-task\): single-task \u203a count$", text, re.M)
    assert "(pipeline) params who\nwho=tester\n" in text, text
    assert "[single-task/count] count 2 of 2" in text, text
    assert text.rstrip().endswith("Run succeeded (exit code 0)."), text


async def test_stop_on_entry_and_eof_quits() -> None:
    out = io.StringIO()
    code = await run_debugger(str(SINGLE), [], False, {}, True, "local", [], out=out, inp=io.StringIO(""))
    text = out.getvalue()
    assert re.search(r"^Stopped \(entry\) .*: single-task \u203a greet$", text, re.M), text
    assert "<EOF>" in text and "Cancelling the run." in text, text
    assert code != 0, text
    assert "hello world" not in text, text
