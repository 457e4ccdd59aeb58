"""What only the Argo engine does over DAP, against the test Kubernetes API (the scenarios it
shares with the local engine are in tests/scenarios/test_workflow_scenarios.py): terminate
shuts the Workflow down, a Tekton document is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.dap_harness import REPO_ROOT, HarnessClient, start_session
from tests.kube.cluster import Cluster
from tests.session.helpers import stopped

pytestmark = pytest.mark.timeout(90)

DIAMOND = REPO_ROOT / "fixtures/argo/dag-diamond.yaml"
FAILING = REPO_ROOT / "fixtures/argo/failing.yaml"
FAN_OUT = REPO_ROOT / "fixtures/argo/fan-out.yaml"
SINGLE = REPO_ROOT / "fixtures/tekton/single-task.yaml"


def on(cluster: Cluster, program: Path, **extra: Any) -> dict[str, Any]:
    return {
        "program": str(program),
        "engine": "argo",
        "kubeconfig": cluster.kubeconfig,
        "namespace": "default",
        **extra,
    }


async def test_terminate_while_stopped_leaves_nothing_running(dap: HarnessClient, cluster: Cluster) -> None:
    start = await start_session(dap, on(cluster, DIAMOND), breakpoints={DIAMOND: [22]})
    assert start.launch["success"], start.launch
    await stopped(dap, "breakpoint")
    await dap.request_ok("terminate")
    await dap.wait_event("terminated")
    (workflow,) = cluster.api.objects_of("workflows")
    assert workflow["spec"]["shutdown"] == "Terminate"
    assert workflow["status"]["phase"] == "Failed"
    assert cluster.argo.processes() == []


async def test_a_tekton_document_is_refused_with_the_reason(dap: HarnessClient, cluster: Cluster) -> None:
    start = await start_session(dap, on(cluster, SINGLE))
    assert start.launch["success"] is False
    assert "argo engine runs Argo Workflows" in start.launch["message"]
    assert cluster.api.objects_of("workflows") == []
