"""The DAP scenarios of the local engine, unchanged, with `"engine": "tekton"` against the test
Kubernetes API: the real server over stdio, every message schema-checked."""

from __future__ import annotations

from pathlib import Path

from tests.dap_harness import REPO_ROOT, HarnessClient, start_session
from tests.kube.cluster import Cluster, running_cluster
from tests.session.helpers import frames_of, run_to_end, scope_values, stopped

SINGLE = REPO_ROOT / "fixtures/tekton/single-task.yaml"
FAILING = REPO_ROOT / "fixtures/tekton/failing-task.yaml"


def on(cluster: Cluster, program: Path) -> dict[str, object]:
    return {"program": str(program), "engine": "tekton", "kubeconfig": cluster.kubeconfig, "namespace": "default"}


async def test_stop_frames_params_next_and_exit_code_on_a_cluster(dap: HarnessClient, cluster: Cluster) -> None:
    start = await start_session(dap, on(cluster, SINGLE), breakpoints={SINGLE: [34]})
    assert start.launch["success"], start.launch
    stop = await stopped(dap, "breakpoint")
    thread_id = stop["body"]["threadId"]
    frames = await frames_of(dap, thread_id)
    assert (frames[0]["name"], frames[0]["line"]) == ("count", 34)
    params = await scope_values(dap, frames[0]["id"], "Parameters")
    assert params["count"] == "2"
    step = await scope_values(dap, frames[0]["id"], "Step")
    assert step["container"] == "step-count"
    await dap.request_ok("next", {"threadId": thread_id})
    stop = await stopped(dap, "step")
    assert (await frames_of(dap, stop["body"]["threadId"]))[0]["name"] == "echo-args"
    assert await run_to_end(dap) == 0
    assert any("count 2 of 2" in e["body"]["output"] for e in dap.events("output"))


async def test_on_failure_on_a_cluster(dap: HarnessClient, cluster: Cluster) -> None:
    await start_session(dap, on(cluster, FAILING), exception_filters=["onFailure"])
    stop = await stopped(dap, "exception")
    info = (await dap.request_ok("exceptionInfo", {"threadId": stop["body"]["threadId"]}))["body"]
    assert "about to fail" in info["details"]["stackTrace"]
    assert await run_to_end(dap) == 1
    assert not any("must not run" in e["body"]["output"] for e in dap.events("output"))


async def test_a_pipeline_is_refused_with_the_reason(dap: HarnessClient, cluster: Cluster) -> None:
    pipeline = REPO_ROOT / "fixtures/tekton/build-pipeline/pipeline.yaml"
    start = await start_session(dap, on(cluster, pipeline))
    assert start.launch["success"] is False
    assert "#5184" in start.launch["message"]


async def test_alpha_fields_off_fail_the_launch_itself(dap: HarnessClient, tmp_path: Path) -> None:
    async with running_cluster(str(tmp_path), api_fields="beta") as beta:
        start = await start_session(dap, on(beta, SINGLE))
        assert start.launch["success"] is False
        assert "enable-api-fields" in start.launch["message"] and "alpha" in start.launch["message"]
        assert beta.api.objects_of("taskruns") == []  # nothing was created
