"""`--break` locations: PATH:LINE[:after], TASK/STEP, STEP, mapped with the source map."""

from __future__ import annotations

import os

import pytest

from dap_server.sources.locations import BreakLocation, LocationError, SourceMap, parse_location
from tests.dap_harness import REPO_ROOT
from tests.debugger.scripted import line_of

BUILD_PIPELINE = REPO_ROOT / "fixtures/tekton/build-pipeline"
PIPELINE = BUILD_PIPELINE / "pipeline.yaml"
BUILD = BUILD_PIPELINE / "tasks/build.yaml"
SINGLE = REPO_ROOT / "fixtures/tekton/single-task.yaml"


@pytest.fixture
def pipeline_map() -> SourceMap:
    return SourceMap(str(PIPELINE), [])


def test_task_slash_step(pipeline_map: SourceMap) -> None:
    location = parse_location("build/compile", pipeline_map)
    assert location == BreakLocation(str(BUILD.resolve()), line_of(BUILD, "- name: compile"), False, "build/compile")
    assert location.source_breakpoint() == {"line": location.line}


def test_named_after(pipeline_map: SourceMap) -> None:
    location = parse_location("build/package:after", pipeline_map)
    assert (location.line, location.after) == (line_of(BUILD, "- name: package"), True)
    assert location.source_breakpoint() == {"line": location.line, "mode": "after"}


def test_bare_pipeline_task_name_is_the_task(pipeline_map: SourceMap) -> None:
    location = parse_location("lint", pipeline_map)
    assert (location.path, location.line) == (str(PIPELINE.resolve()), line_of(PIPELINE, "- name: lint"))


def test_bare_step_name_unique_in_the_pipeline(pipeline_map: SourceMap) -> None:
    location = parse_location("run-tests", pipeline_map)
    assert location.label == "test/run-tests"
    assert location.path.endswith("tasks/unit-test.yaml")


def test_path_line_forms(tmp_path: os.PathLike[str], pipeline_map: SourceMap) -> None:
    relative = os.path.relpath(BUILD, os.getcwd())
    assert parse_location(f"{relative}:30", pipeline_map) == BreakLocation(str(BUILD.resolve()), 30)
    assert parse_location(f"{BUILD}:30:after", pipeline_map).after is True
    assert parse_location(f"{BUILD}:30:before", pipeline_map).after is False


def test_lone_task_step() -> None:
    location = parse_location("count", SourceMap(str(SINGLE), []))
    assert (location.path, location.line) == (
        str(SINGLE.resolve()),
        line_of(SINGLE, "- name: count", after="steps:"),
    )
    assert location.label == "single-task/count"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("build/nope", "task 'build' has no step 'nope' (steps: compile, package, digest)"),
        (
            "nope/compile",
            "no pipeline task 'nope' in Pipeline/build-and-test (tasks: fetch, build, lint, test, report)",
        ),
        ("nothing-like-this", "no pipeline task or step of that name"),
        ("fixtures/tekton/none.yaml:3", "no such file"),
        ("", "empty location"),
    ],
)
def test_errors_say_what_exists(text: str, message: str, pipeline_map: SourceMap) -> None:
    with pytest.raises(LocationError) as caught:
        parse_location(text, pipeline_map)
    assert message in str(caught.value)


def test_task_slash_step_on_a_lone_task() -> None:
    with pytest.raises(LocationError, match="is not a pipeline; name the step alone"):
        parse_location("single-task/count", SourceMap(str(SINGLE), []))


def test_step_labels_for_output_prefixes(pipeline_map: SourceMap) -> None:
    labels = pipeline_map.step_labels()
    assert labels[(str(BUILD.resolve()), line_of(BUILD, "- name: compile"))] == "build/compile"
    assert "fetch/clone" in labels.values()
    assert len(labels) == sum(1 for _ in labels)  # one label per step line
