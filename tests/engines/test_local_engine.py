"""The local engine on real fixtures: events in order, failures, skips, pipelines, cleanup."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import pytest

from dap_server.engines.base import (
    EngineError,
    Output,
    PauseKind,
    Resume,
    RunEvent,
    RunFinished,
    StepFinished,
    StepPaused,
    StepRef,
    StepRunning,
    TaskFinished,
    TaskStarted,
)
from dap_server.engines.local.process import lines
from dap_server.engines.options import RunOptions

from .helpers import (
    ENGINE_FIXTURES,
    FIXTURES,
    EngineRun,
    eventually_async,
    load,
    processes_matching,
    release_all,
    run_to_end,
)


def shape(events: list[RunEvent], task_id: str | None = None) -> list[tuple[object, ...]]:
    """Events as short tuples (outputs left out), optionally of one task."""
    out: list[tuple[object, ...]] = []
    for e in events:
        if isinstance(e, TaskStarted) and task_id in (None, e.task_id):
            out.append(("task-started", e.display_name))
        elif isinstance(e, StepPaused) and task_id in (None, e.step.task_id):
            out.append(("paused", e.step.step_index, e.kind.value, e.exit_code))
        elif isinstance(e, StepRunning) and task_id in (None, e.step.task_id):
            out.append(("running", e.step.step_index))
        elif isinstance(e, StepFinished) and task_id in (None, e.step.task_id):
            out.append(("finished", e.step.step_index, e.exit_code, e.reason))
        elif isinstance(e, TaskFinished) and task_id in (None, e.task_id):
            out.append(("task-finished", e.succeeded, e.reason))
        elif isinstance(e, RunFinished) and task_id is None:
            out.append(("run-finished", e.succeeded, e.reason))
    return out


def pausing(**actions: Resume | None) -> object:
    """A policy: `before`/`after`/`failure` -> action for every step (default: release_all)."""

    def policy(event: StepPaused) -> Resume | None:
        if event.kind.value in actions:
            return actions[event.kind.value]
        return release_all(event)

    return policy


# ---- a lone Task ----------------------------------------------------------------------------


async def test_plain_run_of_a_task_events_in_order(tmp_path: Path) -> None:
    run = await run_to_end(FIXTURES / "single-task.yaml", debug=False, run_root=str(tmp_path))
    task_id = run.of(TaskStarted)[0].task_id
    assert task_id.startswith("single-task-run-") and len(task_id) == len("single-task-run-") + 5
    assert shape(run.events) == [
        ("task-started", "single-task"),
        ("running", 0),
        ("finished", 0, 0, "Completed"),
        ("running", 1),
        ("finished", 1, 0, "Completed"),
        ("running", 2),
        ("finished", 2, 0, "Completed"),
        ("task-finished", True, "Succeeded"),
        ("run-finished", True, "Succeeded"),
    ]
    outputs = [(e.step_index, e.category, e.text) for e in run.of(Output) if e.task_id == task_id]
    assert outputs == [
        (0, "stdout", "hello world\n"),
        (1, "stdout", "count 1 of 2\n"),
        (1, "stdout", "count 2 of 2\n"),
        (2, "stdout", "greeting=hello who=world\n"),
    ]
    # every output comes after its step's running event and before its finished event
    for index, event in enumerate(run.events):
        if isinstance(event, Output) and event.step_index is not None:
            before = run.events[:index]
            assert any(isinstance(e, StepRunning) and e.step.step_index == event.step_index for e in before)
            assert not any(isinstance(e, StepFinished) and e.step.step_index == event.step_index for e in before)
    assert 'TaskRun result "message": hello world\n' in run.output()
    assert os.listdir(tmp_path) == []  # close() removed the run folder


async def test_debug_run_pauses_before_and_after_every_step(tmp_path: Path) -> None:
    run = await run_to_end(FIXTURES / "single-task.yaml", run_root=str(tmp_path))
    steps = [t for t in shape(run.events) if t[0] in ("paused", "running", "finished")]
    expected: list[tuple[object, ...]] = []
    for i in range(3):
        expected += [
            ("paused", i, "before", None),
            ("running", i),
            ("paused", i, "after", 0),
            ("finished", i, 0, "Completed"),
        ]
    assert steps == expected
    # the after pause comes once the step's output is out; no protocol line leaks as output
    texts = run.output()
    assert "breakpoint has taken effect" not in texts and "1) continue" not in texts
    first_after = next(i for i, e in enumerate(run.events) if isinstance(e, StepPaused) and e.kind is PauseKind.AFTER)
    assert any(isinstance(e, Output) and e.text == "hello world\n" for e in run.events[:first_after])


async def test_failure_in_plain_mode_skips_the_rest() -> None:
    run = await run_to_end(FIXTURES / "failing-task.yaml", debug=False)
    task_id = run.of(TaskStarted)[0].task_id
    assert run.steps_finished(task_id) == [(0, "Completed"), (3, "Error"), (1, "Skipped")]
    assert run.of(StepPaused) == []
    assert "this step must not run" not in run.output()
    assert "about to fail\n" in run.output()
    finished = run.of(TaskFinished)[0]
    assert (finished.succeeded, finished.reason, finished.message) == (
        False,
        "Failed",
        '"step-fail" exited with code 3',
    )
    assert shape(run.events)[-1] == ("run-finished", False, "Failed")


async def test_failure_let_stand_in_debug_mode_skips_the_rest_without_a_pause() -> None:
    run = await run_to_end(FIXTURES / "failing-task.yaml")
    task_id = run.of(TaskStarted)[0].task_id
    assert shape(run.events, task_id)[-6:] == [
        ("paused", 1, "before", None),
        ("running", 1),
        ("paused", 1, "failure", 3),
        ("finished", 1, 3, "Error"),
        ("finished", 2, 1, "Skipped"),  # its before pause was released by the engine itself
        ("task-finished", False, "Failed"),
    ]
    failure = next(e for e in run.of(StepPaused) if e.kind is PauseKind.FAILURE)
    assert failure.reason == "ExitCode"
    assert "this step must not run" not in run.output()
    assert "Skipping" not in run.output()


async def test_failure_continued_counts_as_passed() -> None:
    run = await run_to_end(FIXTURES / "failing-task.yaml", pausing(failure=Resume.CONTINUE))
    task_id = run.of(TaskStarted)[0].task_id
    assert run.steps_finished(task_id) == [(0, "Completed"), (0, "Completed"), (0, "Completed")]
    assert "this step must not run" in run.output()
    assert shape(run.events)[-1] == ("run-finished", True, "Succeeded")


@pytest.mark.parametrize("debug", [False, True])
async def test_on_error_continue_keeps_the_real_code_and_goes_on(debug: bool) -> None:
    # in debug mode the failure pauses first; fail-continue must tolerate it like Tekton does
    run = await run_to_end(FIXTURES / "onerror-continue.yaml", debug=debug)
    task_id = run.of(TaskStarted)[0].task_id
    assert run.steps_finished(task_id) == [(1, "Completed"), (0, "Completed")]
    assert "still running after a tolerated failure" in run.output()
    assert shape(run.events)[-1] == ("run-finished", True, "Succeeded")
    if debug:
        assert [(e.step.step_index, e.exit_code) for e in run.of(StepPaused) if e.kind is PauseKind.FAILURE] == [(0, 1)]


async def test_before_step_fail_continue_skips_the_step_and_fails_the_task() -> None:
    policy = pausing(before=None)
    run = EngineRun(load(FIXTURES / "single-task.yaml"), RunOptions(), policy)
    await run.start()
    try:
        first = await run.wait_for(lambda e: isinstance(e, StepPaused))
        assert isinstance(first, StepPaused) and first.kind is PauseKind.BEFORE
        await run.engine.resume(first.step, PauseKind.BEFORE, Resume.FAIL_CONTINUE)
        await run.finish()
    finally:
        await run.engine.close()
    task_id = first.step.task_id
    assert run.steps_finished(task_id) == [(1, "Skipped"), (1, "Skipped"), (1, "Skipped")]
    assert [e.step.step_index for e in run.of(StepPaused)] == [0]  # later ones released by the engine
    assert run.of(StepRunning) == []
    finished = run.of(TaskFinished)[0]
    assert (finished.reason, finished.message) == (
        "Failed",
        '"step-greet" was not run: fail-continue before the step',
    )


async def test_after_step_fail_continue_fails_the_step() -> None:
    run = await run_to_end(FIXTURES / "single-task.yaml", pausing(after=Resume.FAIL_CONTINUE))
    task_id = run.of(TaskStarted)[0].task_id
    assert run.steps_finished(task_id) == [(1, "Error"), (1, "Skipped"), (1, "Skipped")]
    assert shape(run.events)[-1] == ("run-finished", False, "Failed")


async def test_resume_of_a_step_that_is_not_paused_is_an_error() -> None:
    run = EngineRun(load(FIXTURES / "single-task.yaml"), RunOptions(), policy=None)
    await run.start()
    try:
        first = await run.wait_for(lambda e: isinstance(e, StepPaused))
        assert isinstance(first, StepPaused)
        with pytest.raises(EngineError, match="not paused after"):
            await run.engine.resume(first.step, PauseKind.AFTER, Resume.CONTINUE)
        with pytest.raises(EngineError):
            await run.engine.resume(StepRef("no-such-task", 0), PauseKind.BEFORE, Resume.CONTINUE)
    finally:
        await run.engine.close()


async def test_taskrun_params_and_launch_params() -> None:
    run = await run_to_end(FIXTURES / "taskrun-embedded.yaml")
    assert run.of(TaskStarted)[0].task_id == "embedded-run"
    assert "hello pipeline-dap\n" in run.output()
    assert 'TaskRun result "length": 12\n' in run.output()
    run = await run_to_end(FIXTURES / "taskrun-embedded.yaml", debug=False, params={"name": "override"})
    assert "hello override\n" in run.output() and "length 8\n" in run.output()


async def test_missing_required_param_fails_at_start_and_leaves_nothing(tmp_path: Path) -> None:
    engine = EngineRun(load(ENGINE_FIXTURES / "environment.yaml"), RunOptions(run_root=str(tmp_path))).engine
    with pytest.raises(EngineError, match='param "required-one" has no value and no default'):
        await engine.start(lambda event: None)
    await engine.close()
    assert os.listdir(tmp_path) == []


async def test_wrong_param_type_is_an_error() -> None:
    engine = EngineRun(load(FIXTURES / "single-task.yaml"), RunOptions(params={"who": ["a", "b"]})).engine
    with pytest.raises(EngineError, match='param "who" is of type string but was given an array'):
        await engine.start(lambda event: None)
    await engine.close()


# ---- inspecting a paused step -----------------------------------------------------------------


async def test_inspect_set_result_exec_and_shell_while_paused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    options = RunOptions(params={"required-one": "yes", "config": {"port": "8080"}}, workspaces={"data": str(data)})
    run = EngineRun(load(ENGINE_FIXTURES / "environment.yaml"), options, policy=pausing(after=None))
    await run.start()
    try:
        paused = await run.wait_for(lambda e: isinstance(e, StepPaused) and e.kind is PauseKind.AFTER)
        assert isinstance(paused, StepPaused)
        view = run.engine.inspect(paused.step)
        task_id = paused.step.task_id
        assert (view.name, view.container, view.pod) == ("show", "step-show", f"{task_id}-pod")
        assert view.state == "paused-after" and view.exit_code is None
        assert view.image == "alpine:3.20" and view.script is not None and view.command == []
        assert view.env["WHO"] == "world" and view.env["ENDPOINT"] == "localhost:8080"
        assert view.env["POD"] == f"{task_id}-pod" and "TOKEN" not in view.env
        assert view.env["ODD"] == "$(params.nope)"  # unresolvable: left as written (and warned)
        assert os.path.isdir(view.env["HOME"]) and set(view.env) == {"HOME", "WHO", "ENDPOINT", "POD", "ODD"}
        assert view.params["config"] == {"host": "localhost", "port": "8080"} and view.params["who"] == "world"
        assert view.results == {"answer": "42"}
        assert view.workspaces == {"data": str(data)}
        assert view.working_dir.endswith(os.path.join(task_id, "workspace", "sub", "dir"))
        assert view.started_at is not None and view.started_at.endswith("Z") and view.finished_at is None
        output = run.output(task_id)
        assert "who=world endpoint=localhost:8080 token=unset" in output
        assert f"pod={task_id}-pod required=yes" in output and f"pwd={view.working_dir}" in output
        assert f"data={data} bound=true" in output
        warnings = [e.text for e in run.of(Output) if e.category == "console" and e.task_id == task_id]
        assert any('env "TOKEN" comes from Secret "creds" key "token"' in w for w in warnings)
        assert any("$(params.nope) cannot be resolved" in w for w in warnings)

        result = await run.engine.exec(paused.step, ["sh", "-c", 'echo "$WHO in $(pwd)"; exit 3'])
        assert (result.exit_code, result.output) == (3, f"world in {view.working_dir}\n")
        token = f"{uuid.uuid4().int % 10**6}.5"
        result = await run.engine.exec(paused.step, ["sh", "-c", f"sleep 1{token} & echo background"])
        assert (result.exit_code, result.output) == (0, "background\n")  # not held by the job's pipe
        assert processes_matching(token) == []
        argv, cwd, env = run.engine.shell_command(paused.step) or ([], "", {})
        assert argv and cwd == view.working_dir and env["WHO"] == "world" and "PATH" in env

        await run.engine.set_result(paused.step, "answer", "changed")
        assert run.engine.inspect(paused.step).results == {"answer": "changed"}
        with pytest.raises(EngineError, match='declares no result "nope"'):
            await run.engine.set_result(paused.step, "nope", "x")
        await run.engine.resume(paused.step, PauseKind.AFTER, Resume.CONTINUE)
        nxt = await run.wait_for(
            lambda e: isinstance(e, StepPaused) and e.kind is PauseKind.AFTER and e.step.step_index == 1
        )
        assert isinstance(nxt, StepPaused)
        assert "answer=changed\n" in run.output(task_id)
        done = run.engine.inspect(paused.step)
        assert (done.state, done.exit_code) == ("terminated", 0) and done.finished_at is not None
        await run.engine.resume(nxt.step, PauseKind.AFTER, Resume.CONTINUE)
        await run.finish()
    finally:
        await run.engine.close()
    assert data.is_dir()  # the user's folder stays


# ---- pipelines ----------------------------------------------------------------------------------


async def test_build_pipeline_results_between_tasks_finally_and_shared_workspace() -> None:
    run = await run_to_end(FIXTURES / "build-pipeline" / "run.yaml", debug=False)
    started = [e.pipeline_task for e in run.of(TaskStarted)]
    assert started[0] == "fetch" and set(started[1:3]) == {"build", "lint"} and started[3:] == ["test", "report"]
    pr_name = run.task("fetch").removesuffix("-fetch")
    assert pr_name.startswith("build-and-test-run-")
    assert {e.task_id for e in run.of(TaskStarted)} == {f"{pr_name}-{t}" for t in started}
    digest_line = next(line for line in run.output(run.task("build")).splitlines() if line.startswith("digest: "))
    digest = digest_line.removeprefix("digest: ")
    assert len(digest) == 64
    assert f"testing package {digest}\n" in run.output(run.task("test"))
    assert "args: ['--verbose', '--no-cache']\n" in run.output(run.task("test"))  # run params, array expanded
    assert "compiling with flavour debug\n" in run.output(run.task("build"))
    assert run.output(run.task("report")) == f"build: Succeeded\ndigest: {digest}\n"
    assert all(e.succeeded for e in run.of(TaskFinished))
    assert shape(run.events)[-1] == ("run-finished", True, "Succeeded")
    # each task's events are ordered: started, steps, finished
    for task_id in {e.task_id for e in run.of(TaskStarted)}:
        own = shape(run.events, task_id)
        assert own[0][0] == "task-started" and own[-1][0] == "task-finished"


async def test_parallel_tasks_run_at_the_same_time() -> None:
    run = await run_to_end(ENGINE_FIXTURES / "parallel.yaml", debug=False)
    assert "left met right\n" in run.output() and "right met left\n" in run.output()
    assert shape(run.events)[-1] == ("run-finished", True, "Succeeded")


async def test_parallel_tasks_pause_independently_in_debug_mode() -> None:
    """Both tasks paused before their step at once: two threads stopped together."""
    run = EngineRun(load(ENGINE_FIXTURES / "parallel.yaml"), RunOptions(), policy=pausing(before=None))
    await run.start()
    try:
        await run.wait_for(lambda e: len([p for p in run.of(StepPaused) if p.kind is PauseKind.BEFORE]) == 2)
        paused = [p for p in run.of(StepPaused) if p.kind is PauseKind.BEFORE]
        assert {p.step.task_id for p in paused} == {run.task("left"), run.task("right")}
        for p in paused:
            await run.engine.resume(p.step, PauseKind.BEFORE, Resume.CONTINUE)
        assert (await run.finish()).succeeded
    finally:
        await run.engine.close()


async def test_finally_runs_after_a_failure_and_sees_statuses() -> None:
    run = await run_to_end(ENGINE_FIXTURES / "finally-after-failure.yaml", debug=False)
    assert [e.pipeline_task for e in run.of(TaskStarted)] == ["ok", "broken", "summary"]
    assert run.task_finished("-broken").reason == "Failed"
    skipped = {e.task_id.rsplit("-run-", 1)[1][6:]: e.message for e in run.of(TaskFinished) if e.reason == "Skipped"}
    assert skipped == {"after-broken": "PipelineRun was stopping", "uses-result": "Results were missing"}
    assert "ok=Succeeded broken=Failed all=Failed word=hello\n" in run.output(run.task("summary"))
    assert "must not run" not in run.output()
    finished = run.run_finished
    assert (finished.succeeded, finished.reason) == (False, "Failed")
    assert finished.message == "Tasks Completed: 3 (Failed: 1, Cancelled 0), Skipped: 2"


async def test_when_expressions_and_skipping_like_tekton() -> None:
    run = await run_to_end(ENGINE_FIXTURES / "when-and-results.yaml", debug=False)
    assert run.skipped() == {
        "gate": "When Expressions evaluated to false",
        "needs-gate": "Results were missing",
        "needs-needs": "Parent Tasks were skipped",
    }
    assert {e.pipeline_task for e in run.of(TaskStarted)} == {"after-gate", "chooser", "chosen"}
    assert "after gate\n" in run.output() and "colour blue\n" in run.output()
    assert shape(run.events)[-1] == ("run-finished", True, "Completed")
    run = await run_to_end(ENGINE_FIXTURES / "when-and-results.yaml", debug=False, params={"mode": "slow"})
    assert "got gated\n" in run.output() and "must not run\n" in run.output()
    assert shape(run.events)[-1] == ("run-finished", True, "Succeeded")


async def test_matrix_fans_out_and_collects_results() -> None:
    run = await run_to_end(ENGINE_FIXTURES / "matrix.yaml", debug=False)
    fanned = [(e.display_name, e.instance) for e in run.of(TaskStarted) if e.pipeline_task == "build"]
    assert fanned == [("build [0]", 0), ("build [1]", 1), ("build [2]", 2)]
    for index, target in enumerate(["linux/amd64", "mac/amd64", "windows/arm64"]):
        task_id = next(e.task_id for e in run.of(TaskStarted) if e.instance == index)
        assert task_id.endswith(f"-build-{index}")
        assert run.output(task_id) == f"building {target}\n"
    assert "ids: linux-amd64 mac-amd64 windows-arm64\n" in run.output(run.task("collect"))


async def test_timeouts_step_and_task_even_while_paused() -> None:
    # the task-timeout step stays paused before its step: the TaskRun timeout still fires
    def policy(event: StepPaused) -> Resume | None:
        if "task-timeout" in event.step.task_id:
            return None
        return release_all(event)

    run = await run_to_end(ENGINE_FIXTURES / "timeouts.yaml", policy)
    step_task = run.task("step-timeout")
    assert run.steps_finished(step_task) == [(1, "TimeoutExceeded"), (1, "Skipped")]
    assert run.task_finished("-step-timeout").message == (
        '"step-slow" exited because the step exceeded the specified timeout limit'
    )
    timed_out = run.task_finished("-task-timeout")
    assert (timed_out.reason, timed_out.message) == (
        "TaskRunTimeout",
        f'TaskRun "{run.task("task-timeout")}" failed to finish within "1s"',
    )
    assert run.steps_finished(run.task("task-timeout")) == [(9, "TaskRunTimeout")]
    assert "must not run" not in run.output()
    assert shape(run.events)[-1] == ("run-finished", False, "Failed")


async def test_pipeline_timeout_ends_everything_and_skips_finally(tmp_path: Path) -> None:
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(
        (ENGINE_FIXTURES / "finally-after-failure.yaml").read_text().replace('echo "breaking" >&2', "sleep 30")
    )
    run = await run_to_end(pipeline, debug=False, timeout=1.0)
    assert run.task_finished("-broken").reason == "TaskRunTimeout"
    finally_skips = {e.message for e in run.of(TaskFinished) if e.task_id.endswith(("-summary", "-uses-result"))}
    assert finally_skips == {"PipelineRun timeout has been reached"}
    assert (run.run_finished.succeeded, run.run_finished.reason) == (False, "PipelineRunTimeout")


# ---- cancel and cleanup --------------------------------------------------------------------------


async def test_cancel_while_paused_leaves_no_process_and_no_folder(tmp_path: Path) -> None:
    """Paused after a step that left a process behind (it lives until its step ends, as in a
    container), the next step waiting: cancel ends them all and removes nothing but ours."""
    token = f"{uuid.uuid4().int % 10**6}.5"
    task = tmp_path / "task.yaml"
    task.write_text(
        f"""
