"""DAP `attach` to a TaskRun already on the cluster (dap-mapping.md): the TaskRun is created
here through the official client, as a user or another tool would, then the real server
attaches to it over stdio; every message is schema-checked."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from dap_server.sources import SourceSet
from dap_server.translate import StepPlan, debug_spec
from tests.dap_harness import REPO_ROOT, HarnessClient, start_session
from tests.kube.cluster import Cluster
from tests.session.helpers import frames_of, run_to_end, scope_values, stopped

pytestmark = pytest.mark.timeout(60)

SINGLE = REPO_ROOT / "fixtures/tekton/single-task.yaml"
FAILING = REPO_ROOT / "fixtures/tekton/failing-task.yaml"


def taskrun_body(program: Path, name: str, debug: bool = True) -> dict[str, Any]:
    """A TaskRun of the program's Task, with the debug spec the tekton engine would give it."""
    sources = SourceSet([str(program.parent)])
    document = sources.select(str(program))
    sources.resolve(document)
    assert document.task is not None
    spec: dict[str, Any] = {"taskSpec": document.task.data(), "timeout": "0s"}
    if debug:
        spec["debug"] = debug_spec(document.task, StepPlan(), True)[0]
    return {
        "apiVersion": "tekton.dev/v1",
        "kind": "TaskRun",
        "metadata": {"name": name, "namespace": "default", "labels": {"tekton.dev/task": document.task.name}},
        "spec": spec,
    }


async def create_taskrun(cluster: Cluster, body: dict[str, Any]) -> None:
    def create() -> None:
        api = config.new_client_from_config(config_file=cluster.kubeconfig)
        try:
            client.CustomObjectsApi(api).create_namespaced_custom_object(
                "tekton.dev", "v1", "default", "taskruns", body
            )
        finally:
            api.close()

    await asyncio.to_thread(create)


def attach_args(cluster: Cluster, run: str, **more: Any) -> dict[str, Any]:
    return {"engine": "tekton", "run": run, "namespace": "default", "kubeconfig": cluster.kubeconfig, **more}


def condition(cluster: Cluster, name: str) -> dict[str, Any]:
    taskrun = cluster.api.get("taskruns", "default", name) or {}
    conditions = (taskrun.get("status") or {}).get("conditions") or [{}]
    return dict(conditions[0])


def console(dap: HarnessClient) -> str:
    return "".join(e["body"]["output"] for e in dap.events("output"))


async def test_attach_with_program_stops_in_effect_pause_breakpoint_and_runs_to_the_end(
    dap: HarnessClient, cluster: Cluster
) -> None:
    await create_taskrun(cluster, taskrun_body(SINGLE, "made-elsewhere"))
    start = await start_session(
        dap,
        attach_args(cluster, "taskrun/made-elsewhere", program=str(SINGLE)),
        breakpoints={SINGLE: [34]},
        request="attach",
    )
    assert start.launch["success"], start.launch.get("message")
    threads = (await dap.request_ok("threads"))["body"]["threads"]
    assert [t["name"] for t in threads] == ["single-task"]
    # the first step's before-pause (in effect as we attach, or the first one to come)
    entry = await stopped(dap, "entry")
    frames = await frames_of(dap, entry["body"]["threadId"])
    assert (frames[0]["name"], frames[0]["line"], frames[0]["source"]["path"]) == ("greet", 23, str(SINGLE))
    env = await scope_values(dap, frames[0]["id"], "Environment")
    assert env["WHO"] == "world" and env["HOME"].endswith("/tekton/home")  # read from the container
    params = await scope_values(dap, frames[0]["id"], "Parameters")
    assert params["count"] == "2"
    await dap.request_ok("continue", {"threadId": entry["body"]["threadId"]})
    hit = await stopped(dap, "breakpoint")
    frames = await frames_of(dap, hit["body"]["threadId"])
    assert (frames[0]["name"], frames[0]["line"]) == ("count", 34)
    assert await run_to_end(dap) == 0
    assert "count 2 of 2" in console(dap) and "hello world" in console(dap)
    assert condition(cluster, "made-elsewhere")["status"] == "True"


async def test_attach_finds_a_pause_already_in_effect(dap: HarnessClient, cluster: Cluster) -> None:
    """The TaskRun is paused before its first step before anyone attaches: the log read at
    attach time shows the pause, the container confirms it, and the session stops there;
    the step's log so far is replayed."""
    await create_taskrun(cluster, taskrun_body(FAILING, "paused-before"))
    pod_log = ("default", "paused-before-pod", "step-prepare")
    while b"debug before step breakpoint" not in bytes(getattr(cluster.api.logs.get(pod_log), "data", b"")):
        await asyncio.sleep(0.05)
    start = await start_session(
        dap, attach_args(cluster, "taskrun/paused-before", program=str(FAILING)), request="attach"
    )
    assert start.launch["success"], start.launch.get("message")
    entry = await stopped(dap, "entry")
    frames = await frames_of(dap, entry["body"]["threadId"])
    assert frames[0]["name"] == "prepare"
    step = await scope_values(dap, frames[0]["id"], "Step")
    assert step["state"] == "paused-before"
    assert await run_to_end(dap) == 1  # the Task's own failure (exit 3) stands
    assert "preparing" in console(dap)


