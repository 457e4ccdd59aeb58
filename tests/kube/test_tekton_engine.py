"""The Tekton engine through the official client against the test API (tests/kube/tekton.py)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
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
    StepRunning,
    TaskFinished,
    TaskStarted,
)
from dap_server.engines.options import RunOptions
from dap_server.engines.tekton import TektonEngine, create_tekton_engine
from dap_server.sources import SourceSet
from dap_server.sources.model import Document
from tests.kube.cluster import Cluster

pytestmark = pytest.mark.timeout(40)

ROOT = Path(__file__).resolve().parents[2]
TEKTON = ROOT / "fixtures" / "tekton"
RUN_TIMEOUT = 20.0


def load(name: str, obj: str | None = None) -> Document:
    path = str(TEKTON / name)
    sources = SourceSet([os.path.dirname(path)])
    document = sources.select(path, obj)
    sources.resolve(document)
    return document


class Recorder:
    """Collects events; answers pauses like a session without breakpoints would (or with `policy`)."""

    def __init__(self, engine: TektonEngine, policy: Callable[[StepPaused], Resume | None] | None = None) -> None:
        self.engine = engine
        self.events: list[RunEvent] = []
        self.finished = asyncio.Event()
        self.policy = policy or (lambda e: Resume.FAIL_CONTINUE if e.kind is PauseKind.FAILURE else Resume.CONTINUE)
        self.tasks: set[asyncio.Future[None]] = set()
        self.paused = asyncio.Event()

    def __call__(self, event: RunEvent) -> None:
        self.events.append(event)
        if isinstance(event, StepPaused):
            action = self.policy(event)
            if action is None:
                self.paused.set()
            else:
                self.tasks.add(asyncio.ensure_future(self.engine.resume(event.step, event.kind, action)))
        if isinstance(event, RunFinished):
            self.finished.set()

    def shape(self) -> list[tuple[object, ...]]:
        out: list[tuple[object, ...]] = []
        for e in self.events:
            if isinstance(e, StepPaused):
                out.append(("paused", e.step.step_index, e.kind.value))
            elif isinstance(e, StepRunning):
                out.append(("running", e.step.step_index))
            elif isinstance(e, StepFinished):
                out.append(("finished", e.step.step_index, e.exit_code, e.reason))
            elif isinstance(e, TaskFinished):
                out.append(("task", e.succeeded, e.reason))
            elif isinstance(e, RunFinished):
                out.append(("run", e.succeeded, e.reason))
            elif isinstance(e, TaskStarted):
                out.append(("started", e.step_names))
        return out

    def output(self, step: int) -> list[str]:
        return [e.text for e in self.events if isinstance(e, Output) and e.step_index == step]


def requests(cluster: Cluster, method: str, part: str) -> list[tuple[str, str, str]]:
    return [r for r in cluster.api.counts if r[0] == method and part in r[1]]


async def run(cluster: Cluster, document: Document, **options: object) -> tuple[TektonEngine, Recorder]:
    engine = create_tekton_engine(document, RunOptions(kubeconfig=cluster.kubeconfig, **options))  # type: ignore[arg-type]
    assert isinstance(engine, TektonEngine)
    recorder = Recorder(engine)
    await asyncio.wait_for(engine.start(recorder), 10)
    return engine, recorder


async def test_single_task_events_in_order_and_request_count(cluster: Cluster) -> None:
    engine, rec = await run(cluster, load("single-task.yaml"))
    try:
        await asyncio.wait_for(rec.finished.wait(), RUN_TIMEOUT)
    finally:
        await engine.close()
    assert rec.shape() == [
        ("started", ("greet", "count", "echo-args")),
        ("paused", 0, "before"),
        ("running", 0),
        ("finished", 0, 0, "Completed"),
        ("paused", 1, "before"),
        ("running", 1),
        ("finished", 1, 0, "Completed"),
        ("paused", 2, "before"),
        ("running", 2),
        ("finished", 2, 0, "Completed"),
        ("task", True, "Succeeded"),
        ("run", True, "Succeeded"),
    ]
    assert rec.output(0) == ["hello world\n"]
    assert rec.output(1) == ["count 1 of 2\n", "count 2 of 2\n"]
    assert rec.output(2) == ["greeting=hello who=world\n"]
    assert any(isinstance(e, Output) and e.text == 'TaskRun result "message": hello world\n' for e in rec.events)
    # what was submitted: the translated debug spec, no timeout, the Task embedded
    (taskrun,) = cluster.api.objects_of("taskruns")
    assert taskrun["spec"]["debug"] == {
        "breakpoints": {"onFailure": "enabled", "beforeSteps": ["greet", "count", "echo-args"]}
    }
    assert taskrun["spec"]["timeout"] == "0s"
    # requests: 3 paused-and-resumed steps cost one log follow and one exec each; the rest is
    # fixed (feature-flags, create, two watches); nothing polls
    logs = requests(cluster, "GET", "/log")
    execs = requests(cluster, "GET", "/exec")
    assert len(logs) == 3 and len(execs) == 3
    per_run = [r for r in cluster.api.counts if "/log" not in r[1] and "/exec" not in r[1]]
    assert len(per_run) == 4, per_run
    assert len(cluster.api.counts) <= 4 + 3 * 2


async def test_failing_task_skips_the_steps_after_the_failure(cluster: Cluster) -> None:
    engine, rec = await run(cluster, load("failing-task.yaml"))
    try:
        await asyncio.wait_for(rec.finished.wait(), RUN_TIMEOUT)
    finally:
        await engine.close()
    assert rec.shape() == [
        ("started", ("prepare", "fail", "never")),
        ("paused", 0, "before"),
        ("running", 0),
        ("finished", 0, 0, "Completed"),
        ("paused", 1, "before"),
        ("running", 1),
        ("paused", 1, "failure"),
        ("finished", 1, 1, "Error"),
        ("finished", 2, 1, "Skipped"),
        ("task", False, "Failed"),
        ("run", False, "Failed"),
    ]
    assert rec.output(1) == ["about to fail\n"]
    assert rec.output(2) == []  # "this step must not run", and the skip line is the engine's own


async def test_continue_after_failure_counts_as_passed(cluster: Cluster) -> None:
    def policy(event: StepPaused) -> Resume:
        return Resume.CONTINUE

    document = load("failing-task.yaml")
    engine = create_tekton_engine(document, RunOptions(kubeconfig=cluster.kubeconfig))
    assert isinstance(engine, TektonEngine)
    rec = Recorder(engine, policy)
    await engine.start(rec)
    try:
        await asyncio.wait_for(rec.finished.wait(), RUN_TIMEOUT)
    finally:
        await engine.close()
    shape = rec.shape()
    assert ("finished", 1, 0, "Completed") in shape
    assert ("finished", 2, 0, "Completed") in shape
    assert shape[-1] == ("run", True, "Succeeded")
    assert rec.output(2) == ["this step must not run\n"]


async def test_cancel_while_paused_leaves_no_process_and_no_pod(cluster: Cluster) -> None:
    document = load("single-task.yaml")
    engine = create_tekton_engine(document, RunOptions(kubeconfig=cluster.kubeconfig))
    assert isinstance(engine, TektonEngine)
    rec = Recorder(engine, lambda e: None if e.step.step_index == 1 else Resume.CONTINUE)
    await engine.start(rec)
    await asyncio.wait_for(rec.paused.wait(), RUN_TIMEOUT)
    view = engine.inspect(rec.events[-1].step)  # type: ignore[attr-defined]
    assert view.container == "step-count" and view.state == "paused-before"
    assert view.extra["node"] == "test-node" and view.extra["imageDigest"].startswith("test.io/step-count@sha256:")
    await asyncio.wait_for(engine.cancel(), 20)
    await engine.close()
    assert cluster.tekton.processes() == []
    assert cluster.api.objects_of("pods") == []
    (taskrun,) = cluster.api.objects_of("taskruns")
    assert taskrun["spec"]["status"] == "TaskRunCancelled"
    shape = rec.shape()
    assert shape[-2:] == [("task", False, "Cancelled"), ("run", False, "Cancelled")]
    assert ("finished", 1, 9, "Cancelled") in shape, shape  # the paused step: the entrypoint's cancel code
    # the step that never started may be killed before its supervisor has a SIGTERM handler
    # (a loaded machine): then its code is the signal's, but it is still reported as cancelled
    (step2,) = [s for s in shape if s[:2] == ("finished", 2)]
    assert step2[3] == "Cancelled" and step2[2] in (9, 128 + 15), shape


async def test_alpha_api_fields_are_required(cluster: Cluster) -> None:
    await cluster.tekton.install("beta")
    engine = create_tekton_engine(load("single-task.yaml"), RunOptions(kubeconfig=cluster.kubeconfig))
    with pytest.raises(EngineError, match='enable-api-fields: "beta"'):
        await asyncio.wait_for(engine.start(lambda e: None), 10)
    await engine.close()
    assert cluster.api.objects_of("taskruns") == []


def test_pipelines_are_refused() -> None:
    document = load("build-pipeline/pipeline.yaml")
    with pytest.raises(EngineError, match=r"does not pass spec\.debug from a PipelineRun"):
        create_tekton_engine(document, RunOptions())


async def test_transient_errors_and_410_gone_are_survived(cluster: Cluster) -> None:
    """A 503 on create is retried; watches cut mid-run come back, and a 410 Gone on the
    resumed watch makes the engine start the watch afresh."""
    cluster.api.fail_next("POST", "/taskruns", 503)
    cluster.api.fail_next("GET", "/feature-flags", 500)
    document = load("single-task.yaml")
    engine = create_tekton_engine(document, RunOptions(kubeconfig=cluster.kubeconfig))
    assert isinstance(engine, TektonEngine)
    rec = Recorder(engine, lambda e: None if e.step.step_index == 1 else Resume.CONTINUE)
    await asyncio.wait_for(engine.start(rec), 10)
    await asyncio.wait_for(rec.paused.wait(), RUN_TIMEOUT)
    cluster.api.compacted_before = cluster.api.rv + 1
    cluster.api.drop_watches()
    step = next(e.step for e in rec.events if isinstance(e, StepPaused) and e.step.step_index == 1)
    await engine.resume(step, PauseKind.BEFORE, Resume.CONTINUE)
    try:
        await asyncio.wait_for(rec.finished.wait(), RUN_TIMEOUT)
    finally:
        await engine.close()
    assert rec.shape()[-1] == ("run", True, "Succeeded")
    watches = [r for r in cluster.api.counts if "watch=true" in r[2]]
    assert any("resourceVersion=" in r[2] for r in watches)  # resumed from where it was
    assert len(watches) >= 6  # two at start, two resumed (410), two afresh


async def test_a_log_cut_while_paused_is_followed_again_without_loss_or_repeat(cluster: Cluster) -> None:
    """Every open log follow is cut while step 1 is paused: the engine follows again, the
    pause lines are not taken for a second pause, the pause still resumes, and each line of
    every step arrives exactly once."""
    document = load("single-task.yaml")
    engine = create_tekton_engine(document, RunOptions(kubeconfig=cluster.kubeconfig))
    assert isinstance(engine, TektonEngine)
    rec = Recorder(engine, lambda e: None if e.step.step_index == 1 else Resume.CONTINUE)
    await asyncio.wait_for(engine.start(rec), 10)
    await asyncio.wait_for(rec.paused.wait(), RUN_TIMEOUT)
    follows = len(requests(cluster, "GET", "/log"))
    cluster.api.drop_logs()
    # the cut streams are followed again (step-count and step-echo-args still run)
    while len(requests(cluster, "GET", "/log")) < follows + 2:
        await asyncio.sleep(0.05)
    step = next(e.step for e in rec.events if isinstance(e, StepPaused) and e.step.step_index == 1)
    await engine.resume(step, PauseKind.BEFORE, Resume.CONTINUE)
    try:
        await asyncio.wait_for(rec.finished.wait(), RUN_TIMEOUT)
    finally:
        await engine.close()
    assert rec.shape() == [
        ("started", ("greet", "count", "echo-args")),
        ("paused", 0, "before"),
        ("running", 0),
        ("finished", 0, 0, "Completed"),
        ("paused", 1, "before"),
        ("running", 1),
        ("finished", 1, 0, "Completed"),
        ("paused", 2, "before"),
        ("running", 2),
        ("finished", 2, 0, "Completed"),
        ("task", True, "Succeeded"),
        ("run", True, "Succeeded"),
    ]
    assert rec.output(0) == ["hello world\n"]
    assert rec.output(1) == ["count 1 of 2\n", "count 2 of 2\n"]
    assert rec.output(2) == ["greeting=hello who=world\n"]
