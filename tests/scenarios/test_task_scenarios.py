"""The DAP scenarios of a Tekton Task, unchanged on every engine that runs Tasks: the local
engine and the Tekton engine (test Kubernetes API; a real cluster with `-m cluster`).

The real server over stdio, every message validated against the official schema. Where Tekton
itself cannot do what the local engine does (no after-step pause; a failure's exit code is not
observable while the step is paused), the scenario says so through `target` and asserts what
the engine does instead, never nothing.
"""

from __future__ import annotations

from tests.dap_harness import REPO_ROOT, HarnessClient, start_session
from tests.scenarios.targets import LOCAL, TEKTON, Target, engines
from tests.session.helpers import frames_of, run_to_end, scope_values, stopped

SINGLE = REPO_ROOT / "fixtures/tekton/single-task.yaml"
FAILING = REPO_ROOT / "fixtures/tekton/failing-task.yaml"
TASKS = engines(LOCAL, TEKTON)


def outputs(dap: HarnessClient) -> str:
    return "".join(e["body"]["output"] for e in dap.events("output"))


@TASKS
async def test_stop_frames_variables_next_and_exit_code(dap: HarnessClient, target: Target) -> None:
    start = await start_session(dap, target.launch(SINGLE, params={"who": "team"}), breakpoints={SINGLE: [23]})
    assert start.launch["success"], start.launch
    stop = await stopped(dap, "breakpoint")
    assert stop["body"]["hitBreakpointIds"] == [start.breakpoints(SINGLE)[0]["id"]]
    thread_id = stop["body"]["threadId"]
    threads = (await dap.request_ok("threads"))["body"]["threads"]
    assert [t["id"] for t in threads] == [thread_id]
    frames = await frames_of(dap, thread_id)
    assert [(f["name"], f["line"]) for f in frames] == [("greet", 23), ("Task/single-task", 2)]
    assert frames[0]["source"]["path"] == str(SINGLE)
    env = await scope_values(dap, frames[0]["id"], "Environment")
    assert env["WHO"] == "team"
    params = await scope_values(dap, frames[0]["id"], "Parameters")
    assert (params["greeting"], params["who"], params["count"]) == ("hello", "team", "2")
    step = await scope_values(dap, frames[0]["id"], "Step")
    assert step["container"] == "step-greet" and step["image"] == "alpine:3.20"

    await dap.request_ok("next", {"threadId": thread_id})
    stop = await stopped(dap, "step")
    assert stop["body"]["threadId"] == thread_id
    frames = await frames_of(dap, thread_id)
    assert (frames[0]["name"], frames[0]["line"]) == ("count", 34)
    results = await scope_values(dap, frames[0]["id"], "Results")
    assert results["message"] == "hello team"  # written by greet, read from the step's own files
    assert await run_to_end(dap) == 0
    assert "count 2 of 2" in outputs(dap)
    greeting = [e["body"] for e in dap.events("output") if "hello team" in e["body"]["output"]]
    assert greeting and greeting[0]["category"] == "stdout" and greeting[0]["line"] == 23


@TASKS
async def test_on_failure_stops_with_exception_info_and_the_failure_stands(dap: HarnessClient, target: Target) -> None:
    await start_session(dap, target.launch(FAILING), exception_filters=["onFailure"])
    stop = await stopped(dap, "exception")
    thread_id = stop["body"]["threadId"]
    info = (await dap.request_ok("exceptionInfo", {"threadId": thread_id}))["body"]
    assert info["exceptionId"] == "ExitCode" and info["breakMode"] == "always"
    assert "about to fail" in info["details"]["stackTrace"]
    frames = await frames_of(dap, thread_id)
    assert (frames[0]["name"], frames[0]["line"]) == ("fail", 14)
    if target.failure_exit_code:
        assert "3" in info["description"]
        assert (await scope_values(dap, frames[0]["id"], "Step"))["exitCode"] == "3"
    assert await run_to_end(dap) == 1
    assert "must not run" not in outputs(dap)


