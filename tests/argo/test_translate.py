"""`translate_argo`: the Workflow to submit, ARGO_DEBUG_PAUSE_* set where the breakpoints are."""

from __future__ import annotations

import os
from typing import Any

import yaml

from dap_server.sources import SourceSet, locate
from dap_server.sources.argo import ArgoDocument
from dap_server.sources.locate import StepTarget
from dap_server.translate_argo import translate_argo

from .helpers import FIXTURES, fixture


def resolved(path: str) -> ArgoDocument:
    sources = SourceSet([os.path.dirname(path)])
    doc = sources.select(path)
    sources.resolve(doc)
    assert isinstance(doc, ArgoDocument)
    return doc


def templates(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in data["spec"]["templates"]}


def env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", [])}


def test_template_breakpoint_pauses_every_invocation() -> None:
    path = fixture("dag-diamond.yaml")
    text = translate_argo(resolved(path), [f"{path}:42"])
    assert "# Pauses clear the pod's activeDeadlineSeconds" in text
    assert "NOT a template `timeout`" in text
    (data,) = list(yaml.safe_load_all(text))
    echo = templates(data)["echo"]["container"]
    assert env(echo) == {"MESSAGE": "{{inputs.parameters.message}}", "ARGO_DEBUG_PAUSE_BEFORE": "true"}


def test_dag_task_breakpoint_pauses_that_call_only() -> None:
    path = fixture("dag-diamond.yaml")
    (data,) = list(yaml.safe_load_all(translate_argo(resolved(path), [f"{path}:21:after"])))
    echo = templates(data)["echo"]
    assert {"name": "pipeline-dap-pause-after", "default": "false"} in echo["inputs"]["parameters"]
    assert env(echo["container"])["ARGO_DEBUG_PAUSE_AFTER"] == "{{inputs.parameters.pipeline-dap-pause-after}}"
    tasks = {t["name"]: t for t in templates(data)["diamond"]["dag"]["tasks"]}
    assert {"name": "pipeline-dap-pause-after", "value": "true"} in tasks["b"]["arguments"]["parameters"]
    assert all(p["name"] != "pipeline-dap-pause-after" for p in tasks["a"]["arguments"]["parameters"])
    assert data["metadata"] == {"generateName": "diamond-"}  # nothing renamed


def test_steps_item_and_source_objects_and_on_failure() -> None:
    path = fixture("nested-steps.yaml")
    step = locate(path, 42)
    assert isinstance(step, StepTarget)
    (data,) = list(yaml.safe_load_all(translate_argo(resolved(path), [step, f"{path}:16"], on_failure=True)))
    say = templates(data)["say"]
    assert env(say["container"]) == {"ARGO_DEBUG_PAUSE_BEFORE": "true", "ARGO_DEBUG_PAUSE_AFTER": "true"}
    left = data["spec"]["templates"][0]["steps"][1][0]
    assert left["name"] == "left"
    assert {"name": "pipeline-dap-pause-before", "value": "true"} in left["arguments"]["parameters"]


def test_template_ref_changes_print_the_workflow_template_too() -> None:
    path = str(FIXTURES / "template-ref" / "workflow.yaml")
    text = translate_argo(resolved(path), [f"{path}:13"])
    docs = list(yaml.safe_load_all(text))
    assert [d["kind"] for d in docs] == ["Workflow", "WorkflowTemplate"]
    greet = templates(docs[1])["greet"]
    assert env(greet["container"]) == {"ARGO_DEBUG_PAUSE_BEFORE": "{{inputs.parameters.pipeline-dap-pause-before}}"}
