"""`pipeline-dap translate` and `map` as a user runs them: a subprocess, stdout and exit code."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

from tests.dap_harness import REPO_ROOT

SINGLE = "fixtures/tekton/single-task.yaml"
PIPELINE = "fixtures/tekton/build-pipeline/pipeline.yaml"
BUILD = "fixtures/tekton/build-pipeline/tasks/build.yaml"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dap_server", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )


def assert_tekton_valid(debug: dict[str, object], step_names: list[str]) -> None:
    """What Tekton v1.15's webhook checks (engine-protocols.md A1)."""
    breakpoints = debug["breakpoints"]
    assert isinstance(breakpoints, dict)
    assert breakpoints["onFailure"] == "enabled"  # mandatory with breakpoints
    before = breakpoints["beforeSteps"]
    assert isinstance(before, list) and len(before) == len(set(before))  # unique
    assert set(before) <= set(step_names)  # raw Task step names, never step-<name>
    assert not any(str(name).startswith("step-") for name in before)


def test_translate_a_task_prints_a_valid_debug_taskrun() -> None:
    done = run("translate", SINGLE, "--break", f"{SINGLE}:31", "--break", f"{SINGLE}:36:after")
    assert done.returncode == 0, done.stderr
    run_obj = yaml.safe_load(done.stdout)
    assert run_obj["kind"] == "TaskRun" and run_obj["apiVersion"] == "tekton.dev/v1"
    assert run_obj["spec"]["taskRef"] == {"name": "single-task", "kind": "Task"}
    assert run_obj["spec"]["timeout"] == "0s"
    assert_tekton_valid(run_obj["spec"]["debug"], ["greet", "count", "echo-args"])
    comments = [line for line in done.stdout.splitlines() if line.startswith("#")]
    assert any("after-step breakpoint on count" in c and "echo-args" in c for c in comments)
    assert any("debug-fail-continue" in c for c in comments)  # how "no pause on failure" is honoured


def test_translate_a_pipeline_prints_debug_per_pipeline_task() -> None:
    done = run("translate", PIPELINE, "--break", f"{BUILD}:30", "--break", "lint/style", "--on-failure")
    assert done.returncode == 0, done.stderr
    per_task = yaml.safe_load(done.stdout)
    assert list(per_task) == ["fetch", "build", "lint", "test", "report"]
    assert_tekton_valid(per_task["build"]["debug"], ["compile", "package", "digest"])
    assert "#5184" in done.stdout
    assert "build: breakpoints on compile" in done.stdout


def test_translate_refuses_a_line_outside_any_step() -> None:
    done = run("translate", SINGLE, "--break", f"{SINGLE}:10")
    assert done.returncode == 1
    assert "not inside a step" in done.stderr and "Traceback" not in done.stderr


def test_map_prints_every_step_with_its_lines() -> None:
    done = run("map", PIPELINE, "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    (pipeline,) = data["documents"]
    assert pipeline["kind"] == "Pipeline" and pipeline["line"] == 4
    text = run("map", PIPELINE).stdout
    assert "build.yaml:35-41" in text


def test_map_of_a_bad_file_is_a_clear_error() -> None:
    done = run("map", "fixtures/tekton/bad/bad-yaml.yaml")
    assert done.returncode == 1
    assert "bad-yaml.yaml:" in done.stderr and "Traceback" not in done.stderr
