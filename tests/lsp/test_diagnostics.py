"""Diagnostics: what Tekton (or the debugger) would refuse, at the exact range, in words a
user understands; published again on every change, cleared on close."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from dap_server.sources import SourceError, load_file
from tests.lsp.conftest import Client, at, span, uri

pytestmark = pytest.mark.asyncio(loop_scope="module")

ERROR = types.DiagnosticSeverity.Error
WARNING = types.DiagnosticSeverity.Warning


def brief(diagnostics: list[types.Diagnostic]) -> list[tuple[types.Range, str]]:
    return [(d.range, d.message) for d in diagnostics]


async def opened(client: Client, path: Path, text: str | None = None) -> tuple[str, str, list[types.Diagnostic]]:
    text = path.read_text() if text is None else text
    u = uri(path)
    client.open(u, text)
    return u, text, await client.diagnostics_for(u)


async def test_the_fixtures_are_clean(client: Client, workspace_dir: Path) -> None:
    paths = [
        workspace_dir / "build-pipeline" / "pipeline.yaml",
        workspace_dir / "build-pipeline" / "run.yaml",
        *sorted((workspace_dir / "build-pipeline" / "tasks").glob("*.yaml")),
        workspace_dir / "single-task.yaml",
        workspace_dir / "multi-doc.yaml",
    ]
    for path in paths:
        u, _, found = await opened(client, path)
        assert found == [], (path.name, brief(found))
        client.close(u)


async def test_unresolved_task_ref_names_what_was_searched_and_the_closest_name(
    client: Client, workspace_dir: Path
) -> None:
    path = workspace_dir / "bad" / "unknown-ref.yaml"
    u, text, found = await opened(client, path)
    [d] = found
    assert d.severity == ERROR
    assert d.range == span(text, "name: git-clonee", word="git-clonee")
    assert d.message.startswith('taskRef: Task "git-clonee" not found: looked in this file and in ')
    assert str(workspace_dir) in d.message
    assert d.message.endswith('did you mean "git-clone"?')
    client.close(u)


async def test_unresolved_pipeline_ref(client: Client, workspace_dir: Path) -> None:
    text = (
        "apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata:\n  name: r\n"
        "spec:\n  pipelineRef:\n    name: build-and-tset\n"
    )
    u, _, found = await opened(client, workspace_dir / "inline" / "run.yaml", text)
    [d] = found
    assert d.range == span(text, "build-and-tset")
    assert 'pipelineRef: Pipeline "build-and-tset" not found' in d.message
    assert 'did you mean "build-and-test"?' in d.message
    client.close(u)


async def test_bad_yaml_gives_one_diagnostic_at_the_error_mark(client: Client, workspace_dir: Path) -> None:
    path = workspace_dir / "bad" / "bad-yaml.yaml"
    u, _, found = await opened(client, path)
    with pytest.raises(SourceError) as raised:
        load_file(str(path))
    [d] = found
    assert (d.range.start.line + 1, d.range.start.character + 1) == (raised.value.line, raised.value.column)
    assert d.message == raised.value.cause
    assert d.message.startswith("invalid YAML: mapping values are not allowed")
    client.close(u)


async def test_duplicate_step_and_pipeline_task_names(client: Client, workspace_dir: Path) -> None:
    path = workspace_dir / "bad" / "dup-steps.yaml"
    u, text, found = await opened(client, path)
    [d] = found
    assert d.range == span(text, "- name: build", occurrence=2, word="build")
    assert d.message.startswith('duplicate step name "build" in Task/dup-steps')
    client.close(u)

    text = (
        "apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata:\n  name: p\nspec:\n  tasks:\n"
        "    - name: same\n      taskRef: {name: lint}\n"
        "    - name: same\n      taskRef: {name: lint}\n"
    )
    u, _, found = await opened(client, workspace_dir / "inline" / "dup-tasks.yaml", text)
    [d] = found
    assert d.range == span(text, "- name: same", occurrence=2, word="same")
    assert 'duplicate pipeline task name "same"' in d.message
    client.close(u)


TASK = """apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: t
spec:
  params:
    - name: flavour
      default: plain
  results:
    - name: digest
  workspaces:
    - name: source
  steps:
    - name: build
      image: alpine
      workingDir: $(workspaces.sources.path)
      script: |
        echo "$(params.flavor) $(params.flavour)"
        echo x > $(results.digset.path)
