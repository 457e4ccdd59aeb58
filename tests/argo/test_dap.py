"""Argo breakpoints over DAP (stdio, every message schema-checked): binding to template containers
and DAG tasks. The run scenarios, on every engine, are in tests/scenarios/test_workflow_scenarios.py."""

from __future__ import annotations

from typing import Any

from tests.dap_harness import REPO_ROOT, HarnessClient

DIAMOND = REPO_ROOT / "fixtures/argo/dag-diamond.yaml"
FAILING = REPO_ROOT / "fixtures/argo/failing.yaml"
FAN_OUT = REPO_ROOT / "fixtures/argo/fan-out.yaml"


def launch(program: Any, **extra: Any) -> dict[str, Any]:
    return {"program": str(program), "engine": "local", **extra}


async def test_breakpoints_bind_to_template_containers_and_dag_tasks(dap: HarnessClient) -> None:
    await dap.request_ok("initialize", {"adapterID": "pipeline"})
    response = await dap.request_ok(
        "setBreakpoints",
        {"source": {"path": str(DIAMOND)}, "breakpoints": [{"line": 43}, {"line": 22}, {"line": 38}]},
    )
    container, task_b, miss = response["body"]["breakpoints"]
    assert container["verified"] and (container["line"], container["endLine"]) == (40, 46)
    assert task_b["verified"] and (task_b["line"], task_b["endLine"]) == (20, 24)
    assert miss["verified"] is False and miss["reason"] == "failed" and "40" in miss["message"]
    locations = await dap.request_ok(
        "breakpointLocations", {"source": {"path": str(DIAMOND)}, "line": 16, "endLine": 24}
    )
    assert [(b["line"], b["endLine"]) for b in locations["body"]["breakpoints"]] == [(16, 19), (20, 24)]
