"""The core DAP scenarios on the local engine, driven over stdio like any DAP client would,
every message validated against the official schema (tests/conftest.py `dap`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dap_harness import REPO_ROOT, HarnessClient, start_session
from tests.session.helpers import (
    descendants,
    frames_of,
    run_to_end,
    scope_values,
    stopped,
)

PIPELINE = REPO_ROOT / "fixtures/tekton/build-pipeline/pipeline.yaml"
BUILD = REPO_ROOT / "fixtures/tekton/build-pipeline/tasks/build.yaml"
LINT = REPO_ROOT / "fixtures/tekton/build-pipeline/tasks/lint.yaml"
FAILING = REPO_ROOT / "fixtures/tekton/failing-task.yaml"
SINGLE = REPO_ROOT / "fixtures/tekton/single-task.yaml"


async def test_initialize_announces_honest_capabilities(dap: HarnessClient) -> None:
    init = await dap.request_ok("initialize", {"adapterID": "pipeline", "linesStartAt1": True})
    caps = init["body"]
    assert caps["supportsConfigurationDoneRequest"] is True
    assert [m["mode"] for m in caps["breakpointModes"]] == ["before", "after"]
    assert all(m["appliesTo"] == ["source"] for m in caps["breakpointModes"])
    (flt,) = caps["exceptionBreakpointFilters"]
    assert flt["filter"] == "onFailure" and flt["label"] == "Step failed" and flt["default"] is False
    assert caps["supportsConditionalBreakpoints"] and caps["supportsHitConditionalBreakpoints"]
    assert caps["supportsLogPoints"] and caps["supportsBreakpointLocationsRequest"]
    assert caps["supportsExceptionInfoRequest"] and caps["supportsSingleThreadExecutionRequests"]
    await dap.wait_event("initialized")


async def test_breakpoints_relocate_to_the_step_and_fail_elsewhere(dap: HarnessClient) -> None:
    await dap.request_ok("initialize", {"adapterID": "pipeline"})
    response = await dap.request_ok(
        "setBreakpoints",
        {
            "source": {"path": str(BUILD)},
            "breakpoints": [{"line": 30}, {"line": 36, "mode": "after"}, {"line": 9}],
        },
    )
    inside_script, after_package, on_params = response["body"]["breakpoints"]
    assert inside_script["verified"] and inside_script["line"] == 26 and inside_script["endLine"] == 34
    assert after_package["verified"] and after_package["line"] == 35 and after_package["endLine"] == 41
    assert on_params["verified"] is False and on_params["reason"] == "failed"
    assert "compile" in on_params["message"] and "26" in on_params["message"]
    # a breakpoint on a pipeline task binds to the task
    response = await dap.request_ok(
        "setBreakpoints", {"source": {"path": str(PIPELINE)}, "breakpoints": [{"line": 43}]}
    )
    (on_task,) = response["body"]["breakpoints"]
    assert on_task["verified"] and on_task["line"] == 40
    # an unknown mode and a bad hit condition are refused with a reason
    response = await dap.request_ok(
        "setBreakpoints",
        {
            "source": {"path": str(BUILD)},
            "breakpoints": [{"line": 30, "mode": "sideways"}, {"line": 30, "hitCondition": "often"}],
        },
    )
    bad_mode, bad_hit = response["body"]["breakpoints"]
    assert not bad_mode["verified"] and "sideways" in bad_mode["message"]
    assert not bad_hit["verified"] and "hit condition" in bad_hit["message"]


async def test_breakpoints_in_a_broken_file_say_why(dap: HarnessClient) -> None:
    await dap.request_ok("initialize", {"adapterID": "pipeline"})
    bad = REPO_ROOT / "fixtures/tekton/bad/bad-yaml.yaml"
    response = await dap.request_ok("setBreakpoints", {"source": {"path": str(bad)}, "breakpoints": [{"line": 3}]})
    (bp,) = response["body"]["breakpoints"]
    assert bp["verified"] is False and bp["reason"] == "failed"
    assert "bad-yaml.yaml" in bp["message"]


async def test_breakpoint_locations_answer_where_a_line_stops(dap: HarnessClient) -> None:
    await dap.request_ok("initialize", {"adapterID": "pipeline"})
    response = await dap.request_ok("breakpointLocations", {"source": {"path": str(BUILD)}, "line": 25, "endLine": 44})
    lines = [(b["line"], b.get("endLine")) for b in response["body"]["breakpoints"]]
    assert lines == [(26, 34), (35, 41), (42, 48)]


async def test_multi_file_pipeline_stop_frames_env_next_and_exit_code(dap: HarnessClient) -> None:
    """The issue's "done means": stop at a step, right frames and resolved env, step over,
    continue to the end, get the run's exit code."""
    start = await start_session(dap, {"program": str(PIPELINE)}, breakpoints={BUILD: [35]})
    assert start.launch["success"], start.launch
    stop = await stopped(dap, "breakpoint")
    assert stop["body"]["hitBreakpointIds"] == [start.breakpoints(BUILD)[0]["id"]]
    thread_id = stop["body"]["threadId"]
    threads = (await dap.request_ok("threads"))["body"]["threads"]
    assert {"id": thread_id, "name": "build"} in threads

    frames = await frames_of(dap, thread_id)
    assert [(f["name"], Path(f["source"]["path"]).name, f["line"]) for f in frames] == [
        ("package", "build.yaml", 35),
        ("build", "pipeline.yaml", 40),
        ("Pipeline/build-and-test", "pipeline.yaml", 4),
    ]
    env = await scope_values(dap, frames[0]["id"], "Environment")
    assert env["FLAVOUR"] == "turbo"  # $(params.flavour) of the Task, fed by the Pipeline's default
    assert env["BUILD_DIR"] == "build"  # from the stepTemplate
    params = await scope_values(dap, frames[0]["id"], "Parameters")
    assert params["flavour"] == "turbo"
    step = await scope_values(dap, frames[0]["id"], "Step")
    assert step["image"] == "alpine:3.20" and step["container"] == "step-package"
    workspaces = await scope_values(dap, frames[0]["id"], "Workspaces")
    assert Path(workspaces["source"]).is_dir()

    await dap.request_ok("next", {"threadId": thread_id})
    stop = await stopped(dap, "step")
    frames = await frames_of(dap, stop["body"]["threadId"])
    assert (frames[0]["name"], frames[0]["line"]) == ("digest", 42)

    await dap.request_ok("next", {"threadId": thread_id})  # from before the last step: stop after it
    stop = await stopped(dap, "step")
    results = await scope_values(dap, (await frames_of(dap, thread_id))[0]["id"], "Results")
    assert len(results["digest"]) == 64  # sha256 written by the digest step

    exit_code = await run_to_end(dap)
    assert exit_code == 0
    outputs = [e["body"] for e in dap.events("output") if e["body"].get("category") == "stdout"]
    packaged = [o for o in outputs if "packaged" in o["output"]]
    assert packaged and packaged[0]["source"]["path"] == str(BUILD) and packaged[0]["line"] == 35