"""


async def test_undeclared_params_workspaces_and_results_in_a_task(client: Client, workspace_dir: Path) -> None:
    u, text, found = await opened(client, workspace_dir / "inline" / "task.yaml", TASK)
    assert brief(found) == [
        (
            span(text, "$(workspaces.sources.path)", word="sources"),
            '$(workspaces.sources.path): no workspace "sources" in Task "t" (workspaces: source); '
            'did you mean "source"?',
        ),
        (
            span(text, "$(params.flavor)", word="flavor"),
            '$(params.flavor): no param "flavor" in Task "t" (params: flavour); did you mean "flavour"?',
        ),
        (
            span(text, "$(results.digset.path)", word="digset"),
            '$(results.digset.path): Task "t" declares no result "digset" (results: digest); did you mean "digest"?',
        ),
    ]
    assert {d.severity for d in found} == {ERROR}
    # repaired: nothing left
    client.replace(
        u, text.replace("sources.path", "source.path").replace("flavor)", "flavour)").replace("digset", "digest")
    )
    assert await client.diagnostics_for(u) == []
    client.close(u)


PIPELINE = """apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: p
spec:
  params:
    - name: flavour
  tasks:
    - name: a
      params:
        - name: x
          value: $(params.flavuor)
      taskSpec:
        params:
          - name: x
        results:
          - name: r
        steps:
          - name: s
            image: alpine
            script: echo $(params.x) $(params.flavour) $(params.nowhere) > $(results.r.path)
    - name: b
      runAfter: [a, c]
      when:
        - input: $(tasks.a.results.r)
          operator: in
          values: ["$(tasks.a.results.q)", "$(tasks.zz.results.r)"]
      taskSpec:
        results: [{name: r}]
        steps:
          - {name: s, image: alpine, script: "echo $(tasks.a.status)"}
    - name: c
      runAfter: [d]
      taskSpec:
        steps: [{name: s, image: alpine, script: echo}]
    - name: d
      params:
        - {name: y, value: "$(tasks.b.results.r)"}
      taskSpec:
        results: [{name: r}]
        steps: [{name: s, image: alpine, script: echo}]
