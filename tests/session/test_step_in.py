"""stepIn on a Python script step: the step runs under debugpy, the server asks the client for a
child session (startDebugging), the child stops at the script's first line; when the script ends,
the pipeline session stops before the next step, like `next`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from dap_server.client import DapClient
from tests.dap_harness import REPO_ROOT, HarnessClient, start_session
from tests.session.helpers import frames_of, run_to_end, stopped

SINGLE = REPO_ROOT / "fixtures/tekton/single-task.yaml"


async def debug_child(port: int, seen: dict[str, Any]) -> None:
    """What VS Code's Python debugger does with the startDebugging configuration."""
    child = await DapClient.connect_tcp("127.0.0.1", port)
    try:
        await child.request_ok("initialize", {"adapterID": "debugpy", "linesStartAt1": True, "pathFormat": "path"})
        attach = asyncio.ensure_future(child.request("attach", {"justMyCode": False}))
        await child.wait_event("initialized")
        await child.request_ok("configurationDone")
        await attach
        stop = await child.wait_event("stopped", timeout=30)
        frames = (await child.request_ok("stackTrace", {"threadId": stop["body"]["threadId"]}))["body"]
        seen["top"] = frames["stackFrames"][0]
        await child.request_ok("continue", {"threadId": stop["body"]["threadId"]})
        await child.wait_event("terminated", timeout=30)
    finally:
        await child.close()


async def test_step_in_debugs_the_python_step_in_a_child_session(dap: HarnessClient) -> None:
    seen: dict[str, Any] = {}
    children: list[asyncio.Task[None]] = []

    def start_debugging(arguments: dict[str, Any]) -> dict[str, Any]:
        seen["request"] = arguments
        children.append(asyncio.ensure_future(debug_child(arguments["configuration"]["connect"]["port"], seen)))
        return {}

    dap.on_request("startDebugging", start_debugging)
    await start_session(dap, {"program": str(SINGLE)}, breakpoints={SINGLE: [34]})
    stop = await stopped(dap, "breakpoint")
    thread_id = stop["body"]["threadId"]
    assert (await frames_of(dap, thread_id))[0]["name"] == "count"
    await dap.request_ok("stepIn", {"threadId": thread_id})
    stop = await stopped(dap, "step", timeout=60)
    await asyncio.gather(*children)
    assert seen["request"]["request"] == "attach"
    assert seen["request"]["configuration"]["type"] == "debugpy"
    # the child stopped on the script's first statement (line 2 is the debugpy bootstrap)
    assert seen["top"]["line"] == 3 and "count = int" in Path(seen["top"]["source"]["path"]).read_text()
    assert (await frames_of(dap, stop["body"]["threadId"]))[0]["name"] == "echo-args"
    assert any("count 2 of 2" in e["body"]["output"] for e in dap.events("output"))
    assert await run_to_end(dap) == 0


async def test_step_in_without_start_debugging_is_a_next(dap: HarnessClient) -> None:
    await start_session(
        dap,
        {"program": str(SINGLE)},
        breakpoints={SINGLE: [34]},
        initialize_args={"supportsStartDebuggingRequest": False},
    )
    stop = await stopped(dap, "breakpoint")
    await dap.request_ok("stepIn", {"threadId": stop["body"]["threadId"]})
    stop = await stopped(dap, "step")
    assert (await frames_of(dap, stop["body"]["threadId"]))[0]["name"] == "echo-args"
    assert await run_to_end(dap) == 0