apiVersion: tekton.dev/v1
kind: Task
metadata: {{name: sleepy}}
spec:
  steps:
    - {{name: background, image: x, script: "sleep 1{token} & echo started"}}
    - {{name: never, image: x, command: ["true"]}}
"""
    )
    root = tmp_path / "runs"
    run = EngineRun(load(task), RunOptions(run_root=str(root)), pausing(after=None))
    await run.start()
    try:
        await run.wait_for(lambda e: isinstance(e, StepPaused) and e.kind is PauseKind.AFTER)
        assert len(processes_matching(token, "sleep ")) == 1
        folder = run.engine.folder
        assert folder is not None and len(processes_matching(folder)) == 2  # the two supervisors
        await run.engine.cancel()
        assert run.finished.is_set()
        assert processes_matching(token) == [] and processes_matching(folder) == []
        task_id = run.of(TaskStarted)[0].task_id
        assert run.steps_finished(task_id) == [(9, "Cancelled"), (9, "Cancelled")]
        finished = run.of(TaskFinished)[0]
        assert (finished.succeeded, finished.reason) == (False, "Cancelled")
        assert (run.run_finished.succeeded, run.run_finished.reason) == (False, "Cancelled")
        assert run.output(task_id).count("Step was cancelled") == 1  # the waiting step says nothing
    finally:
        await run.engine.close()
    assert run.engine.folder is None and os.listdir(root) == []


async def test_cancel_of_a_running_pipeline(tmp_path: Path) -> None:
    token = f"{uuid.uuid4().int % 10**6}.25"
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(
        (ENGINE_FIXTURES / "finally-after-failure.yaml").read_text().replace('echo "breaking" >&2', f"sleep 3{token}")
    )
    run = EngineRun(load(pipeline), RunOptions(debug=False, run_root=str(tmp_path / "runs")))
    await run.start()
    try:
        await eventually_async(lambda: bool(processes_matching(token, "sleep ")), what="the sleeping step")
        await run.engine.cancel()
        assert processes_matching(token) == []
        assert run.task_finished("-broken").reason == "Cancelled"
        skipped = {e.message for e in run.of(TaskFinished) if e.reason == "Skipped"}
        assert skipped == {"PipelineRun was cancelled"}
        assert run.run_finished.reason == "Cancelled"
    finally:
        await run.engine.close()
    assert os.listdir(tmp_path / "runs") == []


async def test_unbound_workspaces_live_in_the_run_folder_and_go_at_close(tmp_path: Path) -> None:
    run = EngineRun(load(ENGINE_FIXTURES / "parallel.yaml"), RunOptions(debug=False, run_root=str(tmp_path)))
    await run.start()
    try:
        await run.finish()
        folder = run.engine.folder
        assert folder is not None
        assert sorted(os.listdir(os.path.join(folder, "workspaces", "shared"))) == ["left", "right"]
    finally:
        await run.engine.close()
        await run.engine.close()  # idempotent
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("escape", ["set -m;", "setsid"])
async def test_a_process_that_escapes_its_step_does_not_hang_the_task(tmp_path: Path, escape: str) -> None:
    """A background job in its own process group (`set -m`) or session (`setsid`) keeps the
    step's pipes open after the step: the task still ends; what stays in the step's session
    is killed (a process that made its own session is out of reach, as on any host)."""
    token = f"{uuid.uuid4().int % 10**6}.75"
    script = (
        f"set -m; sleep 3{token} & echo started" if escape == "set -m;" else f"setsid sleep 3{token} & echo started"
    )
    task = tmp_path / "task.yaml"
    task.write_text(
        "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: escape}\nspec:\n  steps:\n"
        f"    - {{name: bg, image: x, script: '{script}'}}\n    - {{name: next, image: x, script: echo next}}\n"
    )
    try:
        run = await run_to_end(task, debug=False)
        assert shape(run.events)[-1] == ("run-finished", True, "Succeeded")
        assert run.output().count("started\n") == 1 and "next\n" in run.output()
        if escape == "set -m;":
            assert processes_matching(token) == []
    finally:
        for pid in processes_matching(token):
            os.kill(pid, 9)


async def test_multi_document_file_v1beta1_step_template_and_context() -> None:
    run = await run_to_end(FIXTURES / "multi-doc.yaml", debug=False)
    assert run.output(run.task("prepare")).startswith("hello from prepare\n")  # $(context.task.name)
    assert run.output(run.task("check")) == "quick check\n"  # v1beta1, env from its stepTemplate
    assert run.output(run.task("finish")) == "first in /tmp\nmerged in /tmp\n"  # a host path stays a host path
    assert run.output(run.task("inline")) == "embedded in the pipeline\n"
    assert (run.run_finished.succeeded, run.run_finished.reason) == (True, "Succeeded")


async def test_tasks_timeout_still_runs_finally(tmp_path: Path) -> None:
    run_file = tmp_path / "run.yaml"
    run_file.write_text(
        """
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: slow-run}
spec:
  timeouts: {tasks: 1s}
  pipelineSpec:
    tasks:
      - name: slow
        taskSpec:
          steps: [{name: wait, image: x, command: [sleep, "30"]}]
      - name: later
        runAfter: [slow]
        taskSpec:
          steps: [{name: never, image: x, script: echo never}]
    finally:
      - name: cleanup
        taskSpec:
          steps: [{name: tidy, image: x, script: echo tidy}]