async def test_on_failure_stops_with_exception_info_and_the_failure_stands(dap: HarnessClient) -> None:
    await start_session(dap, {"program": str(FAILING)}, exception_filters=["onFailure"])
    stop = await stopped(dap, "exception")
    thread_id = stop["body"]["threadId"]
    info = (await dap.request_ok("exceptionInfo", {"threadId": thread_id}))["body"]
    assert info["exceptionId"] == "ExitCode"
    assert "3" in info["description"]
    assert "about to fail" in info["details"]["stackTrace"]
    frames = await frames_of(dap, thread_id)
    assert (frames[0]["name"], frames[0]["line"]) == ("fail", 14)
    step = await scope_values(dap, frames[0]["id"], "Step")
    assert step["exitCode"] == "3"
    assert await run_to_end(dap) == 1
    assert not any("must not run" in e["body"]["output"] for e in dap.events("output"))


async def test_exit_code_zero_before_continue_counts_the_step_as_passed(dap: HarnessClient) -> None:
    await start_session(dap, {"program": str(FAILING)}, exception_filters=["onFailure"])
    stop = await stopped(dap, "exception")
    frames = await frames_of(dap, stop["body"]["threadId"])
    scopes = (await dap.request_ok("scopes", {"frameId": frames[0]["id"]}))["body"]["scopes"]
    step_ref = next(s["variablesReference"] for s in scopes if s["name"] == "Step")
    changed = await dap.request_ok("setVariable", {"variablesReference": step_ref, "name": "exitCode", "value": "0"})
    assert changed["body"]["value"] == "0"
    assert await run_to_end(dap) == 0
    assert any("must not run" in e["body"]["output"] for e in dap.events("output"))


