"""deploy/rbac.yaml grants every request the cluster engines make, and nothing needs Secrets.

A DAP session per engine runs against the test API (launch, stop, variables, evaluate in the
step, continue, terminate); each recorded request is turned into the (apiGroup, resource,
verb, namespace) that Kubernetes' RBAC authorizer would check, and looked up in the Roles.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.dap_harness import REPO_ROOT, HarnessClient, start_session
from tests.kube.cluster import Cluster
from tests.session.helpers import frames_of, stopped

RBAC = REPO_ROOT / "deploy/rbac.yaml"
SINGLE = REPO_ROOT / "fixtures/tekton/single-task.yaml"
PATH = re.compile(
    r"^/(?:api/(?P<core>v1)|apis/(?P<group>[^/]+)/[^/]+)(?:/namespaces/(?P<ns>[^/]+))?"
    r"/(?P<resource>[^/]+)(?:/(?P<name>[^/]+))?(?:/(?P<sub>[^/]+))?$"
)


def attributes(method: str, path: str, query: str) -> tuple[str, str, str, str] | None:
    """(apiGroup, resource[/subresource], verb, namespace) as the RBAC authorizer sees a request."""
    match = PATH.match(path)
    if match is None:
        return None
    group = "" if match["core"] else str(match["group"])
    resource = match["resource"] + (f"/{match['sub']}" if match["sub"] else "")
    named = match["name"] is not None
    if match["sub"] == "exec":
        verb = "create"  # Kubernetes >= 1.30; the Role grants "get" too for older servers
    elif method == "GET":
        verb = "get" if named else ("watch" if "watch=true" in query.lower() else "list")
    else:
        verb = {"POST": "create", "PATCH": "patch", "PUT": "update", "DELETE": "delete"}[method]
    return group, resource, verb, match["ns"] or ""


def granted(rules_by_ns: dict[str, list[dict[str, Any]]], want: tuple[str, str, str, str], name: str) -> bool:
    group, resource, verb, namespace = want
    for rule in rules_by_ns.get(namespace, []):
        if (
            group in rule.get("apiGroups", [])
            and resource in rule.get("resources", [])
            and verb in rule.get("verbs", [])
            and (not rule.get("resourceNames") or name in rule["resourceNames"])
        ):
            return True
    return False


def roles() -> dict[str, list[dict[str, Any]]]:
    by_ns: dict[str, list[dict[str, Any]]] = {}
    for doc in yaml.safe_load_all(RBAC.read_text()):
        if doc and doc["kind"] == "Role":
            by_ns.setdefault(doc["metadata"]["namespace"], []).extend(doc["rules"])
    return by_ns


def ungranted(cluster: Cluster) -> list[str]:
    rules = roles()
    missing = []
    for method, path, query in cluster.api.counts:
        want = attributes(method, path, query)
        assert want is not None, path
        name = path.rstrip("/").split("/")[-1]
        if want[1] == "secrets" or not granted(rules, want, name):
            missing.append(f"{method} {path} -> {want}")
    return missing


def test_the_request_mapping_reads_paths_like_the_authorizer() -> None:
    assert attributes("GET", "/apis/tekton.dev/v1/namespaces/ci/taskruns", "watch=True") == (
        "tekton.dev",
        "taskruns",
        "watch",
        "ci",
    )
    assert attributes("GET", "/api/v1/namespaces/ci/pods/p/log", "follow=True") == ("", "pods/log", "get", "ci")
    assert attributes("POST", "/api/v1/namespaces/ci/pods/p/exec", "") == ("", "pods/exec", "create", "ci")
    rules = roles()
    assert granted(rules, ("", "configmaps", "get", "tekton-pipelines"), "feature-flags")
    assert not granted(rules, ("", "configmaps", "get", "tekton-pipelines"), "other")
    assert not granted(rules, ("", "secrets", "get", "default"), "s")


async def _session(dap: HarnessClient, launch: dict[str, Any], breakpoints: dict[Path, list[int]]) -> None:
    start = await start_session(dap, launch, breakpoints=breakpoints)
    assert start.launch["success"], start.launch
    stop = await stopped(dap, "breakpoint")
    frame = (await frames_of(dap, stop["body"]["threadId"]))[0]
    scopes = (await dap.request_ok("scopes", {"frameId": frame["id"]}))["body"]["scopes"]
    for scope in scopes:
        await dap.request_ok("variables", {"variablesReference": scope["variablesReference"]})
    await dap.request_ok("evaluate", {"expression": "echo hi", "context": "repl", "frameId": frame["id"]})
    await dap.request_ok("next", {"threadId": stop["body"]["threadId"]})
    await stopped(dap, "step")
    await dap.request_ok("terminate")
    await dap.wait_event("exited")


async def test_a_tekton_session_needs_nothing_beyond_the_role(dap: HarnessClient, cluster: Cluster) -> None:
    launch = {"program": str(SINGLE), "engine": "tekton", "kubeconfig": cluster.kubeconfig, "namespace": "default"}
    await _session(dap, launch, {SINGLE: [23]})
    assert len(cluster.api.counts) > 5
    assert ungranted(cluster) == []


async def test_an_argo_session_needs_nothing_beyond_the_role(dap: HarnessClient, cluster: Cluster) -> None:
    diamond = REPO_ROOT / "fixtures/argo/dag-diamond.yaml"
    launch = {"program": str(diamond), "engine": "argo", "kubeconfig": cluster.kubeconfig, "namespace": "default"}
    await _session(dap, launch, {diamond: [22]})
    assert len(cluster.api.counts) > 5
    assert ungranted(cluster) == []
