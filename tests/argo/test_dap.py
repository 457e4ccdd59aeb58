"""Argo over DAP (stdio, every message schema-checked): breakpoints on a template and on one DAG
task, a thread per pod node, frames, Environment / Parameters, next / stepOut / continue,
onFailure with exceptionInfo, and the run's exit code."""

from __future__ import annotations

from typing import Any

from tests.dap_harness import REPO_ROOT, HarnessClient, start_session
from tests.session.helpers import frames_of, run_to_end, scope_values, stopped

DIAMOND = REPO_ROOT / "fixtures/argo/dag-diamond.yaml"
FAILING = REPO_ROOT / "fixtures/argo/failing.yaml"
FAN_OUT = REPO_ROOT / "fixtures/argo/fan-out.yaml"


def launch(program: Any, **extra: Any) -> dict[str, Any]:
    return {"program": str(program), "engine": "local", **extra}


async def test_breakpoints_bind_to_template_containers_and_dag_tasks(dap: HarnessClient) -> None:
    await dap.request_ok("initialize", {"adapterID": "pipeline"})
    response = await dap.request_ok(
        "setBreakpoints",
        {"source": {"path": str(DIAMOND)}, "breakpoints": [{"line": 43}, {"line": 22}, {"line": 38}]},
    )
    container, task_b, miss = response["body"]["breakpoints"]
    assert container["verified"] and (container["line"], container["endLine"]) == (40, 46)
    assert task_b["verified"] and (task_b["line"], task_b["endLine"]) == (20, 24)
    assert miss["verified"] is False and miss["reason"] == "failed" and "40" in miss["message"]
    locations = await dap.request_ok(
        "breakpointLocations", {"source": {"path": str(DIAMOND)}, "line": 16, "endLine": 24}
    )
    assert [(b["line"], b["endLine"]) for b in locations["body"]["breakpoints"]] == [(16, 19), (20, 24)]


async def test_dag_task_breakpoint_thread_frames_and_values(dap: HarnessClient) -> None:
    start = await start_session(dap, launch(DIAMOND, params={"greeting": "hey"}), breakpoints={DIAMOND: [22]})
    assert start.launch["success"], start.launch
    event = await stopped(dap, "breakpoint")
    thread_id = event["body"]["threadId"]
    threads = (await dap.request_ok("threads"))["body"]["threads"]
    name = next(t["name"] for t in threads if t["id"] == thread_id)
    assert name.endswith(".b") and name.startswith("diamond-")
    frames = await frames_of(dap, thread_id)
    assert [(f["name"], f["line"]) for f in frames][:3] == [("main", 40), ("b", 20), ("diamond", 13)]
    assert frames[0]["source"]["path"] == str(DIAMOND)
    env = await scope_values(dap, frames[0]["id"], "Environment")
    assert env["MESSAGE"] == "b"
    params = await scope_values(dap, frames[0]["id"], "Parameters")
    assert params["message"] == "b"
    # next: after the (only) container of b; stepOut from there runs to the end of the run
    await dap.request_ok("next", {"threadId": thread_id})
    after = await stopped(dap, "step")
    assert after["body"]["threadId"] == thread_id
    assert await run_to_end(dap) == 0


async def test_template_breakpoint_stops_every_invocation(dap: HarnessClient) -> None:
    start = await start_session(dap, launch(DIAMOND), breakpoints={DIAMOND: [42]})
    assert start.launch["success"], start.launch
    names = set()
    for _ in range(4):
        event = await stopped(dap, "breakpoint")
        threads = (await dap.request_ok("threads"))["body"]["threads"]
        names.add(next(t["name"] for t in threads if t["id"] == event["body"]["threadId"]).rsplit(".", 1)[1])
        await dap.request_ok("continue", {"threadId": event["body"]["threadId"], "singleThread": True})
    assert names == {"a", "b", "c", "d"}
    assert await run_to_end(dap) == 0


async def test_fan_out_threads_step_out(dap: HarnessClient) -> None:
    start = await start_session(dap, launch(FAN_OUT), breakpoints={FAN_OUT: [12]})
    assert start.launch["success"], start.launch
    event = await stopped(dap, "breakpoint")
    threads = (await dap.request_ok("threads"))["body"]["threads"]
    assert any("colours(0:red)" in t["name"] for t in threads)
    await dap.request_ok("stepOut", {"threadId": event["body"]["threadId"], "singleThread": True})
    # the other fan-out threads hit the same breakpoint meanwhile: wait for the step-out stop itself
    stepped = await dap.wait_event("stopped", lambda e: e["body"]["reason"] == "step")
    assert stepped["body"]["threadId"] == event["body"]["threadId"]
    assert "after" in stepped["body"]["description"]
    assert await run_to_end(dap) == 0


async def test_on_failure_exception_info_and_exit_code(dap: HarnessClient) -> None:
    start = await start_session(dap, launch(FAILING), exception_filters=["onFailure"])
    assert start.launch["success"], start.launch
    event = await stopped(dap, "exception")
    info = await dap.request_ok("exceptionInfo", {"threadId": event["body"]["threadId"]})
    assert info["body"]["exceptionId"] == "ExitCode"
    assert "3" in info["body"]["description"]
    assert "oops" in info["body"]["details"]["stackTrace"]
    assert await run_to_end(dap) == 1
