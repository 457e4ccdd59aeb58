"""Where breakpoints bind: locate, Miss messages and breakpoint_locations."""

from __future__ import annotations

import textwrap

from dap_server.sources import (
    Miss,
    SourceSet,
    Span,
    StepTarget,
    TaskTarget,
    breakpoint_locations,
    locate,
    parse_text,
)

from .helpers import FIXTURES

SINGLE = str(FIXTURES / "single-task.yaml")
PIPELINE = str(FIXTURES / "build-pipeline" / "pipeline.yaml")
MULTI = str(FIXTURES / "multi-doc.yaml")


def target_name(path: str, line: int) -> str:
    found = locate(path, line)
    if isinstance(found, StepTarget):
        return f"step {found.step.label}"
    if isinstance(found, TaskTarget):
        return f"task {found.task.name}"
    return "miss"


def test_every_line_of_a_step_binds_to_it() -> None:
    names = [target_name(SINGLE, line) for line in range(21, 48)]
    assert names == (
        ["miss"] * 2  # results, steps:
        + ["step greet"] * 10  # 23-32, script body included
        + ["miss"]  # blank line 33
        + ["step count"] * 7  # 34-40
        + ["miss"]  # 41
        + ["step echo-args"] * 4  # 42-45
        + ["miss"] * 2  # trailing comment 46, past the end 47
    )
    found = locate(SINGLE, 30)
    assert isinstance(found, StepTarget) and found.span == Span(SINGLE, 23, 32, 5)


def test_miss_messages_name_the_nearest_step() -> None:
    assert locate(SINGLE, 7) == Miss(
        'line 7 is not inside a step: the nearest step is "greet" at line 23 (a breakpoint there stops before it)'
    )
    assert locate(SINGLE, 33) == Miss(
        'line 33 is not inside a step: the nearest step is "count" at line 34 (a breakpoint there stops before it)'
    )
    assert locate(SINGLE, 46) == Miss(
        'line 46 is not inside a step: the nearest step is "echo-args" at line 42 (a breakpoint there stops before it)'
    )


def test_pipeline_tasks_bind_as_tasks() -> None:
    lines = {line: target_name(PIPELINE, line) for line in (29, 30, 38, 39, 40, 57, 76, 77, 84, 85)}
    assert lines == {
        29: "miss",
        30: "task fetch",
        38: "task fetch",
        39: "miss",
        40: "task build",
        57: "task lint",
        76: "miss",
        77: "task report",
        84: "task report",
        85: "miss",
    }
    assert locate(PIPELINE, 39) == Miss(
        'line 39 is not inside a step or pipeline task: the nearest pipeline task is "build" at line 40 '
        "(a breakpoint there stops before its first step)"
    )


def test_embedded_steps_inside_pipeline_tasks_and_taskruns() -> None:
    assert [target_name(MULTI, line) for line in (30, 55, 60, 63, 64, 68, 70, 71)] == [
        "step quick",
        "task prepare",
        "task inline",
        "task inline",
        "step inline-step",
        "step inline-step",
        "task finish",
        "miss",
    ]
    taskrun = str(FIXTURES / "taskrun-embedded.yaml")
    assert [target_name(taskrun, line) for line in (17, 18, 22, 23, 28)] == [
        "miss",
        "step hello",
        "step hello",
        "step measure",
        "step measure",
    ]


def test_resolved_documents_only_bind_their_own_file() -> None:
    sources = SourceSet([str(FIXTURES / "build-pipeline")])
    docs = sources.documents(PIPELINE)
    for doc in docs:
        sources.resolve(doc)
    # line 21 of tasks/git-clone.yaml is a step there, but in pipeline.yaml it is a param
    assert isinstance(locate(PIPELINE, 21, docs), Miss)
    found = locate(PIPELINE, 31, docs)
    assert isinstance(found, TaskTarget) and found.task.task is not None


def test_unparsable_file_is_a_miss_with_the_error() -> None:
    bad = str(FIXTURES / "bad" / "bad-yaml.yaml")
    assert locate(bad, 8) == Miss(
        f"the file does not parse: {bad}:10:26: invalid YAML: mapping values are not allowed in this context"
    )
    assert breakpoint_locations(bad, 1, 20) == []


def test_unsaved_buffer_and_a_file_without_steps() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: tekton.dev/v1
        kind: Task
        metadata: {name: t}
        spec:
          steps:
            - {name: only, image: alpine}
        """
    )
    docs = parse_text("buffer.yaml", text)
    found = locate("buffer.yaml", 6, docs)
    assert isinstance(found, StepTarget) and found.step.name == "only"
    assert locate("empty.yaml", 3, []) == Miss(
        "line 3 is not inside a step: empty.yaml has no Tekton steps or pipeline tasks"
    )


def test_breakpoint_locations() -> None:
    assert breakpoint_locations(SINGLE, 1, 100) == [
        Span(SINGLE, 23, 32, 5),
        Span(SINGLE, 34, 40, 5),
        Span(SINGLE, 42, 45, 5),
    ]
    assert breakpoint_locations(SINGLE, 25) == [Span(SINGLE, 23, 32, 5)]
    assert breakpoint_locations(SINGLE, 32, 34) == [Span(SINGLE, 23, 32, 5), Span(SINGLE, 34, 40, 5)]
    assert breakpoint_locations(SINGLE, 33, 33) == []
    assert breakpoint_locations(SINGLE, 40, 20) == [Span(SINGLE, 34, 40, 5)]  # end before start: one line
    # the inline task binds only on its own lines, not on its embedded step's lines
    assert breakpoint_locations(MULTI, 60, 68) == [Span(MULTI, 60, 68, 5), Span(MULTI, 64, 68, 11)]
    assert breakpoint_locations(MULTI, 64, 68) == [Span(MULTI, 64, 68, 11)]
    assert breakpoint_locations(MULTI, 1, 100) == [
        Span(MULTI, 10, 14, 5),
        Span(MULTI, 16, 20, 5),
        Span(MULTI, 30, 30, 11),
        Span(MULTI, 38, 42, 5),
        Span(MULTI, 43, 46, 5),
        Span(MULTI, 54, 55, 5),
        Span(MULTI, 56, 59, 5),
        Span(MULTI, 60, 68, 5),
        Span(MULTI, 64, 68, 11),
        Span(MULTI, 70, 70, 5),
    ]
