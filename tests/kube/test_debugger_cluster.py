"""`pipeline-dap debug --engine tekton` against the test Kubernetes API: the terminal debugger
targets a cluster with --kubeconfig / --namespace like a launch configuration does."""

from __future__ import annotations

from pathlib import Path

from tests.debugger.scripted import SINGLE, assert_trace_valid, line_of, run_debug
from tests.kube.cluster import Cluster


async def test_terminal_debugger_on_the_tekton_engine(tmp_path: Path, cluster: Cluster) -> None:
    count_line = line_of(SINGLE, "- name: count", after="steps:")
    args = [
        "fixtures/tekton/single-task.yaml",
        "--engine",
        "tekton",
        "--kubeconfig",
        cluster.kubeconfig,
        "--namespace",
        "default",
        "--break",
        f"fixtures/tekton/single-task.yaml:{count_line}",
    ]
    run = await run_debug(args, "where\nparams\ncontinue\n", tmp_path)
    assert run.code == 0, run
    assert "single-task \u203a count" in run.out, run
    assert "count 2 of 2" in run.out, run
    (launch,) = run.messages("send", "request", "launch")
    assert launch["arguments"]["kubeconfig"] == cluster.kubeconfig
    assert launch["arguments"]["namespace"] == "default"
    assert [tr["metadata"]["namespace"] for tr in cluster.api.objects_of("taskruns")] == ["default"]
    assert_trace_valid(run)


async def test_terminal_debugger_attaches_to_a_taskrun(tmp_path: Path, cluster: Cluster) -> None:
    from tests.kube.test_tekton_attach import create_taskrun, taskrun_body

    await create_taskrun(cluster, taskrun_body(SINGLE, "from-kubectl"))
    count_line = line_of(SINGLE, "- name: count", after="steps:")
    args = [
        "fixtures/tekton/single-task.yaml",
        "--engine",
        "tekton",
        "--kubeconfig",
        cluster.kubeconfig,
        "--attach",
        "taskrun/from-kubectl",
        "--break",
        f"fixtures/tekton/single-task.yaml:{count_line}",
    ]
    run = await run_debug(args, "where\ncontinue\n", tmp_path)
    assert run.code == 0, run
    assert "single-task \u203a count" in run.out, run
    assert "count 2 of 2" in run.out, run
    (attach,) = run.messages("send", "request", "attach")
    assert attach["arguments"]["run"] == "taskrun/from-kubectl"
    assert len(cluster.api.objects_of("taskruns")) == 1  # nothing created
    assert_trace_valid(run)


async def test_attach_needs_a_cluster_engine(tmp_path: Path) -> None:
    run = await run_debug(["fixtures/tekton/single-task.yaml", "--attach", "taskrun/x"], "", tmp_path)
    assert run.code == 2 and "--engine tekton or argo" in run.err, run
