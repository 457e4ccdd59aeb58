"""Argo on the test API, through the official client: what an Argo v4 cluster does
(notes/argo-contract.md) and the Argo cluster engine relies on."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config
from kubernetes.stream import stream

from tests.kube.cluster import Cluster

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "argo"
GROUP, VERSION, PLURAL = "argoproj.io", "v1alpha1", "workflows"
PROTOCOL_MARK = "\x1e@pipeline-dap-emissary"
NOT_FOUND = (
    'OCI runtime exec failed: exec failed: unable to start container process: exec: "touch": '
    "executable file not found in $PATH: unknown"
)


def fnv32a(text: str) -> int:
    """Go's hash/fnv New32a, written out again here so node ids are checked independently."""
    h = 2166136261
    for byte in text.encode():
        h ^= byte
        h = (h * 16777619) % 2**32
    return h


def test_fnv32a_vectors() -> None:
    assert fnv32a("") == 0x811C9DC5
    assert fnv32a("a") == 0xE40C292C
    assert fnv32a("foobar") == 0xBF9CF968


def fixture(name: str) -> dict[str, Any]:
    with open(FIXTURES / name) as f:
        data: dict[str, Any] = yaml.safe_load(f)
    return data


def pausing(workflow: dict[str, Any], before: str | None = "true", after: str | None = "true") -> dict[str, Any]:
    """Every container of every leaf template gets ARGO_DEBUG_PAUSE_BEFORE/AFTER (what the engine does)."""
    wf = copy.deepcopy(workflow)
    extra = [
        {"name": k, "value": v}
        for k, v in (("ARGO_DEBUG_PAUSE_BEFORE", before), ("ARGO_DEBUG_PAUSE_AFTER", after))
        if v
    ]
    for template in wf["spec"]["templates"]:
        bodies = [template[k] for k in ("container", "script") if k in template]
        bodies += (template.get("containerSet") or {}).get("containers", [])
        for body in bodies:
            body["env"] = [*body.get("env", []), *extra]
    return wf


class Api:
    """The official client on the cluster's kubeconfig (blocking: run in a thread)."""

    def __init__(self, cluster: Cluster) -> None:
        self.client = config.new_client_from_config(cluster.kubeconfig)
        self.co = client.CustomObjectsApi(self.client)
        self.core = client.CoreV1Api(self.client)

    def create(self, workflow: dict[str, Any]) -> str:
        created = self.co.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, workflow)
        return str(created["metadata"]["name"])

    def workflow(self, name: str) -> dict[str, Any]:
        wf: dict[str, Any] = self.co.get_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, name)
        return wf

    def until(self, what: str, probe: Callable[[], Any]) -> Any:
        """Watch-free polling of a condition (the watch itself is tested separately)."""
        for _ in range(1000):
            value = probe()
            if value:
                return value
            time.sleep(0.02)
        raise AssertionError(f"never: {what}")

    def finished(self, name: str) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            wf = self.workflow(name)
            return wf if wf.get("status", {}).get("phase") in ("Succeeded", "Failed", "Error") else None

        done: dict[str, Any] = self.until(f"{name} finished", probe)
        return done

    def pods(self, name: str) -> list[Any]:
        pods: list[Any] = self.core.list_namespaced_pod(
            "default", label_selector=f"workflows.argoproj.io/workflow={name}"
        ).items
        return pods

    def pod(self, name: str) -> Any:
        return self.core.read_namespaced_pod(name, "default")

    def state(self, pod: str, container: str) -> Any:
        status = self.pod(pod).status
        return next((s.state for s in status.container_statuses or [] if s.name == container), None)

    def log(self, pod: str, container: str) -> str:
        text: str = self.core.read_namespaced_pod_log(pod, "default", container=container)
        return text

    def exec(self, pod: str, container: str, argv: list[str]) -> tuple[str, dict[str, Any]]:
        """(stdout + stderr, the error channel's status) of an exec."""
        resp = stream(
            self.core.connect_get_namespaced_pod_exec,
            pod,
            "default",
            container=container,
            command=argv,
            stderr=True,
            stdin=False,
            stdout=True,
            tty=False,
            _preload_content=False,
        )
        try:
            resp.run_forever(timeout=20)
            out = resp.read_stdout() + resp.read_stderr()
            status = json.loads(resp.read_channel(3))
        finally:
            resp.close()
        return out, status

    def close(self) -> None:
        self.client.close()


