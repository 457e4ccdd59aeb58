"""Cluster targeting: a kubeconfig context other than the current one (and its namespace), and
the in-cluster service account when there is no kubeconfig at all."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dap_server.engines import kube as kube_module
from dap_server.engines.base import EngineError
from dap_server.engines.kube import Kube
from tests.dap_harness import REPO_ROOT, HarnessClient, start_session
from tests.kube.cluster import Cluster
from tests.session.helpers import run_to_end

SINGLE = REPO_ROOT / "fixtures/tekton/single-task.yaml"


def two_contexts(cluster: Cluster, path: Path) -> None:
    """Current context: a server nobody listens on; context `test`: the test API, namespace `ci`."""
    config = yaml.safe_load(Path(cluster.kubeconfig).read_text())
    config["clusters"].append({"name": "nowhere", "cluster": {"server": "http://127.0.0.1:9"}})
    config["contexts"] = [
        {"name": "broken", "context": {"cluster": "nowhere", "user": config["users"][0]["name"]}},
        {
            "name": "test",
            "context": {
                "cluster": config["clusters"][0]["name"],
                "user": config["users"][0]["name"],
                "namespace": "ci",
            },
        },
    ]
    config["current-context"] = "broken"
    path.write_text(yaml.safe_dump(config))


async def test_a_named_context_and_its_namespace_are_used(dap: HarnessClient, cluster: Cluster, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "two-contexts"
    two_contexts(cluster, kubeconfig)
    launch = {"program": str(SINGLE), "engine": "tekton", "kubeconfig": str(kubeconfig), "kubeContext": "test"}
    start = await start_session(dap, launch)
    assert start.launch["success"], start.launch
    assert await run_to_end(dap) == 0
    (taskrun,) = cluster.api.objects_of("taskruns")
    assert taskrun["metadata"]["namespace"] == "ci"


async def test_an_unknown_context_fails_the_launch_with_the_file(
    dap: HarnessClient, cluster: Cluster, tmp_path: Path
) -> None:
    kubeconfig = tmp_path / "two-contexts"
    two_contexts(cluster, kubeconfig)
    launch = {"program": str(SINGLE), "engine": "tekton", "kubeconfig": str(kubeconfig), "kubeContext": "nope"}
    start = await start_session(dap, launch)
    assert start.launch["success"] is False
    assert str(kubeconfig) in start.launch["message"] and "nope" in start.launch["message"]
    assert cluster.api.objects_of("taskruns") == []


async def test_without_a_kubeconfig_the_service_account_is_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from kubernetes.config import incluster_config

    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text("sa-token")
    (account / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    (account / "namespace").write_text("pipelines\n")
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(account / "token"))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(account / "ca.crt"))
    monkeypatch.setattr(kube_module, "IN_CLUSTER_NAMESPACE", str(account / "namespace"))
    kube = Kube(None, None)
    await kube.connect()
    try:
        assert kube.config_file is None
        assert kube.default_namespace == "pipelines"
        configuration = kube.api_client.configuration
        assert configuration.host == "https://10.0.0.1:443"
        assert configuration.api_key["BearerToken"].lower() == "bearer sa-token"
    finally:
        await kube.close()


async def test_no_kubeconfig_and_no_service_account_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(EngineError, match="cannot load the Kubernetes configuration"):
        await Kube(None, None).connect()


@pytest.mark.parametrize(
    ("engine", "program"), [("tekton", SINGLE), ("argo", REPO_ROOT / "fixtures/argo/dag-diamond.yaml")]
)
async def test_a_cluster_nobody_answers_fails_the_launch_saying_so(
    dap: HarnessClient, tmp_path: Path, engine: str, program: Path
) -> None:
    kubeconfig = tmp_path / "nowhere"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:9"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    start = await start_session(dap, {"program": str(program), "engine": engine, "kubeconfig": str(kubeconfig)})
    assert start.launch["success"] is False
    message = start.launch["message"]
    assert "cannot reach the Kubernetes API at http://127.0.0.1:9" in message and str(kubeconfig) in message
    assert "Connection refused" in message


async def test_a_forbidden_request_names_the_rbac_file(dap: HarnessClient, cluster: Cluster) -> None:
    cluster.api.fail_next(
        "GET",
        "/configmaps/feature-flags",
        403,
        message='configmaps "feature-flags" is forbidden: User "dev" cannot get resource "configmaps"',
    )
    launch = {"program": str(SINGLE), "engine": "tekton", "kubeconfig": cluster.kubeconfig}
    start = await start_session(dap, launch)
    assert start.launch["success"] is False
    assert 'User "dev" cannot get resource' in start.launch["message"]
    assert "deploy/rbac.yaml" in start.launch["message"]