async def test_attach_without_program_maps_the_taskrun_from_the_cluster(dap: HarnessClient, cluster: Cluster) -> None:
    await create_taskrun(cluster, taskrun_body(SINGLE, "no-program"))
    start = await start_session(dap, attach_args(cluster, "taskrun/no-program"), request="attach")
    assert start.launch["success"], start.launch.get("message")
    entry = await stopped(dap, "entry")
    frames = await frames_of(dap, entry["body"]["threadId"])
    path = frames[0]["source"]["path"]
    assert frames[0]["name"] == "greet" and path != str(SINGLE)
    text = Path(path).read_text()
    assert "kind: TaskRun" in text and "name: no-program" in text
    assert text.splitlines()[frames[0]["line"] - 1].strip() == "- name: greet"
    source = await dap.request_ok("source", {"source": {"path": path}, "sourceReference": 0})
    assert source["body"]["content"] == text
    # disconnect: every pause is released, the run goes on to its end, nothing stays paused
    await dap.request_ok("disconnect", {})
    assert condition(cluster, "no-program")["status"] == "True"
    assert cluster.tekton.processes() == []
    assert not os.path.exists(path) and not os.path.exists(os.path.dirname(path))


WAITING_TASK = """\
apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: waits-for-go
spec:
  steps:
    - name: wait
      image: alpine:3.20
      script: |
        #!/bin/sh
        echo "waiting"
        while [ ! -f /workspace/go ]; do sleep 0.05; done
        echo "went"
    - name: after
      image: alpine:3.20
      script: |
        #!/bin/sh
        echo "after it"
"""


async def test_attach_to_a_taskrun_without_debug_follows_it_and_says_it_cannot_stop(
    dap: HarnessClient, cluster: Cluster, tmp_path: Path
) -> None:
    program = tmp_path / "waits.yaml"
    program.write_text(WAITING_TASK)
    await create_taskrun(cluster, taskrun_body(program, "plain", debug=False))
    start = await start_session(
        dap, attach_args(cluster, "taskrun/plain", program=str(program)), breakpoints={program: [14]}, request="attach"
    )
    assert start.launch["success"], start.launch.get("message")
    while "waiting" not in console(dap):  # the log so far, replayed
        await asyncio.sleep(0.05)
    threads = (await dap.request_ok("threads"))["body"]["threads"]
    assert [t["name"] for t in threads] == ["waits-for-go"]
    Path(cluster.tekton.runs[("default", "plain")].folder, "workspace", "go").touch()
    exited = await dap.wait_event("exited", timeout=30)
    assert exited["body"]["exitCode"] == 0
    assert not dap.events("stopped")
    text = console(dap)
    assert "created without spec.debug" in text
    assert text.index("waiting") < text.index("went") < text.index("after it")
    assert text.count("waiting") == 1


async def test_attach_to_a_missing_run_fails_with_namespace_and_name(dap: HarnessClient, cluster: Cluster) -> None:
    start = await start_session(dap, attach_args(cluster, "taskrun/nowhere"), request="attach")
    assert start.launch["success"] is False
    assert start.launch["message"] == 'TaskRun "nowhere" not found in namespace "default"'


async def test_attach_refusals_say_why(dap: HarnessClient, cluster: Cluster) -> None:
    await dap.request_ok("initialize", {"adapterID": "pipeline"})
    pipeline_run = await dap.request("attach", attach_args(cluster, "pipelinerun/build"))
    assert pipeline_run["success"] is False and "#5184" in pipeline_run["message"]
    bad = await dap.request("attach", attach_args(cluster, "build"))
    assert bad["success"] is False and "taskrun/NAME" in bad["message"]
    local = await dap.request("attach", {"engine": "local", "run": "taskrun/x"})
    assert local["success"] is False and "cluster engine" in local["message"]


async def test_attach_with_a_program_whose_steps_differ_is_refused(
    dap: HarnessClient, cluster: Cluster, tmp_path: Path
) -> None:
    await create_taskrun(cluster, taskrun_body(SINGLE, "other-steps"))
    program = tmp_path / "task.yaml"
    program.write_text(SINGLE.read_text().replace("name: count", "name: tally"))
    start = await start_session(
        dap, attach_args(cluster, "taskrun/other-steps", program=str(program)), request="attach"
    )
    assert start.launch["success"] is False
    message = start.launch["message"]
    assert "does not describe TaskRun" in message and "'tally'" in message and "'count'" in message
    await dap.request_ok("disconnect", {})
    # the refused attach changed nothing: the TaskRun still runs, paused, for whoever created it
    assert condition(cluster, "other-steps").get("status") == "Unknown"
