"""The DAP scenarios of an Argo Workflow, unchanged on the local engine and the Argo engine
(test Kubernetes API; a real cluster with `-m cluster`): breakpoints on template containers and
on one DAG task, a thread per pod node named like Argo's node, frames, Environment /
Parameters, next / stepOut / continue, onFailure with exceptionInfo, commands in the paused
container, terminate / disconnect leaving nothing behind, and the run's exit code."""

from __future__ import annotations

from tests.dap_harness import REPO_ROOT, HarnessClient, start_session
from tests.scenarios.targets import ARGO, LOCAL, Target, engines
from tests.session.helpers import frames_of, run_to_end, scope_values, stopped

DIAMOND = REPO_ROOT / "fixtures/argo/dag-diamond.yaml"
FAILING = REPO_ROOT / "fixtures/argo/failing.yaml"
FAN_OUT = REPO_ROOT / "fixtures/argo/fan-out.yaml"
WORKFLOWS = engines(LOCAL, ARGO)


def outputs(dap: HarnessClient) -> str:
    return "".join(e["body"]["output"] for e in dap.events("output"))


async def thread_name(dap: HarnessClient, thread_id: int) -> str:
    threads = (await dap.request_ok("threads"))["body"]["threads"]
    return str(next(t["name"] for t in threads if t["id"] == thread_id))


@WORKFLOWS
async def test_dag_task_breakpoint_thread_frames_and_values(dap: HarnessClient, target: Target) -> None:
    start = await start_session(dap, target.launch(DIAMOND, params={"greeting": "hey"}), breakpoints={DIAMOND: [22]})
    assert start.launch["success"], start.launch
    event = await stopped(dap, "breakpoint")
    thread_id = event["body"]["threadId"]
    name = await thread_name(dap, thread_id)
    assert name.endswith(".b") and name.startswith("diamond-")
    frames = await frames_of(dap, thread_id)
    assert [(f["name"], f["line"]) for f in frames][:3] == [("main", 40), ("b", 20), ("diamond", 13)]
    assert frames[0]["source"]["path"] == str(DIAMOND)
    env = await scope_values(dap, frames[0]["id"], "Environment")
    assert env["MESSAGE"] == "b"
    params = await scope_values(dap, frames[0]["id"], "Parameters")
    assert params["message"] == "b"
    assert "hey from a" in outputs(dap)
    # next: after the (only) container of b
    await dap.request_ok("next", {"threadId": thread_id})
    after = await stopped(dap, "step")
    assert after["body"]["threadId"] == thread_id
    assert "after" in after["body"]["description"]
    assert await run_to_end(dap) == 0


@WORKFLOWS
async def test_template_breakpoint_stops_every_invocation(dap: HarnessClient, target: Target) -> None:
    start = await start_session(dap, target.launch(DIAMOND), breakpoints={DIAMOND: [42]})
    assert start.launch["success"], start.launch
    names = set()
    for _ in range(4):
        event = await stopped(dap, "breakpoint")
        names.add((await thread_name(dap, event["body"]["threadId"])).rsplit(".", 1)[1])
        await dap.request_ok("continue", {"threadId": event["body"]["threadId"], "singleThread": True})
    assert names == {"a", "b", "c", "d"}
    assert await run_to_end(dap) == 0


@WORKFLOWS
async def test_fan_out_threads_step_out(dap: HarnessClient, target: Target) -> None:
    start = await start_session(dap, target.launch(FAN_OUT), breakpoints={FAN_OUT: [12]})
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


@WORKFLOWS
async def test_on_failure_exception_info_and_exit_code(dap: HarnessClient, target: Target) -> None:
    start = await start_session(dap, target.launch(FAILING), exception_filters=["onFailure"])
    assert start.launch["success"], start.launch
    event = await stopped(dap, "exception")
    info = await dap.request_ok("exceptionInfo", {"threadId": event["body"]["threadId"]})
    assert info["body"]["exceptionId"] == "ExitCode"
    assert "3" in info["body"]["description"]
    assert "oops" in info["body"]["details"]["stackTrace"]
    assert await run_to_end(dap) == 1
    assert "fine" not in outputs(dap).split()