async def blocking(cluster: Cluster, calls: Callable[[Api], Any]) -> Any:
    def run() -> Any:
        api = Api(cluster)
        try:
            return calls(api)
        finally:
            api.close()

    return await asyncio.wait_for(asyncio.to_thread(run), 50)


def node_by_name(wf: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["name"]: n for n in wf["status"]["nodes"].values()}


# ---- a DAG: nodes, pods, logs ----------------------------------------------------------------


async def test_dag_diamond_nodes_pods_and_logs(cluster: Cluster) -> None:
    def calls(api: Api) -> tuple[dict[str, Any], list[Any], dict[str, str]]:
        name = api.create(fixture("dag-diamond.yaml"))
        wf = api.finished(name)
        pods = api.pods(name)
        logs = {p.metadata.name: api.log(p.metadata.name, "main") for p in pods}
        return wf, pods, logs

    wf, pods, logs = await blocking(cluster, calls)
    name = wf["metadata"]["name"]
    assert name.startswith("diamond-")
    assert wf["status"]["phase"] == "Succeeded"
    assert wf["status"]["startedAt"] and wf["status"]["finishedAt"]
    assert wf["metadata"]["annotations"]["workflows.argoproj.io/pod-name-format"] == "v2"
    nodes = node_by_name(wf)
    assert set(nodes) == {name, f"{name}.a", f"{name}.b", f"{name}.c", f"{name}.d"}
    for node_name, node in nodes.items():
        expected_id = name if node_name == name else f"{name}-{fnv32a(node_name)}"
        assert node["id"] == expected_id
        assert wf["status"]["nodes"][expected_id] is not None
        assert node["phase"] == "Succeeded"
    root, a, b, c, d = (nodes[n] for n in (name, f"{name}.a", f"{name}.b", f"{name}.c", f"{name}.d"))
    assert (root["type"], root["templateName"], "boundaryID" in root) == ("DAG", "diamond", False)
    assert root["children"] == [a["id"]]
    assert root["outboundNodes"] == [d["id"]]
    assert sorted(a["children"]) == sorted([b["id"], c["id"]])
    assert b["children"] == [d["id"]] and c["children"] == [d["id"]]
    assert "children" not in d
    for task in (a, b, c, d):
        assert (task["type"], task["templateName"], task["boundaryID"]) == ("Pod", "echo", name)
        assert task["displayName"] == task["name"].rsplit(".", 1)[1]
        assert task["outputs"]["exitCode"] == "0"
    assert a["inputs"]["parameters"] == [{"name": "message", "value": "hello from a"}]

    assert sorted(p.metadata.name for p in pods) == sorted(f"{name}-echo-{fnv32a(n)}" for n in nodes if n != name)
    for pod in pods:
        node_name = pod.metadata.annotations["workflows.argoproj.io/node-name"]
        assert pod.metadata.name == f"{name}-echo-{fnv32a(node_name)}"
        assert pod.metadata.annotations["workflows.argoproj.io/node-id"] == nodes[node_name]["id"]
        assert pod.metadata.annotations["kubectl.kubernetes.io/default-container"] == "main"
        assert pod.metadata.labels["workflows.argoproj.io/workflow"] == name
        assert pod.metadata.labels["workflows.argoproj.io/completed"] == "true"
        assert [ctr.name for ctr in pod.spec.containers] == ["wait", "main"]
        main = pod.spec.containers[1]
        env = {e.name: e.value for e in main.env}
        assert env["ARGO_CONTAINER_NAME"] == "main"
        assert env["MESSAGE"] == node_name.rsplit(".", 1)[1] if node_name != f"{name}.a" else "hello from a"
        assert main.command[:2] == ["/var/run/argo/argoexec", "emissary"]
        for ctr in pod.spec.containers:
            assert any(m.name == "var-run-argo" and m.mount_path == "/var/run/argo" for m in ctr.volume_mounts)
        assert pod.status.phase == "Succeeded"
        states = {s.name: s.state for s in pod.status.container_statuses}
        assert states["main"].terminated.exit_code == 0 and states["wait"].terminated.exit_code == 0
        assert states["wait"].terminated.finished_at >= states["main"].terminated.finished_at
        log = logs[pod.metadata.name]
        assert PROTOCOL_MARK not in log
        output, exited = log.splitlines()
        assert output == ("hello from a" if node_name == f"{name}.a" else node_name.rsplit(".", 1)[1])
        assert 'level=info msg="sub-process exited" argo=true error="<nil>"' in exited


