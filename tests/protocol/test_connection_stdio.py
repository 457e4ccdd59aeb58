"""Connection + serve_stdio through a real subprocess and real pipes (tests/protocol/dummy_server.py).

Every message both ways is schema-validated by the `dap_spawn` fixture, and any stray
byte on the server's stdout would show up as a framing error and fail the test.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from dap_server.protocol.framing import encode
from tests.conftest import SpawnAdapter
from tests.dap_harness import HarnessClient

DUMMY = [sys.executable, str(Path(__file__).with_name("dummy_server.py"))]


@pytest.fixture
async def server(dap_spawn: SpawnAdapter) -> HarnessClient:
    client = await dap_spawn(DUMMY)
    response = await client.request_ok("initialize", {"adapterID": "dummy", "clientID": "pytest"})
    assert response["body"]["supportsConfigurationDoneRequest"] is True
    await client.wait_event("initialized")
    return client


async def evaluate(client: HarnessClient, expression: str) -> dict[str, Any]:
    return await client.request("evaluate", {"expression": expression, "context": "repl"})


async def test_initialized_event_follows_the_initialize_response(dap_spawn: SpawnAdapter) -> None:
    client = await dap_spawn(DUMMY)
    await client.request_ok("initialize", {"adapterID": "dummy"})
    await client.wait_event("initialized")
    received = [m for d, m in client.recorder.messages if d == "recv"]
    assert [(m["type"], m.get("command") or m.get("event")) for m in received] == [
        ("response", "initialize"),
        ("event", "initialized"),
    ]


async def test_seq_starts_at_1_and_increments_over_responses_and_events(server: HarnessClient) -> None:
    response = await evaluate(server, "events:5")
    assert response["body"]["result"] == "sent 5 events"
    assert [e["body"]["output"] for e in server.events("output")] == [f"line {i}\n" for i in range(5)]
    seqs = [m["seq"] for d, m in server.recorder.messages if d == "recv"]
    assert seqs == list(range(1, len(seqs) + 1))
    # events sent by the handler before it returned come before its response
    assert seqs[-1] == response["seq"]


async def test_unknown_command_gets_a_schema_valid_error_response(server: HarnessClient) -> None:
    with server.sending_invalid():  # "frobnicate" is no DAP request
        response = await server.request("frobnicate", {"x": 1})
    assert response["success"] is False
    assert response["message"] == 'unknown request "frobnicate"'
    assert response["body"]["error"]["format"] == 'unknown request "frobnicate"'
    assert isinstance(response["body"]["error"]["id"], int)
    assert server.recorder.validator.errors(response) == []


async def test_bad_arguments_error_names_the_field(server: HarnessClient) -> None:
    with server.sending_invalid():
        response = await server.request(
            "setBreakpoints", {"source": {"path": "/p.yaml"}, "breakpoints": [{"line": 3}, {"line": "seven"}]}
        )
    assert response["success"] is False
    text = response["body"]["error"]["format"]
    assert text.startswith('invalid arguments for "setBreakpoints": breakpoints.1.line:')
    with server.sending_invalid():
        missing = await server.request("setBreakpoints", {"breakpoints": []})
    assert "source: Field required" in missing["body"]["error"]["format"]
    # the server is fine afterwards, and extra keys are accepted
    ok = await server.request_ok(
        "setBreakpoints",
        {"source": {"path": "/p.yaml", "vendor": 1}, "breakpoints": [{"line": 3}], "extra": True},
    )
    assert [bp["line"] for bp in ok["body"]["breakpoints"]] == [3]


async def test_handler_exception_is_an_error_response_and_the_server_keeps_running(
    server: HarnessClient,
) -> None:
    response = await evaluate(server, "raise")
    assert response["success"] is False
    assert "ValueError: boom from the handler" in response["body"]["error"]["format"]
    assert response["body"]["error"]["showUser"] is True
    threads = await server.request_ok("threads")
    assert threads["body"]["threads"][0]["id"] == 1
    await server.close()
    stderr = server.stderr_text()
    assert "Traceback (most recent call last)" in stderr
    assert 'raise ValueError("boom from the handler")' in stderr


async def test_request_error_carries_id_and_show_user(server: HarnessClient) -> None:
    response = await evaluate(server, "fail")
    assert response["success"] is False
    assert response["message"] == "it failed on purpose"
    assert response["body"]["error"] == {"id": 4242, "format": "it failed on purpose", "showUser": True}


async def test_split_frames_and_several_frames_in_one_write(server: HarnessClient) -> None:
    requests = []
    futures = []
    for expression in ("events:1", "events:2", "events:3"):
        message = {
            "seq": server.next_seq(),
            "type": "request",
            "command": "evaluate",
            "arguments": {"expression": expression},
        }
        requests.append(encode(message))
        futures.append(server.expect_response(message))
    data = b"".join(requests)
    # first request cut inside its header, second inside its body, third whole in the last write
    cut1 = 7
    cut2 = len(requests[0]) + len(requests[1]) - 10
    for piece in (data[:cut1], data[cut1:cut2], data[cut2:]):
        await server.send_bytes(piece)
    results = [(await asyncio.wait_for(f, 30))["body"]["result"] for f in futures]
    assert results == ["sent 1 events", "sent 2 events", "sent 3 events"]


async def test_bad_frame_is_reported_and_skipped(server: HarnessClient) -> None:
    await server.send_bytes(b"Content-Length: many\r\n\r\n")
    event = await server.wait_event("output", lambda e: "bad frame" in e["body"]["output"])
    assert "bad Content-Length 'many'" in event["body"]["output"]
    assert event["body"]["category"] == "console"
    body = b"[1,2,3]"
    await server.send_bytes(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    event = await server.wait_event("output", lambda e: "bad frame" in e["body"]["output"])
    assert "not a JSON object" in event["body"]["output"]
    assert (await server.request_ok("threads"))["body"]["threads"]


async def test_stdout_stays_clean_when_handlers_and_children_print(server: HarnessClient) -> None:
    response = await evaluate(server, "print:hello from the handler")
    assert response["body"]["result"] == "printed"
    # a following exchange still parses: nothing but frames reached the client
    assert (await server.request_ok("threads"))["body"]["threads"]
    assert server.framing_errors == []
    stderr = server.stderr_text()
    assert "hello from the handler\n" in stderr
    assert "hello from the handler via fd 1\n" in stderr
    assert "hello from the handler via a child\n" in stderr


async def test_reverse_request_round_trip(server: HarnessClient) -> None:
    seen: list[dict[str, object]] = []

    async def run_in_terminal(arguments: dict[str, object]) -> dict[str, object]:
        seen.append(arguments)
        return {"processId": 4321, "shellProcessId": 99}

    server.on_request("runInTerminal", run_in_terminal)
    response = await evaluate(server, "reverse")
    assert json.loads(response["body"]["result"]) == {
        "success": True,
        "body": {"processId": 4321, "shellProcessId": 99},
    }
    assert seen == [{"cwd": "/tmp", "args": ["sh", "-c", "true"], "title": "t"}]
    # the reverse request took a seq of the server's own sequence
    reverse = [m for d, m in server.recorder.messages if d == "recv" and m["type"] == "request"]
    assert reverse[0]["command"] == "runInTerminal"
    assert reverse[0]["seq"] < response["seq"]


async def test_reverse_request_refused_by_the_client(server: HarnessClient) -> None:
    response = await evaluate(server, "reverse")  # no handler: the client answers with an error
    result = json.loads(response["body"]["result"])
    assert result["success"] is False
    assert result["body"]["error"]["format"] == 'unknown request "runInTerminal"'


async def test_reverse_request_with_callback(server: HarnessClient) -> None:
    server.on_request("runInTerminal", lambda arguments: {"processId": len(arguments["args"])})
    assert (await evaluate(server, "reverse-callback"))["body"]["result"] == "sent"
    event = await server.wait_event("output", lambda e: e["body"]["output"].startswith("callback got"))
    assert event["body"]["output"] == 'callback got {"processId": 1}\n'


async def test_requests_run_concurrently_and_can_be_cancelled(server: HarnessClient) -> None:
    message = {
        "seq": server.next_seq(),
        "type": "request",
        "command": "evaluate",
        "arguments": {"expression": "wait"},
    }
    waiting = server.expect_response(message)
    await server.send_bytes(encode(message))
    # a handler that is waiting does not hold up the next request
    assert (await server.request_ok("threads"))["body"]["threads"]
    assert not waiting.done()
    await server.request_ok("cancel", {"requestId": message["seq"]})
    response = await asyncio.wait_for(waiting, 30)
    assert response["success"] is False
    assert response["message"] == "cancelled"


async def test_client_disconnect_resolves_closed_and_runs_cleanup(server: HarnessClient) -> None:
    await server.request_ok("threads")
    code = await server.close()
    assert code == 0
    stderr = server.stderr_text()
    assert "closed() resolved for connection 1" in stderr
    assert "on_close ran for connection 1" in stderr
    assert stderr.rstrip().endswith("dummy server exiting")


async def test_in_flight_handler_does_not_keep_the_server_alive(server: HarnessClient) -> None:
    message = {
        "seq": server.next_seq(),
        "type": "request",
        "command": "evaluate",
        "arguments": {"expression": "wait"},
    }
    server.expect_response(message)
    await server.send_bytes(encode(message))
    assert (await server.request_ok("threads"))["body"]["threads"]  # the wait request is being handled
    assert await server.close(timeout=30) == 0
    assert "still running" in server.stderr_text()


async def test_server_side_close(server: HarnessClient) -> None:
    response = await evaluate(server, "close")
    assert response["body"]["result"] == "closing"
    await server.wait_eof()
    assert server.process is not None
    assert await server.process.wait() == 0
    assert "on_close ran for connection 1" in server.stderr_text()


async def test_disconnect_then_exit(server: HarnessClient) -> None:
    await server.request_ok("disconnect", {"terminateDebuggee": True})
    await server.wait_eof()
    assert server.process is not None and await server.process.wait() == 0
