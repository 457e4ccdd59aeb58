"""The pure parts of the Argo cluster engine: the submitted Workflow, node names back to the
source map, the emissary's `sub-process exited` line, the live environment read."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from dap_server.engines.argo.workflow import exited_code, locate, node_tokens, workflow_body
from dap_server.engines.base import EngineError
from dap_server.engines.kube import exec_status
from dap_server.engines.options import RunOptions
from dap_server.engines.podenv import parse_live, spec_env
from dap_server.sources import SourceSet
from dap_server.sources.argo import ArgoDocument

ARGO = Path(__file__).resolve().parents[2] / "fixtures" / "argo"


def load(name: str) -> ArgoDocument:
    path = str(ARGO / name)
    sources = SourceSet([os.path.dirname(path)])
    document = sources.select(path)
    sources.resolve(document)
    assert isinstance(document, ArgoDocument)
    return document


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env") or []}


def test_body_of_a_workflow_with_params_timeout_and_debug_env() -> None:
    body = workflow_body(load("dag-diamond.yaml"), RunOptions(params={"greeting": "hey"}, timeout=90), "ns").workflow
    meta = body["metadata"]
    assert meta["generateName"] == "diamond-debug-" and meta["namespace"] == "ns"
    assert meta["labels"]["app.kubernetes.io/managed-by"] == "pipeline-dap"
    spec = body["spec"]
    assert spec["arguments"]["parameters"] == [{"name": "greeting", "value": "hey"}]
    assert spec["activeDeadlineSeconds"] == 90
    echo = next(t for t in spec["templates"] if t["name"] == "echo")
    env = env_of(echo["container"])
    assert env == {
        "MESSAGE": "{{inputs.parameters.message}}",
        "ARGO_DEBUG_PAUSE_BEFORE": "true",
        "ARGO_DEBUG_PAUSE_AFTER": "true",
    }
    dag = next(t for t in spec["templates"] if t["name"] == "diamond")
    assert "env" not in str(dag)  # only leaf containers pause


def test_no_debug_adds_no_pause_and_every_container_set_container_pauses() -> None:
    plain = workflow_body(load("dag-diamond.yaml"), RunOptions(debug=False), "ns").workflow
    assert "ARGO_DEBUG" not in str(plain)
    body = workflow_body(load("container-set.yaml"), RunOptions(), "ns").workflow
    (template,) = body["spec"]["templates"]
    containers = template["containerSet"]["containers"]
    assert [env_of(c) for c in containers] == [
        {"ARGO_DEBUG_PAUSE_BEFORE": "true", "ARGO_DEBUG_PAUSE_AFTER": "true"}
    ] * 3


def test_template_refs_are_copied_into_the_workflow() -> None:
    document = load("template-ref/workflow.yaml")
    body = workflow_body(document, RunOptions(), "ns")
    spec = body.workflow["spec"]
    names = [t["name"] for t in spec["templates"]]
    assert names == ["main", "greet", "twice", "stamp"]
    tasks = {t["name"]: t for t in spec["templates"][0]["dag"]["tasks"]}
    assert tasks["hello"]["template"] == "greet" and "templateRef" not in tasks["hello"]
    assert tasks["stamp"]["template"] == "stamp"
    twice = next(t for t in spec["templates"] if t["name"] == "twice")
    assert [s[0]["template"] for s in twice["steps"]] == ["greet", "greet"]
    assert body.templates["stamp"].span.path.endswith("templates.yaml")
    script = next(t for t in spec["templates"] if t["name"] == "stamp")["script"]
    assert env_of(script)["ARGO_DEBUG_PAUSE_AFTER"] == "true"


def test_a_template_ref_colliding_with_a_local_name_is_renamed(tmp_path: Path) -> None:
    (tmp_path / "lib.yaml").write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: WorkflowTemplate\nmetadata: {name: lib}\nspec:\n  templates:\n"
        "    - name: say\n      container: {image: alpine, command: [echo, lib]}\n"
    )
    (tmp_path / "wf.yaml").write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: wf}\nspec:\n  entrypoint: main\n"
        "  templates:\n    - name: main\n      steps:\n        - - name: own\n            template: say\n"
        "        - - name: theirs\n            templateRef: {name: lib, template: say}\n"
        "    - name: say\n      container: {image: alpine, command: [echo, own]}\n"
    )
    sources = SourceSet([str(tmp_path)])
    document = sources.select(str(tmp_path / "wf.yaml"))
    sources.resolve(document)
    assert isinstance(document, ArgoDocument)
    spec = workflow_body(document, RunOptions(), "ns").workflow["spec"]
    assert [t["name"] for t in spec["templates"]] == ["main", "say", "say-2"]
    steps = spec["templates"][0]["steps"]
    assert (steps[0][0]["template"], steps[1][0]["template"]) == ("say", "say-2")
    assert spec["templates"][2]["container"]["command"] == ["echo", "lib"]


def test_a_cron_workflow_becomes_a_workflow_from_its_template() -> None:
    body = workflow_body(load("template-ref/cron.yaml"), RunOptions(debug=False), "ns").workflow
    assert body["kind"] == "Workflow" and body["metadata"]["generateName"] == "nightly-debug-"
    spec = body["spec"]
    assert spec["entrypoint"] == "twice" and "workflowTemplateRef" not in spec and "schedule" not in spec
    assert sorted(t["name"] for t in spec["templates"]) == ["greet", "twice"]


def test_a_missing_parameter_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "wf.yaml"
    path.write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: wf}\nspec:\n  entrypoint: main\n"
        "  arguments: {parameters: [{name: who}]}\n"
        "  templates:\n    - name: main\n      container: {image: alpine, command: [echo]}\n"
    )
    sources = SourceSet([str(tmp_path)])
    document = sources.select(str(path))
    sources.resolve(document)
    assert isinstance(document, ArgoDocument)
    with pytest.raises(EngineError, match=r'wf\.yaml:6: workflow parameter "who" of Workflow/wf has no value'):
        workflow_body(document, RunOptions(), "ns")
    assert workflow_body(document, RunOptions(params={"who": "me"}), "ns").workflow["spec"]["arguments"] == {
        "parameters": [{"name": "who", "value": "me"}]
    }


def test_node_tokens() -> None:
    assert node_tokens("wf", "wf") == []
    assert node_tokens("wf", "wf[1].right[0].one") == [
        ("group", "1"),
        ("name", "right"),
        ("group", "0"),
        ("name", "one"),
    ]
    assert node_tokens("wf", "wf.fan(1:name:large,size:9)(0)") == [
        ("name", "fan"),
        ("item", "1"),
        ("retry", "0"),
    ]
    assert node_tokens("wf", "other.a") is None
    assert node_tokens("wf", "wf.a)") is None


def test_node_names_walk_to_their_source() -> None:
    diamond = load("dag-diamond.yaml")
    found = locate(diamond, "diamond-x", "diamond-x.b")
    assert found is not None and found.template.name == "echo" and found.task is not None
    assert [(n, s.line) for n, s in found.frames] == [("b", 20), ("diamond", 13)]
    nested = load("nested-steps.yaml")
    inner = locate(nested, "nested", "nested[1].right[1].two")
    assert inner is not None and inner.task is not None and inner.task.name == "two"
    assert [n for n, _ in inner.frames] == ["two", "inner", "right", "main"]
    assert locate(nested, "nested", "nested[1].right") is None  # a steps node runs no pod
    assert locate(nested, "nested", "nested[3].nothing") is None
    fan = load("fan-out.yaml")
    item = locate(fan, "fan-out", "fan-out[0].sizes(1:name:large,size:9)")
    assert item is not None and item.instance == 1 and item.task is not None and item.task.name == "sizes"
    failing = load("failing.yaml")
    retried = locate(failing, "failing", "failing[1].broken(1)")
    assert retried is not None and retried.template.name == "fail" and retried.instance is None
    on_exit = locate(failing, "failing", "failing.onExit")
    assert on_exit is not None and on_exit.template.name == "report" and on_exit.task is None and on_exit.frames == ()
    whole = locate(load("container-set.yaml"), "container-set", "container-set")
    assert whole is not None and [s.name for s in whole.template.spec.steps] == ["fetch", "build", "test"]  # type: ignore[union-attr]


def test_sub_process_exited_lines() -> None:
    ok = 'time="2025-01-01T00:00:00.000Z" level=info msg="sub-process exited" argo=true error="<nil>"\n'
    failed = 'time="2025-01-01T00:00:00.000Z" level=info msg="sub-process exited" argo=true error="exit status 3"\n'
    local = 'time="2025-01-01T00:00:00.000Z" level=info msg="sub-process exited" argo=true error=<nil>\n'
    assert (exited_code(ok), exited_code(failed), exited_code(local)) == (0, 3, 0)
    assert exited_code('echo msg="sub-process exited" argo=true\n') is None  # the user's output
    assert exited_code("hello\n") is None


def test_exec_status_channel() -> None:
    assert exec_status('{"metadata":{},"status":"Success"}') == (0, "")
    failure = (
        '{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"2"}]}}'
    )
    assert exec_status(failure) == (2, "")
    internal = (
        '{"status":"Failure","reason":"InternalError","message":"OCI runtime exec failed",'
        '"details":{"causes":[{"message":"x"}]}}'
    )
    assert exec_status(internal) == (126, "OCI runtime exec failed\n")


def test_live_read_and_spec_env() -> None:
    output = "pipeline-dap:env:proc\0A=1\0B=two\nlines\0\0pipeline-dap:results\0out\0v\0"
    assert parse_live(output) == ({"A": "1", "B": "two\nlines"}, {"out": "v"})
    assert parse_live("sh: not found") is None
    pod = {"metadata": {"name": "p", "namespace": "ns"}, "spec": {"nodeName": "n1"}}
    container = {
        "env": [
            {"name": "PLAIN", "value": "x"},
            {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
            {"name": "CM", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}},
            {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
        ]
    }
    assert spec_env(pod, container, {"c": {"k": "from-cm"}}) == {
        "PLAIN": "x",
        "TOKEN": "******",
        "CM": "from-cm",
        "NODE": "n1",
    }
