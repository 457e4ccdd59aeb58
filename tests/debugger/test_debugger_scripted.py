"""`pipeline-dap debug` end to end: a real server, the local engine, scripted commands."""

from __future__ import annotations

import re
from pathlib import Path

from tests.debugger.scripted import (
    BUILD,
    FAILING,
    PIPELINE,
    SINGLE,
    UNIT_TEST,
    assert_trace_valid,
    line_of,
    run_debug,
)

PIPELINE_ARG = "fixtures/tekton/build-pipeline/pipeline.yaml"
BUILD_SHOWN = "fixtures/tekton/build-pipeline/tasks/build.yaml"


def stop_headers(out: str) -> list[str]:
    return re.findall(r"^Stopped \(.*$", out, re.M)


async def test_break_where_env_next_continue(tmp_path: Path) -> None:
    script = "where\nenv\nenv FLAVOUR\nnext\nwhere\ncontinue\n"
    run = await run_debug([PIPELINE_ARG, "--break", "build/compile"], script, tmp_path)
    assert run.code == 0, run
    compile_line = line_of(BUILD, "- name: compile")
    package_line = line_of(BUILD, "- name: package")
    build_task_line = line_of(PIPELINE, "- name: build")

    assert f"Breakpoint 1 at {BUILD_SHOWN}:{compile_line} (build/compile)" in run.out, run
    headers = stop_headers(run.out)
    assert len(headers) == 2, run
    assert re.fullmatch(r"Stopped \(breakpoint\) in thread \d+ \(build\): build \u203a compile", headers[0]), run
    assert re.fullmatch(r"Stopped \(step\) in thread \d+ \(build\): build \u203a package", headers[1]), run
    # the source of the step, marker on its canonical line
    assert f"{compile_line:5} -> " + "    - name: compile" in run.out, run
    # where: step frame, then the pipeline task, then the run
    assert f"-> #0 compile  {BUILD_SHOWN}:{compile_line}" in run.out, run
    assert f"   #1 build  {PIPELINE_ARG}:{build_task_line}" in run.out, run
    assert f"-> #0 package  {BUILD_SHOWN}:{package_line}" in run.out, run
    assert re.search(r"   #2 Pipeline/build-and-test  ", run.out), run
    # env: the step's environment, params resolved (pipeline default flavour is turbo)
    assert run.out.count("FLAVOUR=turbo") == 2, run  # `env` and `env FLAVOUR`
    assert "BUILD_DIR=build" in run.out, run
    # output of the steps, prefixed with task/step
    assert "[build/compile] compiling with flavour turbo" in run.out, run
    assert "[fetch/clone] cloning https://example.com/demo/hello.git at main" in run.out, run
    assert run.out.rstrip().endswith("Run succeeded (exit code 0)."), run
    assert run.messages("recv", "event", "exited")[0]["body"]["exitCode"] == 0
    assert_trace_valid(run)


async def test_after_breakpoint_param_and_print(tmp_path: Path) -> None:
    script = "p params.flavour\nresults\nc\n"
    args = [PIPELINE_ARG, "--break", "build/package:after", "--param", "flavour=plain"]
    run = await run_debug(args, script, tmp_path)
    assert run.code == 0, run
    headers = stop_headers(run.out)
    assert len(headers) == 1 and headers[0].endswith("build \u203a package"), run
    assert 'after step "package"' in run.out, run
    sent = run.messages("send", "request", "setBreakpoints")
    assert sent[0]["arguments"]["breakpoints"] == [{"line": line_of(BUILD, "- name: package"), "mode": "after"}]
    evaluate = run.messages("recv", "response", "evaluate")
    assert evaluate and evaluate[0]["success"], run
    assert "plain" in evaluate[0]["body"]["result"]
    assert "[build/package] packaged" in run.out and "(plain)" in run.out, run
    assert_trace_valid(run)


