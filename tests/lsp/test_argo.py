"""Argo Workflows in the language server: outline, lenses, diagnostics, hover, navigation
and completion, over stdio against a workspace holding a copy of fixtures/argo. Lines and
launch configurations are checked against the debugger's own source map."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types

from dap_server.sources import SourceSet, TaskTarget, load_file, locate
from dap_server.sources.argo import ArgoDocument
from tests.lsp.conftest import REPO, Client, at, child, lines_of, server_config, span, start, uri

pytestmark = pytest.mark.asyncio(loop_scope="module")

S = types.SymbolKind
ARGO = REPO / "fixtures" / "argo"


@pytest.fixture(scope="module")
def argo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("argo") / "ws"
    shutil.copytree(ARGO, target)
    return target


@pytest_lsp.fixture(config=server_config(), scope="module")
async def client(lsp_client: Client, argo_dir: Path) -> AsyncIterator[None]:
    await start(lsp_client, argo_dir)
    yield
    await lsp_client.shutdown_session()


def names(symbols: list[types.DocumentSymbol] | None) -> list[str]:
    return [s.name for s in symbols or []]


async def open_file(client: Client, path: Path) -> tuple[str, str, list[types.Diagnostic]]:
    text = path.read_text()
    u = uri(path)
    client.open(u, text)
    return u, text, await client.diagnostics_for(u)


# ---- outline and lenses -------------------------------------------------------------------


async def test_dag_outline_has_arguments_templates_tasks_inputs_and_containers(client: Client, argo_dir: Path) -> None:
    path = argo_dir / "dag-diamond.yaml"
    u, text, diagnostics = await open_file(client, path)
    assert diagnostics == []
    [wf] = await client.symbols(u)
    assert (wf.name, wf.kind) == ("Workflow/diamond-", S.Event)
    assert wf.selection_range == span(text, "generateName: diamond-", word="diamond-")
    assert names(wf.children) == ["arguments", "templates"]
    assert [(p.name, p.detail) for p in child(wf, "arguments").children or []] == [("greeting", "hello")]
    [doc] = load_file(str(path))
    assert isinstance(doc, ArgoDocument)
    templates = child(wf, "templates")
    assert [(t.name, lines_of(t)) for t in templates.children or []] == [
        (t.name, (t.span.line, t.span.end_line)) for t in doc.templates.values()
    ]
    diamond = child(templates, "diamond")
    assert (diamond.kind, diamond.detail) == (S.Module, "dag")
    tasks = child(diamond, "tasks")
    assert [(t.name, t.detail, lines_of(t)) for t in tasks.children or []] == [
        (t.name, "template echo", (t.span.line, t.span.end_line)) for t in doc.tasks()
    ]
    assert child(tasks, "b").selection_range == span(text, "- name: b", word="b")
    echo = child(templates, "echo")
    assert (echo.kind, echo.detail) == (S.Class, "container alpine:3.20")
    assert names(echo.children) == ["inputs", "main"]
    assert names(child(echo, "inputs").children) == ["message"]
    [step] = doc.templates["echo"].spec.steps  # type: ignore[union-attr]
    assert lines_of(child(echo, "main")) == (step.span.line, step.span.end_line)
    client.close(u)


async def test_steps_outline_nests_parallel_groups_and_outputs(client: Client, argo_dir: Path) -> None:
    u, _, _ = await open_file(client, argo_dir / "nested-steps.yaml")
    [wf] = await client.symbols(u)
    main = child(wf, "templates", "main")
    groups = child(main, "steps")
    assert names(groups.children) == ["group 1", "group 2", "group 3"]
    assert names(child(groups, "group 2").children) == ["left", "right"]
    assert child(groups, "group 2").detail == "2 in parallel"
    assert child(groups, "group 2", "right").detail == "template inner"
    client.close(u)
    u, _, _ = await open_file(client, argo_dir / "fan-out.yaml")
    [wf] = await client.symbols(u)
    make = child(wf, "templates", "make-list")
    assert make.detail == "script python:3.12-alpine"
    assert names(make.children) == ["main", "outputs"]
    assert names(child(make, "outputs").children) == ["items"]
    client.close(u)
    u, _, _ = await open_file(client, argo_dir / "container-set.yaml")
    [wf] = await client.symbols(u)
    assert names(child(wf, "templates", "pod").children) == ["fetch", "build", "test"]
    client.close(u)


async def test_lenses_launch_what_the_debugger_selects_and_break_on_the_task(client: Client, argo_dir: Path) -> None:
    for name in ("dag-diamond.yaml", "nested-steps.yaml", "template-ref/workflow.yaml"):
        path = argo_dir / name
        u, _, _ = await open_file(client, path)
        lenses = await client.lenses(u)
        debug = [lens for lens in lenses if lens.command and lens.command.title == "Debug"]
        here = [lens for lens in lenses if lens.command and lens.command.title == "Debug from here"]
        assert len(debug) == 1 and debug[0].command is not None
        [config] = debug[0].command.arguments or []
        assert debug[0].command.command == "pipelineDap.debug"
        assert (config["type"], config["request"], config["program"]) == ("pipeline", "launch", str(path))
        sources = SourceSet([str(path.parent)])
        chosen = sources.select(config["program"], config["object"])
        sources.resolve(chosen)
        assert config["name"] == f"Debug {config['object']}"
        assert isinstance(chosen, ArgoDocument)
        calls = chosen.tasks()
        assert len(here) == len(calls)
        for lens, task in zip(here, calls, strict=True):
            assert lens.command is not None
            first, second = lens.command.arguments or []
            assert first == config
            [bp] = second["breakpoints"]
            assert bp["path"] == str(path)
            assert bp["line"] == lens.range.start.line + 1 == task.span.line
            target = locate(str(path), bp["line"])
            assert isinstance(target, TaskTarget) and target.task.name == task.name
        client.close(u)


async def test_cron_workflow_gets_a_lens_a_workflow_template_without_entrypoint_none(
    client: Client, argo_dir: Path
) -> None:
    cron = argo_dir / "template-ref" / "cron.yaml"
    u, _, diagnostics = await open_file(client, cron)
    assert diagnostics == []
    [lens] = await client.lenses(u)
    assert lens.command is not None
    [config] = lens.command.arguments or []
    assert config["object"] == "CronWorkflow/nightly"
    assert SourceSet([str(cron.parent)]).select(str(cron), config["object"]).name == "nightly"
    client.close(u)
    u, _, diagnostics = await open_file(client, argo_dir / "template-ref" / "templates.yaml")
    assert diagnostics == []
    assert await client.lenses(u) == []
    client.close(u)


# ---- diagnostics ----------------------------------------------------------------------------


async def test_clean_fixtures_have_no_diagnostics(client: Client, argo_dir: Path) -> None:
    for name in ("failing.yaml", "fan-out.yaml", "outputs.yaml", "script.yaml", "container-set.yaml"):
        u, _, diagnostics = await open_file(client, argo_dir / name)
        assert diagnostics == [], name
        client.close(u)


async def test_unresolved_template_ref_says_where_it_looked_and_unknown_template_in_it(
    client: Client, argo_dir: Path
) -> None:
    u, text, diagnostics = await open_file(client, argo_dir / "bad" / "unresolved-ref.yaml")
    by_code = {d.code: d for d in diagnostics}
    assert set(by_code) == {"unresolved-ref", "unknown-template"}
    missing = by_code["unresolved-ref"]
    assert missing.range == span(text, "name: no-such-template", word="no-such-template")
    assert 'WorkflowTemplate "no-such-template" not found' in missing.message
    assert "looked in this file and in" in missing.message
    unknown = by_code["unknown-template"]
    assert unknown.range == span(text, "template: no-such", word="no-such")
    assert 'WorkflowTemplate/toolbox has no template "no-such"' in unknown.message
    assert "greet" in unknown.message
    client.close(u)


@pytest.mark.parametrize(
    ("name", "needle", "word", "says"),
    [
        ("unknown-template.yaml", "template: ecko", "ecko", 'unknown template "ecko"'),
        ("duplicate-template.yaml", "- name: echo\n      script", "echo", 'duplicate template name "echo"'),
        ("no-entrypoint.yaml", "templates:", "templates:", "has no entrypoint"),
    ],
)
async def test_source_map_refusals_are_diagnostics_on_the_name(
    client: Client, argo_dir: Path, name: str, needle: str, word: str, says: str
) -> None:
    u, text, diagnostics = await open_file(client, argo_dir / "bad" / name)
    [problem] = diagnostics
    assert says in problem.message
    assert problem.range == span(text, needle, word=word)
    client.close(u)


BROKEN = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: broken
spec:
  entrypoint: main
  arguments:
    parameters:
      - name: greeting
        value: hi
  templates:
    - name: main
      dag:
        tasks:
          - name: a
            template: produce
          - name: b
            dependencies: [a, ghost]
            template: consume
            arguments:
              parameters:
                - name: value
                  value: "{{tasks.a.outputs.parameters.nope}} {{tasks.zz.outputs.result}}"
          - name: c
            depends: "b && (x.Succeeded || a.Bogus)"
            template: consume
            arguments:
              parameters: [{name: value, value: "{{workflow.parameters.greetin}}"}]
          - name: d
            dependencies: [e]
            template: consume
            arguments:
              parameters: [{name: value, value: "{{tasks.a.outputs.parameters.out}}"}]
          - name: e
            dependencies: [d]
            template: consume
            arguments:
              parameters: [{name: value, value: "{{steps.a.outputs.result}}"}]
    - name: produce
      container:
        image: alpine
        args: ["{{inputs.parameters.missing}}"]
      outputs:
        parameters:
          - name: out
            valueFrom: {path: /tmp/out}
    - name: consume
      inputs:
        parameters:
          - name: value
            default: none
            description: what to print
      container:
        image: alpine
        args: ["{{inputs.parameters.value}}"]
"""


