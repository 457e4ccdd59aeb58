"""Faults of a real API server during a DAP session, on both cluster engines: watches cut and
their history compacted (410 Gone on resume), transient errors on the exec that releases a
pause, and an exec the server refuses — which must be an error response and an output event,
with the thread still stopped, never a silent hang."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.dap_harness import REPO_ROOT, HarnessClient, start_session
from tests.kube.cluster import Cluster
from tests.session.helpers import frames_of, run_to_end, scope_values, stopped

SINGLE = REPO_ROOT / "fixtures/tekton/single-task.yaml"
DIAMOND = REPO_ROOT / "fixtures/argo/dag-diamond.yaml"
RUNS = pytest.mark.parametrize(
    ("engine", "program", "line", "tasks"),
    [("tekton", SINGLE, 34, 1), ("argo", DIAMOND, 22, 4)],
    ids=["tekton", "argo"],
)


def launch(cluster: Cluster, engine: str, program: Path) -> dict[str, Any]:
    return {"program": str(program), "engine": engine, "kubeconfig": cluster.kubeconfig, "namespace": "default"}


@RUNS
async def test_watches_cut_and_compacted_while_stopped(
    dap: HarnessClient, cluster: Cluster, engine: str, program: Path, line: int, tasks: int
) -> None:
    await start_session(dap, launch(cluster, engine, program), breakpoints={program: [line]})
    stop = await stopped(dap, "breakpoint")
    cluster.api.compacted_before = cluster.api.rv + 1  # resuming from the last version: 410 Gone
    cluster.api.drop_watches()
    await dap.request_ok("continue", {"threadId": stop["body"]["threadId"]})
    assert await run_to_end(dap) == 0
    started = [e for e in dap.events("thread") if e["body"]["reason"] == "started"]
    assert len(started) == tasks  # the re-list after 410 did not make threads twice


@RUNS
async def test_a_transient_error_on_the_releasing_exec_is_retried(
    dap: HarnessClient, cluster: Cluster, engine: str, program: Path, line: int, tasks: int
) -> None:
    await start_session(dap, launch(cluster, engine, program), breakpoints={program: [line]})
    stop = await stopped(dap, "breakpoint")
    cluster.api.fail_next("GET", "/exec", 503)
    await dap.request_ok("continue", {"threadId": stop["body"]["threadId"]})
    assert await run_to_end(dap) == 0


@RUNS
async def test_a_refused_exec_is_an_error_and_an_output_and_the_thread_stays_stopped(
    dap: HarnessClient, cluster: Cluster, engine: str, program: Path, line: int, tasks: int
) -> None:
    await start_session(dap, launch(cluster, engine, program), breakpoints={program: [line]})
    stop = await stopped(dap, "breakpoint")
    thread_id = stop["body"]["threadId"]
    pod = (await scope_values(dap, (await frames_of(dap, thread_id))[0]["id"], "Step"))["pod"]
    refusal = f'pods "{pod}" is forbidden: User "dev" cannot create resource "pods/exec"'
    cluster.api.fail_next("GET", f"/pods/{pod}/exec", 403, message=refusal)
    refused = await dap.request("continue", {"threadId": thread_id})
    assert refused["success"] is False and "forbidden" in refused["message"]
    again = await stopped(dap, "pause")
    assert again["body"]["threadId"] == thread_id and "Still paused" in again["body"]["description"]
    assert any("forbidden" in e["body"]["output"] for e in dap.events("output"))
    assert (await frames_of(dap, thread_id))[0]["line"] == stop_line(program, line)  # still stopped there
    await dap.request_ok("continue", {"threadId": thread_id})  # the permission is back: it goes on
    assert await run_to_end(dap) == 0


def stop_line(program: Path, line: int) -> int:
    return {34: 34, 22: 40}[line] if program in (SINGLE, DIAMOND) else line


@RUNS
async def test_a_pause_nobody_asked_for_that_cannot_be_released_becomes_a_stop(
    dap: HarnessClient, cluster: Cluster, engine: str, program: Path, line: int, tasks: int
) -> None:
    """No breakpoint: every pause is released at once by the session. One release is refused:
    the step would stay paused unseen, so it becomes a stop the user sees and can continue."""
    cluster.api.fail_next("GET", "/exec", 403, message='pods "p" is forbidden: User "dev" cannot create pods/exec')
    await start_session(dap, launch(cluster, engine, program))
    stop = await stopped(dap, "pause")
    assert "Still paused" in stop["body"]["description"]
    assert any("forbidden" in e["body"]["output"] for e in dap.events("output"))
    assert await run_to_end(dap) == 0