@TASKS
async def test_exit_code_zero_before_continue_counts_the_step_as_passed(dap: HarnessClient, target: Target) -> None:
    await start_session(dap, target.launch(FAILING), exception_filters=["onFailure"])
    stop = await stopped(dap, "exception")
    frames = await frames_of(dap, stop["body"]["threadId"])
    scopes = (await dap.request_ok("scopes", {"frameId": frames[0]["id"]}))["body"]["scopes"]
    step_ref = next(s["variablesReference"] for s in scopes if s["name"] == "Step")
    changed = await dap.request_ok("setVariable", {"variablesReference": step_ref, "name": "exitCode", "value": "0"})
    assert changed["body"]["value"] == "0"
    assert await run_to_end(dap) == 0
    assert "must not run" in outputs(dap)


@TASKS
async def test_failure_without_the_filter_does_not_stop(dap: HarnessClient, target: Target) -> None:
    await start_session(dap, target.launch(FAILING))
    assert await run_to_end(dap) == 1
    assert not dap.events("stopped")
    assert "about to fail" in outputs(dap) and "must not run" not in outputs(dap)


@TASKS
async def test_stop_on_entry_then_breakpoint(dap: HarnessClient, target: Target) -> None:
    await start_session(dap, target.launch(SINGLE, stopOnEntry=True), breakpoints={SINGLE: [42]})
    stop = await stopped(dap, "entry")
    frames = await frames_of(dap, stop["body"]["threadId"])
    assert [f["name"] for f in frames] == ["greet", "Task/single-task"]
    await dap.request_ok("continue", {"threadId": stop["body"]["threadId"]})
    stop = await stopped(dap, "breakpoint")
    assert (await frames_of(dap, stop["body"]["threadId"]))[0]["name"] == "echo-args"
    assert "count 2 of 2" in outputs(dap)
    assert await run_to_end(dap) == 0


@TASKS
async def test_after_mode_breakpoint(dap: HarnessClient, target: Target) -> None:
    start = await start_session(dap, target.launch(SINGLE), breakpoints={SINGLE: [{"line": 34, "mode": "after"}]})
    (bp,) = start.breakpoints(SINGLE)
    if not target.after_pauses:
        # Tekton has no after-step pause: the breakpoint says so instead of never firing (in the
        # setBreakpoints answer, or in a `changed` event once the launch has chosen the engine)
        changed = [
            e["body"]["breakpoint"] for e in dap.events("breakpoint") if e["body"]["breakpoint"]["id"] == bp["id"]
        ]
        bp = changed[-1] if changed else bp
        assert bp["verified"] is False and "after" in bp["message"]
        assert await run_to_end(dap) == 0
        return
    stop = await stopped(dap, "breakpoint")
    assert "after" in stop["body"]["description"]
    assert "count 2 of 2" in outputs(dap)
    assert await run_to_end(dap) == 0


@TASKS
async def test_conditions_hit_conditions_and_logpoints(dap: HarnessClient, target: Target) -> None:
    await start_session(
        dap,
        target.launch(SINGLE, params={"who": "team"}),
        breakpoints={
            SINGLE: [
                {"line": 23, "condition": 'params.who == "nobody"'},  # false: no stop
                {"line": 34, "logMessage": "counting to $(params.count) for {params.who}"},
                {"line": 42, "condition": 'params.who == "team"', "hitCondition": "1"},
            ]
        },
    )
    stop = await stopped(dap, "breakpoint")
    frames = await frames_of(dap, stop["body"]["threadId"])
    assert frames[0]["name"] == "echo-args"
    logs = [e["body"] for e in dap.events("output") if e["body"].get("category") == "console"]
    assert any(o["output"] == "counting to 2 for team\n" and o["line"] == 34 for o in logs), logs
    assert await run_to_end(dap) == 0


@TASKS
async def test_breakpoints_set_while_running_apply_to_steps_not_started(dap: HarnessClient, target: Target) -> None:
    await start_session(dap, target.launch(SINGLE), breakpoints={SINGLE: [23]})
    stop = await stopped(dap, "breakpoint")
    await dap.request_ok("setBreakpoints", {"source": {"path": str(SINGLE)}, "breakpoints": [{"line": 43}]})
    await dap.request_ok("continue", {"threadId": stop["body"]["threadId"]})
    stop = await stopped(dap, "breakpoint")
    assert (await frames_of(dap, stop["body"]["threadId"]))[0]["name"] == "echo-args"
    assert await run_to_end(dap) == 0