async def test_inline_buffer_reports_each_argo_mistake_at_its_name(client: Client, argo_dir: Path) -> None:
    u = uri(argo_dir / "unsaved-broken.yaml")
    client.open(u, BROKEN)
    diagnostics = await client.diagnostics_for(u)
    found = sorted((d.code, d.range.start.line, d.range.start.character, d.range.end.character) for d in diagnostics)

    def where(code: str, needle: str, word: str, occurrence: int = 1) -> tuple[str, int, int, int]:
        r = span(BROKEN, needle, occurrence, word)
        return (code, r.start.line, r.start.character, r.end.character)

    expected = sorted(
        [
            where("unknown-task", "[a, ghost]", "ghost"),
            where("unknown-output", "parameters.nope", "nope"),
            where("unknown-task", "tasks.zz", "zz"),
            where("unknown-task", "(x.Succeeded", "x"),
            where("depends", "a.Bogus", "Bogus"),
            where("unknown-workflow-param", "parameters.greetin", "greetin"),
            where("cycle", "dependencies: [e]", "e"),
            where("cycle", "dependencies: [d]", "d"),
            where("missing-dependency", "{{tasks.a", "a", 2),
            where("task-scope", '"{{steps.a.outputs.result}}"', "{{steps.a.outputs.result}}"),
            where("unknown-input", "parameters.missing", "missing"),
        ]
    )
    assert found == expected, [d.message for d in diagnostics]
    messages = {d.code: d.message for d in diagnostics}
    assert 'did you mean "greeting"' in messages["unknown-workflow-param"]
    assert 'declares no output parameter "nope"' in messages["unknown-output"]
    assert '"d" → "e" → "d"' in messages["cycle"] or '"e" → "d" → "e"' in messages["cycle"]
    client.close(u)


