"""Run `python -m dap_server debug` as a user would, with a scripted stdin.

The debugger writes every DAP message it sends and receives to a trace file
(PIPELINE_DAP_DEBUG_TRACE); each run's trace is validated against the DAP schema.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.dap_harness import REPO_ROOT, shared_validator

BUILD_PIPELINE = REPO_ROOT / "fixtures/tekton/build-pipeline"
PIPELINE = BUILD_PIPELINE / "pipeline.yaml"
BUILD = BUILD_PIPELINE / "tasks/build.yaml"
UNIT_TEST = BUILD_PIPELINE / "tasks/unit-test.yaml"
SINGLE = REPO_ROOT / "fixtures/tekton/single-task.yaml"
FAILING = REPO_ROOT / "fixtures/tekton/failing-task.yaml"


@dataclass(repr=False)
class DebugRun:
    code: int
    out: str
    err: str
    trace: list[dict[str, Any]]

    def messages(self, direction: str, kind: str, name: str) -> list[dict[str, Any]]:
        key = "command" if kind in ("request", "response") else "event"
        return [
            t["message"]
            for t in self.trace
            if t["direction"] == direction and t["message"].get("type") == kind and t["message"].get(key) == name
        ]

    def __repr__(self) -> str:
        return f"exit code {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


def line_of(path: os.PathLike[str], text: str, after: str = "") -> int:
    """1-based line of the first line of `path` that is `text` (stripped), below the first
    line that is `after` (stripped) when given."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == after) if after else 0
    return next(i for i, line in enumerate(lines[start:], start + 1) if line.strip() == text)


async def run_debug(args: list[str], script: str, tmp_path: Path, timeout: float = 180) -> DebugRun:
    trace_path = tmp_path / "debug-trace.jsonl"
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "PYTHONUNBUFFERED": "1",
        "PIPELINE_DAP_DEBUG_TRACE": str(trace_path),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dap_server",
        "debug",
        *args,
        cwd=str(REPO_ROOT),
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(script.encode()), timeout)
    except TimeoutError:
        process.kill()
        out, err = await process.communicate()
        raise AssertionError(f"the debugger hung:\n{out.decode()}\n--- stderr\n{err.decode()}") from None
    trace = []
    if trace_path.exists():
        trace = [json.loads(line) for line in trace_path.read_text(encoding="utf-8").splitlines() if line]
    assert process.returncode is not None
    return DebugRun(process.returncode, out.decode(), err.decode(), trace)


def assert_trace_valid(run: DebugRun) -> None:
    """Every DAP message of the run, both ways, is valid per the schema."""
    validator = shared_validator()
    assert run.trace, "no DAP trace was written"
    problems = []
    for entry in run.trace:
        for problem in validator.errors(entry["message"]):
            problems.append(f"{entry['direction']}: {problem}: {json.dumps(entry['message'])[:400]}")
    assert not problems, "\n".join(problems)
