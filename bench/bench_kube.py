"""The cluster engines against the test Kubernetes API (tests/kube): API requests per step, over
DAP as an IDE drives them. A Task / Workflow of N trivial steps runs twice:

- with a breakpoint on every step: each step is paused, stopped, continued (paused-and-resumed);
- without breakpoints: every pause the engine asks for (Tekton: before each named step; Argo:
  before and after each container) is released at once by the session.

Requests are counted by the test API itself (method, path): the fixed cost of a run (create,
the watches, reads) and the per-step cost (log follows, execs). The target is ≤ 3 requests per
paused-and-resumed step and no polling: a list/get repeated per step would show here.
Also reported: wall time from `continue` to the next `stopped` (test API on loopback, each
container a local process; a real cluster adds its own latency).

Run: `.venv/bin/python bench/bench_kube.py [--steps 10] [--write]`
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_argo import workflow_yaml  # noqa: E402
from bench.bench_dap import step_line, task_yaml  # noqa: E402
from bench.report import write_section  # noqa: E402
from dap_server.client import DapClient  # noqa: E402
from tests.kube.cluster import running_cluster  # noqa: E402


def workflow_step_lines(text: str) -> list[int]:
    """The steps items (`- - name:`) of bench_argo's workflow: one breakpoint each."""
    return [n for n, line in enumerate(text.splitlines(), 1) if line.strip().startswith("- - name:")]


async def session(program: Path, engine: str, kubeconfig: str, lines: list[int]) -> dict[str, Any]:
    client = await DapClient.spawn(
        [sys.executable, "-m", "dap_server", "serve"], cwd=str(ROOT), stderr=asyncio.subprocess.DEVNULL
    )
    await client.request_ok("initialize", {"adapterID": "pipeline"})
    arguments = {"program": str(program), "engine": engine, "kubeconfig": kubeconfig, "namespace": "default"}
    launch = asyncio.create_task(client.request("launch", arguments))
    await client.wait_event("initialized")
    if lines:
        breakpoints = [{"line": line} for line in lines]
        await client.request_ok("setBreakpoints", {"source": {"path": str(program)}, "breakpoints": breakpoints})
    await client.request_ok("configurationDone")
    response = await launch
    assert response["success"], response
    gaps: list[float] = []
    stops = 0
    sent = 0.0
    while True:
        waiter = asyncio.ensure_future(client.wait_event("stopped", timeout=120))
        ended = asyncio.ensure_future(client.wait_event("exited", timeout=120))
        done, _ = await asyncio.wait({waiter, ended}, return_when=asyncio.FIRST_COMPLETED)
        if ended in done:
            waiter.cancel()
            exit_code = ended.result()["body"]["exitCode"]
            break
        ended.cancel()
        if sent:
            gaps.append(time.monotonic() - sent)
        stops += 1
        sent = time.monotonic()
        await client.request_ok("continue", {"threadId": waiter.result()["body"]["threadId"]})
    await client.request("disconnect", {})
    await client.close()
    return {"stops": stops, "gaps": gaps, "exit": exit_code}


def classify(counts: list[tuple[str, str, str]]) -> dict[str, int]:
    kinds = {"log follows": 0, "execs": 0, "watches": 0, "other": 0}
    for method, path, query in counts:
        if path.endswith("/log"):
            kinds["log follows"] += 1
        elif path.endswith("/exec"):
            kinds["execs"] += 1
        elif method == "GET" and "watch=true" in query.lower():
            kinds["watches"] += 1
        else:
            kinds["other"] += 1
    return kinds


async def measure(engine: str, program: Path, lines: list[int], steps: int) -> list[str]:
    rows = []
    for label, breakpoints in (("breakpoint on every step", lines), ("no breakpoints", [])):
        with tempfile.TemporaryDirectory(prefix="pipeline-dap-bench-kube-") as folder:
            async with running_cluster(folder) as cluster:
                result = await session(program, engine, cluster.kubeconfig, breakpoints)
                counts = list(cluster.api.counts)
        assert result["exit"] == 0, result
        kinds = classify(counts)
        per_step = (kinds["log follows"] + kinds["execs"]) / steps
        gap = f"{statistics.median(result['gaps']) * 1000:.0f} ms" if result["gaps"] else "–"
        rows.append(
            f"| {engine} | {label} | {result['stops']} | {len(counts)} | {kinds['other']} + {kinds['watches']} watches "
            f"| {kinds['log follows']} | {kinds['execs']} | **{per_step:.2f}** | {gap} |"
        )
    return rows


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--engines", default="tekton,argo")
    parser.add_argument("--write", action="store_true", help="rewrite the section in BENCHMARKS.md")
    args = parser.parse_args()
    n = args.steps
    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="pipeline-dap-bench-") as folder:
        if "tekton" in args.engines:
            task = Path(folder) / "task.yaml"
            task.write_text(task_yaml(n))
            rows += await measure("tekton", task, [step_line(i) for i in range(n)], n)
        if "argo" in args.engines:
            workflow = Path(folder) / "workflow.yaml"
            workflow.write_text(workflow_yaml(n))
            rows += await measure("argo", workflow, workflow_step_lines(workflow_yaml(n)), n)
    table = [
        "| engine | run | stops | requests | fixed (+ watches) | log follows | execs | per step (logs + execs) "
        "| continue → next stop (p50) |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
    ]
    body = (
        f"A run of {n} trivial steps over DAP (real server, stdio) against the test Kubernetes API; requests "
        "counted by the API. Target: ≤ 3 requests per paused-and-resumed step, no polling (the fixed part "
        "does not grow with the steps). Opening the Variables of a stop adds one exec (the container's real "
        "environment and results), once per stop.\n\n" + "\n".join(table)
    )
    print(body)
    if args.write:
        write_section("kube", "Cluster engines: API requests per step", body)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