async def test_eof_at_the_prompt_cancels_the_run(tmp_path: Path) -> None:
    run = await run_debug([PIPELINE_ARG, "--break", "build/compile"], "where\n", tmp_path)
    assert "<EOF>" in run.out and "Cancelling the run." in run.out, run
    assert run.code != 0, run
    assert run.out.rstrip().endswith(f"Quit (exit code {run.code})."), run
    disconnect = run.messages("send", "request", "disconnect")
    assert disconnect and disconnect[0]["arguments"]["terminateDebuggee"] is True
    # the step never ran past the breakpoint (its cancellation may be logged)
    assert "[build/compile] compiling" not in run.out, run
    assert "Run succeeded" not in run.out, run
    assert_trace_valid(run)


async def test_on_failure_stops_with_the_failure(tmp_path: Path) -> None:
    run = await run_debug([str(FAILING), "--on-failure"], "info\nc\n", tmp_path)
    assert run.code == 1, run
    headers = stop_headers(run.out)
    assert len(headers) == 1, run
    assert headers[0].endswith("failing-task \u203a fail"), run
    assert headers[0].startswith("Stopped (exception)"), run
    assert "ExitCode:" in run.out and "about to fail" in run.out, run
    assert "\nstate=paused-failure\n" in run.out, run  # `info` shows the Step scope
    assert "this step must not run" not in run.out, run
    assert run.out.rstrip().endswith("Run failed (exit code 1)."), run
    assert_trace_valid(run)


async def test_shell_command_in_the_paused_step(tmp_path: Path) -> None:
    run = await run_debug([str(SINGLE), "--break", "greet"], "! echo hi-from-$WHO\nc\n", tmp_path)
    assert run.code == 0, run
    assert "\nhi-from-world\n" in run.out, run
    evaluate = run.messages("send", "request", "evaluate")
    assert evaluate[0]["arguments"]["context"] == "repl"
    assert_trace_valid(run)


async def test_breakpoint_added_while_stopped(tmp_path: Path) -> None:
    script = "b test/run-tests\nc\nwhere\nc\n"
    run = await run_debug([PIPELINE_ARG, "--break", "build/compile"], script, tmp_path)
    assert run.code == 0, run
    run_tests_line = line_of(UNIT_TEST, "- name: run-tests")
    shown = f"fixtures/tekton/build-pipeline/tasks/unit-test.yaml:{run_tests_line} (test/run-tests)"
    assert re.search(r"Breakpoint \d+ at " + re.escape(shown), run.out), run
    headers = stop_headers(run.out)
    assert [h.rsplit(": ", 1)[1] for h in headers] == ["build \u203a compile", "test \u203a run-tests"], run
    assert_trace_valid(run)


async def test_no_breakpoints_runs_to_the_end_without_reading_input(tmp_path: Path) -> None:
    run = await run_debug([PIPELINE_ARG], "", tmp_path)
    assert run.code == 0, run
    assert stop_headers(run.out) == [], run
    assert "[test/run-tests] args: ['--verbose', '--fail-fast']" in run.out, run
    assert "(pipeline)" not in run.out, run
    assert_trace_valid(run)


async def test_a_run_that_cannot_start(tmp_path: Path) -> None:
    run = await run_debug(["fixtures/tekton/bad/unknown-ref.yaml"], "", tmp_path)
    assert run.code == 2, run
    assert "pipeline-dap debug: cannot start: " in run.out, run
    assert "unknown-ref.yaml:" in run.out, run


async def test_a_bad_break_location(tmp_path: Path) -> None:
    run = await run_debug([PIPELINE_ARG, "--break", "build/nope"], "", tmp_path)
    assert run.code == 2, run
    assert "--break build/nope: task 'build' has no step 'nope' (steps: compile, package, digest)" in run.out, run


async def test_step_scope_shows_the_failed_exit_code(tmp_path: Path) -> None:
    run = await run_debug([str(FAILING), "--on-failure"], "info exitCode\nc\n", tmp_path)
    assert 'Step "fail" failed (exit code 3)' in run.out, run
    assert "\nexitCode=3\n" in run.out, run
