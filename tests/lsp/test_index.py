"""The index in-process: cutting files into documents, incremental updates equal to a
fresh parse (shifted documents included), and no crash on any prefix of any fixture."""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from dap_server.lsp.features import Features
from dap_server.lsp.index import FileIndex, split
from dap_server.lsp.model import DocIndex, Symbol
from dap_server.lsp.workspace import Workspace, scan
from tests.lsp.conftest import FIXTURES

FILES = sorted(FIXTURES.rglob("*.yaml"))


def pieces(text: str) -> list[tuple[int, str]]:
    return [(line, text[s:e]) for line, s, e in split(text)]


def test_split_cuts_at_document_markers_and_keeps_lines() -> None:
    text = "# head\na: 1\n---\nb: 2\n--- # c\nc: |\n  ---not a marker\n...\nd: 4\n----\n"
    assert pieces(text) == [
        (0, "# head\na: 1\n"),
        (2, "---\nb: 2\n"),
        (4, "--- # c\nc: |\n  ---not a marker\n...\n"),
        (8, "d: 4\n----\n"),
    ]
    assert "".join(p for _, p in pieces(text)) == text
    # directives and other line breaks: the file is parsed whole
    assert pieces("%YAML 1.2\n---\na: 1\n---\nb: 2\n") == [(0, "%YAML 1.2\n---\na: 1\n---\nb: 2\n")]
    assert len(pieces("a: 1\r\n---\r\nb: 2\r\n")) == 1
    for path in FILES:
        text = path.read_text()
        assert "".join(p for _, p in pieces(text)) == text


def snapshot(index: FileIndex) -> dict[str, Any]:
    """Everything positional an index answers with, as plain data."""

    def symbol(s: Symbol) -> Any:
        return (s.name, s.detail, s.range.key(), s.selection.key(), [symbol(c) for c in s.children])

    def doc(ix: DocIndex) -> Any:
        return {
            "key": ix.key,
            "range": ix.range.key(),
            "name": ix.name_range.key(),
            "symbols": [symbol(s) for s in ix.symbols],
            "uses": sorted((u.kind, u.name, u.range.key(), u.name_range.key()) for u in ix.uses),
            "decls": [(d.kind, d.name, d.range.key(), d.name_range.key()) for d in ix.decls],
            "lenses": [(lens.title, lens.range.key()) for lens in ix.lenses],
            "scopes": [
                (
                    s.kind,
                    s.label,
                    s.range.key(),
                    s.parent.label if s.parent else None,
                    s.ptask.name if s.ptask else None,
                    sorted(s.tasks),
                )
                for s in ix.scopes
            ],
            "pipeline": ix.pipeline is not None,
            "root": ix.root.label if ix.root else None,
        }

    return {
        "docs": [doc(ix) for ix in index.docs()],
        "problems": [(p.range.key(), p.message) for p in index.local_problems()],
    }


def problems(workspace: Workspace) -> list[tuple[tuple[int, int, int, int], str]]:
    return [(p.range.key(), p.message) for p in workspace.problems("/ws/big.yaml")]


def assert_intact(index: FileIndex) -> None:
    """No index still in use (current or kept for completion) was released."""
    for chunk in index.chunks:
        for ix in (*chunk.docs, *chunk.stale):
            for scope in ix.scopes:
                assert (scope.ptask is not None) == (scope.kind == "ptask"), (ix.key, scope.label)
                assert scope.parent is not None or scope.kind in ("run", "pipeline") or scope is ix.root
            assert ix.pipeline is not None or not any(s.kind == "pipeline" for s in ix.scopes)


def big_text() -> str:
    parts = [
        (FIXTURES / "multi-doc.yaml").read_text(),
        (FIXTURES / "build-pipeline" / "pipeline.yaml").read_text(),
        *(p.read_text() for p in sorted((FIXTURES / "build-pipeline" / "tasks").glob("*.yaml"))),
        (FIXTURES / "single-task.yaml").read_text(),
        (FIXTURES / "taskrun-embedded.yaml").read_text(),
    ]
    return "\n---\n".join(parts)