async def test_watch_sees_status_nodes_appear(cluster: Cluster) -> None:
    from kubernetes import watch

    def calls(api: Api) -> list[tuple[str, list[str]]]:
        name = api.create(fixture("nested-steps.yaml") | {"metadata": {"generateName": "nested-"}})
        seen: list[tuple[str, list[str]]] = []
        w = watch.Watch()
        for event in w.stream(
            api.co.list_namespaced_custom_object,
            GROUP,
            VERSION,
            "default",
            PLURAL,
            field_selector=f"metadata.name={name}",
            timeout_seconds=30,
        ):
            status = event["object"].get("status") or {}
            seen.append((str(status.get("phase")), sorted(n["name"] for n in (status.get("nodes") or {}).values())))
            if status.get("phase") == "Succeeded":
                w.stop()
        return seen

    seen = await blocking(cluster, calls)
    assert seen[-1][0] == "Succeeded"
    final = seen[-1][1]
    wf = final[0]
    assert final == sorted(
        [
            wf,
            f"{wf}[0]",
            f"{wf}[0].prepare",
            f"{wf}[1]",
            f"{wf}[1].left",
            f"{wf}[1].right",
            f"{wf}[1].right[0]",
            f"{wf}[1].right[0].one",
            f"{wf}[1].right[1]",
            f"{wf}[1].right[1].two",
            f"{wf}[2]",
            f"{wf}[2].finish",
        ]
    )
    # nodes appeared one after another through status patches, while the workflow ran
    counts = [len(names) for phase, names in seen if phase == "Running"]
    assert len(set(counts)) > 3


async def test_steps_tree_when_and_outputs(cluster: Cluster) -> None:
    def calls(api: Api) -> tuple[dict[str, Any], dict[str, str]]:
        wf = api.finished(api.create(fixture("outputs.yaml") | {"metadata": {"generateName": "outputs-"}}))
        logs = {
            p.metadata.annotations["workflows.argoproj.io/node-name"]: api.log(p.metadata.name, "main")
            for p in api.pods(wf["metadata"]["name"])
        }
        return wf, logs

    wf, logs = await blocking(cluster, calls)
    name = wf["metadata"]["name"]
    nodes = node_by_name(wf)
    assert wf["status"]["phase"] == "Succeeded"
    root, group0, produce = nodes[name], nodes[f"{name}[0]"], nodes[f"{name}[0].produce"]
    assert (root["type"], group0["type"], produce["type"]) == ("Steps", "StepGroup", "Pod")
    assert root["children"] == [group0["id"]]
    assert group0["boundaryID"] == root["id"] and group0["displayName"] == "[0]"
    assert group0["children"] == [produce["id"]]
    assert produce["children"] == [nodes[f"{name}[1]"]["id"]]  # the next group hangs off the previous step
    assert produce["outputs"]["parameters"] == [{"name": "version", "value": "1.2.3"}]
    assert logs[f"{name}[1].consume"].splitlines()[0] == "got 1.2.3"
    dag = nodes[f"{name}[2].dag"]
    assert (dag["type"], dag["boundaryID"]) == ("DAG", root["id"])
    make, use, skipped = (nodes[f"{name}[2].dag.{t}"] for t in ("make", "use", "skipped"))
    assert make["boundaryID"] == dag["id"] and dag["children"] == [make["id"]]
    assert sorted(make["children"]) == sorted([use["id"], skipped["id"]])
    assert (skipped["type"], skipped["phase"]) == ("Skipped", "Omitted")
    assert logs[f"{name}[2].dag.use"].splitlines()[0] == "got 1.2.3"
    assert f"{name}[2].dag.skipped" not in logs  # no pod for a node that never ran


