"""Hover, go to definition, find references and completion, on fixture files and on
unsaved edits of them."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from tests.lsp.conftest import Client, at, span, uri

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def opened(client: Client, path: Path, text: str | None = None) -> tuple[str, str]:
    text = path.read_text() if text is None else text
    u = uri(path)
    client.open(u, text)
    await client.diagnostics_for(u)
    return u, text


def markdown(hover: types.Hover | None) -> str:
    assert hover is not None
    assert isinstance(hover.contents, types.MarkupContent)
    assert hover.contents.kind == types.MarkupKind.Markdown
    return hover.contents.value


def where(locations: list[types.Location]) -> list[tuple[str, types.Range]]:
    return [(loc.uri, loc.range) for loc in locations]


@pytest.fixture(scope="module")
def files(workspace_dir: Path) -> dict[str, Path]:
    bp = workspace_dir / "build-pipeline"
    return {
        "pipeline": bp / "pipeline.yaml",
        "run": bp / "run.yaml",
        "build": bp / "tasks" / "build.yaml",
        "git-clone": bp / "tasks" / "git-clone.yaml",
    }


async def test_hover_on_param_result_workspace_and_task_references(client: Client, files: dict[str, Path]) -> None:
    u, text = await opened(client, files["pipeline"])
    hover = await client.hover(u, at(text, "$(params.repo-url)", offset=12))
    assert hover is not None and hover.range == span(text, "$(params.repo-url)")
    assert markdown(hover) == (
        "**param `repo-url`**: `string`\n\ndefault: `https://example.com/demo/hello.git`\n\n"
        'declared by Pipeline "build-and-test" (build-pipeline/pipeline.yaml:12)\n\nwhere the sources come from'
    )
    assert markdown(await client.hover(u, at(text, "$(params.test-args[*])", offset=4))) == (
        '**param `test-args`**: `array`\n\ndefault: `["--verbose", "--fail-fast"]`\n\n'
        'declared by Pipeline "build-and-test" (build-pipeline/pipeline.yaml:19)\n\n'
        "extra arguments for the test runner"
    )
    # a result of the Task that pipeline task "build" runs (another file)
    assert markdown(await client.hover(u, at(text, "$(tasks.build.results.digest)", offset=24))) == (
        'result of pipeline task "build"\n\n**result `digest`**\n\n'
        'declared by Task "build" (build-pipeline/tasks/build.yaml:15)\n\nchecksum of the built package'
    )
    assert markdown(await client.hover(u, at(text, "$(tasks.build.status)", offset=9))) == (
        '**pipeline task `build`**\n\nruns Task "build"\n\nresults: `digest`\n\nbuild-pipeline/pipeline.yaml:40'
    )
    # the Task a taskRef names
    assert markdown(await client.hover(u, at(text, "name: git-clone", offset=8))) == (
        "**Task `git-clone`** (build-pipeline/tasks/git-clone.yaml:6)\n\nparams: `url`, `revision`\n\n"
        "workspaces: `output`\n\nresults: `commit`\n\nsteps: `clone`, `commit`"
    )
    assert await client.hover(u, at(text, "apiVersion")) is None
    client.close(u)

    u, text = await opened(client, files["build"])
    assert markdown(await client.hover(u, at(text, "$(workspaces.source.path)", offset=15))) == (
        '**workspace `source`**\n\ndeclared by Task "build" (build-pipeline/tasks/build.yaml:13)'
    )
    hover = await client.hover(u, at(text, "$(results.digest.path))", offset=3))
    assert hover is not None and hover.range == span(text, "$(results.digest.path)", occurrence=2)
    assert markdown(hover).startswith("**result `digest`**\n\n")
    assert markdown(await client.hover(u, at(text, "$(params.flavour)", offset=2))) == (
        '**param `flavour`**: `string`\n\ndefault: `plain`\n\ndeclared by Task "build" '
        "(build-pipeline/tasks/build.yaml:9)"
    )
    client.close(u)


async def test_hover_columns_are_utf16_after_non_ascii_text(client: Client, workspace_dir: Path) -> None:
    text = (
        "apiVersion: tekton.dev/v1\nkind: Task\nmetadata:\n  name: t\nspec:\n"
        "  params: [{name: x, description: ünïcode}]\n  steps:\n"
        '    - {name: s, image: alpine, script: "echo 😀 é $(params.x)"}\n'
    )
    u, _ = await opened(client, workspace_dir / "inline" / "unicode.yaml", text)
    line = text.splitlines()[7]
    start = line.index("$(params.x)")
    units = len(line[:start].encode("utf-16-le")) // 2  # the emoji counts 2
    assert units == start + 1
    hover = await client.hover(u, types.Position(7, units + 9))
    assert hover is not None
    assert hover.range == types.Range(types.Position(7, units), types.Position(7, units + 11))
    assert markdown(hover).endswith("ünïcode")
    client.close(u)


async def test_definition_of_refs_params_tasks_and_results(client: Client, files: dict[str, Path]) -> None:
    git_clone = files["git-clone"].read_text()
    build = files["build"].read_text()
    u, text = await opened(client, files["pipeline"])
    found = await client.definition(u, at(text, "name: git-clone", offset=9))
    assert where(found) == [(uri(files["git-clone"]), span(git_clone, "name: git-clone", word="git-clone"))]
    found = await client.definition(u, at(text, "$(params.flavour)", offset=10))
    assert where(found) == [(u, span(text, "- name: flavour", word="flavour"))]
    found = await client.definition(u, at(text, "$(tasks.build.results.digest)", offset=9))
    assert where(found) == [(u, span(text, "- name: build", word="build"))]
    found = await client.definition(u, at(text, "$(tasks.build.results.digest)", offset=25))
    assert where(found) == [(uri(files["build"]), span(build, "- name: digest\n      description", word="digest"))]
    found = await client.definition(u, at(text, 'runAfter: ["build", "lint"]', offset=22))
    assert where(found) == [(u, span(text, "- name: lint", word="lint"))]
    assert await client.definition(u, at(text, "kind: Pipeline")) == []
    client.close(u)

    r, run = await opened(client, files["run"])
    found = await client.definition(r, at(run, "name: build-and-test", offset=8))
    assert where(found) == [(u, span(text, "name: build-and-test", word="build-and-test"))]
    client.close(r)


async def test_definition_follows_unsaved_text_of_the_target_file(client: Client, files: dict[str, Path]) -> None:
    t = uri(files["git-clone"])
    shifted = "# a comment typed above\n# and another\n" + files["git-clone"].read_text()
    client.open(t, shifted)
    await client.diagnostics_for(t)
    u, text = await opened(client, files["pipeline"])
    found = await client.definition(u, at(text, "name: git-clone", offset=9))
    assert where(found) == [(t, span(shifted, "name: git-clone", word="git-clone"))]
    client.close(t)
    client.close(u)


async def test_references_of_params_tasks_results_and_documents(client: Client, files: dict[str, Path]) -> None:
    b, build = await opened(client, files["build"])
    decl = span(build, "- name: flavour", word="flavour")
    use = span(build, "$(params.flavour)", word="flavour")
    assert where(await client.references(b, decl.start, True)) == [(b, decl), (b, use)]
    assert where(await client.references(b, use.start, False)) == [(b, use)]

    u, text = await opened(client, files["pipeline"])
    found = await client.references(u, at(text, "- name: build", offset=9), False)
    assert where(found) == [
        (u, span(text, 'runAfter: ["build"', word="build")),
        (u, span(text, "$(tasks.build.results.digest)", occurrence=1, word="build")),
        (u, span(text, "$(tasks.build.status)", word="build")),
        (u, span(text, "$(tasks.build.results.digest)", occurrence=2, word="build")),
    ]
    # a Task result: its uses in the Task and in the pipelines that read it
    found = await client.references(b, at(build, "- name: digest\n      description", offset=9), False)
    assert where(found) == [
        (u, span(text, "$(tasks.build.results.digest)", occurrence=1, word="digest")),
        (u, span(text, "$(tasks.build.results.digest)", occurrence=2, word="digest")),
        (b, span(build, "$(results.digest.path)", occurrence=1, word="digest")),
        (b, span(build, "$(results.digest.path)", occurrence=2, word="digest")),
    ]
    # the Task itself: the taskRefs that resolve to it
    found = await client.references(b, at(build, "name: build", offset=7), False)
    assert where(found) == [(u, span(text, "taskRef:\n        name: build", word="build"))]
    client.close(u)
    client.close(b)


def labels(items: list[types.CompletionItem]) -> list[str]:
    return [i.label for i in items]


async def complete_with(
    client: Client, u: str, text: str, old: str, new: str, occurrence: int = 1
) -> list[types.CompletionItem]:
    """Replace the `occurrence`-th `old` with `new` in the buffer and complete at its end."""
    start = at(text, old, occurrence)
    client.edit(u, start.line, start.character, start.line, start.character + len(old), new)
    items = await client.complete(u, types.Position(start.line, start.character + len(new)))
    client.edit(u, start.line, start.character, start.line, start.character + len(new), old)
    return items


async def test_completion_of_params_tasks_results_and_workspaces(client: Client, files: dict[str, Path]) -> None:
    u, text = await opened(client, files["pipeline"])
    items = await complete_with(client, u, text, "$(params.flavour)", "$(params.")
    assert labels(items) == ["repo-url", "flavour", "test-args", "run-lint"]
    flavour = items[1]
    assert flavour.kind == types.CompletionItemKind.Variable and flavour.detail == "param string = turbo"
    assert flavour.text_edit is not None and isinstance(flavour.text_edit, types.TextEdit)
    pos = at(text, "$(params.flavour)", offset=9)
    assert flavour.text_edit.range == types.Range(pos, pos)
    items = await complete_with(client, u, text, "$(params.flavour)", "$(params.fl")
    assert items[0].text_edit is not None and isinstance(items[0].text_edit, types.TextEdit)
    assert items[0].text_edit.range == types.Range(pos, types.Position(pos.line, pos.character + 2))
    # in pipeline task "test": the other tasks; then what a task offers; then its Task's results
    assert labels(await complete_with(client, u, text, "$(tasks.build.results.digest)", "$(tasks.")) == [
        "fetch",
        "build",
        "lint",
        "report",
    ]
    assert labels(await complete_with(client, u, text, "$(tasks.build.results.digest)", "$(tasks.build.")) == [
        "results"
    ]
    assert labels(await complete_with(client, u, text, "$(tasks.build.status)", "$(tasks.build.")) == [
        "results",
        "status",
        "reason",
    ]
    items = await complete_with(client, u, text, "$(tasks.build.results.digest)", "$(tasks.build.results.")
    assert labels(items) == ["digest"]
    assert items[0].documentation is not None
    assert labels(await complete_with(client, u, text, "$(tasks.build.results.digest)", "$(tasks.fetch.results.")) == [
        "commit"
    ]
    assert "tasks" in labels(await complete_with(client, u, text, "$(params.flavour)", "$("))
    client.close(u)

    b, build = await opened(client, files["build"])
    assert labels(await complete_with(client, b, build, "$(workspaces.source.path)", "$(workspaces.")) == ["source"]
    assert labels(await complete_with(client, b, build, "$(results.digest.path)", "$(results.")) == ["digest"]
    assert labels(await complete_with(client, b, build, "$(params.flavour)", "$(params.")) == ["flavour"]
    client.close(b)


async def test_completion_while_the_yaml_is_broken(client: Client, files: dict[str, Path]) -> None:
    u, text = await opened(client, files["pipeline"])
    start = at(text, "$(params.flavour)")
    typed = '"$(params.'  # an unclosed quote: the document does not parse right now
    client.edit(u, start.line, start.character, start.line, start.character + len("$(params.flavour)"), typed)
    [d] = await client.diagnostics_for(u)
    assert d.message.startswith("invalid YAML")
    items = await client.complete(u, types.Position(start.line, start.character + len(typed)))
    assert labels(items) == ["repo-url", "flavour", "test-args", "run-lint"]
    client.close(u)
