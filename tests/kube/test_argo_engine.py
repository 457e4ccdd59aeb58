"""The Argo engine through the official client against the test API (tests/kube/argo.py)."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dap_server.engines.argo import ArgoEngine, create_argo_engine, fetch_run
from dap_server.engines.argo.workflow import workflow_body
from dap_server.engines.base import (
    EngineError,
    Output,
    PauseKind,
    Resume,
    RunEvent,
    RunFinished,
    StepFinished,
    StepPaused,
    StepRunning,
    TaskFinished,
    TaskStarted,
)
from dap_server.engines.options import RunOptions
from dap_server.sources import SourceSet
from dap_server.sources.argo import ArgoDocument
from dap_server.sources.model import Document
from tests.kube import kubeapi
from tests.kube.cluster import Cluster

pytestmark = pytest.mark.timeout(60)

ARGO = Path(__file__).resolve().parents[2] / "fixtures" / "argo"
RUN_TIMEOUT = 30.0
Policy = Callable[[StepPaused], Resume | None]


def load(path: str | Path) -> ArgoDocument:
    path = str(path)
    sources = SourceSet([os.path.dirname(path)])
    document = sources.select(path)
    sources.resolve(document)
    assert isinstance(document, ArgoDocument)
    return document


def release_all(event: StepPaused) -> Resume:
    return Resume.FAIL_CONTINUE if event.kind is PauseKind.FAILURE else Resume.CONTINUE


class Recorder:
    """Collects events; answers pauses like a session without breakpoints (or with `policy`;
    None keeps the pause)."""

    def __init__(self, engine: ArgoEngine, policy: Policy = release_all) -> None:
        self.engine = engine
        self.policy = policy
        self.events: list[RunEvent] = []
        self.finished = asyncio.Event()
        self.paused = asyncio.Event()
        self.held: list[StepPaused] = []
        self.tasks: set[asyncio.Future[None]] = set()

    def __call__(self, event: RunEvent) -> None:
        self.events.append(event)
        if isinstance(event, StepPaused):
            action = self.policy(event)
            if action is None:
                self.held.append(event)
                self.paused.set()
            else:
                self.tasks.add(asyncio.ensure_future(self.engine.resume(event.step, event.kind, action)))
        if isinstance(event, RunFinished):
            self.finished.set()

    def started(self) -> dict[str, TaskStarted]:
        return {e.task_id: e for e in self.events if isinstance(e, TaskStarted)}

    def task_shape(self, task_id: str) -> list[tuple[object, ...]]:
        out: list[tuple[object, ...]] = []
        for e in self.events:
            if isinstance(e, StepPaused) and e.step.task_id == task_id:
                out.append(("paused", e.step.step_index, e.kind.value, e.exit_code))
            elif isinstance(e, StepRunning) and e.step.task_id == task_id:
                out.append(("running", e.step.step_index))
            elif isinstance(e, StepFinished) and e.step.task_id == task_id:
                out.append(("finished", e.step.step_index, e.exit_code, e.reason))
            elif isinstance(e, Output) and e.task_id == task_id and e.category == "stdout":
                out.append(("output", e.text))
            elif isinstance(e, TaskFinished) and e.task_id == task_id:
                out.append(("task", e.succeeded, e.reason))
        return out

    def end(self) -> RunFinished:
        last = self.events[-1]
        assert isinstance(last, RunFinished), last
        return last


def requests(cluster: Cluster, method: str, part: str) -> list[tuple[str, str, str]]:
    return [r for r in cluster.api.counts if r[0] == method and part in r[1]]


async def start(cluster: Cluster, document: Document, policy: Policy = release_all, **options: Any) -> Recorder:
    engine = create_argo_engine(document, RunOptions(kubeconfig=cluster.kubeconfig, **options))
    assert isinstance(engine, ArgoEngine)
    recorder = Recorder(engine, policy)
    await asyncio.wait_for(engine.start(recorder), 10)
    return recorder


async def finish(rec: Recorder) -> None:
    try:
        await asyncio.wait_for(rec.finished.wait(), RUN_TIMEOUT)
    finally:
        await rec.engine.close()


async def test_dag_diamond_pauses_before_and_after_every_container_in_order(cluster: Cluster) -> None:
    rec = await start(cluster, load(ARGO / "dag-diamond.yaml"), params={"greeting": "hey"})
    await finish(rec)
    assert rec.end() == RunFinished(True, "Succeeded", rec.end().message)
    started = rec.started()
    by_task = {t.display_name.rsplit(".", 1)[1]: t for t in started.values()}
    assert sorted(by_task) == ["a", "b", "c", "d"]
    a = by_task["a"]
    assert a.display_name.startswith("diamond-debug-") and a.run_name == a.display_name
    assert a.pipeline_task == "a" and a.step_names == ("main",) and a.instance is None
    assert a.steps[0].span.line == 40
    assert [(n, s.line) for n, s in a.frames] == [("a", 16), ("diamond", 13)]
    (workflow,) = cluster.api.objects_of("workflows")
    name = workflow["metadata"]["name"]
    node = workflow["status"]["nodes"][a.task_id]  # the task id is the node id
    assert node["name"] == a.display_name and node["type"] == "Pod"
    assert rec.task_shape(a.task_id) == [
        ("paused", 0, "before", None),
        ("running", 0),
        ("output", "hey from a\n"),
        ("paused", 0, "after", 0),
        ("finished", 0, 0, "Completed"),
        ("task", True, "Succeeded"),
    ]
    # d starts after b and c ended
    position = {
        (type(e).__name__, e.task_id): i for i, e in enumerate(rec.events) if isinstance(e, TaskStarted | TaskFinished)
    }
    d = by_task["d"].task_id
    assert position[("TaskStarted", d)] > max(position[("TaskFinished", by_task[x].task_id)] for x in "bc")
    # what was submitted: the file's templates with the pauses on the leaf container
    spec = workflow["spec"]
    assert workflow["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "pipeline-dap"
    assert spec["arguments"]["parameters"] == [{"name": "greeting", "value": "hey"}]
    echo = next(t for t in spec["templates"] if t["name"] == "echo")
    assert {"name": "ARGO_DEBUG_PAUSE_BEFORE", "value": "true"} in echo["container"]["env"]
    assert name.startswith("diamond-debug-")
    # requests: each paused-and-resumed step costs one log follow and one exec per pause; the
    # rest is fixed (the Argo check, the create, two watches); nothing polls
    logs = requests(cluster, "GET", "/log")
    execs = requests(cluster, "GET", "/exec")
    assert len(logs) == 4 and len(execs) == 8
    fixed = [r for r in cluster.api.counts if "/log" not in r[1] and "/exec" not in r[1]]
    assert len(fixed) == 4, fixed
    for pod in [
        p
        for p in cluster.api.objects_of("pods")
        if p["metadata"]["labels"].get("workflows.argoproj.io/workflow") == name
    ]:
        assert pod["metadata"]["annotations"]["workflows.argoproj.io/node-id"] in started


async def test_no_debug_runs_without_pauses(cluster: Cluster) -> None:
    rec = await start(cluster, load(ARGO / "nested-steps.yaml"), debug=False)
    await finish(rec)
    assert not [e for e in rec.events if isinstance(e, StepPaused)]
    assert rec.end().succeeded
    inner = next(t for t in rec.started().values() if t.display_name.endswith(".one"))
    assert [n for n, _ in inner.frames] == ["one", "inner", "right", "main"]
    assert requests(cluster, "GET", "/exec") == []


async def test_a_failed_command_is_a_failure_pause_with_its_exit_code(cluster: Cluster) -> None:
    rec = await start(cluster, load(ARGO / "failing.yaml"))
    await finish(rec)
    (workflow,) = cluster.api.objects_of("workflows")
    name = workflow["metadata"]["name"]
    names = sorted(t.display_name[len(name) :] for t in rec.started().values())
    assert names == [".onExit", "[0].tolerated(0)", "[0].tolerated(1)", "[1].broken(0)", "[1].broken(1)"]
    failures = [e for e in rec.events if isinstance(e, StepPaused) and e.kind is PauseKind.FAILURE]
    assert len(failures) == 4 and {(e.exit_code, e.reason) for e in failures} == {(3, "ExitCode")}
    first = failures[0].step.task_id
    shape = rec.task_shape(first)
    assert shape[:3] == [("paused", 0, "before", None), ("running", 0), ("output", "about to fail\n")]
    assert ("output", "oops\n") in shape
    assert shape[-3:] == [("paused", 0, "failure", 3), ("finished", 0, 3, "Error"), ("task", False, "Failed")]
    on_exit = next(t for t in rec.started().values() if t.display_name.endswith(".onExit"))
    assert on_exit.pipeline_task is None and on_exit.frames == ()
    assert any(isinstance(e, Output) and "ended: Failed" in e.text and e.task_id == on_exit.task_id for e in rec.events)
    end = rec.end()
    assert not end.succeeded and end.reason == "Failed"


async def test_inspect_while_paused_and_live_values(cluster: Cluster) -> None:
    holder: list[Recorder] = []

    def hold_b(event: StepPaused) -> Resume | None:
        name = holder[0].started()[event.step.task_id].display_name
        return None if event.kind is PauseKind.BEFORE and name.endswith(".b") else release_all(event)

    rec = await start(cluster, load(ARGO / "dag-diamond.yaml"), hold_b)
    holder.append(rec)
    try:
        await asyncio.wait_for(rec.paused.wait(), RUN_TIMEOUT)
        (held,) = rec.held
        view = rec.engine.inspect(held.step)
        assert view.state == "paused-before" and view.container == "main" and view.name == "main"
        assert view.env["MESSAGE"] == "b" and "ARGO_DEBUG_PAUSE_BEFORE" not in view.env
        assert view.params == {"message": "b"}
        assert view.extra["namespace"] == "default" and view.extra["workflow"].startswith("diamond-debug-")
        assert view.extra["pod"] == view.pod and view.extra["containerState"] == "running"
        assert view.extra["node"] == "test-node"
        live = await rec.engine.inspect_live(held.step)
        assert live.env["MESSAGE"] == "b" and live.env["ARGO_CONTAINER_NAME"] == "main"
        result = await rec.engine.exec(held.step, ["sh", "-c", "echo $MESSAGE"])
        assert (result.exit_code, result.output) == (0, "b\n")
        with pytest.raises(EngineError, match='no output parameter "x"'):
            await rec.engine.set_result(held.step, "x", "y")
        await rec.engine.resume(held.step, PauseKind.BEFORE, Resume.CONTINUE)
        await asyncio.wait_for(rec.finished.wait(), RUN_TIMEOUT)
    finally:
        await rec.engine.close()
    assert rec.end().succeeded


async def test_cancel_while_paused_leaves_no_process(cluster: Cluster) -> None:
    rec = await start(cluster, load(ARGO / "dag-diamond.yaml"), lambda e: None)
    await asyncio.wait_for(rec.paused.wait(), RUN_TIMEOUT)
    assert cluster.argo.processes() != []
    await asyncio.wait_for(rec.engine.cancel(), 30)
    await rec.engine.close()
    assert cluster.argo.processes() == []
    (workflow,) = cluster.api.objects_of("workflows")
    assert workflow["spec"]["shutdown"] == "Terminate"
    (held,) = rec.held
    shape = rec.task_shape(held.step.task_id)
    assert shape[-1] == ("task", False, "Cancelled")
    assert shape[-2][0] == "finished" and shape[-2][3] == "Cancelled"
    end = rec.end()
    assert (end.succeeded, end.reason) == (False, "Cancelled")


async def test_attach_detects_pauses_already_in_effect(cluster: Cluster) -> None:
    """A Workflow submitted by someone else, paused before `a`: an attached engine reports that
    pause from what is there (running, no output); released, then paused after `a`, a second
    attached engine reports the after pause (the `sub-process exited` line already in the log)."""
    document = load(ARGO / "dag-diamond.yaml")
    body = workflow_body(document, RunOptions(), "default").workflow
    body["metadata"]["name"] = "diamond-elsewhere"
    await cluster.api.put("workflows", body)
    text = await fetch_run(RunOptions(kubeconfig=cluster.kubeconfig, attach="diamond-elsewhere"))
    assert "name: diamond-elsewhere" in text and "entrypoint: diamond" in text

    def running_a() -> bool:
        pods = [p for p in cluster.api.objects_of("pods") if p["metadata"]["name"].startswith("diamond-elsewhere")]
        return any(
            "running" in s["state"]
            for p in pods
            for s in p.get("status", {}).get("containerStatuses", [])
            if s["name"] == "main"
        )

    while not running_a():
        await asyncio.sleep(0.05)
    first = await start(cluster, document, lambda e: None, attach="diamond-elsewhere")
    await asyncio.wait_for(first.paused.wait(), RUN_TIMEOUT)
    (before,) = first.held
    assert before.kind is PauseKind.BEFORE
    task = first.started()[before.step.task_id]
    assert task.display_name == "diamond-elsewhere.a" and task.frames[0][0] == "a"
    first.paused.clear()
    await first.engine.resume(before.step, PauseKind.BEFORE, Resume.CONTINUE)
    await asyncio.wait_for(first.paused.wait(), RUN_TIMEOUT)
    assert first.held[-1].kind is PauseKind.AFTER
    await first.engine.close()  # attached: leaves the run as it is
    assert not first.finished.is_set()

    second = await start(cluster, document, attach="diamond-elsewhere")
    await finish(second)
    shape = second.task_shape(before.step.task_id)
    assert shape[0] == ("running", 0) and ("output", "hello from a\n") in shape
    assert ("paused", 0, "after", 0) in shape
    assert shape[-1] == ("task", True, "Succeeded")
    assert second.end().succeeded
    assert not [r for r in cluster.api.counts if r[0] == "POST" and "/workflows" in r[1]]  # nothing submitted


def shell_less(tmp_path: Path, image: str = "gcr.io/distroless/base-debian12") -> ArgoDocument:
    """One container whose image has no shell and no `touch` (the test kubelet runs its command
    on the host all the same)."""
    path = tmp_path / "shell-less.yaml"
    path.write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  generateName: bare-\nspec:\n"
        "  entrypoint: main\n  templates:\n    - name: main\n      container:\n"
        f"        image: {image}\n        command: [echo, released]\n"
    )
    return load(path)


def consoles(rec: Recorder) -> list[str]:
    return [e.text for e in rec.events if isinstance(e, Output) and e.category == "console"]


async def test_an_image_without_touch_is_released_through_an_ephemeral_container(
    cluster: Cluster, tmp_path: Path
) -> None:
    from tests.kube.test_rbac import ungranted

    rec = await start(cluster, shell_less(tmp_path))
    await finish(rec)
    for task in rec.tasks:
        task.result()  # both releases were accepted
    assert rec.end().succeeded
    (task_id,) = rec.started()
    assert rec.task_shape(task_id) == [
        ("paused", 0, "before", None),
        ("running", 0),
        ("output", "released\n"),
        ("paused", 0, "after", 0),
        ("finished", 0, 0, "Completed"),
        ("task", True, "Succeeded"),
    ]
    (pod,) = cluster.api.objects_of("pods")
    name = pod["metadata"]["name"]
    assert pod["spec"]["ephemeralContainers"] == [
        {
            "name": f"pipeline-dap-release-{n}",
            "image": "busybox:1.36",
            "command": ["touch", f"/var/run/argo/ctr/main/{marker}"],
            "volumeMounts": [{"name": "var-run-argo", "mountPath": "/var/run/argo"}],
            "targetContainerName": "main",
        }
        for n, marker in ((1, "before"), (2, "after"))
    ]
    states = {s["name"]: s["state"] for s in pod["status"]["ephemeralContainerStatuses"]}
    assert {n: s["terminated"]["exitCode"] for n, s in states.items()} == {
        "pipeline-dap-release-1": 0,
        "pipeline-dap-release-2": 0,
    }
    said = consoles(rec)
    for n, marker in ((1, "before"), (2, "after")):
        note = f'the image has no "touch"; the pause {marker} was released through the ephemeral container '
        assert any(note + f"pipeline-dap-release-{n} (busybox:1.36) of pod {name}" in t for t in said), said
    # the first release found out that `touch` is missing (one failing exec); the second went
    # straight to the ephemeral route: one exec in all, one patch per release
    assert len(requests(cluster, "GET", "/exec")) == 1
    assert len(requests(cluster, "PATCH", f"/pods/{name}/ephemeralcontainers")) == 2
    assert ungranted(cluster) == []  # deploy/rbac.yaml grants pods/ephemeralcontainers: patch


async def test_a_refused_ephemeral_container_says_why_and_how_to_release(cluster: Cluster, tmp_path: Path) -> None:
    rec = await start(cluster, shell_less(tmp_path), lambda e: None)
    try:
        await asyncio.wait_for(rec.paused.wait(), RUN_TIMEOUT)
        (held,) = rec.held
        pod = rec.engine.inspect(held.step).pod
        forbidden = (
            f'pods "{pod}" is forbidden: User "system:serviceaccount:ci:pipeline-dap" cannot patch resource '
            '"pods/ephemeralcontainers" in API group "" in the namespace "default"'
        )
        cluster.api.fail_next("PATCH", "/ephemeralcontainers", 403, message=forbidden)
        with pytest.raises(EngineError) as caught:
            await rec.engine.resume(held.step, PauseKind.BEFORE, Resume.CONTINUE)
        text = str(caught.value)
        assert 'its image has no "touch"' in text and "executable file not found" in text
        assert f"adding the ephemeral container pipeline-dap-release-1 to pod {pod} failed: {forbidden}" in text
        assert (
            f"kubectl debug -it -n default {pod} --image=busybox:1.36 --target=main -- "
            "touch /proc/1/root/var/run/argo/ctr/main/before"
        ) in text
        assert f"{text}\n" in consoles(rec)  # told on the console too
        assert rec.engine.inspect(held.step).state == "paused-before"  # still paused
        assert "ephemeralContainers" not in cluster.api.get("pods", "default", pod)["spec"]
        # allowed now: the next release skips the exec (touch is known missing) and succeeds
        rec.paused.clear()
        await rec.engine.resume(held.step, PauseKind.BEFORE, Resume.CONTINUE)
        assert len(requests(cluster, "GET", "/exec")) == 1
        await asyncio.wait_for(rec.paused.wait(), RUN_TIMEOUT)
        after = rec.held[-1]
        assert after.kind is PauseKind.AFTER
        await rec.engine.resume(after.step, PauseKind.AFTER, Resume.CONTINUE)
        await asyncio.wait_for(rec.finished.wait(), RUN_TIMEOUT)
    finally:
        await asyncio.wait_for(rec.engine.cancel(), 30)
        await rec.engine.close()
    assert rec.end().succeeded
    assert len(requests(cluster, "GET", "/exec")) == 1
    spec = cluster.api.get("pods", "default", pod)["spec"]
    assert [c["name"] for c in spec["ephemeralContainers"]] == ["pipeline-dap-release-1", "pipeline-dap-release-2"]
    assert cluster.argo.processes() == []


async def test_a_release_image_without_touch_leaves_the_step_paused(cluster: Cluster, tmp_path: Path) -> None:
    rec = await start(cluster, shell_less(tmp_path), lambda e: None, extra={"releaseImage": "gcr.io/distroless/static"})
    try:
        await asyncio.wait_for(rec.paused.wait(), RUN_TIMEOUT)
        (held,) = rec.held
        rec.paused.clear()
        await rec.engine.resume(held.step, PauseKind.BEFORE, Resume.CONTINUE)  # the release was requested
        await asyncio.wait_for(rec.paused.wait(), RUN_TIMEOUT)  # its container could not start: paused again
        again = rec.held[-1]
        assert (again.step, again.kind) == (held.step, PauseKind.BEFORE)
        assert rec.engine.inspect(held.step).state == "paused-before"
        said = "".join(consoles(rec))
        assert "ephemeral container pipeline-dap-release-1 (gcr.io/distroless/static) ended with exit code 128" in said
        assert "StartError" in said and "stays paused before" in said
        assert "--image=gcr.io/distroless/static --target=main" in said
        assert not [e for e in rec.events if isinstance(e, Output) and e.category == "stdout"]  # never ran
    finally:
        await asyncio.wait_for(rec.engine.cancel(), 30)
        await rec.engine.close()
    assert cluster.argo.processes() == []


async def test_the_test_api_checks_ephemeral_container_patches(cluster: Cluster, tmp_path: Path) -> None:
    """What the API server refuses on pods/<p>/ephemeralcontainers, through the official client:
    a content type it does not take (415), an invalid container (422), removing one (422)."""
    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException

    rec = await start(cluster, shell_less(tmp_path), lambda e: None)
    try:
        await asyncio.wait_for(rec.paused.wait(), RUN_TIMEOUT)
        pod = rec.engine.inspect(rec.held[0].step).pod
        api = client.CoreV1Api(config.new_client_from_config(cluster.kubeconfig))

        def patch(body: Any, **kwargs: Any) -> Any:
            return api.patch_namespaced_pod_ephemeralcontainers(pod, "default", body, **kwargs)

        def refused(body: Any, **kwargs: Any) -> tuple[int, str]:
            with pytest.raises(ApiException) as caught:
                patch(body, **kwargs)
            return int(caught.value.status), str(json.loads(caught.value.body)["message"])

        sleeper = {"name": "debugger", "image": "busybox:1.36", "command": ["true"], "targetContainerName": "main"}
        code, message = await asyncio.to_thread(refused, {"spec": {}}, _content_type="application/json")
        assert code == 415 and "accepted media types include" in message
        bad = {
            **sleeper,
            "name": "main",
            "targetContainerName": "nope",
            "volumeMounts": [{"name": "x", "mountPath": "/x"}],
        }
        code, message = await asyncio.to_thread(refused, {"spec": {"ephemeralContainers": [bad]}})
        assert code == 422 and message.startswith(f'Pod "{pod}" is invalid: ')
        assert 'spec.ephemeralContainers[0].name: Duplicate value: "main"' in message
        assert 'targetContainerName: Not found: "nope"' in message and 'volumeMounts[0].name: Not found: "x"' in message
        added = await asyncio.to_thread(patch, {"spec": {"ephemeralContainers": [sleeper]}})
        assert [c.name for c in added.spec.ephemeral_containers] == ["debugger"]
        code, message = await asyncio.to_thread(
            refused, [{"op": "remove", "path": "/spec/ephemeralContainers/0"}]
        )  # a list body: JSON patch
        assert code == 422 and 'existing ephemeral containers "debugger" may not be removed' in message
        merged = await asyncio.to_thread(
            patch,
            {"spec": {"ephemeralContainers": [sleeper, {**sleeper, "name": "second"}]}},
            _content_type="application/merge-patch+json",
        )
        assert [c.name for c in merged.spec.ephemeral_containers] == ["debugger", "second"]
        while (
            len((cluster.api.get("pods", "default", pod) or {})["status"].get("ephemeralContainerStatuses") or []) < 2
        ):
            await asyncio.sleep(0.05)
    finally:
        await asyncio.wait_for(rec.engine.cancel(), 30)
        await rec.engine.close()
    statuses = cluster.api.get("pods", "default", pod)["status"]["ephemeralContainerStatuses"]
    assert {s["name"] for s in statuses} == {"debugger", "second"}


async def test_argo_not_installed_is_a_clear_error(cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(kubeapi.CUSTOM, ("argoproj.io", "v1alpha1", "workflows"))
    monkeypatch.delitem(cluster.api.resources, "argoproj.io/v1alpha1/workflows")
    engine = create_argo_engine(load(ARGO / "dag-diamond.yaml"), RunOptions(kubeconfig=cluster.kubeconfig))
    with pytest.raises(EngineError, match=r"Argo Workflows is not installed \(no workflows\.argoproj\.io resource\)"):
        await asyncio.wait_for(engine.prepare(), 10)
    await engine.close()
    assert cluster.api.objects_of("workflows") == []


def test_tekton_documents_are_refused() -> None:
    path = Path(__file__).resolve().parents[2] / "fixtures" / "tekton" / "single-task.yaml"
    sources = SourceSet([str(path.parent)])
    document = sources.select(str(path))
    with pytest.raises(EngineError, match="not an Argo document"):
        create_argo_engine(document, RunOptions())


async def test_container_set_pauses_each_container_after_its_dependencies(cluster: Cluster) -> None:
    rec = await start(cluster, load(ARGO / "container-set.yaml"))
    await finish(rec)
    (pod,) = rec.started().values()
    assert pod.step_names == ("fetch", "build", "test") and [s.name for s in pod.steps] == ["fetch", "build", "test"]
    shape = rec.task_shape(pod.task_id)
    fetched = shape.index(("finished", 0, 0, "Completed"))
    for index in (1, 2):  # build and test wait for fetch's exit code: their before pause comes after it
        assert shape.index(("paused", index, "before", None)) > fetched
        assert ("paused", index, "after", 0) in shape and ("finished", index, 0, "Completed") in shape
    assert sorted(e[1] for e in shape if e[0] == "output") == ["built\n", "fetched\n", "tested\n"]
    assert shape[-1] == ("task", True, "Succeeded") and rec.end().succeeded


async def test_template_refs_run_from_the_file_and_map_back_to_their_templates(cluster: Cluster) -> None:
    rec = await start(cluster, load(ARGO / "template-ref" / "workflow.yaml"), debug=False)
    await finish(rec)
    assert rec.end().succeeded
    hello = next(t for t in rec.started().values() if t.display_name.endswith(".hello"))
    assert hello.steps[0].span.path.endswith("templates.yaml") and hello.frames[0][0] == "hello"
    second = next(t for t in rec.started().values() if t.display_name.endswith(".second"))
    assert [n for n, _ in second.frames] == ["second", "twice", "both", "main"]
    outputs = sorted(e.text for e in rec.events if isinstance(e, Output) and e.category == "stdout")
    assert outputs == ["hello argo\n", "hello world\n", "hello world\n", "stamped\n"]
    assert cluster.api.objects_of("workflowtemplates") == []  # nothing but the Workflow was needed
