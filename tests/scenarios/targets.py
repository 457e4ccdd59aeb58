"""Where a scenario runs: the same DAP scenario, unchanged, on every engine that can run it.

- `local`: the embedded engine (processes on this machine);
- `tekton` / `argo`: the cluster engines against the test Kubernetes API (tests/kube), whose
  kubelet runs each container as a real process;
- `tekton-cluster` / `argo-cluster` (marked `cluster`, deselected by default): a real cluster from
  `KUBECONFIG`; see deploy/README.md for the kind set-up.

A target knows what its engine cannot do (`after_pauses`: Tekton has no after-step pause) and
how to tell that nothing is left behind after a session (`leftovers`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.dap_harness import HarnessClient
from tests.session.helpers import descendants

LOCAL, TEKTON, ARGO = "local", "tekton", "argo"
CLUSTER_NAMESPACE = os.environ.get("PIPELINE_DAP_TEST_NAMESPACE", "default")


@dataclass
class Target:
    name: str  # local | tekton | tekton-cluster | argo | argo-cluster
    engine: str  # the launch's "engine"
    extras: dict[str, Any] = field(default_factory=dict)
    after_pauses: bool = True  # the engine can pause after a step (Tekton: no)
    failure_exit_code: bool = True  # the exit code is known while paused on a failure (Tekton: no)
    cluster: Any = None  # tests.kube.cluster.Cluster for the test API

    def launch(self, program: Path | str, **arguments: Any) -> dict[str, Any]:
        return {"program": str(program), "engine": self.engine, **self.extras, **arguments}

    async def leftovers(self, dap: HarnessClient, before: list[int] | None = None) -> list[str]:
        """What still runs of the session's run: processes (local, test API) or unfinished
        runs (a real cluster). Waits a little for a cluster to settle."""
        if self.engine == LOCAL:
            alive = [p for p in (before or []) if Path(f"/proc/{p}").exists()]
            return [f"process {p}" for p in alive]
        if self.cluster is not None:
            system = self.cluster.tekton if self.engine == TEKTON else self.cluster.argo
            for _ in range(50):
                if not system.processes():
                    return []
                await asyncio.sleep(0.1)
            return [f"container process {p}" for p in system.processes()]
        return await _real_cluster_leftovers(self.engine)

    def running(self, dap: HarnessClient) -> list[int]:
        """What runs now for this session (local: the adapter's child processes)."""
        if self.engine == LOCAL:
            return descendants(dap.process.pid if dap.process else 0)
        if self.cluster is not None:
            system = self.cluster.tekton if self.engine == TEKTON else self.cluster.argo
            return list(system.processes())
        return []


async def _real_cluster_leftovers(engine: str) -> list[str]:
    """Runs of ours (label app.kubernetes.io/managed-by=pipeline-dap) not finished after 60 s."""
    from kubernetes import client, config

    def check() -> list[str]:
        api_client = config.new_client_from_config()
        custom = client.CustomObjectsApi(api_client)
        group, version, plural = (
            ("tekton.dev", "v1", "taskruns") if engine == TEKTON else ("argoproj.io", "v1alpha1", "workflows")
        )
        items = custom.list_namespaced_custom_object(
            group, version, CLUSTER_NAMESPACE, plural, label_selector="app.kubernetes.io/managed-by=pipeline-dap"
        )["items"]
        open_runs = []
        for item in items:
            status = item.get("status") or {}
            done = status.get("phase") in ("Succeeded", "Failed", "Error") or any(
                c.get("type") == "Succeeded" and c.get("status") in ("True", "False")
                for c in status.get("conditions") or []
            )
            if not done:
                open_runs.append(f"{plural}/{item['metadata']['name']}")
        return open_runs

    for _ in range(60):
        left = await asyncio.to_thread(check)
        if not left:
            return []
        await asyncio.sleep(1)
    return left


def engines(*names: str) -> pytest.MarkDecorator:
    """Parametrize `target` with these engines, plus their real-cluster variants (marked `cluster`)."""
    params = []
    for name in names:
        params.append(pytest.param(name, id=name))
        if name != "local":
            params.append(pytest.param(f"{name}-cluster", id=f"{name}-cluster", marks=pytest.mark.cluster))
    return pytest.mark.parametrize("target", params, indirect=True)


@contextlib.asynccontextmanager
async def target_for(name: str, folder: str) -> AsyncIterator[Target]:
    if name == LOCAL:
        yield Target(LOCAL, LOCAL)
        return
    engine = name.split("-")[0]
    tekton_limits = {"after_pauses": engine != TEKTON, "failure_exit_code": engine != TEKTON}
    if name.endswith("-cluster"):
        if not os.environ.get("KUBECONFIG"):
            pytest.skip("needs a real cluster: set KUBECONFIG (see deploy/README.md)")
        yield Target(name, engine, {"namespace": CLUSTER_NAMESPACE}, **tekton_limits)
        return
    from tests.kube.cluster import running_cluster

    async with running_cluster(folder) as cluster:
        extras = {"kubeconfig": cluster.kubeconfig, "namespace": "default"}
        yield Target(name, engine, extras, cluster=cluster, **tekton_limits)
