"""What only the Tekton engine does over DAP, against the test Kubernetes API (the scenarios it
shares with the local engine are in tests/scenarios/test_task_scenarios.py): a failure's exit
code is unknown until release, pipelines and alpha-off refused, Variables read from the paused
container, Secrets masked, results set and a shell opened in the step."""

from __future__ import annotations

from pathlib import Path

from tests.dap_harness import REPO_ROOT, HarnessClient, start_session
from tests.kube.cluster import Cluster, running_cluster
from tests.session.helpers import frames_of, run_to_end, scope_values, stopped

SINGLE = REPO_ROOT / "fixtures/tekton/single-task.yaml"
FAILING = REPO_ROOT / "fixtures/tekton/failing-task.yaml"


def on(cluster: Cluster, program: Path) -> dict[str, object]:
    return {"program": str(program), "engine": "tekton", "kubeconfig": cluster.kubeconfig, "namespace": "default"}


async def test_on_failure_on_a_cluster(dap: HarnessClient, cluster: Cluster) -> None:
    await start_session(dap, on(cluster, FAILING), exception_filters=["onFailure"])
    stop = await stopped(dap, "exception")
    info = (await dap.request_ok("exceptionInfo", {"threadId": stop["body"]["threadId"]}))["body"]
    assert "about to fail" in info["details"]["stackTrace"]
    # Tekton's entrypoint records the code only when the container ends: said, not invented
    assert info["description"] == 'Step "fail" of failing-task failed; its exit code is known once the step is released'
    assert "exit code not known" in info["details"]["message"]
    assert await run_to_end(dap) == 1
    assert not any("must not run" in e["body"]["output"] for e in dap.events("output"))


async def test_a_pipeline_is_refused_with_the_reason(dap: HarnessClient, cluster: Cluster) -> None:
    pipeline = REPO_ROOT / "fixtures/tekton/build-pipeline/pipeline.yaml"
    start = await start_session(dap, on(cluster, pipeline))
    assert start.launch["success"] is False
    assert "#5184" in start.launch["message"]


async def test_alpha_fields_off_fail_the_launch_itself(dap: HarnessClient, tmp_path: Path) -> None:
    async with running_cluster(str(tmp_path), api_fields="beta") as beta:
        start = await start_session(dap, on(beta, SINGLE))
        assert start.launch["success"] is False
        assert "enable-api-fields" in start.launch["message"] and "alpha" in start.launch["message"]
        assert beta.api.objects_of("taskruns") == []  # nothing was created


LIVE_TASK = """\
apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: live-values
spec:
  results:
    - name: message
    - name: later
  steps:
    - name: write
      image: alpine:3.20
      env:
        - name: TWO_LINES
          value: "first\\nline"
        - name: TOKEN
          valueFrom:
            secretKeyRef:
              name: creds
              key: token
      script: |
        #!/bin/sh
        printf 'written by write' > $(results.message.path)
        echo "step token length ${#TOKEN}"
    - name: read
      image: alpine:3.20
      script: |
        #!/bin/sh
        echo "message is $(cat $(results.message.path))"
"""


async def live_task(cluster: Cluster, folder: Path) -> Path:
    await cluster.api.put(
        "secrets",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds", "namespace": "default"},
            "data": {"token": "s3cret-value"},
        },
    )
    path = folder / "live-values.yaml"
    path.write_text(LIVE_TASK)
    return path


async def test_variables_of_a_paused_step_are_read_from_its_container(
    dap: HarnessClient, cluster: Cluster, tmp_path: Path
) -> None:
    program = await live_task(cluster, tmp_path)
    start = await start_session(dap, on(cluster, program), breakpoints={program: [24]})
    assert start.launch["success"], start.launch
    stop = await stopped(dap, "breakpoint")
    thread_id = stop["body"]["threadId"]
    frames = await frames_of(dap, thread_id)
    assert frames[0]["name"] == "read"
    execs_before = len([r for r in cluster.api.counts if "/exec" in r[1]])
    env = await scope_values(dap, frames[0]["id"], "Environment")
    results = await scope_values(dap, frames[0]["id"], "Results")
    step = await scope_values(dap, frames[0]["id"], "Step")
    # one exec for the whole stop, however many scopes are read
    assert len([r for r in cluster.api.counts if "/exec" in r[1]]) == execs_before + 1
    assert step["values"] == "read from the running container"
    assert results == {"message": "written by write"}  # written by the previous step, before the TaskRun ends
    # the container's real environment: HOME is the kubelet's, not in the pod spec
    assert env["HOME"].endswith("/tekton/home")
    assert "TOKEN" not in env and "TWO_LINES" not in env  # the other step's variables
    assert await run_to_end(dap) == 0
    output = "".join(e["body"]["output"] for e in dap.events("output"))
    assert "step token length 12" in output and "s3cret-value" not in output


async def test_a_secret_in_the_paused_step_stays_masked(dap: HarnessClient, cluster: Cluster, tmp_path: Path) -> None:
    program = await live_task(cluster, tmp_path)
    await start_session(dap, on(cluster, program), breakpoints={program: [10]})
    stop = await stopped(dap, "breakpoint")
    frames = await frames_of(dap, stop["body"]["threadId"])
    assert frames[0]["name"] == "write"
    env = await scope_values(dap, frames[0]["id"], "Environment")
    assert env["TOKEN"] == "******"
    assert env["TWO_LINES"] == "first\nline" and env["HOME"].endswith("/tekton/home")  # newline kept, real env
    assert all("s3cret" not in value for value in env.values())
    assert await run_to_end(dap) == 0


async def test_set_result_while_paused_and_shell_in_the_step(
    dap: HarnessClient, cluster: Cluster, tmp_path: Path
) -> None:
    terminals: list[dict[str, object]] = []

    def run_in_terminal(arguments: dict[str, object]) -> dict[str, object]:
        terminals.append(arguments)
        return {"processId": 4242}

    dap.on_request("runInTerminal", run_in_terminal)
    program = await live_task(cluster, tmp_path)
    await start_session(dap, on(cluster, program), breakpoints={program: [24]})
    stop = await stopped(dap, "breakpoint")
    thread_id = stop["body"]["threadId"]
    frames = await frames_of(dap, thread_id)
    scopes = (await dap.request_ok("scopes", {"frameId": frames[0]["id"]}))["body"]["scopes"]
    results_ref = next(s["variablesReference"] for s in scopes if s["name"] == "Results")
    changed = await dap.request_ok(
        "setVariable", {"variablesReference": results_ref, "name": "message", "value": "changed while paused"}
    )
    assert changed["body"]["value"] == "changed while paused"
    refused = await dap.request("setVariable", {"variablesReference": results_ref, "name": "nope", "value": "x"})
    assert refused["success"] is False
    assert 'no result "nope"' in refused["message"] and "message, later" in refused["message"]
    shell = await dap.request_ok("evaluate", {"expression": ":shell", "context": "repl", "frameId": frames[0]["id"]})
    assert shell["body"]["result"] == "shell opened in the paused step"
    (terminal,) = terminals
    pod = cluster.api.objects_of("pods")[0]["metadata"]["name"]
    assert terminal["args"] == [
        "kubectl",
        "exec",
        "-it",
        "-n",
        "default",
        pod,
        "-c",
        "step-read",
        "--kubeconfig",
        cluster.kubeconfig,
        "--",
        "sh",
    ]
    assert await run_to_end(dap) == 0
    output = "".join(e["body"]["output"] for e in dap.events("output"))
    assert "message is changed while paused" in output  # the step read what setVariable wrote
    assert 'TaskRun result "message": changed while paused' in output