async def test_when_false_skipped_fan_out_and_retry(cluster: Cluster) -> None:
    workflow = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Workflow",
        "metadata": {"generateName": "mix-"},
        "spec": {
            "entrypoint": "main",
            "templates": [
                {
                    "name": "main",
                    "dag": {
                        "tasks": [
                            {
                                "name": "fan",
                                "template": "say",
                                "withItems": ["red", "green"],
                                "arguments": {"parameters": [{"name": "text", "value": "{{item}}"}]},
                            },
                            {
                                "name": "never",
                                "template": "say",
                                "when": "1 == 2",
                                "arguments": {"parameters": [{"name": "text", "value": "no"}]},
                            },
                            {"name": "flaky", "template": "fail", "depends": "fan"},
                            {
                                "name": "after",
                                "template": "say",
                                "depends": "flaky.Failed",
                                "arguments": {"parameters": [{"name": "text", "value": "handled"}]},
                            },
                        ]
                    },
                },
                {
                    "name": "say",
                    "inputs": {"parameters": [{"name": "text"}]},
                    "container": {"image": "alpine:3.20", "command": ["echo", "{{inputs.parameters.text}}"]},
                },
                {
                    "name": "fail",
                    "retryStrategy": {"limit": "1"},
                    "container": {"image": "alpine:3.20", "command": ["sh", "-c", "echo no >&2; exit 2"]},
                },
            ],
        },
    }

    def calls(api: Api) -> tuple[dict[str, Any], list[str], str]:
        wf = api.finished(api.create(workflow))
        name = wf["metadata"]["name"]
        pods = sorted(p.metadata.name for p in api.pods(name))
        flaky = f"{name}-fail-{fnv32a(f'{name}.flaky(0)')}"
        return wf, pods, api.log(flaky, "main")

    wf, pods, flaky_log = await blocking(cluster, calls)
    name = wf["metadata"]["name"]
    nodes = node_by_name(wf)
    assert wf["status"]["phase"] == "Succeeded"  # flaky's failure is handled by after's depends
    group = nodes[f"{name}.fan"]
    assert group["type"] == "TaskGroup"
    items = [nodes[f"{name}.fan(0:red)"], nodes[f"{name}.fan(1:green)"]]
    assert group["children"] == [i["id"] for i in items]
    assert [i["displayName"] for i in items] == ["fan(0:red)", "fan(1:green)"]
    never = nodes[f"{name}.never"]
    assert (never["type"], never["phase"], never["message"]) == ("Skipped", "Skipped", "when '1 == 2' evaluated false")
    retry = nodes[f"{name}.flaky"]
    attempts = [nodes[f"{name}.flaky(0)"], nodes[f"{name}.flaky(1)"]]
    assert (retry["type"], retry["phase"]) == ("Retry", "Failed")
    assert retry["children"] == [a["id"] for a in attempts]
    assert all((a["type"], a["phase"], a["message"]) == ("Pod", "Failed", "Error (exit code 2)") for a in attempts)
    assert all(i["children"] == [retry["id"]] for i in items)  # dependents hang off the fan-out's items
    assert attempts[1]["children"] == [nodes[f"{name}.after"]["id"]]
    assert f"{name}-say-{fnv32a(f'{name}.never')}" not in pods
    assert len(pods) == 5
    assert flaky_log.splitlines()[-1].endswith('msg="sub-process exited" argo=true error="exit status 2"')


# ---- the emissary's pauses, resumed by exec touch -----------------------------------------