async def test_failure_without_the_filter_does_not_stop(dap: HarnessClient) -> None:
    await start_session(dap, {"program": str(FAILING)})
    assert await run_to_end(dap) == 1
    assert not dap.events("stopped")


async def test_parallel_tasks_are_parallel_threads_and_single_thread_continue(dap: HarnessClient) -> None:
    await start_session(dap, {"program": str(PIPELINE)}, breakpoints={BUILD: [26], LINT: [9]})
    first = await stopped(dap, "breakpoint")
    second = await stopped(dap, "breakpoint")
    ids = {first["body"]["threadId"], second["body"]["threadId"]}
    names = {t["id"]: t["name"] for t in (await dap.request_ok("threads"))["body"]["threads"]}
    assert {names[i] for i in ids} == {"build", "lint"}
    build_id = next(i for i in ids if names[i] == "build")
    lint_id = next(i for i in ids if names[i] == "lint")
    response = await dap.request_ok("continue", {"threadId": build_id, "singleThread": True})
    assert response["body"]["allThreadsContinued"] is False
    # lint is still stopped: its frames are still valid
    frames = await frames_of(dap, lint_id)
    assert frames[0]["name"] == "style"
    assert await run_to_end(dap) == 0


async def test_step_out_stops_after_the_last_step(dap: HarnessClient) -> None:
    await start_session(dap, {"program": str(PIPELINE)}, breakpoints={BUILD: [26]})
    stop = await stopped(dap, "breakpoint")
    await dap.request_ok("stepOut", {"threadId": stop["body"]["threadId"]})
    stop = await stopped(dap, "step")
    frames = await frames_of(dap, stop["body"]["threadId"])
    assert frames[0]["name"] == "digest"
    assert "after" in stop["body"]["description"]
    # next from after the task's last step: the first step of a task that depends on it
    await dap.request_ok("next", {"threadId": stop["body"]["threadId"]})
    stop = await stopped(dap, "step")
    names = {t["id"]: t["name"] for t in (await dap.request_ok("threads"))["body"]["threads"]}
    assert names[stop["body"]["threadId"]] == "test"
    assert await run_to_end(dap) == 0


async def test_stop_on_entry_and_after_mode(dap: HarnessClient) -> None:
    await start_session(
        dap,
        {"program": str(SINGLE), "stopOnEntry": True},
        breakpoints={SINGLE: [{"line": 34, "mode": "after"}]},
    )
    stop = await stopped(dap, "entry")
    frames = await frames_of(dap, stop["body"]["threadId"])
    assert [f["name"] for f in frames] == ["greet", "Task/single-task"]
    await dap.request_ok("continue", {"threadId": stop["body"]["threadId"]})
    stop = await stopped(dap, "breakpoint")
    assert "after" in stop["body"]["description"]
    assert any("count 2 of 2" in e["body"]["output"] for e in dap.events("output"))
    assert await run_to_end(dap) == 0


async def test_conditions_hit_conditions_and_logpoints(dap: HarnessClient) -> None:
    await start_session(
        dap,
        {"program": str(PIPELINE), "params": {"flavour": "turbo"}},
        breakpoints={
            BUILD: [
                {"line": 26, "condition": 'params.flavour == "plain"'},  # false: no stop
                {"line": 35, "logMessage": "packaging $(params.flavour) in {env.BUILD_DIR}"},
                {
                    "line": 42,
                    "condition": 'params.flavour == "turbo" && env.BUILD_DIR == "build"',
                    "hitCondition": "1",
                },
            ]
        },
    )
    stop = await stopped(dap, "breakpoint")
    frames = await frames_of(dap, stop["body"]["threadId"])
    assert frames[0]["name"] == "digest"
    logs = [e["body"] for e in dap.events("output") if e["body"].get("category") == "console"]
    assert any(o["output"] == "packaging turbo in build\n" and o["line"] == 35 for o in logs)
    assert await run_to_end(dap) == 0


