"""What only the Argo engine does over DAP, against the test Kubernetes API (the scenarios it
shares with the local engine are in tests/scenarios/test_workflow_scenarios.py): terminate
shuts the Workflow down, a Tekton document is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.dap_harness import REPO_ROOT, HarnessClient, start_session
from tests.kube.cluster import Cluster
from tests.session.helpers import run_to_end, stopped

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


async def test_continue_on_an_image_without_touch_releases_through_an_ephemeral_container(
    dap: HarnessClient, cluster: Cluster, tmp_path: Path
) -> None:
    program = tmp_path / "shell-less.yaml"
    program.write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  generateName: bare-\nspec:\n"
        "  entrypoint: main\n  templates:\n    - name: main\n      container:\n"
        "        image: gcr.io/distroless/base-debian12\n        command: [echo, released]\n"
    )
    start = await start_session(
        dap, on(cluster, program, releaseImage="mirror.local/busybox:1.36"), breakpoints={program: [9]}
    )
    assert start.launch["success"], start.launch
    await stopped(dap, "breakpoint")
    assert await run_to_end(dap) == 0
    said = "".join(e["body"]["output"] for e in dap.events() if e["event"] == "output")
    assert 'the image has no "touch"; the pause before was released through the ephemeral container' in said
    assert "pipeline-dap-release-1 (mirror.local/busybox:1.36)" in said
    assert "released\n" in said
    (pod,) = cluster.api.objects_of("pods")
    # the pause after (no breakpoint: released by the session) went the same way, without an exec first
    assert [c["image"] for c in pod["spec"]["ephemeralContainers"]] == ["mirror.local/busybox:1.36"] * 2
    assert len([r for r in cluster.api.counts if r[0] == "GET" and r[1].endswith("/exec")]) == 1