async def test_pause_before_and_after_resumed_by_exec_touch(cluster: Cluster) -> None:
    workflow = pausing(
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Workflow",
            "metadata": {"generateName": "pause-"},
            "spec": {
                "entrypoint": "hello",
                "templates": [
                    {
                        "name": "hello",
                        "activeDeadlineSeconds": 1,
                        "container": {"image": "alpine:3.20", "command": ["sh", "-c", "echo hello; echo warn >&2"]},
                    }
                ],
            },
        }
    )

    def calls(api: Api) -> dict[str, Any]:
        out: dict[str, Any] = {}
        name = api.create(workflow)
        out["name"] = name
        api.until("main running", lambda: (api.state(name, "main") or client.V1ContainerState()).running)
        out["spec"] = api.pod(name).spec
        # paused before: nothing in the log, no marker yet
        out["log_paused_before"] = api.log(name, "main")
        out["ls_before"] = api.exec(name, "main", ["ls", "/var/run/argo/ctr/main"])
        follow = api.core.read_namespaced_pod_log(
            name, "default", container="main", follow=True, _preload_content=False
        )
        out["touch_before"] = api.exec(name, "main", ["touch", "/var/run/argo/ctr/main/before"])
        text = b""
        while b"sub-process exited" not in text:
            chunk = follow.read(1)
            assert chunk, "log ended before sub-process exited"
            text += chunk
        while not text.endswith(b"\n"):
            text += follow.read(1)
        out["log_to_exit"] = text.decode()
        # paused after: the container is still running, no exitcode yet
        out["state_paused_after"] = api.state(name, "main")
        out["wait_paused_after"] = api.state(name, "wait")
        out["ls_after"] = api.exec(name, "main", ["ls", "/var/run/argo/ctr/main"])
        out["node_paused_after"] = node_by_name(api.workflow(name))[name]["phase"]
        out["touch_after"] = api.exec(name, "main", ["touch", "/var/run/argo/ctr/main/after"])
        out["rest"] = follow.read().decode()
        out["wf"] = api.finished(name)
        out["pod"] = api.pod(name)
        return out

    out = await blocking(cluster, calls)
    assert out["spec"].active_deadline_seconds is None  # cleared: a main container has ARGO_DEBUG_PAUSE_*
    assert out["log_paused_before"] == ""
    assert out["ls_before"] == ("", {"metadata": {}, "status": "Success"})
    assert out["touch_before"] == ("", {"metadata": {}, "status": "Success"})
    lines = out["log_to_exit"].splitlines()
    assert sorted(lines[:2]) == ["hello", "warn"]
    assert 'msg="sub-process exited" argo=true error="<nil>"' in lines[2]
    assert PROTOCOL_MARK not in out["log_to_exit"] + out["rest"]
    assert out["state_paused_after"].running is not None and out["state_paused_after"].terminated is None
    assert out["wait_paused_after"].running is not None
    assert out["ls_after"][0].split() == ["before"]
    assert out["node_paused_after"] == "Running"
    assert out["touch_after"][1]["status"] == "Success"
    assert out["rest"] == ""
    assert out["wf"]["status"]["phase"] == "Succeeded"
    states = {s.name: s.state for s in out["pod"].status.container_statuses}
    assert states["main"].terminated.exit_code == 0
    assert out["pod"].status.phase == "Succeeded"
    assert cluster.argo.processes() == []


async def test_pause_needs_exactly_true_and_keeps_the_deadline_otherwise(cluster: Cluster) -> None:
    workflow = pausing(
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Workflow",
            "metadata": {"generateName": "notpaused-"},
            "spec": {
                "entrypoint": "hello",
                "templates": [
                    {
                        "name": "hello",
                        "activeDeadlineSeconds": 30,
                        "container": {"image": "alpine:3.20", "command": ["echo", "hi"]},
                    }
                ],
            },
        },
        before="True",
        after="1",
    )
    plain = copy.deepcopy(workflow)
    del plain["spec"]["templates"][0]["container"]["env"]

    def calls(api: Api) -> tuple[dict[str, Any], Any, Any]:
        wf = api.finished(api.create(workflow))
        other = api.finished(api.create(plain))
        return wf, api.pod(wf["metadata"]["name"]), api.pod(other["metadata"]["name"])

    wf, pod, plain_pod = await blocking(cluster, calls)
    assert wf["status"]["phase"] == "Succeeded"  # "True" and "1" do not pause
    assert pod.spec.active_deadline_seconds is None  # the controller reacts to the name, whatever the value
    assert plain_pod.spec.active_deadline_seconds == 30