async def test_edits_that_break_and_repair_a_workflow(client: Client, argo_dir: Path) -> None:
    path = argo_dir / "outputs.yaml"
    u, text, diagnostics = await open_file(client, path)
    assert diagnostics == []
    # half-typed: an unclosed flow sequence, then an unknown output, then the original
    pos = at(text, "template: produce", 1)
    client.edit(u, pos.line, 0, pos.line + 1, 0, "            template: [produce\n")
    [yaml_error] = await client.diagnostics_for(u)
    assert yaml_error.code == "yaml"
    assert await client.symbols(u) == []  # no outline while the document does not parse, and no crash
    client.replace(u, text.replace("parameters.version}} == 1.2.3", "parameters.versio}} == 1.2.3"))
    [unknown] = await client.diagnostics_for(u)
    assert unknown.code == "unknown-output"
    assert 'did you mean "version"' in unknown.message
    client.replace(u, text)
    assert await client.diagnostics_for(u) == []
    [wf] = await client.symbols(u)
    assert names(child(wf, "templates").children) == ["main", "graph", "produce", "consume"]
    client.close(u)


# ---- hover, definition, references ------------------------------------------------------------


async def test_hover_on_parameters_and_task_outputs(client: Client, argo_dir: Path) -> None:
    u = uri(argo_dir / "unsaved-hover.yaml")
    client.open(u, BROKEN)
    await client.diagnostics_for(u)
    hover = await client.hover(u, at(BROKEN, "{{inputs.parameters.value}}", offset=22))
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "**input parameter `value`**" in hover.contents.value
    assert "default: `none`" in hover.contents.value and "what to print" in hover.contents.value
    assert hover.range == span(BROKEN, "{{inputs.parameters.value}}")
    hover = await client.hover(u, at(BROKEN, "greetin}}", offset=2))
    assert hover is None  # nothing declared: no hover (the diagnostic says it)
    hover = await client.hover(u, at(BROKEN, "{{tasks.a.outputs.parameters.out", offset=31))
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert 'output parameter of DAG task "a"' in hover.contents.value
    assert "valueFrom path: /tmp/out" in hover.contents.value
    hover = await client.hover(u, at(BROKEN, "{{tasks.a.outputs.parameters.out", offset=8))
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "**DAG task `a`** · template produce" in hover.contents.value
    assert "outputs: `out`" in hover.contents.value
    client.close(u)
    u, text, _ = await open_file(client, argo_dir / "script.yaml")
    hover = await client.hover(u, at(text, "{{workflow.parameters.n}}", offset=23))
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "**workflow parameter `n`**" in hover.contents.value and 'value: `"6"`' in hover.contents.value
    client.close(u)
    u, text, _ = await open_file(client, argo_dir / "outputs.yaml")
    hover = await client.hover(u, at(text, "steps.produce.outputs.parameters.version", offset=36))
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert 'output parameter of steps item "produce"' in hover.contents.value
    hover = await client.hover(u, at(text, "template: graph", offset=11))
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert (
        "**template `graph`** (dag)" in hover.contents.value
        and "tasks: `make`, `use`, `skipped`" in hover.contents.value
    )
    client.close(u)


