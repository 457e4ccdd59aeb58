"""Outline (documentSymbol) and code lenses, checked against the debugger's source map."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from dap_server.sources import SourceSet, TaskTarget, load_file, locate
from tests.lsp.conftest import Client, child, lines_of, span, uri

pytestmark = pytest.mark.asyncio(loop_scope="module")

S = types.SymbolKind


async def test_task_outline_nests_params_results_and_steps_at_source_map_lines(
    client: Client, workspace_dir: Path
) -> None:
    path = workspace_dir / "single-task.yaml"
    text = path.read_text()
    u = uri(path)
    client.open(u, text)
    [task] = await client.symbols(u)
    assert (task.name, task.kind, task.detail) == ("Task/single-task", S.Class, "tekton.dev/v1")
    assert task.selection_range == span(text, "name: single-task", word="single-task")
    assert [c.name for c in task.children or []] == ["params", "results", "steps"]
    params = child(task, "params")
    assert [(p.name, p.kind, p.detail) for p in params.children or []] == [
        ("greeting", S.Variable, "string"),
        ("who", S.Variable, "string"),
        ("count", S.Variable, "string"),
    ]
    assert child(params, "who").selection_range == span(text, "- name: who", word="who")
    assert lines_of(child(params, "count")) == (16, 18)
    assert [(r.name, r.kind) for r in child(task, "results").children or []] == [("message", S.Field)]
    steps = child(task, "steps")
    [doc] = load_file(str(path))
    assert doc.task is not None
    assert [(s.name, lines_of(s)) for s in steps.children or []] == [
        (step.label, (step.span.line, step.span.end_line)) for step in doc.task.steps
    ]
    assert [s.name for s in steps.children or []] == ["greet", "count", "echo-args"]
    assert child(steps, "count").kind == S.Method
    assert child(steps, "count").detail == "python:3.12-slim"
    client.close(u)


async def test_pipeline_outline_has_tasks_and_finally_with_the_source_map_spans(
    client: Client, workspace_dir: Path
) -> None:
    path = workspace_dir / "build-pipeline" / "pipeline.yaml"
    text = path.read_text()
    u = uri(path)
    client.open(u, text)
    [pipeline] = await client.symbols(u)
    assert (pipeline.name, pipeline.kind) == ("Pipeline/build-and-test", S.Module)
    assert [c.name for c in pipeline.children or []] == ["params", "workspaces", "tasks", "finally"]
    assert [p.name for p in child(pipeline, "params").children or []] == [
        "repo-url",
        "flavour",
        "test-args",
        "run-lint",
    ]
    assert child(pipeline, "params", "test-args").detail == "array"
    assert [(w.name, w.kind) for w in child(pipeline, "workspaces").children or []] == [("source", S.Struct)]
    [doc] = load_file(str(path))
    assert doc.pipeline is not None
    shown = [*(child(pipeline, "tasks").children or []), *(child(pipeline, "finally").children or [])]
    assert [(t.name, lines_of(t)) for t in shown] == [
        (t.name, (t.span.line, t.span.end_line)) for t in doc.pipeline.all_tasks()
    ]
    fetch = child(pipeline, "tasks", "fetch")
    assert (fetch.kind, fetch.detail) == (S.Function, "taskRef git-clone")
    assert fetch.selection_range == span(text, "- name: fetch", word="fetch")
    assert child(pipeline, "finally", "report").detail == "finally · taskRef report"
    client.close(u)


async def test_multi_document_outline_with_embedded_task_steps(client: Client, workspace_dir: Path) -> None:
    path = workspace_dir / "multi-doc.yaml"
    text = path.read_text()
    u = uri(path)
    client.open(u, text)
    symbols = await client.symbols(u)
    assert [s.name for s in symbols] == ["Task/prepare", "Task/check", "Task/finish", "Pipeline/multi"]
    docs = load_file(str(path))
    assert [lines_of(s) for s in symbols] == [(d.span.line, d.span.end_line) for d in docs]
    check = symbols[1]
    assert [s.name for s in child(check, "steps").children or []] == ["quick"]
    assert lines_of(child(check, "steps", "quick")) == (30, 30)
    assert [s.name for s in child(symbols[2], "steps").children or []] == ["first", "merged"]
    inline = child(symbols[3], "tasks", "inline")
    assert inline.detail == "taskSpec"
    step = child(inline, "steps", "inline-step")
    pipeline = docs[3].pipeline
    assert pipeline is not None
    embedded = pipeline.task("inline")
    assert embedded is not None and embedded.task is not None
    assert lines_of(step) == (embedded.task.steps[0].span.line, embedded.task.steps[0].span.end_line)
    assert [t.name for t in child(symbols[3], "finally").children or []] == ["finish"]
    client.close(u)


async def test_run_outline_shows_given_params_workspaces_and_the_reference(client: Client, workspace_dir: Path) -> None:
    path = workspace_dir / "build-pipeline" / "run.yaml"
    text = path.read_text()
    u = uri(path)
    client.open(u, text)
    [run] = await client.symbols(u)
    assert (run.name, run.kind) == ("PipelineRun/build-and-test-run-", S.Event)
    assert [c.name for c in run.children or []] == ["pipelineRef", "params", "workspaces"]
    assert child(run, "pipelineRef").selection_range == span(text, "name: build-and-test", word="build-and-test")
    assert [p.name for p in child(run, "params").children or []] == ["flavour", "test-args"]
    client.close(u)


def _config(path: Path, obj: str) -> dict[str, object]:
    return {
        "type": "pipeline",
        "request": "launch",
        "name": f"Debug {obj}",
        "program": str(path),
        "object": obj,
    }


async def test_debug_lenses_carry_launch_configs_and_task_breakpoints_that_bind_to_the_task(
    client: Client, workspace_dir: Path
) -> None:
    path = workspace_dir / "build-pipeline" / "pipeline.yaml"
    text = path.read_text()
    u = uri(path)
    client.open(u, text)
    lenses = await client.lenses(u)
    config = _config(path, "Pipeline/build-and-test")
    first = lenses[0]
    assert first.command is not None
    assert (first.command.title, first.command.command) == ("Debug", "pipelineDap.debug")
    assert list(first.command.arguments or []) == [config]
    assert first.range.start.line == text.splitlines().index("apiVersion: tekton.dev/v1")
    # the debugger accepts the object as given
    assert SourceSet([str(path.parent)]).select(str(path), "Pipeline/build-and-test").name == "build-and-test"
    here = [lens for lens in lenses[1:] if lens.command is not None]
    assert [lens.command.title for lens in here if lens.command] == ["Debug from here"] * 5
    bound = []
    for lens in here:
        assert lens.command is not None and lens.command.arguments is not None
        conf, spec = lens.command.arguments
        assert conf == config
        [bp] = spec["breakpoints"]
        assert bp["path"] == str(path)
        assert lens.range.start.line + 1 == bp["line"]
        target = locate(str(path), bp["line"])
        assert isinstance(target, TaskTarget)
        assert target.task.span.line == bp["line"]
        bound.append(target.task.name)
    assert bound == ["fetch", "build", "lint", "test", "report"]
    client.close(u)


async def test_lenses_of_each_runnable_document_in_a_multi_document_file(client: Client, workspace_dir: Path) -> None:
    path = workspace_dir / "multi-doc.yaml"
    u = uri(path)
    client.open(u, path.read_text())
    lenses = [lens.command for lens in await client.lenses(u) if lens.command is not None]
    debug = [c.arguments[0]["object"] for c in lenses if c.title == "Debug" and c.arguments]
    assert debug == ["Task/prepare", "Task/check", "Task/finish", "Pipeline/multi"]
    here = [
        (c.arguments[0]["object"], c.arguments[1]["breakpoints"][0]["line"])
        for c in lenses
        if c.arguments and c.title == "Debug from here"
    ]
    assert here == [
        ("Pipeline/multi", 54),
        ("Pipeline/multi", 56),
        ("Pipeline/multi", 60),
        ("Pipeline/multi", 70),
    ]
    client.close(u)


async def test_search_paths_are_added_only_when_a_reference_is_outside_the_programs_folder(
    client: Client, workspace_dir: Path
) -> None:
    run = workspace_dir / "build-pipeline" / "run.yaml"
    u = uri(run)
    client.open(u, run.read_text())
    [lens] = await client.lenses(u)
    assert lens.command is not None and lens.command.arguments is not None
    assert lens.command.arguments[0] == _config(run, "PipelineRun/build-and-test-run-")
    client.close(u)

    elsewhere = workspace_dir / "elsewhere" / "uses-git-clone.yaml"  # an unsaved buffer
    text = (
        "apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata:\n  name: elsewhere\nspec:\n"
        "  tasks:\n    - name: fetch\n      taskRef:\n        name: git-clone\n"
        "      params: [{name: url, value: x}]\n"
        "      workspaces: [{name: output, workspace: ws}]\n"
        "  workspaces: [{name: ws}]\n"
    )
    e = uri(elsewhere)
    client.open(e, text)
    assert await client.diagnostics_for(e) == []
    lenses = await client.lenses(e)
    assert lenses[0].command is not None and lenses[0].command.arguments is not None
    config = lenses[0].command.arguments[0]
    assert config["searchPaths"] == [str(elsewhere.parent), str(workspace_dir)]
    client.close(e)


async def test_unsaved_untitled_buffer_has_an_outline_but_no_lens(client: Client) -> None:
    u = "untitled:Untitled-1"
    text = (
        "apiVersion: tekton.dev/v1\nkind: Task\nmetadata:\n  name: draft\n"
        "spec:\n  steps:\n    - name: one\n      image: alpine\n"
    )
    client.open(u, text)
    [task] = await client.symbols(u)
    assert task.name == "Task/draft"
    assert [s.name for s in child(task, "steps").children or []] == ["one"]
    assert await client.lenses(u) == []
    assert await client.diagnostics_for(u) == []
    client.close(u)
