"""Resolution across files, choosing the document to run, and file loading."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from dap_server.sources import Document, SourceError, SourceSet, load_file, parse_text

from .helpers import FIXTURES, pipeline_of, task_of

BUILD = FIXTURES / "build-pipeline"


def write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return str(path)


def task_yaml(name: str, step: str = "s", kind: str = "Task") -> str:
    """A Task document (8 lines, indented by 8 like the other inline YAML here)."""
    return textwrap.indent(
        f"apiVersion: tekton.dev/v1\nkind: {kind}\nmetadata:\n  name: {name}\n"
        f"spec:\n  steps:\n    - name: {step}\n      image: alpine\n",
        " " * 8,
    )


def test_pipeline_run_resolves_pipeline_and_tasks_across_files() -> None:
    sources = SourceSet([str(BUILD)])
    run = sources.select(str(BUILD / "run.yaml"), None)
    assert run.key == "PipelineRun/build-and-test-run-"
    assert sources.resolve(run) is run
    pipeline = pipeline_of(run)
    assert pipeline.document is not None and pipeline.document.key == "Pipeline/build-and-test"
    assert pipeline.document.path == str(BUILD / "pipeline.yaml")
    resolved = {
        t.name: (t.task.document.key, os.path.relpath(t.task.span.path, BUILD), t.task.span.line)
        for t in pipeline.all_tasks()
        if t.task is not None and t.task.document is not None
    }
    assert resolved == {
        "fetch": ("Task/git-clone", "tasks/git-clone.yaml", 3),
        "build": ("Task/build", "tasks/build.yaml", 2),
        "lint": ("Task/lint", "tasks/lint.yaml", 1),
        "test": ("Task/unit-test", "tasks/unit-test.yaml", 2),
        "report": ("Task/report", "tasks/report.yaml", 1),
    }
    for task in pipeline.all_tasks():
        assert task.pipeline is pipeline
        assert task.task is not None and all(step.spec is task.task for step in task.task.steps)
    assert sources.files_of(run) == {
        str(BUILD / name)
        for name in (
            "run.yaml",
            "pipeline.yaml",
            "tasks/git-clone.yaml",
            "tasks/build.yaml",
            "tasks/lint.yaml",
            "tasks/unit-test.yaml",
            "tasks/report.yaml",
        )
    }


def test_resolve_is_idempotent_and_isolated_from_the_cache() -> None:
    sources = SourceSet([str(BUILD)])
    (doc,) = sources.documents(str(BUILD / "pipeline.yaml"))
    sources.resolve(doc)
    first = [t.task for t in pipeline_of(doc).all_tasks()]
    sources.resolve(doc)
    assert [t.task for t in pipeline_of(doc).all_tasks()] == first
    assert all(task is not None for task in first)
    # load_file's shared documents and another SourceSet's copies are untouched
    (cached,) = load_file(str(BUILD / "pipeline.yaml"))
    assert cached is not doc and all(t.task is None for t in pipeline_of(cached).all_tasks())
    (other,) = SourceSet([str(BUILD)]).documents(str(BUILD / "pipeline.yaml"))
    assert all(t.task is None for t in pipeline_of(other).all_tasks())


def test_find_and_cluster_task_fallback(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", task_yaml("shared", kind="ClusterTask"))
    write(tmp_path / "sub" / "b.yml", task_yaml("plain"))
    write(tmp_path / ".hidden" / "c.yaml", task_yaml("hidden"))
    sources = SourceSet([str(tmp_path)])
    found = sources.find("Task", "shared")
    assert found is not None and found.kind == "ClusterTask"
    plain = sources.find("ClusterTask", "plain")
    assert plain is not None and plain.path == str(tmp_path / "sub" / "b.yml")
    assert sources.find("Task", "hidden") is None
    assert sources.find("Pipeline", "shared") is None


def test_same_file_wins_over_other_files(tmp_path: Path) -> None:
    write(tmp_path / "a-other.yaml", task_yaml("build", step="from-other-file"))
    program = write(
        tmp_path / "b-program.yaml",
        task_yaml("build", step="from-same-file")
        + """\
        ---
        apiVersion: tekton.dev/v1
        kind: Pipeline
        metadata: {name: p}
        spec:
          tasks:
            - {name: b, taskRef: {name: build}}
        """,
    )
    sources = SourceSet([str(tmp_path)])
    pipeline = sources.resolve(sources.select(program, None))
    task = pipeline_of(pipeline).tasks[0].task
    assert task is not None and [s.name for s in task.steps] == ["from-same-file"]


def test_taskrun_with_task_ref(tmp_path: Path) -> None:
    write(tmp_path / "task.yaml", task_yaml("build"))
    program = write(
        tmp_path / "run.yaml",
        """\
        apiVersion: tekton.dev/v1beta1
        kind: TaskRun
        metadata: {generateName: build-}
        spec:
          taskRef: {name: build, kind: Task}
        """,
    )
    sources = SourceSet([str(tmp_path)])
    run = sources.resolve(sources.select(program))
    assert task_of(run).document is not None and task_of(run).document.key == "Task/build"  # type: ignore[union-attr]
    assert sources.files_of(run) == {program, str(tmp_path / "task.yaml")}


def test_unresolved_ref_names_search_paths_close_names_and_skipped_files() -> None:
    sources = SourceSet([str(FIXTURES / "bad"), str(BUILD / "tasks")])
    (doc,) = sources.documents(str(FIXTURES / "bad" / "unknown-ref.yaml"))
    with pytest.raises(SourceError) as info:
        sources.resolve(doc)
    exc = info.value
    assert (exc.path, exc.line, exc.column) == (str(FIXTURES / "bad" / "unknown-ref.yaml"), 9, 15)
    assert exc.cause.startswith(
        f'taskRef: Task "git-clonee" not found in {FIXTURES / "bad"}, {BUILD / "tasks"} (9 YAML files: '
        "bad-yaml.yaml, dup-steps.yaml, unknown-kind.yaml, unknown-ref.yaml, build.yaml, git-clone.yaml,"
    )
    assert 'did you mean "git-clone"?' in exc.cause
    assert (
        "; bad-yaml.yaml was skipped: invalid YAML: mapping values are not allowed in this context (line 10)"
        in exc.cause
    )
    assert '; dup-steps.yaml was skipped: duplicate step name "build"' in exc.cause
    assert set(sources.skipped) == {
        str(FIXTURES / "bad" / n) for n in ("bad-yaml.yaml", "dup-steps.yaml", "unknown-kind.yaml")
    }


def test_unrelated_yaml_is_not_parsed_while_indexing(tmp_path: Path) -> None:
    write(tmp_path / "chart.yaml", "name: {{ .Values.name }}\n  bad: [\n")  # not tekton, not YAML
    write(tmp_path / "task.yaml", task_yaml("only"))
    sources = SourceSet([str(tmp_path)])
    assert sources.find("Task", "only") is not None
    assert sources.skipped == {}


def test_non_strict_resolve_records_errors_and_keeps_going(tmp_path: Path) -> None:
    write(tmp_path / "good.yaml", task_yaml("good"))
    program = write(
        tmp_path / "p.yaml",
        """\
        apiVersion: tekton.dev/v1
        kind: Pipeline
        metadata: {name: p}
        spec:
          tasks:
            - name: remote
              taskRef:
                resolver: hub
                params: [{name: name, value: git-clone}]
            - name: missing
              taskRef: {name: nowhere}
            - name: custom
              taskRef: {apiVersion: example.dev/v1, kind: Example, name: thing}
            - name: ok
              taskRef: {name: good}
        """,
    )
    sources = SourceSet([str(tmp_path)])
    doc = sources.documents(program)[0]
    remote, missing, custom, ok = pipeline_of(doc).tasks
    with pytest.raises(SourceError) as info:
        sources.resolve(doc)
    assert (info.value.line, info.value.column) == (8, 19)
    assert info.value.cause == (
        'taskRef uses the "hub" resolver, which cannot be resolved locally: '
        "copy the Task into a file under the search paths and refer to it by name"
    )
    assert ok.task is not None  # strict still resolved what it could before raising
    sources.resolve(doc, strict=False)
    assert remote.task is None and remote.task_ref is not None and "hub" in (remote.task_ref.error or "")
    assert missing.task is None and missing.task_ref is not None
    assert (missing.task_ref.error or "").startswith('taskRef: Task "nowhere" not found in ')
    assert custom.task_ref is not None
    assert custom.task_ref.error == 'taskRef to custom task example.dev/v1 Example "thing" cannot be run locally'
    assert ok.task is not None and ok.task_ref is not None and ok.task_ref.error is None


def test_pipeline_ref_with_bundle_and_pipelines_in_pipelines(tmp_path: Path) -> None:
    program = write(
        tmp_path / "p.yaml",
        """\
        apiVersion: tekton.dev/v1beta1
        kind: PipelineRun
        metadata: {name: pr}
        spec:
          pipelineRef:
            name: remote
            bundle: registry.example.com/pipelines:1
        ---
        apiVersion: tekton.dev/v1
        kind: Pipeline
        metadata: {name: outer}
        spec:
          tasks:
            - name: inner
              pipelineRef: {name: other}
        """,
    )
    sources = SourceSet([str(tmp_path)])
    run, outer = sources.documents(program)
    with pytest.raises(SourceError) as info:
        sources.resolve(run)
    assert (info.value.line, info.value.column) == (6, 11)
    assert info.value.cause.startswith('pipelineRef uses the "bundles" resolver')
    with pytest.raises(SourceError) as info:
        sources.resolve(outer)
    assert (info.value.line, info.value.column, info.value.cause) == (
        14,
        5,
        'pipeline task "inner" runs a Pipeline (pipelineRef/pipelineSpec): pipelines in pipelines are not supported',
    )


def test_select_defaults_and_object() -> None:
    sources = SourceSet([str(FIXTURES)])
    multi = str(FIXTURES / "multi-doc.yaml")
    assert sources.select(multi, None).key == "Pipeline/multi"
    assert sources.select(multi, "Task/check").key == "Task/check"
    assert sources.select(multi, "task/finish").key == "Task/finish"
    assert sources.select(str(FIXTURES / "single-task.yaml")).key == "Task/single-task"
    assert sources.select(str(FIXTURES / "taskrun-embedded.yaml")).key == "TaskRun/embedded-run"
    with pytest.raises(SourceError) as info:
        sources.select(multi, "Task/nope")
    assert (info.value.path, info.value.line, info.value.column) == (multi, 1, 1)
    assert info.value.cause == (
        "Task/nope is not in this file; one of: Task/prepare (line 4), Task/check (line 24), "
        "Task/finish (line 32), Pipeline/multi (line 48)"
    )


def test_select_ambiguities(tmp_path: Path) -> None:
    tasks = write(tmp_path / "tasks.yaml", task_yaml("a") + "        ---\n" + task_yaml("b"))
    sources = SourceSet([str(tmp_path)])
    with pytest.raises(SourceError) as info:
        sources.select(tasks)
    assert info.value.cause == (
        'this file holds several runnable documents; set "object" to one of: Task/a (line 1), Task/b (line 10)'
    )
    runs = write(
        tmp_path / "runs.yaml",
        task_yaml("t")
        + """\
        ---
        apiVersion: tekton.dev/v1
        kind: TaskRun
        metadata: {name: r1}
        spec: {taskRef: {name: t}}
        ---
        apiVersion: tekton.dev/v1
        kind: TaskRun
        metadata: {name: r2}
        spec: {taskRef: {name: t}}
        """,
    )
    with pytest.raises(SourceError) as info:
        sources.select(runs)
    assert info.value.cause.endswith("one of: TaskRun/r1 (line 10), TaskRun/r2 (line 15)")
    empty = write(tmp_path / "empty.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    with pytest.raises(SourceError) as info:
        sources.select(empty)
    assert info.value.cause == "no Tekton Task, Pipeline, TaskRun or PipelineRun to run in this file"


def test_a_run_beats_what_it_references(tmp_path: Path) -> None:
    program = write(
        tmp_path / "all.yaml",
        task_yaml("t")
        + """\
        ---
        apiVersion: tekton.dev/v1
        kind: Pipeline
        metadata: {name: p}
        spec:
          tasks: [{name: one, taskRef: {name: t}}]
        ---
        apiVersion: tekton.dev/v1
        kind: PipelineRun
        metadata: {name: run}
        spec:
          pipelineRef: {name: p}
        """,
    )
    sources = SourceSet([str(tmp_path)])
    run = sources.resolve(sources.select(program))
    assert run.key == "PipelineRun/run"
    task = pipeline_of(run).tasks[0].task
    assert task is not None and task.document is not None and task.document.key == "Task/t"


def test_overlay_of_an_unsaved_buffer(tmp_path: Path) -> None:
    on_disk = write(tmp_path / "t.yaml", task_yaml("t", step="saved"))
    program = write(
        tmp_path / "p.yaml",
        "apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata: {name: p}\n"
        "spec:\n  tasks: [{name: one, taskRef: {name: t}}]\n",
    )
    sources = SourceSet([str(tmp_path)])
    sources.add(on_disk, parse_text(on_disk, textwrap.dedent(task_yaml("t", step="unsaved"))))
    doc = sources.resolve(sources.select(program))
    task = pipeline_of(doc).tasks[0].task
    assert task is not None and [s.name for s in task.steps] == ["unsaved"]


def test_load_file_cache_follows_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "t.yaml", task_yaml("first"))
    docs = load_file(path)
    assert load_file(path) is docs
    link = tmp_path / "link.yaml"
    link.symlink_to(path)
    assert load_file(str(link)) is docs and docs[0].span.path == path
    os.utime(path, ns=(1, 1))
    again = load_file(path)
    assert again is not docs and again[0].name == "first"
    write(tmp_path / "t.yaml", task_yaml("second-name"))
    assert load_file(path)[0].name == "second-name"


def test_documents_of_a_bad_file_raise(tmp_path: Path) -> None:
    sources = SourceSet([str(tmp_path)])
    with pytest.raises(SourceError) as info:
        sources.documents(str(FIXTURES / "bad" / "dup-steps.yaml"))
    assert info.value.line == 13


def _keys(docs: list[Document]) -> list[str]:
    return [d.key for d in docs]


def test_documents_are_this_sets_copies() -> None:
    a = SourceSet([str(FIXTURES)])
    b = SourceSet([str(FIXTURES)])
    path = str(FIXTURES / "multi-doc.yaml")
    assert _keys(a.documents(path)) == _keys(b.documents(path))
    assert a.documents(path) is a.documents(path)
    assert a.documents(path)[0] is not b.documents(path)[0]
    steps = task_of(a.documents(path)[0]).steps
    assert all(s.spec is task_of(a.documents(path)[0]) for s in steps)