async def test_definition_of_templates_parameters_tasks_and_template_refs(client: Client, argo_dir: Path) -> None:
    u, text, _ = await open_file(client, argo_dir / "outputs.yaml")
    [loc] = await client.definition(u, at(text, "template: consume", offset=12))
    assert loc.uri == u and loc.range == span(text, "- name: consume\n      inputs", word="consume")
    [loc] = await client.definition(u, at(text, "{{inputs.parameters.value}}", offset=21))
    assert loc.range == span(text, "- name: value\n      container", word="value")
    [loc] = await client.definition(u, at(text, "{{tasks.make.outputs", offset=9))
    assert loc.range == span(text, "- name: make", word="make")
    [loc] = await client.definition(u, at(text, "{{tasks.make.outputs.parameters.version}}", offset=34))
    assert loc.range == span(text, "- name: version", word="version")
    [loc] = await client.definition(u, at(text, "depends: make.Succeeded", offset=10))
    assert loc.range == span(text, "- name: make", word="make")
    client.close(u)
    workflow = argo_dir / "template-ref" / "workflow.yaml"
    templates = (argo_dir / "template-ref" / "templates.yaml").read_text()
    u, text, _ = await open_file(client, workflow)
    [loc] = await client.definition(u, at(text, "template: greet", offset=11))
    assert loc.uri == uri(argo_dir / "template-ref" / "templates.yaml")
    assert loc.range == span(templates, "- name: greet", word="greet")
    [loc] = await client.definition(u, at(text, "name: cluster-tools", offset=8))
    assert loc.range == span(templates, "- name: stamp", word="stamp")
    client.close(u)


