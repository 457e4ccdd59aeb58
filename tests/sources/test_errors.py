"""Every user mistake is a SourceError naming the file, line, column and cause."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from dap_server.sources import SourceError, load_file, parse_text

from .helpers import FIXTURES, TASK_HEAD


def error_of(text: str, path: str = "bad.yaml") -> tuple[int, int, str]:
    with pytest.raises(SourceError) as info:
        parse_text(path, textwrap.dedent(text))
    exc = info.value
    assert exc.path == path
    assert str(exc) == f"{path}:{exc.line}:{exc.column}: {exc.cause}"
    return exc.line, exc.column, exc.cause


def task_error(body: str) -> tuple[int, int, str]:
    return error_of(TASK_HEAD + textwrap.indent(textwrap.dedent(body), "  "))


def test_bad_yaml_fixture() -> None:
    path = str(FIXTURES / "bad" / "bad-yaml.yaml")
    with pytest.raises(SourceError) as info:
        load_file(path)
    assert (info.value.path, info.value.line, info.value.column) == (path, 10, 26)
    assert info.value.cause == "invalid YAML: mapping values are not allowed in this context"


def test_bad_yaml_with_context_names_both_places() -> None:
    line, column, cause = error_of('a: "open\nb: c\n')
    assert (line, column) == (3, 1)
    assert cause == "invalid YAML: found unexpected end of stream (while scanning a quoted scalar at line 1)"


def test_undefined_alias() -> None:
    line, column, cause = error_of("a: *nowhere\n")
    assert (line, column, cause) == (1, 4, "invalid YAML: found undefined alias 'nowhere'")


def test_unknown_kind_fixture() -> None:
    path = str(FIXTURES / "bad" / "unknown-kind.yaml")
    with pytest.raises(SourceError) as info:
        load_file(path)
    assert (info.value.line, info.value.column) == (2, 7)
    assert info.value.cause == (
        'unknown Tekton kind "Taks" (expected Task, Pipeline, TaskRun or PipelineRun); did you mean "Task"?'
    )


def test_unsupported_tekton_version() -> None:
    assert error_of("apiVersion: tekton.dev/v1alpha1\nkind: Task\nmetadata: {name: t}\nspec: {}\n") == (
        1,
        13,
        "unsupported apiVersion tekton.dev/v1alpha1 for Task: use tekton.dev/v1 or tekton.dev/v1beta1",
    )


def test_missing_name() -> None:
    assert error_of("apiVersion: tekton.dev/v1\nkind: Task\nspec: {}\n") == (
        1,
        1,
        "Task has no metadata.name",
    )
    assert error_of("apiVersion: tekton.dev/v1\nkind: Task\nmetadata:\n  labels: {a: b}\nspec: {}\n") == (
        4,
        3,
        "Task has no metadata.name (or metadata.generateName)",
    )
    assert error_of("apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata: [x]\nspec: {}\n") == (
        3,
        11,
        "metadata of a Pipeline must be a mapping, not a list",
    )


def test_spec_missing_or_not_a_mapping() -> None:
    head = "apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: r}\n"
    assert error_of(head) == (1, 1, "PipelineRun/r has no spec")
    assert error_of(head + "spec:\n  - a\n") == (
        5,
        3,
        "the spec of PipelineRun/r must be a mapping, not a list",
    )


def test_steps_missing_or_not_a_list() -> None:
    assert task_error("params: []\n") == (6, 3, "Task/t has no steps")
    assert task_error("steps: {name: a}\n") == (6, 10, "steps of Task/t must be a list, not a mapping")
    assert task_error("steps:\n  - echo hello\n") == (
        7,
        5,
        "step 1 must be a mapping, not the scalar 'echo hello'",
    )


def test_duplicate_step_names_fixture() -> None:
    path = str(FIXTURES / "bad" / "dup-steps.yaml")
    with pytest.raises(SourceError) as info:
        load_file(path)
    assert (info.value.line, info.value.column) == (13, 5)
    assert info.value.cause == 'duplicate step name "build" in Task/dup-steps (first at line 7)'


def test_step_without_image() -> None:
    assert task_error("steps:\n  - name: a\n    script: echo\n") == (
        7,
        5,
        'step "a" has no image (give one, or a stepTemplate image)',
    )
    assert task_error("steps:\n  - script: echo\n") == (
        7,
        5,
        'step "unnamed-0" has no image (give one, or a stepTemplate image)',
    )


def test_image_from_step_template_or_a_step_action_is_enough() -> None:
    docs = parse_text(
        "ok.yaml",
        TASK_HEAD + "  stepTemplate:\n    image: alpine\n  steps:\n    - name: a\n      script: echo\n",
    )
    assert docs[0].task is not None and [s.name for s in docs[0].task.steps] == ["a"]
    docs = parse_text("ok.yaml", TASK_HEAD + "  steps:\n    - name: a\n      ref: {name: git-clone-action}\n")
    assert docs[0].task is not None and len(docs[0].task.steps) == 1


def test_script_and_command_together() -> None:
    assert task_error("steps:\n  - name: a\n    image: alpine\n    command: [sh]\n    script: echo\n") == (
        7,
        5,
        'step "a" has both script and command: Tekton allows one',
    )


PIPELINE_HEAD = "apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata:\n  name: p\nspec:\n"


def pipeline_error(body: str) -> tuple[int, int, str]:
    return error_of(PIPELINE_HEAD + textwrap.indent(textwrap.dedent(body), "  "))


def test_duplicate_pipeline_task_names_across_tasks_and_finally() -> None:
    assert pipeline_error(
        """\
        tasks:
          - name: build
            taskRef: {name: build}
        finally:
          - name: build
            taskRef: {name: report}
        """
    ) == (
        10,
        5,
        'duplicate pipeline task name "build" (first at line 7; tasks and finally share one set of names)',
    )


def test_pipeline_task_shape() -> None:
    assert pipeline_error("tasks:\n  - taskRef: {name: x}\n") == (7, 5, "tasks item 1 has no name")
    assert pipeline_error("tasks:\n  - name: a\n") == (
        7,
        5,
        'pipeline task "a" needs a taskRef or a taskSpec',
    )
    assert pipeline_error("tasks: {a: b}\n") == (6, 10, "tasks of Pipeline p must be a list, not a mapping")
    assert pipeline_error("finally:\n  - just-a-name\n") == (
        7,
        5,
        "finally item 1 must be a mapping, not the scalar 'just-a-name'",
    )
    assert pipeline_error("tasks:\n  - name: a\n    taskRef: {name: x}\n    taskSpec: {steps: [{image: a}]}\n") == (
        8,
        16,
        'pipeline task "a" has both taskRef and taskSpec: keep one',
    )
    assert pipeline_error("tasks:\n  - name: a\n    taskRef: git-clone\n") == (
        8,
        16,
        "taskRef must be a mapping such as `taskRef: {name: ...}`, not the scalar 'git-clone'",
    )
    assert pipeline_error("tasks:\n  - name: a\n    taskRef: {kind: Task}\n") == (
        8,
        16,
        "taskRef has no name",
    )
    assert pipeline_error("tasks:\n  - name: a\n    taskSpec:\n      params: []\n") == (
        7,
        7,
        'the taskSpec of pipeline task "a" has no steps',
    )


def test_runs_need_a_ref_or_a_spec() -> None:
    assert error_of("apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: r}\nspec:\n  params: []\n") == (
        5,
        3,
        "TaskRun/r needs a taskRef or a taskSpec",
    )
    assert error_of(
        "apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: r}\nspec:\n"
        "  pipelineRef: {name: a}\n  pipelineSpec: {tasks: []}\n"
    ) == (5, 16, "PipelineRun/r has both pipelineRef and pipelineSpec: keep one")
    assert error_of(
        "apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: r}\nspec:\n  taskSpec:\n    steps: oops\n"
    ) == (6, 12, "steps of the taskSpec of TaskRun/r must be a list, not the scalar 'oops'")


def test_other_documents_are_skipped_without_error() -> None:
    docs = parse_text(
        "mixed.yaml",
        textwrap.dedent(
            """\
            - a list, not a Kubernetes object
            ---
            just a scalar
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: cm}
            ---
            apiVersion: triggers.tekton.dev/v1beta1
            kind: TriggerTemplate
            metadata: {name: tt}
            ---
            apiVersion: tekton.dev/v1beta1
            kind: StepAction
            metadata: {name: sa}
            spec: {image: alpine}
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: wf-}
            ---
            kind: Task
            metadata: {name: no-api-version}
            """
        ),
    )
    assert docs == []


def test_load_file_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(SourceError) as info:
        load_file(str(missing))
    assert (info.value.line, info.value.column) == (1, 1)
    assert info.value.cause.startswith("cannot read the file: ")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"a: 1\nb: caf\xe9\n")
    with pytest.raises(SourceError) as info:
        load_file(str(latin))
    assert (info.value.line, info.value.column, info.value.cause) == (2, 7, "the file is not UTF-8 text")


def test_lazy_construction_errors_name_the_file() -> None:
    doc = parse_text(
        "tagged.yaml",
        TASK_HEAD + "  steps:\n    - name: a\n      image: alpine\n      env: !custom-tag {a: b}\n",
    )[0]
    assert doc.task is not None
    with pytest.raises(SourceError) as info:
        doc.task.steps[0].data()
    assert (info.value.path, info.value.line, info.value.column) == ("tagged.yaml", 9, 12)
    assert "could not determine a constructor for the tag '!custom-tag'" in info.value.cause
