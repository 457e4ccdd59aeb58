"""The test API itself, through the official client: what the engines rely on."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config
from kubernetes.stream import stream

from tests.kube.cluster import Cluster

pytestmark = pytest.mark.timeout(30)

FIXTURE = str(Path(__file__).resolve().parents[2] / "fixtures" / "tekton" / "single-task.yaml")


def _taskrun(debug: bool) -> dict[str, Any]:
    with open(FIXTURE) as f:
        task = yaml.safe_load(f)
    spec: dict[str, Any] = {"taskSpec": task["spec"]}
    if debug:
        spec["debug"] = {"breakpoints": {"onFailure": "enabled", "beforeSteps": ["greet"]}}
    return {"apiVersion": "tekton.dev/v1", "kind": "TaskRun", "metadata": {"generateName": "t-"}, "spec": spec}


async def test_taskrun_pod_logs_and_exec(cluster: Cluster) -> None:
    def calls() -> tuple[str, str, str, dict[str, Any]]:
        api = config.new_client_from_config(cluster.kubeconfig)
        co, core = client.CustomObjectsApi(api), client.CoreV1Api(api)
        created = co.create_namespaced_custom_object("tekton.dev", "v1", "default", "taskruns", _taskrun(True))
        name = created["metadata"]["name"]
        pods: list[Any] = []
        for _ in range(100):
            pods = core.list_namespaced_pod("default", label_selector=f"tekton.dev/taskRun={name}").items
            if pods and pods[0].status.container_statuses:
                break
            time.sleep(0.05)
        assert [p.metadata.name for p in pods] == [f"{name}-pod"]
        assert core.list_namespaced_pod("default", label_selector="tekton.dev/taskRun=other").items == []
        assert [c.name for c in pods[0].spec.containers] == ["step-greet", "step-count", "step-echo-args"]
        log = core.read_namespaced_pod_log(
            f"{name}-pod", "default", container="step-greet", follow=True, _preload_content=False
        )
        head = b""
        while b"debug-beforestep-fail-continue" not in head:
            head += log.read(1)
        out = stream(
            core.connect_get_namespaced_pod_exec,
            f"{name}-pod",
            "default",
            container="step-greet",
            command=["/tekton/debug/scripts/debug-beforestep-continue"],
            stderr=True,
            stdin=False,
            stdout=True,
            tty=False,
        )
        rest = log.read().decode()
        run = co.get_namespaced_custom_object("tekton.dev", "v1", "default", "taskruns", name)
        for _ in range(200):
            if run.get("status", {}).get("conditions", [{}])[0].get("status") != "Unknown":
                break
            time.sleep(0.05)
            run = co.get_namespaced_custom_object("tekton.dev", "v1", "default", "taskruns", name)
        api.close()
        return head.decode(), out, rest, run

    head, out, rest, run = await asyncio.wait_for(asyncio.to_thread(calls), 20)
    assert "debug before step breakpoint has taken effect, waiting for user's decision:" in head
    assert out == "Executing step 0...\n"
    assert rest.strip() == "hello world"
    assert run["status"]["conditions"][0]["reason"] == "Succeeded"
    assert run["status"]["results"] == [{"name": "message", "type": "string", "value": "hello world"}]


async def test_debug_needs_alpha(cluster: Cluster) -> None:
    await cluster.tekton.install("beta")

    def create() -> None:
        api = config.new_client_from_config(cluster.kubeconfig)
        try:
            client.CustomObjectsApi(api).create_namespaced_custom_object(
                "tekton.dev", "v1", "default", "taskruns", _taskrun(True)
            )
        finally:
            api.close()

    with pytest.raises(client.ApiException) as caught:
        await asyncio.wait_for(asyncio.to_thread(create), 10)
    assert caught.value.status == 400
    assert (
        'debug requires "enable-api-fields" feature gate to be "alpha" but it is "beta"'
        in json.loads(caught.value.body)["message"]
    )