async def test_container_set_pauses_per_container(cluster: Cluster) -> None:
    workflow = fixture("container-set.yaml")
    workflow["metadata"] = {"generateName": "cs-"}
    build = workflow["spec"]["templates"][0]["containerSet"]["containers"][1]
    build["env"] = [{"name": "ARGO_DEBUG_PAUSE_BEFORE", "value": "true"}]

    def calls(api: Api) -> dict[str, Any]:
        out: dict[str, Any] = {}
        name = api.create(workflow)
        out["name"] = name

        def test_done() -> Any:
            state = api.state(name, "test")
            return state is not None and state.terminated is not None

        api.until("test done", test_done)
        out["pod"] = api.pod(name)
        out["build_log"] = api.log(name, "build")
        out["nodes"] = node_by_name(api.workflow(name))
        out["touch"] = api.exec(name, "build", ["touch", "/var/run/argo/ctr/build/before"])
        out["wf"] = api.finished(name)
        out["build_log_after"] = api.log(name, "build")
        return out

    out = await blocking(cluster, calls)
    name = out["name"]
    pod = out["pod"]
    assert pod.metadata.name == name  # the root node is the pod
    assert [c.name for c in pod.spec.containers] == ["wait", "fetch", "build", "test"]
    assert pod.metadata.annotations["kubectl.kubernetes.io/default-container"] == "test"
    assert pod.metadata.annotations["workflows.argoproj.io/node-id"] == name
    states = {s.name: s.state for s in pod.status.container_statuses}
    assert states["build"].running is not None and states["fetch"].terminated.exit_code == 0
    assert out["build_log"] == ""
    nodes = out["nodes"]
    assert nodes[f"{name}.build"]["phase"] == "Running" and nodes[f"{name}.test"]["phase"] == "Succeeded"
    assert nodes[name]["type"] == "Pod"
    fetch = nodes[f"{name}.fetch"]
    assert (fetch["type"], fetch["boundaryID"], fetch["id"]) == ("Container", name, f"{name}-{fnv32a(f'{name}.fetch')}")
    assert nodes[name]["children"] == [fetch["id"]]
    assert sorted(fetch["children"]) == sorted([nodes[f"{name}.build"]["id"], nodes[f"{name}.test"]["id"]])
    assert out["touch"][1]["status"] == "Success"
    assert out["wf"]["status"]["phase"] == "Succeeded"
    assert out["build_log_after"].startswith("built\n")


async def test_exec_without_touch_fails_like_the_runtime(cluster: Cluster) -> None:
    workflow = pausing(
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Workflow",
            "metadata": {"generateName": "distroless-"},
            "spec": {
                "entrypoint": "run",
                "templates": [
                    {
                        "name": "run",
                        "container": {"image": "gcr.io/distroless/static:nonroot", "command": ["echo", "hi"]},
                    }
                ],
            },
        },
        after=None,
    )

    def calls(api: Api) -> dict[str, Any]:
        out: dict[str, Any] = {}
        name = api.create(workflow)
        api.until("main running", lambda: (api.state(name, "main") or client.V1ContainerState()).running)
        out["main"] = api.exec(name, "main", ["touch", "/var/run/argo/ctr/main/before"])
        out["wait"] = api.exec(name, "wait", ["touch", "/var/run/argo/ctr/main/before"])
        out["log"] = api.log(name, "main")
        out["no_such"] = api.exec(name, "wait", ["no-such-binary-here"])
        # an ephemeral-container stand-in: the marker written from outside releases the pause
        Path(cluster.argo.pods[("default", name)].host("/var/run/argo/ctr/main/before")).touch()
        out["wf"] = api.finished(name)
        return out

    out = await blocking(cluster, calls)
    for key in ("main", "wait"):
        text, status = out[key]
        assert text == ""
        assert status["status"] == "Failure" and status["reason"] == "InternalError"
        assert NOT_FOUND in status["message"]
        assert status["details"]["causes"][0]["message"].endswith(NOT_FOUND)
    assert out["log"] == ""  # still paused: the failed exec released nothing
    assert '"no-such-binary-here": executable file not found' in out["no_such"][1]["message"]
    assert out["wf"]["status"]["phase"] == "Succeeded"


# ---- stopping ---------------------------------------------------------------------------


