"""Exact source maps of the fixtures other layers test against (fixtures/tekton)."""

from __future__ import annotations

import pytest

from dap_server.sources import Document, load_file

from .helpers import FIXTURES, pipeline_of, step_lines, task_of

# file -> [(key, line, end line, [(step, line, end line, column)])] for Tasks and TaskRuns
TASK_FILES = {
    "build-pipeline/tasks/git-clone.yaml": [
        ("Task/git-clone", 3, 42, [("clone", 21, 34, 5), ("commit", 35, 42, 5)]),
    ],
    "build-pipeline/tasks/build.yaml": [
        ("Task/build", 2, 48, [("compile", 26, 34, 5), ("package", 35, 41, 5), ("digest", 42, 48, 5)]),
    ],
    "build-pipeline/tasks/lint.yaml": [("Task/lint", 1, 22, [("style", 9, 22, 5)])],
    "build-pipeline/tasks/unit-test.yaml": [
        ("Task/unit-test", 2, 28, [("check-digest", 16, 23, 5), ("run-tests", 24, 28, 5)]),
    ],
    "build-pipeline/tasks/report.yaml": [("Task/report", 1, 19, [("summary", 14, 19, 5)])],
    "failing-task.yaml": [
        ("Task/failing-task", 2, 24, [("prepare", 8, 13, 5), ("fail", 14, 19, 5), ("never", 20, 24, 5)]),
    ],
    "onerror-continue.yaml": [("Task/onerror-continue", 2, 19, [("flaky", 8, 14, 5), ("after", 15, 19, 5)])],
    "single-task.yaml": [
        ("Task/single-task", 2, 45, [("greet", 23, 32, 5), ("count", 34, 40, 5), ("echo-args", 42, 45, 5)]),
    ],
    "taskrun-embedded.yaml": [
        ("TaskRun/embedded-run", 2, 28, [("hello", 18, 22, 7), ("measure", 23, 28, 7)]),
    ],
}


def load(name: str) -> list[Document]:
    return load_file(str(FIXTURES / name))


@pytest.mark.parametrize("name", sorted(TASK_FILES))
def test_task_fixture_lines(name: str) -> None:
    docs = load(name)
    got = [(d.key, d.span.line, d.span.end_line, step_lines(task_of(d).steps)) for d in docs]
    assert got == TASK_FILES[name]
    assert all(d.span.path == str((FIXTURES / name).resolve()) for d in docs)


def test_build_pipeline_lines() -> None:
    (doc,) = load("build-pipeline/pipeline.yaml")
    assert (doc.key, doc.api_version, doc.span.line, doc.span.end_line) == (
        "Pipeline/build-and-test",
        "tekton.dev/v1",
        4,
        84,
    )
    tasks = pipeline_of(doc).all_tasks()
    assert [
        (t.name, t.span.line, t.span.end_line, t.span.column, t.is_finally, t.task_ref and t.task_ref.key)
        for t in tasks
    ] == [
        ("fetch", 30, 38, 5, False, "Task/git-clone"),
        ("build", 40, 50, 5, False, "Task/build"),
        ("lint", 52, 62, 5, False, "Task/lint"),
        ("test", 64, 75, 5, False, "Task/unit-test"),
        ("report", 77, 84, 5, True, "Task/report"),
    ]
    assert [t.task_ref.span.line for t in tasks if t.task_ref] == [32, 43, 59, 67, 79]
    params = pipeline_of(doc).data()["params"]
    assert {"name": "test-args", "type": "array", "description": "extra arguments for the test runner",
            "default": ["--verbose", "--fail-fast"]} in params  # fmt: skip


def test_pipeline_run_fixture() -> None:
    (doc,) = load("build-pipeline/run.yaml")
    assert (doc.key, doc.span.line, doc.span.end_line) == ("PipelineRun/build-and-test-run-", 2, 18)
    assert doc.pipeline_ref is not None and doc.pipeline_ref.key == "Pipeline/build-and-test"
    assert doc.pipeline is None  # until resolved


def test_multi_doc_fixture() -> None:
    docs = load("multi-doc.yaml")
    assert [(d.key, d.index, d.api_version, d.span.line, d.span.end_line) for d in docs] == [
        ("Task/prepare", 0, "tekton.dev/v1", 4, 20),
        ("Task/check", 1, "tekton.dev/v1beta1", 24, 30),
        ("Task/finish", 2, "tekton.dev/v1", 32, 46),
        ("Pipeline/multi", 3, "tekton.dev/v1", 48, 70),
    ]
    prepare, check, finish, multi = docs
    assert step_lines(task_of(prepare).steps) == [("hello", 10, 14, 5), ("stamp", 16, 20, 5)]
    assert step_lines(task_of(check).steps) == [("quick", 30, 30, 11)]
    assert step_lines(task_of(finish).steps) == [("first", 38, 42, 5), ("merged", 43, 46, 5)]
    # the alias and the merge key keep their values
    assert task_of(prepare).steps[1].data()["image"] == "alpine:3.20"
    assert task_of(finish).steps[1].data() == {
        "name": "merged",
        "image": "alpine:3.20",
        "workingDir": "/tmp",
        "script": "echo merged in $(pwd)",
    }
    tasks = pipeline_of(multi).all_tasks()
    assert [(t.name, t.span.line, t.span.end_line, t.is_finally) for t in tasks] == [
        ("prepare", 54, 55, False),
        ("check", 56, 59, False),
        ("inline", 60, 68, False),
        ("finish", 70, 70, True),
    ]
    inline = tasks[2].task
    assert inline is not None and step_lines(inline.steps) == [("inline-step", 64, 68, 11)]
