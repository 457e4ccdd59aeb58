"""The local Argo engine: a Workflow of N trivial steps, paused before and after every container
and released at once (what a debug run without breakpoints costs), against the same Workflow
run without pauses. Engine-level (no DAP): the engine's own cost, emissary start-up included.

Run: `.venv/bin/python bench/bench_argo.py [--steps 20] [--runs 3] [--write]`
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.report import write_section  # noqa: E402
from dap_server.engines.base import PauseKind, Resume, RunEvent, RunFinished, StepPaused  # noqa: E402
from dap_server.engines.local.argo import create_argo_local_engine  # noqa: E402
from dap_server.engines.options import RunOptions  # noqa: E402
from dap_server.sources import SourceSet  # noqa: E402


def workflow_yaml(steps: int) -> str:
    lines = [
        "apiVersion: argoproj.io/v1alpha1",
        "kind: Workflow",
        "metadata:",
        "  name: trivial",
        "spec:",
        "  entrypoint: main",
        "  templates:",
        "    - name: main",
        "      steps:",
    ]
    for i in range(steps):
        lines += [f"        - - name: s{i}", "            template: nop"]
    lines += [
        "    - name: nop",
        "      container:",
        "        image: alpine:3.20",
        '        command: ["true"]',
    ]
    return "\n".join(lines) + "\n"


async def one_run(path: str, debug: bool) -> tuple[float, int]:
    sources = SourceSet([os.path.dirname(path)])
    doc = sources.select(path)
    sources.resolve(doc)
    engine = create_argo_local_engine(doc, RunOptions(debug=debug))
    done = asyncio.Event()
    pauses = 0
    pending: list[asyncio.Future[None]] = []

    def sink(event: RunEvent) -> None:
        nonlocal pauses
        if isinstance(event, StepPaused):
            pauses += 1
            action = Resume.FAIL_CONTINUE if event.kind is PauseKind.FAILURE else Resume.CONTINUE
            pending.append(asyncio.ensure_future(engine.resume(event.step, event.kind, action)))
        elif isinstance(event, RunFinished):
            done.set()

    start = time.perf_counter()
    await engine.start(sink)
    await done.wait()
    elapsed = time.perf_counter() - start
    await engine.close()
    return elapsed, pauses


async def measure(steps: int, runs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "wf.yaml")
        Path(path).write_text(workflow_yaml(steps))
        plain = [(await one_run(path, False))[0] for _ in range(runs)]
        paused_runs = [await one_run(path, True) for _ in range(runs)]
    paused = [t for t, _ in paused_runs]
    assert all(p == 2 * steps for _, p in paused_runs), paused_runs
    return {
        "plain": statistics.median(plain),
        "paused": statistics.median(paused),
        "per_step_ms": (statistics.median(paused) - statistics.median(plain)) / steps * 1000,
        "plain_per_step_ms": statistics.median(plain) / steps * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(measure(args.steps, args.runs))
    body = (
        f"A Workflow of {args.steps} sequential trivial steps (`true`), "
        f"median of {args.runs} runs, engine level.\n\n"
        "| run | total | per step |\n|---|---|---|\n"
        f"| plain (no pauses) | {result['plain']:.2f} s | {result['plain_per_step_ms']:.1f} ms |\n"
        f"| paused before+after, auto-released | {result['paused']:.2f} s | "
        f"+{result['per_step_ms']:.1f} ms over plain |\n"
    )
    print(body)
    if args.write:
        write_section("argo", "Local Argo engine: pauses auto-released vs plain", body)


if __name__ == "__main__":
    main()
