"""Benchmark: building the source map of a big file vs. composing it with libyaml.

Generates one multi-document file (2,000 Tasks of 5 steps with scripts, and a Pipeline
of 2,000 tasks referencing them), then measures, in the same process, the median of N
runs of

- `parse_text` + `SourceSet.resolve` of the Pipeline (the source map), and
- `list(yaml.compose_all(text, Loader=yaml.CSafeLoader))` (the floor: one compose),

and prints both medians, their ratio (target <= 1.5) and tracemalloc peaks.

    .venv/bin/python bench/bench_sourcemap.py [--runs N] [--tasks N] [--write]

--write replaces the `## Source map` section of BENCHMARKS.md (between
`<!-- bench:sourcemap -->` markers), creating the file if needed.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.report import BENCHMARKS, write_section  # noqa: E402
from dap_server.sources import SourceSet, parse_text  # noqa: E402

STEPS_PER_TASK = 5


def generate(tasks: int) -> str:
    parts: list[str] = []
    for t in range(tasks):
        steps = []
        for s in range(STEPS_PER_TASK):
            steps.append(
                f"""    - name: step-{s}
      image: alpine:3.20
      env:
        - name: INDEX
          value: "{s}"
      script: |
        #!/bin/sh
        set -eu
        echo "task {t} step {s} $(params.flavour)"
        # comment-like line inside the script
        test "$INDEX" = "{s}"
"""
            )
        parts.append(
            f"""# Task {t}
apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: task-{t}
  labels: {{app: bench, index: "{t}"}}
spec:
  params:
    - name: flavour
      type: string
      default: plain
  stepTemplate:
    workingDir: /workspace
  steps:
{"".join(steps)}"""
        )
    pipeline_tasks = []
    for t in range(tasks):
        after = f'\n      runAfter: ["t{t - 1}"]' if t else ""
        pipeline_tasks.append(
            f"""    - name: t{t}{after}
      taskRef:
        name: task-{t}
      params:
        - name: flavour
          value: $(params.flavour)
"""
        )
    parts.append(
        f"""apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: big
spec:
  params:
    - name: flavour
      default: turbo
  tasks:
{"".join(pipeline_tasks)}"""
    )
    return "---\n".join(parts)


def source_map(path: str, text: str) -> None:
    docs = parse_text(path, text)
    sources = SourceSet([])
    sources.add(path, docs)
    pipeline = docs[-1]
    sources.resolve(pipeline)
    assert pipeline.pipeline is not None and all(t.task is not None for t in pipeline.pipeline.tasks)


def compose(text: str) -> None:
    list(yaml.compose_all(text, Loader=yaml.CSafeLoader))


def median_seconds(fn: Callable[[], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_bytes(fn: Callable[[], Any]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = parser.parse_args(argv)

    text = generate(args.tasks)
    path = "/bench/big-pipeline.yaml"
    lines = text.count("\n")
    steps = args.tasks * STEPS_PER_TASK
    source_map(path, text)  # warm up (imports, caches) and check it maps
    compose(text)

    # Interleave the two so drift (thermal, other load) hits both alike.
    compose_times: list[float] = []
    map_times: list[float] = []
    for _ in range(args.runs):
        compose_times.append(median_seconds(lambda: compose(text), 1))
        map_times.append(median_seconds(lambda: source_map(path, text), 1))
    compose_s = statistics.median(compose_times)
    map_s = statistics.median(map_times)
    ratio = map_s / compose_s
    compose_peak = peak_bytes(lambda: compose(text))
    map_peak = peak_bytes(lambda: source_map(path, text))

    mib = 1024 * 1024
    report = "\n".join(
        [
            f"Input: one file, {args.tasks} Tasks x {STEPS_PER_TASK} steps (with scripts) + a Pipeline "
            f"of {args.tasks} taskRefs: {lines:,} lines, {len(text) / mib:.1f} MiB.",
            f"Median of {args.runs} runs, same process; Python {platform.python_version()}, "
            f"PyYAML {yaml.__version__} (libyaml {'yes' if yaml.__with_libyaml__ else 'no'}), "
            f"{platform.machine()}, {os.cpu_count()} CPUs.",
            "",
            "| what | median | tracemalloc peak |",
            "|---|---|---|",
            f"| `yaml.compose_all` (CSafeLoader) | {compose_s * 1000:.0f} ms | {compose_peak / mib:.0f} MiB |",
            f"| `parse_text` + `SourceSet.resolve` | {map_s * 1000:.0f} ms | {map_peak / mib:.0f} MiB |",
            "",
            f"Ratio source map / compose: **{ratio:.2f}x** (target <= 1.5x). Steps mapped: {steps:,}.",
            "",
            "Reproduce: `.venv/bin/python bench/bench_sourcemap.py --write`.",
        ]
    )
    print(report)
    if args.write:
        write_section("sourcemap", "Source map", report)
        print(f"\nwrote {BENCHMARKS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
