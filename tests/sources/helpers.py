"""Shared bits of the source-map tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

from dap_server.sources import Document, PipelineSpec, Step, TaskSpec, parse_text

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "tekton"

TASK_HEAD = """\
apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: t
spec:
"""


def parse(text: str, path: str = "inline.yaml") -> list[Document]:
    return parse_text(path, textwrap.dedent(text))


def one(text: str, path: str = "inline.yaml") -> Document:
    docs = parse(text, path)
    assert len(docs) == 1, [d.key for d in docs]
    return docs[0]


def task_of(doc: Document) -> TaskSpec:
    assert doc.task is not None
    return doc.task


def pipeline_of(doc: Document) -> PipelineSpec:
    assert doc.pipeline is not None
    return doc.pipeline


def step_lines(steps: list[Step]) -> list[tuple[str, int, int, int]]:
    """(name, canonical line, end line, column) of each step."""
    return [(s.label, s.span.line, s.span.end_line, s.span.column) for s in steps]


def task_steps(text: str) -> list[tuple[str, int, int, int]]:
    """Step lines of a Task whose `spec:` body (dedented, then indented under `spec:`)
    follows TASK_HEAD (lines 1-5)."""
    return step_lines(task_of(one(TASK_HEAD + textwrap.indent(textwrap.dedent(text), "  "))).steps)