"""


async def test_pipeline_params_results_run_after_and_cycles(client: Client, workspace_dir: Path) -> None:
    u, text, found = await opened(client, workspace_dir / "inline" / "pipeline.yaml", PIPELINE)
    got = sorted(brief(found), key=lambda rm: (rm[0].start.line, rm[0].start.character))
    expected = [
        (
            span(text, "$(params.flavuor)", word="flavuor"),
            '$(params.flavuor): no param "flavuor" in Pipeline "p" (params: flavour); did you mean "flavour"?',
        ),
        (
            span(text, "$(params.nowhere)", word="nowhere"),
            '$(params.nowhere): no param "nowhere" in the taskSpec of pipeline task "a" nor in Pipeline "p" '
            "(params: flavour, x)",
        ),
        (
            span(text, "runAfter: [a, c]", word="c"),
            'dependency cycle "b" → "c" → "d" → "b": "b" runs after "c", which depends on "b" again '
            "(runAfter and result references must not loop back)",
        ),
        (
            span(text, '"$(tasks.a.results.q)"', word="q"),
            '$(tasks.a.results.q): the taskSpec of pipeline task "a" has no result "q" (results: r)',
        ),
        (
            span(text, "$(tasks.zz.results.r)", word="zz"),
            '$(tasks.zz.results.r): no pipeline task "zz" in Pipeline "p" (tasks: a, b, c, d)',
        ),
        (
            span(text, "$(tasks.a.status)"),
            "$(tasks.a.status): only finally tasks can read another task's status (Tekton rejects it elsewhere)",
        ),
        (
            span(text, "runAfter: [d]", word="d"),
            'dependency cycle "c" → "d" → "b" → "c": "c" runs after "d", which depends on "c" again '
            "(runAfter and result references must not loop back)",
        ),
        (
            span(text, "$(tasks.b.results.r)", word="b"),
            'dependency cycle "d" → "b" → "c" → "d": "d" uses a result of ($(tasks.b.results.r)) "b", '
            'which depends on "d" again (runAfter and result references must not loop back)',
        ),
    ]
    assert got == sorted(expected, key=lambda rm: (rm[0].start.line, rm[0].start.character))
    # break the cycle and fix the names: only the unknown runAfter name of the edit remains
    fixed = (
        text.replace("flavuor", "flavour")
        .replace(" $(params.nowhere)", "")
        .replace("results.q", "results.r")
        .replace("tasks.zz.", "tasks.a.")
        .replace("$(tasks.a.status)", "ok")
        .replace("runAfter: [d]", "runAfter: [e]")
        .replace('"$(tasks.b.results.r)"', "x")
    )
    client.replace(u, fixed)
    [d] = await client.diagnostics_for(u)
    assert d.range == span(fixed, "runAfter: [e]", word="e")
    assert d.message == 'runAfter: no pipeline task "e" in Pipeline "p" (tasks: a, b, d)'
    client.replace(u, fixed.replace("runAfter: [e]", "runAfter: [a]"))
    assert await client.diagnostics_for(u) == []
    client.close(u)


async def test_results_of_a_referenced_task_are_checked_across_files(client: Client, workspace_dir: Path) -> None:
    path = workspace_dir / "build-pipeline" / "pipeline.yaml"
    u, text, found = await opened(client, path)
    assert found == []
    broken = text.replace("$(tasks.build.results.digest)", "$(tasks.build.results.digets)", 1)
    client.replace(u, broken)
    [d] = await client.diagnostics_for(u)
    assert d.range == span(broken, "$(tasks.build.results.digets)", word="digets")
    assert d.message == (
        '$(tasks.build.results.digets): Task "build" (run by pipeline task "build") has no result "digets" '
        '(results: digest); did you mean "digest"?'
    )
    client.replace(u, text)
    assert await client.diagnostics_for(u) == []
    client.close(u)


async def test_an_edit_in_a_task_file_rechecks_the_open_pipeline_that_uses_it(
    client: Client, workspace_dir: Path
) -> None:
    pipeline = workspace_dir / "build-pipeline" / "pipeline.yaml"
    task = workspace_dir / "build-pipeline" / "tasks" / "build.yaml"
    p, ptext, found = await opened(client, pipeline)
    assert found == []
    t, ttext, found = await opened(client, task)
    assert found == []
    mark = len(client.published)
    client.replace(t, ttext.replace("- name: digest\n      description", "- name: checksum\n      description"))
    again = await client.diagnostics_for(p, after=mark, any_version=True)
    assert [(d.range, d.severity) for d in again] == [
        (span(ptext, "$(tasks.build.results.digest)", occurrence=1, word="digest"), ERROR),
        (span(ptext, "$(tasks.build.results.digest)", occurrence=2, word="digest"), ERROR),
    ]
    assert 'has no result "digest" (results: checksum)' in again[0].message
    # closing the unsaved Task buffer: the file on disk counts again
    mark = len(client.published)
    client.close(t)
    assert await client.diagnostics_for(p, after=mark, any_version=True) == []
    client.close(p)


async def test_params_and_workspaces_a_referenced_task_needs(client: Client, workspace_dir: Path) -> None:
    text = (
        "apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata:\n  name: p\nspec:\n  tasks:\n"
        "    - name: test\n      taskRef:\n        name: unit-test\n"
        "      workspaces:\n        - name: sources\n          workspace: ws\n"
    )
    u, _, found = await opened(client, workspace_dir / "inline" / "needs.yaml", text)
    assert brief(found) == [
        (
            span(text, "- name: test", word="test"),
            'pipeline task "test" does not give Task "unit-test" its param "digest", which has no default',
        ),
        (
            span(text, "- name: test", word="test"),
            'pipeline task "test" does not bind the workspace "source" that Task "unit-test" needs',
        ),
        (
            span(text, "name: sources", word="sources"),
            'Task "unit-test" declares no workspace "sources" (workspaces: source); did you mean "source"?',
        ),
        (
            span(text, "workspace: ws", word="ws"),
            'pipeline task "test" binds workspace "ws", which Pipeline "p" does not declare '
            "(it declares no workspaces)",
        ),
    ]
    client.close(u)


TASKRUN = """apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: tr
spec:
  debug:
    breakpoints:
      beforeSteps: [build, step-test, build, nope]
  taskSpec:
    steps:
      - {name: build, image: alpine, script: echo}
      - {name: test, image: alpine, script: echo}