@WORKFLOWS
async def test_evaluate_runs_commands_in_the_paused_container(dap: HarnessClient, target: Target) -> None:
    await start_session(dap, target.launch(DIAMOND), breakpoints={DIAMOND: [26]})
    stop = await stopped(dap, "breakpoint")
    frame = (await frames_of(dap, stop["body"]["threadId"]))[0]
    out = await dap.request_ok("evaluate", {"expression": "echo $MESSAGE", "context": "repl", "frameId": frame["id"]})
    assert out["body"]["result"].strip() == "c"
    assert await run_to_end(dap) == 0


@WORKFLOWS
async def test_stop_on_entry(dap: HarnessClient, target: Target) -> None:
    await start_session(dap, target.launch(DIAMOND, stopOnEntry=True))
    stop = await stopped(dap, "entry")
    assert (await thread_name(dap, stop["body"]["threadId"])).endswith(".a")
    assert "from a" not in outputs(dap)
    assert await run_to_end(dap) == 0


@WORKFLOWS
async def test_terminate_cancels_the_run_and_leaves_nothing(dap: HarnessClient, target: Target) -> None:
    await start_session(dap, target.launch(DIAMOND), breakpoints={DIAMOND: [22, 26]})
    await stopped(dap, "breakpoint")
    running = target.running(dap)
    await dap.request_ok("terminate")
    await dap.wait_event("terminated")
    exited = await dap.wait_event("exited")
    assert exited["body"]["exitCode"] == 1
    assert await target.leftovers(dap, running) == []
    assert "\nd\n" not in outputs(dap)


@WORKFLOWS
async def test_disconnect_while_paused_leaves_nothing_behind(dap: HarnessClient, target: Target) -> None:
    await start_session(dap, target.launch(DIAMOND), breakpoints={DIAMOND: [42]})
    await stopped(dap, "breakpoint")
    running = target.running(dap)
    await dap.request_ok("disconnect", {"terminateDebuggee": True})
    assert await target.leftovers(dap, running) == []
    await dap.wait_eof(timeout=10)
    assert await dap.close() == 0


@WORKFLOWS
async def test_cancel_on_disconnect_false_lets_the_run_finish(dap: HarnessClient, target: Target) -> None:
    await start_session(dap, target.launch(DIAMOND, cancelOnDisconnect=False), breakpoints={DIAMOND: [42]})
    await stopped(dap, "breakpoint")
    await dap.request_ok("disconnect", {})
    exited = await dap.wait_event("exited")
    assert exited["body"]["exitCode"] == 0
    assert all(f"\n{n}\n" in "\n" + outputs(dap) for n in ("b", "c", "d"))


OUTPUTS = REPO_ROOT / "fixtures/argo/outputs.yaml"


@WORKFLOWS
async def test_an_output_parameter_changed_after_its_step_feeds_the_next(dap: HarnessClient, target: Target) -> None:
    await start_session(dap, target.launch(OUTPUTS), breakpoints={OUTPUTS: [{"line": 42, "mode": "after"}]})
    stop = await stopped(dap, "breakpoint")
    frame = (await frames_of(dap, stop["body"]["threadId"]))[0]
    scopes = (await dap.request_ok("scopes", {"frameId": frame["id"]}))["body"]["scopes"]
    ref = next(s["variablesReference"] for s in scopes if s["name"] == "Results")
    values = (await dap.request_ok("variables", {"variablesReference": ref}))["body"]["variables"]
    assert {v["name"]: v["value"] for v in values}["version"] == "1.2.3"  # written by the command
    changed = await dap.request_ok("setVariable", {"variablesReference": ref, "name": "version", "value": "9.9.9"})
    assert changed["body"]["value"] == "9.9.9"
    await dap.request_ok("setBreakpoints", {"source": {"path": str(OUTPUTS)}, "breakpoints": []})
    assert await run_to_end(dap) == 0
    assert "got 9.9.9" in outputs(dap)
    assert "got 1.2.3" not in outputs(dap)  # the dag's `when` (version == 1.2.3) is now false
