"""The DAP scenarios of the local Argo engine (tests/argo/test_dap.py) with `"engine": "argo"`
against the test Kubernetes API: the real server over stdio, every message schema-checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.dap_harness import REPO_ROOT, HarnessClient, start_session
from tests.kube.cluster import Cluster
from tests.session.helpers import frames_of, run_to_end, scope_values, stopped

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


async def thread_name(dap: HarnessClient, thread_id: int) -> str:
    threads = (await dap.request_ok("threads"))["body"]["threads"]
    return str(next(t["name"] for t in threads if t["id"] == thread_id))


async def test_dag_task_breakpoint_thread_frames_and_values(dap: HarnessClient, cluster: Cluster) -> None:
    start = await start_session(dap, on(cluster, DIAMOND, params={"greeting": "hey"}), breakpoints={DIAMOND: [22]})
    assert start.launch["success"], start.launch
    event = await stopped(dap, "breakpoint")
    thread_id = event["body"]["threadId"]
    name = await thread_name(dap, thread_id)
    assert name.startswith("diamond-debug-") and name.endswith(".b")  # the node's name, as Argo shows it
    frames = await frames_of(dap, thread_id)
    assert [(f["name"], f["line"]) for f in frames][:3] == [("main", 40), ("b", 20), ("diamond", 13)]
    assert frames[0]["source"]["path"] == str(DIAMOND)
    env = await scope_values(dap, frames[0]["id"], "Environment")
    assert env["MESSAGE"] == "b"
    params = await scope_values(dap, frames[0]["id"], "Parameters")
    assert params["message"] == "b"
    step = await scope_values(dap, frames[0]["id"], "Step")
    assert step["container"] == "main"
    # next: after the (only) container of b, on the same thread
    await dap.request_ok("next", {"threadId": thread_id})
    after = await stopped(dap, "step")
    assert after["body"]["threadId"] == thread_id
    assert await run_to_end(dap) == 0
    assert any("hey from a" in e["body"]["output"] for e in dap.events("output"))
    assert cluster.argo.processes() == []


async def test_template_breakpoint_stops_every_invocation(dap: HarnessClient, cluster: Cluster) -> None:
    start = await start_session(dap, on(cluster, DIAMOND), breakpoints={DIAMOND: [42]})
    assert start.launch["success"], start.launch
    names = set()
    for _ in range(4):
        event = await stopped(dap, "breakpoint")
        names.add((await thread_name(dap, event["body"]["threadId"])).rsplit(".", 1)[1])
        await dap.request_ok("continue", {"threadId": event["body"]["threadId"], "singleThread": True})
    assert names == {"a", "b", "c", "d"}
    assert await run_to_end(dap) == 0


async def test_fan_out_threads_step_out(dap: HarnessClient, cluster: Cluster) -> None:
    start = await start_session(dap, on(cluster, FAN_OUT), breakpoints={FAN_OUT: [12]})
    assert start.launch["success"], start.launch
    event = await stopped(dap, "breakpoint")
    threads = (await dap.request_ok("threads"))["body"]["threads"]
    assert any("colours(0:red)" in t["name"] for t in threads)
    await dap.request_ok("stepOut", {"threadId": event["body"]["threadId"], "singleThread": True})
    stepped = await dap.wait_event("stopped", lambda e: e["body"]["reason"] == "step")
    assert stepped["body"]["threadId"] == event["body"]["threadId"]
    assert "after" in stepped["body"]["description"]
    assert await run_to_end(dap) == 0


async def test_on_failure_exception_info_and_exit_code(dap: HarnessClient, cluster: Cluster) -> None:
    start = await start_session(dap, on(cluster, FAILING), exception_filters=["onFailure"])
    assert start.launch["success"], start.launch
    event = await stopped(dap, "exception")
    info = await dap.request_ok("exceptionInfo", {"threadId": event["body"]["threadId"]})
    assert info["body"]["exceptionId"] == "ExitCode"
    assert "3" in info["body"]["description"]
    assert "oops" in info["body"]["details"]["stackTrace"]
    assert await run_to_end(dap) == 1
    assert cluster.argo.processes() == []


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