"""


async def test_debug_block_tekton_would_reject_or_silently_ignore(client: Client, workspace_dir: Path) -> None:
    u, text, found = await opened(client, workspace_dir / "inline" / "taskrun.yaml", TASKRUN)
    assert [(d.range, d.severity) for d in found] == [
        (
            types.Range(at(text, "breakpoints:"), at(text, "beforeSteps: [build, step-test, build, nope]", offset=44)),
            ERROR,
        ),
        (span(text, "step-test"), WARNING),
        (span(text, "build, nope", word="build"), ERROR),
        (span(text, "nope"), WARNING),
    ]
    assert found[0].message.startswith('Tekton rejects spec.debug.breakpoints without onFailure: "enabled"')
    assert found[1].message.endswith('use the step name "test", not its container name "step-test"')
    assert found[2].message.startswith('beforeSteps lists "build" twice: Tekton rejects the TaskRun')
    assert found[2].related_information is not None
    assert found[2].related_information[0].location.range == span(text, "[build,", word="build")
    assert found[3].message == (
        'beforeSteps: the taskSpec of TaskRun "tr" has no step "nope", and Tekton silently ignores names it '
        "does not know, so nothing will pause there (steps: build, test)"
    )
    fixed = text.replace(
        "      beforeSteps: [build, step-test, build, nope]", '      onFailure: "yes"\n      beforeSteps: [build, test]'
    )
    client.replace(u, fixed)
    [d] = await client.diagnostics_for(u)
    assert d.range == span(fixed, '"yes"', word="yes")
    assert d.message == '"yes" is not a valid onFailure breakpoint value: the only one Tekton accepts is "enabled"'
    client.replace(u, fixed.replace('"yes"', "enabled"))
    assert await client.diagnostics_for(u) == []
    client.close(u)


async def test_debug_block_of_a_taskrun_with_a_task_ref_and_other_forms(client: Client, workspace_dir: Path) -> None:
    text = (
        "apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata:\n  name: tr\nspec:\n"
        "  taskRef: {name: build}\n  debug:\n    breakpoint: [onFailure]\n"
        "    breakpoints: {onFailure: enabled, beforeSteps: [compile, compiel], afterSteps: [digest]}\n"
    )
    u, _, found = await opened(client, workspace_dir / "inline" / "taskrun-ref.yaml", text)
    assert [(d.range, d.severity) for d in found] == [
        (types.Range(at(text, "breakpoint:"), at(text, "[onFailure]", offset=11)), ERROR),
        (span(text, "compiel"), WARNING),
        (span(text, "afterSteps"), WARNING),
    ]
    assert "replaced by" in found[0].message
    assert 'Task "build" has no step "compiel"' in found[1].message
    assert found[1].message.endswith('did you mean "compile"?')
    assert found[2].message.startswith("Tekton does not implement breakpoints.afterSteps and ignores it")
    client.close(u)

    text = (
        "apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata:\n  name: pr\nspec:\n"
        "  pipelineRef: {name: build-and-test}\n  debug: {breakpoints: {onFailure: enabled}}\n"
    )
    u, _, found = await opened(client, workspace_dir / "inline" / "pipelinerun.yaml", text)
    [d] = found
    assert d.severity == WARNING and d.range.start == at(text, "debug:")
    assert d.message.startswith("a PipelineRun has no spec.debug in Tekton")
    client.close(u)


async def test_edits_that_break_and_repair_a_file(client: Client, workspace_dir: Path) -> None:
    path = workspace_dir / "single-task.yaml"
    u, text, found = await opened(client, path)
    assert found == []
    line = [n for n, s in enumerate(text.splitlines()) if s == "    - name: count"][-1]  # the step
    # half-typed: an unclosed flow sequence -> only the YAML error, where libyaml stops
    client.edit(u, line, 4, line, 17, "- name: [count")
    [d] = await client.diagnostics_for(u)
    assert d.severity == ERROR and d.message.startswith("invalid YAML")
    # a step named like another: the source map's error, at the name
    client.edit(u, line, 4, line, 18, "- name: greet")
    [d] = await client.diagnostics_for(u)
    renamed = text.replace("    - name: count\n      image", "    - name: greet\n      image")
    assert d.range == span(renamed, "- name: greet\n", occurrence=2, word="greet")
    assert d.message.startswith('duplicate step name "greet"')
    # a reference to an undeclared param, then repaired
    client.edit(u, line, 4, line, 17, "- name: count")
    assert await client.diagnostics_for(u) == []
    count = text.index('int("$(params.count)")')
    pos = at(text, 'int("$(params.count)")', offset=14)
    assert text[count + 14 : count + 19] == "count"
    client.edit(u, pos.line, pos.character, pos.line, pos.character + 5, "cuont")
    [d] = await client.diagnostics_for(u)
    assert d.range == types.Range(pos, types.Position(pos.line, pos.character + 5))
    client.edit(u, pos.line, pos.character, pos.line, pos.character + 5, "count")
    assert await client.diagnostics_for(u) == []
    client.close(u)


async def test_close_clears_and_save_republishes(client: Client, workspace_dir: Path) -> None:
    path = workspace_dir / "bad" / "unknown-kind.yaml"
    u, text, found = await opened(client, path)
    [d] = found
    assert d.range == span(text, "Taks")
    assert (
        d.message
        == 'unknown Tekton kind "Taks" (expected Task, Pipeline, TaskRun or PipelineRun); did you mean "Task"?'
    )
    mark = len(client.published)
    client.text_document_did_save(types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(u)))
    assert len(await client.diagnostics_for(u, after=mark)) == 1
    mark = len(client.published)
    client.close(u)
    assert await client.diagnostics_for(u, after=mark, any_version=True) == []


async def test_a_pipeline_in_a_pipeline_is_flagged_as_not_debuggable(client: Client, workspace_dir: Path) -> None:
    text = (
        "apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata:\n  name: outer\nspec:\n  tasks:\n"
        "    - name: inner\n      pipelineRef: {name: build-and-test}\n"
    )
    u, _, found = await opened(client, workspace_dir / "inline" / "outer.yaml", text)
    [d] = found
    assert (d.range, d.severity) == (span(text, "- name: inner", word="inner"), WARNING)
    assert "pipeline-dap cannot debug pipelines in pipelines" in d.message
    client.close(u)
