"""DAP `attach` to an Argo Workflow already on the cluster: the Workflow (with the pause env the
argo engine gives it) is created here through the official client, as `kubectl create -f` on
`pipeline-dap translate --engine argo` output would, then the real server attaches over stdio."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from dap_server.engines.argo.workflow import workflow_body
from dap_server.engines.options import RunOptions
from dap_server.sources import SourceSet
from dap_server.sources.argo import ArgoDocument
from tests.dap_harness import REPO_ROOT, HarnessClient, start_session
from tests.kube.cluster import Cluster
from tests.session.helpers import frames_of, run_to_end, scope_values, stopped

pytestmark = pytest.mark.timeout(60)

DIAMOND = REPO_ROOT / "fixtures/argo/dag-diamond.yaml"


async def create_workflow(cluster: Cluster, program: Path, name: str) -> None:
    sources = SourceSet([str(program.parent)])
    document = sources.select(str(program))
    sources.resolve(document)
    assert isinstance(document, ArgoDocument)
    body: dict[str, Any] = workflow_body(document, RunOptions(), "default").workflow
    body["metadata"] = {"name": name, "namespace": "default"}

    def create() -> None:
        api = config.new_client_from_config(config_file=cluster.kubeconfig)
        try:
            client.CustomObjectsApi(api).create_namespaced_custom_object(
                "argoproj.io", "v1alpha1", "default", "workflows", body
            )
        finally:
            api.close()

    await asyncio.to_thread(create)


def attach_args(cluster: Cluster, run: str, **more: Any) -> dict[str, Any]:
    return {"engine": "argo", "run": run, "namespace": "default", "kubeconfig": cluster.kubeconfig, **more}


async def test_attach_to_a_workflow_stops_at_the_pause_in_effect_and_runs_to_the_end(
    dap: HarnessClient, cluster: Cluster
) -> None:
    await create_workflow(cluster, DIAMOND, "made-elsewhere")
    start = await start_session(
        dap, attach_args(cluster, "workflow/made-elsewhere", program=str(DIAMOND)), request="attach"
    )
    assert start.launch["success"], start.launch.get("message")
    entry = await stopped(dap, "entry")
    threads = {t["id"]: t["name"] for t in (await dap.request_ok("threads"))["body"]["threads"]}
    assert threads[entry["body"]["threadId"]] == "made-elsewhere.a"
    frames = await frames_of(dap, entry["body"]["threadId"])
    assert [(f["name"], f["line"]) for f in frames][:3] == [("main", 40), ("a", 16), ("diamond", 13)]
    assert frames[0]["source"]["path"] == str(DIAMOND)
    env = await scope_values(dap, frames[0]["id"], "Environment")
    assert env["MESSAGE"] == "hello from a"
    assert await run_to_end(dap) == 0
    workflow = cluster.api.get("workflows", "default", "made-elsewhere") or {}
    assert workflow["status"]["phase"] == "Succeeded"


async def test_attach_without_program_maps_the_workflow_from_the_cluster_and_disconnect_releases(
    dap: HarnessClient, cluster: Cluster
) -> None:
    await create_workflow(cluster, DIAMOND, "no-program")
    start = await start_session(dap, attach_args(cluster, "workflow/no-program"), request="attach")
    assert start.launch["success"], start.launch.get("message")
    entry = await stopped(dap, "entry")
    frames = await frames_of(dap, entry["body"]["threadId"])
    path = frames[0]["source"]["path"]
    assert path != str(DIAMOND) and frames[0]["name"] == "main"
    assert "kind: Workflow" in Path(path).read_text()
    await dap.request_ok("disconnect", {})  # attach: release every pause, leave the run going
    workflow = cluster.api.get("workflows", "default", "no-program") or {}
    assert workflow["status"]["phase"] == "Succeeded"
    assert cluster.argo.processes() == []


async def test_attach_to_a_missing_workflow_names_namespace_and_name(dap: HarnessClient, cluster: Cluster) -> None:
    start = await start_session(dap, attach_args(cluster, "workflow/nowhere"), request="attach")
    assert start.launch["success"] is False
    assert "nowhere" in start.launch["message"] and "default" in start.launch["message"]