async def test_references_of_a_template_are_its_callers_in_every_file(client: Client, argo_dir: Path) -> None:
    u, text, _ = await open_file(client, argo_dir / "nested-steps.yaml")
    found = await client.references(u, at(text, "- name: say", offset=9), False)
    assert [(loc.range.start.line + 1) for loc in found] == [
        i + 1 for i, line in enumerate(text.splitlines()) if line.strip() == "template: say"
    ]
    client.close(u)
    path = argo_dir / "template-ref" / "templates.yaml"
    u, text, _ = await open_file(client, path)
    found = await client.references(u, at(text, "- name: greet", offset=9), True)
    workflow = (argo_dir / "template-ref" / "workflow.yaml").read_text()
    assert [(loc.uri, loc.range) for loc in found] == [
        (u, span(text, "- name: greet", word="greet")),
        (u, span(text, "template: greet", 1, "greet")),
        (u, span(text, "template: greet", 2, "greet")),
        (uri(argo_dir / "template-ref" / "workflow.yaml"), span(workflow, "template: greet", word="greet")),
    ]
    found = await client.references(u, at(text, "name: toolbox", offset=7), False)
    assert sorted(loc.uri.rsplit("/", 1)[-1] for loc in found) == [
        "cron.yaml",
        "unresolved-ref.yaml",  # toolbox/no-such: the document is found, the template is not
        "workflow.yaml",
        "workflow.yaml",
    ]
    client.close(u)


# ---- completion -------------------------------------------------------------------------------


async def labels(client: Client, u: str, text: str, needle: str, offset: int) -> list[str]:
    return [i.label for i in await client.complete(u, at(text, needle, offset=offset))]


async def test_completion_of_parameters_tasks_steps_outputs_and_templates(client: Client, argo_dir: Path) -> None:
    u = uri(argo_dir / "unsaved-complete.yaml")
    text = BROKEN
    client.open(u, text)
    await client.diagnostics_for(u)
    assert await labels(client, u, text, "{{inputs.parameters.value}}", 20) == ["value"]
    assert await labels(client, u, text, "{{workflow.parameters.greetin}}", 22) == ["greeting"]
    assert await labels(client, u, text, "{{tasks.a.outputs.parameters.out", 8) == ["a", "b", "c", "e"]
    assert "outputs" in await labels(client, u, text, "{{tasks.a.outputs.parameters.out", 10)
    assert "parameters" in await labels(client, u, text, "{{tasks.a.outputs.parameters.out", 18)
    assert await labels(client, u, text, "{{tasks.a.outputs.parameters.out", 29) == ["out"]
    assert await labels(client, u, text, "template: consume", 10) == ["main", "produce", "consume"]
    client.close(u)
    u, text, _ = await open_file(client, argo_dir / "outputs.yaml")
    assert await labels(client, u, text, '{{steps.produce.outputs.parameters.version}}"\n', 8) == ["produce"]
    assert await labels(client, u, text, "{{steps.produce.outputs.parameters.version}} ==", 8) == [
        "produce",
        "consume",
    ]
    assert await labels(client, u, text, "{{steps.produce.outputs.parameters.version}} ==", 35) == ["version"]
    # a reference being typed in a new line (a comment here, so the file still parses)
    line = at(text, "        - - name: dag").line
    client.edit(u, line, 0, line, 0, '        # "{{steps.\n')
    assert [i.label for i in await client.complete(u, types.Position(line, 19))] == ["produce", "consume", "dag"]
    client.close(u)


