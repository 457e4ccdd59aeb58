"""The benchmark's generator and report writer (no timing here)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from bench.report import write_section
from dap_server.sources import SourceSet, parse_text

from .helpers import pipeline_of, step_lines, task_of

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_sourcemap.py"


def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_sourcemap", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_file_maps_and_resolves() -> None:
    text = bench().generate(3)
    docs = parse_text("big.yaml", text)
    assert [d.key for d in docs] == ["Task/task-0", "Task/task-1", "Task/task-2", "Pipeline/big"]
    # each Task: a comment line, 13 header lines, then 5 steps of 11 lines (script included)
    assert step_lines(task_of(docs[0]).steps)[:2] == [("step-0", 15, 25, 5), ("step-1", 26, 36, 5)]
    assert len(task_of(docs[2]).steps) == 5
    sources = SourceSet([])
    sources.add("big.yaml", docs)
    sources.resolve(docs[-1])
    assert [t.task.name if t.task else None for t in pipeline_of(docs[-1]).tasks] == [
        "task-0",
        "task-1",
        "task-2",
    ]


def test_write_section_replaces_only_its_section(tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    write_section("sourcemap", "Source map", "first body", path)
    first = path.read_text()
    assert first.startswith("# Benchmarks\n")
    assert "<!-- bench:sourcemap -->\n## Source map\n\n_" in first and "first body\n<!-- bench:sourcemap -->" in first
    path.write_text(first + "\n## Engine\n\nother numbers\n")
    write_section("sourcemap", "Source map", "second body", path)
    second = path.read_text()
    assert "second body\n<!-- bench:sourcemap -->" in second and "first body" not in second
    assert second.endswith("## Engine\n\nother numbers\n")
    assert second.count("<!-- bench:sourcemap -->") == 2
