"""The local Argo engine with real processes: events, threads per pod node, params, failure, onExit."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

import pytest

from dap_server.engines.base import (
    Output,
    PauseKind,
    Resume,
    RunEvent,
    RunFinished,
    StepFinished,
    StepPaused,
    TaskFinished,
    TaskStarted,
)
from dap_server.engines.local.argo import create_argo_local_engine
from dap_server.engines.local.argo.expressions import ExpressionError, depends_terms, evaluate
from dap_server.engines.options import RunOptions
from dap_server.sources import SourceSet

from .helpers import FIXTURES, fixture

Decide = Callable[[StepPaused], Resume]


def release_all(event: StepPaused) -> Resume:
    return Resume.FAIL_CONTINUE if event.kind is PauseKind.FAILURE else Resume.CONTINUE


async def run(path: str, debug: bool = True, decide: Decide = release_all, **params: str) -> list[RunEvent]:
    sources = SourceSet([os.path.dirname(path)])
    doc = sources.select(path)
    sources.resolve(doc)
    engine = create_argo_local_engine(doc, RunOptions(debug=debug, params=dict(params)))
    events: list[RunEvent] = []
    done = asyncio.Event()
    resumes: list[asyncio.Future[None]] = []

    def sink(event: RunEvent) -> None:
        events.append(event)
        if isinstance(event, StepPaused):
            resumes.append(asyncio.ensure_future(engine.resume(event.step, event.kind, decide(event))))
        if isinstance(event, RunFinished):
            done.set()

    await engine.start(sink)
    try:
        await asyncio.wait_for(done.wait(), 60)
    finally:
        await engine.close()
    return events


def started(events: list[RunEvent]) -> list[TaskStarted]:
    return [e for e in events if isinstance(e, TaskStarted)]


def output(events: list[RunEvent]) -> list[str]:
    return sorted(e.text.strip() for e in events if isinstance(e, Output) and e.category == "stdout")


def finished(events: list[RunEvent]) -> RunFinished:
    last = events[-1]
    assert isinstance(last, RunFinished)
    return last


async def test_diamond_threads_frames_and_pauses() -> None:
    events = await run(fixture("dag-diamond.yaml"), greeting="hi")
    tasks = started(events)
    names = [t.display_name.split(".", 1)[1] for t in tasks]
    assert names[0] == "a" and sorted(names[1:3]) == ["b", "c"] and names[3] == "d"
    a = tasks[0]
    assert a.pipeline_task == "a" and a.step_names == ("main",) and a.instance is None
    assert a.steps[0].span.line == 40
    assert [(name, span.line) for name, span in a.frames] == [("a", 16), ("diamond", 13)]
    assert output(events) == ["b", "c", "d", "hi from a"]
    pauses = [(e.step.task_id, e.kind) for e in events if isinstance(e, StepPaused)]
    assert [k for t, k in pauses if t == a.task_id] == [PauseKind.BEFORE, PauseKind.AFTER]
    assert finished(events).succeeded


async def test_no_debug_runs_without_pauses() -> None:
    events = await run(fixture("nested-steps.yaml"), debug=False)
    assert not [e for e in events if isinstance(e, StepPaused)]
    assert [t.display_name for t in started(events)] == [
        "nested[0].prepare",
        "nested[1].left",
        "nested[1].right[0].one",
        "nested[1].right[1].two",
        "nested[2].finish",
    ] or sorted(t.display_name for t in started(events))[1:3] == ["nested[1].left", "nested[1].right[0].one"]
    inner = next(t for t in started(events) if t.display_name.endswith("one"))
    assert [name for name, _ in inner.frames] == ["one", "inner", "right", "main"]
    assert finished(events).succeeded


async def test_fan_out_each_item_its_own_thread() -> None:
    events = await run(fixture("fan-out.yaml"), debug=False)
    names = sorted(t.display_name for t in started(events))
    assert "fan-out[0].colours(0:red)" in names and "fan-out[0].sizes(1:name:large,size:9)" in names
    assert "fan-out[2].listed(1:y)" in names and "fan-out[2].counted(0:0)" in names
    colours = [t for t in started(events) if ".colours(" in t.display_name]
    assert sorted(t.instance for t in colours if t.instance is not None) == [0, 1, 2]
    assert output(events) == sorted(
        [
            "value: red",
            "value: green",
            "value: blue",
            "value: small=1",
            "value: large=9",
            "value: n0",
            "value: n1",
            "value: x",
            "value: y",
        ]
    )


async def test_output_parameters_and_when() -> None:
    events = await run(fixture("outputs.yaml"), debug=False)
    assert output(events) == ["got 1.2.3", "got 1.2.3"]
    skipped = [e for e in events if isinstance(e, TaskFinished) and e.reason == "Skipped"]
    assert [e.task_id for e in skipped] == ["outputs[2].dag.skipped"]
    assert finished(events).succeeded


async def test_failure_retries_continue_on_and_on_exit() -> None:
    events = await run(fixture("failing.yaml"))
    names = [t.display_name for t in started(events)]
    assert names == [
        "failing[0].tolerated(0)",
        "failing[0].tolerated(1)",
        "failing[1].broken(0)",
        "failing[1].broken(1)",
        "failing.onExit",
    ]
    failures = [e for e in events if isinstance(e, StepPaused) and e.kind is PauseKind.FAILURE]
    assert len(failures) == 4 and {e.exit_code for e in failures} == {3}
    assert "workflow failing ended: Failed" in output(events)
    end = finished(events)
    assert not end.succeeded and "broken" in end.message


async def test_continue_on_a_failure_counts_it_as_passed() -> None:
    def decide(event: StepPaused) -> Resume:
        return Resume.CONTINUE

    events = await run(fixture("failing.yaml"), decide=decide)
    codes = [e.exit_code for e in events if isinstance(e, StepFinished)]
    assert codes == [0, 0, 0, 0]  # tolerated, broken, never, onExit: the failures were passed
    assert "workflow failing ended: Succeeded" in output(events)
    assert finished(events).succeeded


async def test_script_container_set_and_template_refs() -> None:
    assert output(await run(fixture("script.yaml"), n="3")) == ["3 x 7 = 21"]
    events = await run(fixture("container-set.yaml"))
    (pod,) = started(events)
    assert pod.step_names == ("fetch", "build", "test")
    assert output(events) == ["built", "fetched", "tested"]
    refs = await run(str(FIXTURES / "template-ref" / "workflow.yaml"), debug=False)
    assert output(refs) == ["hello argo", "hello world", "hello world", "stamped"]
    hello = next(t for t in started(refs) if t.display_name.endswith(".hello"))
    assert hello.steps[0].span.path.endswith("templates.yaml")


def test_expressions() -> None:
    assert evaluate("a.Succeeded && (b || c.Failed)", {"a.Succeeded": True, "b": False, "c.Failed": True}.get)
    assert not evaluate("tails == heads")
    assert evaluate("'x y' == 'x y' && 5 >= 3 && !false")
    assert depends_terms("a.Succeeded || (b && !c.Failed)") == {"a", "b", "c"}
    with pytest.raises(ExpressionError):
        evaluate("a && (b")