async def test_breakpoints_set_while_running_apply_to_steps_not_started(dap: HarnessClient) -> None:
    await start_session(dap, {"program": str(PIPELINE)}, breakpoints={BUILD: [26]})
    stop = await stopped(dap, "breakpoint")
    await dap.request_ok("setBreakpoints", {"source": {"path": str(BUILD)}, "breakpoints": [{"line": 44}]})
    await dap.request_ok("continue", {"threadId": stop["body"]["threadId"]})
    stop = await stopped(dap, "breakpoint")
    frames = await frames_of(dap, stop["body"]["threadId"])
    assert frames[0]["name"] == "digest"
    assert await run_to_end(dap) == 0


async def test_pause_stops_at_the_next_step_boundary(dap: HarnessClient) -> None:
    await start_session(dap, {"program": str(SINGLE)}, breakpoints={SINGLE: [23]})
    stop = await stopped(dap, "breakpoint")
    thread_id = stop["body"]["threadId"]
    await dap.request_ok("continue", {"threadId": thread_id})
    await dap.request_ok("pause", {"threadId": thread_id})
    stop = await stopped(dap, "pause")
    assert stop["body"]["threadId"] == thread_id
    assert await run_to_end(dap) == 0


async def test_evaluate_runs_commands_in_the_paused_step_and_resolves_expressions(dap: HarnessClient) -> None:
    await start_session(dap, {"program": str(PIPELINE)}, breakpoints={BUILD: [35]})
    stop = await stopped(dap, "breakpoint")
    frame = (await frames_of(dap, stop["body"]["threadId"]))[0]
    out = await dap.request_ok(
        "evaluate", {"expression": "echo $FLAVOUR; ls build", "context": "repl", "frameId": frame["id"]}
    )
    assert out["body"]["result"].splitlines() == ["turbo", "hello.py"]
    hover = await dap.request_ok(
        "evaluate", {"expression": "$(params.flavour)", "context": "hover", "frameId": frame["id"]}
    )
    assert hover["body"]["result"] == "turbo"
    watch = await dap.request_ok(
        "evaluate", {"expression": 'params.flavour == "turbo"', "context": "watch", "frameId": frame["id"]}
    )
    assert watch["body"]["result"] == "True"
    bad = await dap.request("evaluate", {"expression": "params.nope", "context": "watch", "frameId": frame["id"]})
    assert bad["success"] is False and "nope" in bad["message"]
    assert await run_to_end(dap) == 0


@pytest.mark.parametrize(
    ("program", "cause"),
    [
        ("fixtures/tekton/bad/bad-yaml.yaml", "bad-yaml.yaml:"),
        ("fixtures/tekton/bad/unknown-ref.yaml", "unknown-ref.yaml:"),
        ("fixtures/tekton/bad/dup-steps.yaml", "dup-steps.yaml:"),
        ("fixtures/tekton/does-not-exist.yaml", "no such file"),
    ],
)
async def test_launch_errors_name_file_line_and_cause(dap: HarnessClient, program: str, cause: str) -> None:
    start = await start_session(dap, {"program": str(REPO_ROOT / program)})
    assert start.launch["success"] is False
    message = start.launch["body"]["error"]["format"]
    assert cause in message, message
    assert start.launch["message"] == message


async def test_unknown_reference_lists_the_paths_searched(dap: HarnessClient) -> None:
    start = await start_session(dap, {"program": str(REPO_ROOT / "fixtures/tekton/bad/unknown-ref.yaml")})
    message = start.launch["body"]["error"]["format"]
    assert "fixtures/tekton/bad" in message


async def test_bad_launch_arguments_are_an_error_not_a_crash(dap: HarnessClient) -> None:
    start = await start_session(dap, {"program": str(SINGLE), "engine": "podman", "stopOnEntry": "sometimes"})
    assert start.launch["success"] is False
    assert "engine" in start.launch["message"] and "stopOnEntry" in start.launch["message"]


