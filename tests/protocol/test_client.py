"""DapClient against the dummy server over a real pipe."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from dap_server.client import DapError, ServerClosed
from tests.conftest import SpawnAdapter
from tests.dap_harness import HarnessClient

DUMMY = [sys.executable, str(Path(__file__).with_name("dummy_server.py"))]


@pytest.fixture
async def client(dap_spawn: SpawnAdapter) -> HarnessClient:
    return await dap_spawn(DUMMY)


async def test_events_that_arrived_before_the_wait_are_not_missed(client: HarnessClient) -> None:
    await client.request_ok("evaluate", {"expression": "events:3"})
    assert len(client.events("output")) == 3  # all arrived before the response
    third = await client.wait_event("output", lambda e: e["body"]["output"] == "line 2\n")
    first = await client.wait_event("output")
    second = await client.wait_event("output")
    assert [first["body"]["output"], second["body"]["output"], third["body"]["output"]] == [
        "line 0\n",
        "line 1\n",
        "line 2\n",
    ]
    # consumed, but still listed
    assert len(client.events("output")) == 3
    with pytest.raises(TimeoutError, match=r"no 'output' event within 0\.2s; events seen: \['output'"):
        await client.wait_event("output", timeout=0.2)


async def test_request_ok_raises_with_the_error_text(client: HarnessClient) -> None:
    with pytest.raises(DapError, match="evaluate: it failed on purpose") as caught:
        await client.request_ok("evaluate", {"expression": "fail"})
    assert caught.value.response["success"] is False
    assert caught.value.text == "it failed on purpose"


async def test_on_message_sees_both_directions(client: HarnessClient) -> None:
    await client.request_ok("threads")
    kinds = [(direction, message["type"]) for direction, message in client.recorder.messages]
    assert kinds == [("send", "request"), ("recv", "response")]
    sent = client.recorder.messages[0][1]
    assert sent["seq"] == 1 and sent["command"] == "threads"


async def test_server_going_away_fails_waits_instead_of_hanging(client: HarnessClient) -> None:
    await client.request_ok("evaluate", {"expression": "close"})
    with pytest.raises(ServerClosed):
        await client.wait_event("stopped")
    assert client.at_eof
    with pytest.raises(ServerClosed):
        await client.request("threads")