def test_incremental_updates_equal_a_fresh_index() -> None:
    """Random edits: the updated index (documents re-parsed, shifted or kept; checks reused)
    answers exactly as an index made from scratch of the same text."""
    text = big_text()
    workspace = Workspace([])
    workspace.open.add("/ws/big.yaml")
    workspace.set_text("/ws/big.yaml", text)
    index = workspace.files["/ws/big.yaml"]
    documents = len(split(text))
    rng = random.Random(6)
    for step in range(150):
        lines = text.split("\n")
        at = rng.randrange(len(lines))
        what = rng.choice(["insert", "delete", "edit", "blank", "break"])
        if what == "insert":
            lines.insert(at, rng.choice(["# a comment", "", "   # indented comment"]))
        elif what == "delete" and lines[at].strip().startswith("#"):
            del lines[at]
        elif what == "edit" and lines[at]:
            col = rng.randrange(len(lines[at]))
            lines[at] = lines[at][:col] + rng.choice(["x", "-", ":", " ", "$(params.x)", '"']) + lines[at][col:]
        elif what == "blank":
            lines.insert(at, "")
        elif what == "break":
            lines[at] = lines[at] + " ]"
        new = "\n".join(lines)
        workspace.set_text("/ws/big.yaml", new)
        fresh = FileIndex("/ws/big.yaml", new)
        assert snapshot(index) == snapshot(fresh), (step, what, at)
        other = Workspace([])
        other.set_text("/ws/big.yaml", new)
        assert problems(workspace) == problems(other), (step, what, at)
        assert_intact(index)
        refused = sum(1 for c in index.chunks if c.error is not None)  # re-parsed when they move
        assert index.parsed <= 1 + refused or len(split(new)) != documents
        documents = len(split(new))
        text = new


def test_a_one_line_change_parses_one_document_and_inserted_lines_shift_the_rest() -> None:
    text = big_text()
    index = FileIndex("/ws/big.yaml", text)
    before = snapshot(index)
    line = text.split("\n").index("      default: turbo")
    lines = text.split("\n")
    lines[line] = "      default: fast"
    index.update("\n".join(lines))
    assert index.parsed == 1
    lines.insert(3, "# new line near the top")
    index.update("\n".join(lines))
    assert index.parsed == 1  # only the first document changed; the others moved down one line
    assert snapshot(index) == snapshot(FileIndex("/ws/big.yaml", "\n".join(lines)))
    assert snapshot(index) != before


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_no_prefix_of_a_fixture_crashes_anything(path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Half-typed YAML: every prefix (at each line, and mid-line) indexes, checks and answers
    requests without an exception; each YAML error is the only diagnostic of its file."""
    caplog.set_level(logging.ERROR, logger="dap_server.lsp")
    text = path.read_text()
    workspace = Workspace([str(FIXTURES)])
    workspace.add_scanned(scan([str(FIXTURES / "build-pipeline")]))
    features = Features(workspace)
    target = str(path)
    workspace.open.add(target)
    cuts = sorted({i for i, c in enumerate(text) if c == "\n"} | set(range(0, len(text), 7)) | {len(text)})
    for cut in cuts:
        prefix = text[:cut]
        workspace.set_text(target, prefix)
        problems = workspace.problems(target)
        if workspace.files[target].yaml_error() is not None:
            assert len(problems) == 1
        features.symbols(target)
        features.lenses(target)
        last = prefix.count("\n")
        column = len(prefix) - (prefix.rfind("\n") + 1)
        position = types.Position(last, column)
        features.completion(target, position)
        features.hover(target, position)
        features.definition(target, position)
        features.references(target, position, True)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_the_startup_scan_gives_up_a_file_opened_while_it_was_being_indexed(tmp_path: Path) -> None:
    (tmp_path / "multi.yaml").write_text((FIXTURES / "multi-doc.yaml").read_text())
    (tmp_path / "single.yaml").write_text((FIXTURES / "single-task.yaml").read_text())
    asked: list[str] = []

    def opened(path: str) -> bool:  # multi.yaml is opened once its indexing has begun
        asked.append(path)
        return path.endswith("multi.yaml") and asked.count(path) > 1

    found = scan([str(tmp_path)], opened)
    assert sorted(Path(p).name for p in found) == ["single.yaml"]
    assert asked.count(str(tmp_path / "multi.yaml")) == 2