async def test_shutdown_terminate_ends_a_paused_workflow(cluster: Cluster) -> None:
    workflow = pausing(fixture("nested-steps.yaml"), after=None)
    workflow["metadata"] = {"generateName": "stop-"}

    def calls(api: Api) -> dict[str, Any]:
        out: dict[str, Any] = {}
        name = api.create(workflow)
        out["name"] = name
        pod = f"{name}-say-{fnv32a(f'{name}[0].prepare')}"
        out["pod"] = pod
        api.until("prepare running", lambda: (api.state(pod, "main") or client.V1ContainerState()).running)
        out["processes_paused"] = list(cluster.argo.processes())
        api.co.patch_namespaced_custom_object(
            GROUP, VERSION, "default", PLURAL, name, {"spec": {"shutdown": "Terminate"}}
        )
        out["wf"] = api.finished(name)
        api.until("pod completed", lambda: api.pod(pod).status.phase == "Failed")
        out["pod_obj"] = api.pod(pod)
        out["pods"] = [p.metadata.name for p in api.pods(name)]
        out["log"] = api.log(pod, "main")
        return out

    out = await blocking(cluster, calls)
    name = out["name"]
    assert len(out["processes_paused"]) == 1
    wf = out["wf"]
    message = "Stopped with strategy 'Terminate'"
    assert (wf["status"]["phase"], wf["status"]["message"]) == ("Failed", message)
    nodes = node_by_name(wf)
    assert set(nodes) == {name, f"{name}[0]", f"{name}[0].prepare"}  # nothing else started
    for node in nodes.values():
        assert (node["phase"], node["message"]) == ("Failed", message)
    states = {s.name: s.state for s in out["pod_obj"].status.container_statuses}
    assert states["main"].terminated.exit_code == 143
    assert states["wait"].terminated is not None
    assert out["pods"] == [out["pod"]]
    assert out["log"] == ""  # the command never ran
    assert cluster.argo.processes() == []
    for pid in out["processes_paused"]:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


async def test_delete_workflow_deletes_its_pods(cluster: Cluster) -> None:
    workflow = pausing(fixture("dag-diamond.yaml"), after=None)

    def calls(api: Api) -> list[Any]:
        name = api.create(workflow)
        pod = f"{name}-echo-{fnv32a(f'{name}.a')}"
        api.until("a running", lambda: (api.state(pod, "main") or client.V1ContainerState()).running)
        api.co.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, name)
        api.until("pods gone", lambda: api.pods(name) == [])
        return api.pods(name)

    assert await blocking(cluster, calls) == []
    assert cluster.argo.processes() == []


# ---- standalone --------------------------------------------------------------------------


def test_standalone_cluster_serves_argo() -> None:
    with tempfile.TemporaryDirectory() as folder:
        kubeconfig = os.path.join(folder, "kubeconfig")
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "kube" / "cluster.py"), "--kubeconfig", kubeconfig],
            stdout=subprocess.PIPE,
            text=True,
            cwd=folder,
        )
        try:
            assert proc.stdout is not None
            assert "test Kubernetes API at http://127.0.0.1:" in proc.stdout.readline()
            api = config.new_client_from_config(kubeconfig)
            co = client.CustomObjectsApi(api)
            name = co.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, fixture("script.yaml"))[
                "metadata"
            ]["name"]
            for _ in range(500):
                wf = co.get_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, name)
                if wf.get("status", {}).get("phase") in ("Succeeded", "Failed", "Error"):
                    break
                time.sleep(0.02)
            api.close()
            assert wf["status"]["phase"] == "Succeeded"
            assert wf["status"]["nodes"][name]["outputs"]["result"] == "6 x 7 = 42"
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(20) == 0


# ---- templateRef, template timeout -------------------------------------------------------


async def test_template_ref_to_a_workflow_template(cluster: Cluster) -> None:
    with open(FIXTURES / "template-ref" / "templates.yaml") as f:
        toolbox = next(yaml.safe_load_all(f))
    workflow = fixture("template-ref/workflow.yaml")
    workflow["spec"]["templates"][0]["dag"]["tasks"].pop()  # the ClusterWorkflowTemplate one

    def calls(api: Api) -> tuple[dict[str, Any], dict[str, str]]:
        api.co.create_namespaced_custom_object(GROUP, VERSION, "default", "workflowtemplates", toolbox)
        wf = api.finished(api.create(workflow))
        logs = {p.metadata.name: api.log(p.metadata.name, "main") for p in api.pods(wf["metadata"]["name"])}
        return wf, logs

    wf, logs = await blocking(cluster, calls)
    name = wf["metadata"]["name"]
    assert wf["status"]["phase"] == "Succeeded"
    nodes = node_by_name(wf)
    hello = nodes[f"{name}.hello"]
    assert hello["templateRef"] == {"name": "toolbox", "template": "greet"}
    assert "templateName" not in hello
    both = nodes[f"{name}.both"]
    assert (both["type"], both["templateRef"]["template"]) == ("Steps", "twice")
    first = nodes[f"{name}.both[0].first"]
    assert (first["templateName"], first["boundaryID"]) == ("greet", both["id"])
    assert logs[f"{name}-greet-{fnv32a(f'{name}.hello')}"].splitlines()[0] == "hello argo"
    assert logs[f"{name}-greet-{fnv32a(f'{name}.both[1].second')}"].splitlines()[0] == "hello world"