DUPLICATE_TASK = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: twice
spec:
  entrypoint: mian
  templates:
    - name: main
      dag:
        tasks:
          - name: a
            template: main
          - name: a
            template: main
"""


async def test_duplicate_task_and_unknown_entrypoint_point_at_the_name(client: Client, argo_dir: Path) -> None:
    u = uri(argo_dir / "unsaved-duplicate.yaml")
    client.open(u, DUPLICATE_TASK)
    [problem] = await client.diagnostics_for(u)
    assert 'duplicate DAG task name "a"' in problem.message
    assert problem.range == span(DUPLICATE_TASK, "- name: a", 2, "a")
    client.replace(u, DUPLICATE_TASK[::-1].replace("a :eman -", "b :eman -", 1)[::-1])
    [problem] = await client.diagnostics_for(u)
    assert 'entrypoint: unknown template "mian"' in problem.message and 'did you mean "main"' in problem.message
    assert problem.range == span(DUPLICATE_TASK, "entrypoint: mian", word="mian")
    client.close(u)


USES_TOOLBOX = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: use-
spec:
  entrypoint: main
  templates:
    - name: main
      steps:
        - - name: hello
            templateRef: {name: toolbox, template: greet}
        - - name: show
            template: main
            when: "{{steps.hello.outputs.parameters.said}} != ''"
"""


async def test_outputs_through_template_ref_follow_edits_of_the_other_file(client: Client, argo_dir: Path) -> None:
    templates = argo_dir / "template-ref" / "templates.yaml"
    t_uri, t_text, _ = await open_file(client, templates)
    u = uri(argo_dir / "template-ref" / "unsaved-uses.yaml")
    client.open(u, USES_TOOLBOX)
    [problem] = await client.diagnostics_for(u)
    assert problem.code == "unknown-output"
    assert problem.range == span(USES_TOOLBOX, "parameters.said", word="said")
    assert 'template "greet"' in problem.message and "through templateRef toolbox/greet" in problem.message
    # declare the output in the other (open) file: the workflow's diagnostics follow
    declared = t_text.replace(
        '        command: [sh, -c, "echo hello {{inputs.parameters.who}}"]\n',
        '        command: [sh, -c, "echo hello {{inputs.parameters.who}}"]\n'
        "      outputs:\n        parameters:\n          - name: said\n            valueFrom: {path: /tmp/said}\n",
    )
    sent = len(client.published)
    client.replace(t_uri, declared)
    assert await client.diagnostics_for(u, after=sent, any_version=True, until=lambda d: not d) == []
    [loc] = await client.definition(u, at(USES_TOOLBOX, "parameters.said", offset=11))
    assert loc.uri == t_uri and loc.range == span(declared, "- name: said", word="said")
    # rename the template (and its calls in that file): the templateRef is now unknown, with the choices
    sent = len(client.published)
    client.replace(t_uri, declared.replace("greet", "greeting"))
    [problem] = await client.diagnostics_for(u, after=sent, any_version=True, until=bool)
    assert problem.code == "unknown-template"
    assert problem.range == span(USES_TOOLBOX, "template: greet", word="greet")
    assert 'did you mean "greeting"' in problem.message
    client.close(u)
    client.close(t_uri)