async def test_disconnect_while_paused_leaves_nothing_behind(dap: HarnessClient) -> None:
    await start_session(dap, {"program": str(PIPELINE)}, breakpoints={BUILD: [26], LINT: [9]})
    await stopped(dap, "breakpoint")
    await stopped(dap, "breakpoint")
    pid = dap.process.pid if dap.process else 0
    children = descendants(pid)
    assert children, "the steps' supervisors should be running"
    run_dirs = _run_dirs(pid)
    await dap.request_ok("disconnect", {"terminateDebuggee": True})
    # when the reply arrives, everything is gone already (VS Code kills the adapter right after it)
    assert not [p for p in children if Path(f"/proc/{p}").exists()]
    assert run_dirs and not any(Path(d).exists() for d in run_dirs)
    await dap.wait_event("terminated")
    await dap.wait_eof(timeout=10)  # and the adapter shuts down by itself, stdin still open
    assert await dap.close() == 0


async def test_client_that_dies_while_paused_leaves_no_process(dap: HarnessClient) -> None:
    await start_session(dap, {"program": str(SINGLE)}, breakpoints={SINGLE: [34]})
    await stopped(dap, "breakpoint")
    pid = dap.process.pid if dap.process else 0
    children = descendants(pid)
    assert children
    dap.writer.close()  # the client goes away without a word
    code = await dap.close()
    assert code == 0
    assert not [p for p in children if Path(f"/proc/{p}").exists()]


async def test_terminate_cancels_the_run(dap: HarnessClient) -> None:
    await start_session(dap, {"program": str(SINGLE)}, breakpoints={SINGLE: [34]})
    stop = await stopped(dap, "breakpoint")
    pid = dap.process.pid if dap.process else 0
    children = descendants(pid)
    await dap.request_ok("terminate")
    await dap.wait_event("terminated")
    exited = await dap.wait_event("exited")
    assert exited["body"]["exitCode"] == 1
    assert stop and not [p for p in children if Path(f"/proc/{p}").exists()]


async def test_cancel_on_disconnect_false_lets_the_run_finish(dap: HarnessClient) -> None:
    await start_session(dap, {"program": str(SINGLE), "cancelOnDisconnect": False}, breakpoints={SINGLE: [23]})
    await stopped(dap, "breakpoint")
    await dap.request_ok("disconnect", {})
    exited = await dap.wait_event("exited")
    assert exited["body"]["exitCode"] == 0
    assert any("count 2 of 2" in e["body"]["output"] for e in dap.events("output"))


async def test_restart_runs_again_with_the_same_breakpoints(dap: HarnessClient) -> None:
    await start_session(dap, {"program": str(SINGLE)}, breakpoints={SINGLE: [42]})
    await stopped(dap, "breakpoint")
    await dap.request_ok("restart", {})
    stop = await stopped(dap, "breakpoint")
    frames = await frames_of(dap, stop["body"]["threadId"])
    assert frames[0]["name"] == "echo-args"
    assert await run_to_end(dap) == 0


def _run_dirs(pid: int) -> list[str]:
    """Run folders of the adapter's supervisors (from their command lines)."""
    dirs = set()
    for child in descendants(pid):
        try:
            argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        for arg in argv:
            text = arg.decode(errors="replace")
            if "/tekton/run/" in text:
                dirs.add(text.split("/tekton/run/")[0])
    return sorted(dirs)


async def test_continue_of_one_thread_keeps_the_step_request_of_another(dap: HarnessClient) -> None:
    await start_session(dap, {"program": str(PIPELINE)}, breakpoints={BUILD: [26], LINT: [9]})
    stops = [await stopped(dap, "breakpoint"), await stopped(dap, "breakpoint")]
    names = {t["id"]: t["name"] for t in (await dap.request_ok("threads"))["body"]["threads"]}
    build_id = next(s["body"]["threadId"] for s in stops if names[s["body"]["threadId"]] == "build")
    lint_id = next(s["body"]["threadId"] for s in stops if names[s["body"]["threadId"]] == "lint")
    await dap.request_ok("next", {"threadId": build_id, "singleThread": True})
    await dap.request_ok("continue", {"threadId": lint_id})  # all threads: only lint is stopped
    stop = await stopped(dap, "step")
    assert stop["body"]["threadId"] == build_id
    assert (await frames_of(dap, build_id))[0]["name"] == "package"
    assert await run_to_end(dap) == 0