async def test_template_timeout_kills_a_paused_pod(cluster: Cluster) -> None:
    workflow = pausing(
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Workflow",
            "metadata": {"generateName": "timeout-"},
            "spec": {
                "entrypoint": "slow",
                "templates": [
                    {
                        "name": "slow",
                        "timeout": "1s",
                        "container": {"image": "alpine:3.20", "command": ["echo", "never"]},
                    }
                ],
            },
        },
        after=None,
    )

    def calls(api: Api) -> tuple[dict[str, Any], Any]:
        wf = api.finished(api.create(workflow))
        return wf, api.pod(wf["metadata"]["name"])

    wf, pod = await blocking(cluster, calls)
    name = wf["metadata"]["name"]
    assert pod.spec.active_deadline_seconds == 1  # the template timeout is kept despite the pause variables
    assert (pod.status.phase, pod.status.reason) == ("Failed", "DeadlineExceeded")
    node = wf["status"]["nodes"][name]
    assert (node["phase"], node["message"]) == (
        "Failed",
        "Pod was active on the node longer than the specified deadline",
    )
    assert wf["status"]["phase"] == "Failed"
    assert cluster.argo.processes() == []


def _paused_with_exit_handler(prefix: str, **spec: Any) -> dict[str, Any]:
    workflow: dict[str, Any] = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Workflow",
        "metadata": {"generateName": prefix},
        "spec": {
            "entrypoint": "main",
            "onExit": "report",
            **spec,
            "templates": [
                {
                    "name": "main",
                    "container": {
                        "image": "alpine:3.20",
                        "command": ["echo", "main"],
                        "env": [{"name": "ARGO_DEBUG_PAUSE_BEFORE", "value": "true"}],
                    },
                },
                {
                    "name": "report",
                    "container": {"image": "alpine:3.20", "command": ["echo", "status {{workflow.status}}"]},
                },
            ],
        },
    }
    return workflow


async def test_shutdown_stop_runs_the_exit_handler(cluster: Cluster) -> None:
    def calls(api: Api) -> tuple[dict[str, Any], str]:
        name = api.create(_paused_with_exit_handler("stop-"))
        api.until("main running", lambda: (api.state(name, "main") or client.V1ContainerState()).running)
        api.co.patch_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, name, {"spec": {"shutdown": "Stop"}})
        wf = api.finished(name)
        report = f"{name}-report-{fnv32a(f'{name}.onExit')}"
        return wf, api.log(report, "main")

    wf, report_log = await blocking(cluster, calls)
    name = wf["metadata"]["name"]
    nodes = node_by_name(wf)
    assert (wf["status"]["phase"], wf["status"]["message"]) == ("Failed", "Stopped with strategy 'Stop'")
    assert (nodes[name]["phase"], nodes[name]["message"]) == ("Failed", "Stopped with strategy 'Stop'")
    assert nodes[f"{name}.onExit"]["phase"] == "Succeeded"
    assert report_log.splitlines()[0] == "status Failed"
    assert cluster.argo.processes() == []


async def test_workflow_deadline_fails_the_running_nodes(cluster: Cluster) -> None:
    def calls(api: Api) -> dict[str, Any]:
        wf: dict[str, Any] = api.finished(api.create(_paused_with_exit_handler("deadline-", activeDeadlineSeconds=1)))
        return wf

    wf = await blocking(cluster, calls)
    name = wf["metadata"]["name"]
    nodes = node_by_name(wf)
    assert (wf["status"]["phase"], wf["status"]["message"]) == ("Failed", "Step exceeded its deadline")
    assert (nodes[name]["phase"], nodes[name]["message"]) == ("Failed", "Step exceeded its deadline")
    assert nodes[f"{name}.onExit"]["phase"] == "Succeeded"
    assert cluster.argo.processes() == []