"""
    )
    run = await run_to_end(run_file, debug=False)
    assert run.task("slow") == "slow-run-slow"
    assert run.task_finished("-slow").reason == "TaskRunTimeout"
    assert run.skipped() == {"later": "PipelineRun Tasks timeout has been reached"}
    assert run.output(run.task("cleanup")) == "tidy\n"
    assert (run.run_finished.succeeded, run.run_finished.reason) == (False, "PipelineRunTimeout")


async def test_long_lines_come_in_pieces_and_a_last_line_gets_its_newline() -> None:
    stream = asyncio.StreamReader(limit=16)
    stream.feed_data(b"short\n" + b"x" * 40 + b"\n")
    stream.feed_data(b"y" * 40)
    stream.feed_data(b"\nend")
    stream.feed_eof()
    pieces = [piece async for piece in lines(stream)]
    assert pieces[0] == "short\n" and pieces[-1] == "end\n"
    assert all(p.endswith("\n") and p.count("\n") == 1 for p in pieces)
    assert "".join(pieces).replace("\n", "") == "short" + "x" * 40 + "y" * 40 + "end"


async def test_tasks_timeout_does_not_cover_finally(tmp_path: Path) -> None:
    run_file = tmp_path / "run.yaml"
    run_file.write_text(
        """
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: quick-run}
spec:
  timeouts: {tasks: 500ms}
  pipelineSpec:
    tasks:
      - {name: quick, taskSpec: {steps: [{name: s, image: x, script: echo quick}]}}
    finally:
      - {name: slow-finally, taskSpec: {steps: [{name: s, image: x, script: sleep 1; echo done}]}}
"""
    )
    run = await run_to_end(run_file, debug=False)
    assert run.output(run.task("slow-finally")) == "done\n"
    assert (run.run_finished.succeeded, run.run_finished.reason) == (True, "Succeeded")


async def test_a_result_its_succeeded_producer_did_not_write_fails_the_run(tmp_path: Path) -> None:
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(
        """
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: forgetful}
spec:
  tasks:
    - name: producer
      taskSpec:
        results: [{name: value}]
        steps: [{name: s, image: x, script: echo forgot to write the result}]
    - name: consumer
      params: [{name: v, value: $(tasks.producer.results.value)}]
      taskSpec:
        params: [{name: v}]
        steps: [{name: s, image: x, script: echo never}]
"""
    )
    run = await run_to_end(pipeline, debug=False)
    consumer = run.task_finished("-consumer")
    assert (consumer.succeeded, consumer.reason) == (False, "Failed")
    assert consumer.message == "Invalid task result reference: Could not find result with name value for task producer"
    assert [e.pipeline_task for e in run.of(TaskStarted)] == ["producer"]
    assert (run.run_finished.succeeded, run.run_finished.reason) == (False, "InvalidTaskResultReference")