@TASKS
async def test_pause_stops_at_the_next_step_boundary(dap: HarnessClient, target: Target) -> None:
    await start_session(dap, target.launch(SINGLE), breakpoints={SINGLE: [23]})
    stop = await stopped(dap, "breakpoint")
    thread_id = stop["body"]["threadId"]
    await dap.request_ok("continue", {"threadId": thread_id})
    await dap.request_ok("pause", {"threadId": thread_id})
    stop = await stopped(dap, "pause")
    assert stop["body"]["threadId"] == thread_id
    assert (await frames_of(dap, thread_id))[0]["name"] in ("count", "echo-args", "greet")
    assert await run_to_end(dap) == 0


@TASKS
async def test_evaluate_runs_commands_in_the_paused_step_and_resolves_expressions(
    dap: HarnessClient, target: Target
) -> None:
    await start_session(dap, target.launch(SINGLE, params={"who": "team"}), breakpoints={SINGLE: [23]})
    stop = await stopped(dap, "breakpoint")
    frame = (await frames_of(dap, stop["body"]["threadId"]))[0]
    out = await dap.request_ok("evaluate", {"expression": "echo $WHO", "context": "repl", "frameId": frame["id"]})
    assert out["body"]["result"].strip() == "team"
    hover = await dap.request_ok(
        "evaluate", {"expression": "$(params.greeting)", "context": "hover", "frameId": frame["id"]}
    )
    assert hover["body"]["result"] == "hello"
    watch = await dap.request_ok(
        "evaluate", {"expression": 'params.who == "team"', "context": "watch", "frameId": frame["id"]}
    )
    assert watch["body"]["result"] == "True"
    bad = await dap.request("evaluate", {"expression": "params.nope", "context": "watch", "frameId": frame["id"]})
    assert bad["success"] is False and "nope" in bad["message"]
    assert await run_to_end(dap) == 0


@TASKS
async def test_disconnect_while_paused_leaves_nothing_behind(dap: HarnessClient, target: Target) -> None:
    await start_session(dap, target.launch(SINGLE), breakpoints={SINGLE: [34]})
    await stopped(dap, "breakpoint")
    running = target.running(dap)
    assert running or (target.cluster is None and target.engine != LOCAL)
    await dap.request_ok("disconnect", {"terminateDebuggee": True})
    assert await target.leftovers(dap, running) == []
    await dap.wait_event("terminated")
    await dap.wait_eof(timeout=10)
    assert await dap.close() == 0


@TASKS
async def test_client_that_dies_while_paused_leaves_nothing_behind(dap: HarnessClient, target: Target) -> None:
    await start_session(dap, target.launch(SINGLE), breakpoints={SINGLE: [34]})
    await stopped(dap, "breakpoint")
    running = target.running(dap)
    dap.writer.close()  # the client goes away without a word
    assert await dap.close() == 0
    assert await target.leftovers(dap, running) == []


@TASKS
async def test_terminate_cancels_the_run(dap: HarnessClient, target: Target) -> None:
    await start_session(dap, target.launch(SINGLE), breakpoints={SINGLE: [34]})
    await stopped(dap, "breakpoint")
    running = target.running(dap)
    await dap.request_ok("terminate")
    await dap.wait_event("terminated")
    exited = await dap.wait_event("exited")
    assert exited["body"]["exitCode"] == 1
    assert await target.leftovers(dap, running) == []
    assert "count 1 of" not in outputs(dap)


@TASKS
async def test_cancel_on_disconnect_false_lets_the_run_finish(dap: HarnessClient, target: Target) -> None:
    await start_session(dap, target.launch(SINGLE, cancelOnDisconnect=False), breakpoints={SINGLE: [23, 34]})
    await stopped(dap, "breakpoint")
    await dap.request_ok("disconnect", {})
    exited = await dap.wait_event("exited")
    assert exited["body"]["exitCode"] == 0
    assert "count 2 of 2" in outputs(dap) and "greeting=hello" in outputs(dap)


@TASKS
async def test_restart_runs_again_with_the_same_breakpoints(dap: HarnessClient, target: Target) -> None:
    await start_session(dap, target.launch(SINGLE), breakpoints={SINGLE: [42]})
    await stopped(dap, "breakpoint")
    await dap.request_ok("restart", {})
    stop = await stopped(dap, "breakpoint")
    assert (await frames_of(dap, stop["body"]["threadId"]))[0]["name"] == "echo-args"
    assert await run_to_end(dap) == 0
