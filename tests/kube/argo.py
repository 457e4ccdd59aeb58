"""Argo Workflows' controller and a kubelet, on the test API (notes/argo-contract.md,
engine-protocols.md PART B).

What a cluster with Argo v4 (emissary executor, POD_NAMES=v2) does for a Workflow:

- the controller: parses the submitted Workflow (written to a YAML file in its folder and read
  with `dap_server.sources`; `workflowTemplateRef` / `templateRef` resolve against the
  namespace's `workflowtemplates`), then runs it the way Argo does: `steps` groups, `dag` tasks
  with `dependencies` / `depends`, `when` (Skipped nodes), `withItems` / `withParam` /
  `withSequence`, `retryStrategy` (Retry nodes), parameters and outputs (`outputs.parameters`,
  `outputs.result`), workflow `onExit`. It keeps `status.nodes` up to date through status
  patches (every node with id, name, displayName, type, templateName, phase, boundaryID,
  children, outboundNodes, times, message, inputs, outputs), node ids `<wf>-<fnv32a(name)>`.
  Each pod node gets a Pod (name v2, the workflow / completed labels, the node-name / node-id /
  default-container annotations, `init` + `wait` + the main containers wrapped in
  `/var/run/argo/argoexec emissary`, the `var-run-argo` emptyDir, `activeDeadlineSeconds`
  cleared when a main container has an ARGO_DEBUG_PAUSE_* variable, template `timeout` kept).
  `spec.shutdown` (Terminate / Stop) fails the running nodes with `Stopped with strategy '<s>'`
  and SIGTERMs the containers; deleting the Workflow deletes its pods.
- the kubelet: every non-wait container is a real host process, the project's emissary
  stand-in (`dap_server/engines/local/argo/emissary.py`) with the container's env and
  `--ctr-root` = the pod folder that stands for `/var/run/argo`. The container log is the
  process output WITHOUT the stand-in's local-only protocol lines (a real emissary never prints
  them). `wait` has no process: it runs until the mains end, saves the outputs, then terminates.
  Exec runs argv as a host process in the container's env with the pod's paths (`/var/run/argo`,
  `/tmp`, `/argo/staging`, volume mounts) mapped into the pod folder (the same mapping applies to
  command, args, env and script; a `/tmp/<d>` whose `<d>` is a host directory, like a test's
  tmp_path, is left alone); in `wait` and in any image
  whose name contains `distroless` there is no binary at all and exec fails as a runtime does.
  An ephemeral container added to a running pod (PATCH `pods/<p>/ephemeralcontainers`, see
  kubeapi.py) runs its command + args as a host process with its own volume mounts mapped into
  the pod folder (`var-run-argo` -> the folder standing for the pod's /var/run/argo; an unmounted
  /var/run/argo or /tmp is private to it), reported in `status.ephemeralContainerStatuses`
  (running, then terminated); a `distroless` image or a binary the host lacks ends it with
  StartError (128), as a runtime does. A pod that has ended starts none.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import time
from dataclasses import dataclass, field
from typing import Any

import yaml

from dap_server.engines.base import EngineError
from dap_server.engines.local.argo import emissary
from dap_server.engines.local.argo.engine import (
    ERROR,
    FAILED,
    SKIPPED,
    SUCCEEDED,
    ArgoLocalEngine,
    Result,
    fnv32a,
    substitute,
    text_of,
)
from dap_server.engines.local.argo.expressions import ExpressionError, depends_terms, evaluate
from dap_server.engines.local.common import as_dict, as_list
from dap_server.engines.local.supervisor import PARENT_PID_ENV
from dap_server.engines.options import RunOptions
from dap_server.sources.argo import ArgoDocument, ArgoTask, Template
from dap_server.sources.files import parse_text
from dap_server.sources.model import SourceError
from dap_server.sources.sourceset import SourceSet
from tests.kube.kubeapi import ApiError, ExecStartError, KubeAPI, Obj
from tests.kube.tekton import kill_session, lines, now, signal_process

GROUP, VERSION = "argoproj.io", "v1alpha1"
WORKFLOW_LABEL = "workflows.argoproj.io/workflow"
COMPLETED_LABEL = "workflows.argoproj.io/completed"
PHASE_LABEL = "workflows.argoproj.io/phase"
NODE_NAME = "workflows.argoproj.io/node-name"
NODE_ID = "workflows.argoproj.io/node-id"
DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container"
POD_NAME_FORMAT = "workflows.argoproj.io/pod-name-format"
VAR_RUN_ARGO = "/var/run/argo"
SCRIPT_PATH = "/argo/staging/script"
EXECUTOR_IMAGE = "quay.io/argoproj/argoexec:v4.0.0"
NODE = "test-node"
DEBUG_ENV = (emissary.PAUSE_BEFORE_ENV, emissary.PAUSE_AFTER_ENV)
EMISSARY = [f"{VAR_RUN_ARGO}/argoexec", "emissary", "--loglevel", "info", "--log-format", "text", "--"]
DEADLINE_MESSAGE = "Pod was active on the node longer than the specified deadline"
GRACE = 5.0


def not_found(binary: str) -> str:
    """The runtime's answer to an exec of a binary the image does not have."""
    exec_id = f"{fnv32a(binary + str(time.monotonic())):08x}" * 8
    return (
        f'error executing command in container: failed to exec in container: failed to start exec "{exec_id}": '
        f'OCI runtime exec failed: exec failed: unable to start container process: exec: "{binary}": '
        "executable file not found in $PATH: unknown"
    )


def _start_error(binary: str) -> str:
    """The runtime's message for a container whose command it cannot start."""
    return (
        "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create "
        f'failed: unable to start container process: exec: "{binary}": executable file not found in $PATH: unknown'
    )


def stopped_message(strategy: str) -> str:
    return f"Stopped with strategy '{strategy}'"


def argo_log(message: str, **fields: str) -> bytes:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000Z"
    extra = "".join(f" {k}={v}" for k, v in fields.items())
    return f'time="{stamp}" level=info msg="{message}"{extra}\n'.encode()


# ---- the kubelet's view of a pod ------------------------------------------------------------


@dataclass
class Ctr:
    name: str
    image: str
    env: dict[str, str]
    cwd: str
    command: list[str]  # the user's command (host paths), what the emissary runs
    deps: list[str] = field(default_factory=list)
    wait: bool = False
    proc: asyncio.subprocess.Process | None = None
    exit_code: int | None = None
    started: str = ""
    finished: str = ""
    stdout: list[bytes] = field(default_factory=list)
    start_error: str = ""  # the runtime could not start it (StartError)

    @property
    def shell_less(self) -> bool:
        return self.wait or "distroless" in self.image


@dataclass
class PodRun:
    namespace: str
    name: str
    node_id: str
    node_name: str
    folder: str
    mounts: list[tuple[str, str]]  # (container path, host path), longest first
    containers: list[Ctr] = field(default_factory=list)
    deadline: float | None = None
    ended: str | None = None  # why it was ended early (the node message)
    reason: str = ""
    tasks: list[asyncio.Future[None]] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    timer: asyncio.TimerHandle | None = None
    ephemeral: list[Ctr] = field(default_factory=list)  # ephemeral containers, in the order added
    ephemeral_tasks: list[asyncio.Future[None]] = field(default_factory=list)

    def host(self, path: str) -> str:
        """A container path -> the host path that stands for it."""
        return self.host_text(path) if path.startswith("/") else path

    def host_text(self, text: str) -> str:
        """Container paths in `text` (argv, env, script) -> host paths. A `/tmp/<dir>` that is a
        host directory (a test's tmp_path) stays the host's, so tests can hand files in and out."""
        if not self.mounts:
            return text
        pattern = "|".join(re.escape(inside) for inside, _ in self.mounts)
        table = dict(self.mounts)

        def swap(match: re.Match[str]) -> str:
            inside, rest = match.group(1), match.group(2) or ""
            if inside == "/tmp" and rest and os.path.isdir("/tmp" + rest):
                return match.group(0)
            return table[inside] + rest

        return re.sub(rf"(?<![\w./~-])({pattern})(/[^/\s\"'`;:)|&>]*)?(?=[/\s\"'`;:)|&>]|$)", swap, text)

    def main(self) -> list[Ctr]:
        return [c for c in self.containers if not c.wait]


def _status(ctr: Ctr) -> Obj:
    state: Obj
    if not ctr.started:
        state = {"waiting": {"reason": "ContainerCreating"}}
    elif ctr.exit_code is None:
        state = {"running": {"startedAt": ctr.started}}
    elif ctr.start_error:
        state = {
            "terminated": {
                "exitCode": ctr.exit_code,
                "reason": "StartError",
                "message": ctr.start_error,
                "startedAt": "1970-01-01T00:00:00Z",
                "finishedAt": ctr.finished,
            }
        }
    else:
        state = {
            "terminated": {
                "exitCode": ctr.exit_code,
                "reason": "Completed" if ctr.exit_code == 0 else "Error",
                "startedAt": ctr.started,
                "finishedAt": ctr.finished,
                "containerID": f"containerd://{fnv32a(ctr.name + ctr.started):08x}",
            }
        }
    running = bool(ctr.started) and ctr.exit_code is None
    return {
        "name": ctr.name,
        "image": ctr.image,
        "imageID": f"{ctr.image.split(':')[0]}@sha256:{'0' * 64}",
        "ready": running,
        "started": running,
        "restartCount": 0,
        "state": state,
    }


# ---- the controller's view of a workflow ------------------------------------------------------


class _NotStarted(Exception):
    pass


class WorkflowRun(ArgoLocalEngine):
    """One Workflow, run by the controller. Reuses the local engine's parsing of globals,
    inputs, items and outputs; the scheduling here builds Argo's node tree as it goes."""

    def __init__(self, argo: Argo, obj: Obj, document: ArgoDocument, folder: str) -> None:
        meta = obj["metadata"]
        super().__init__(document, RunOptions(debug=False, namespace=meta["namespace"]))
        self.argo = argo
        self.api = argo.api
        self.namespace = meta["namespace"]
        self.uid = str(meta.get("uid", ""))
        self.name = meta["name"]
        self._globals["workflow.name"] = self.name
        self._globals["workflow.uid"] = self.uid
        self.folder = folder
        self.nodes: dict[str, Obj] = {}
        self.outbound: dict[str, list[str]] = {}
        self.pod_runs: dict[str, PodRun] = {}
        self.refs: dict[str, Obj] = {}  # node name -> the templateRef it was called through
        self.shutdown: str | None = None  # the strategy (Terminate, Stop), or Deadline
        self.stop_message = ""
        self.exiting = False  # the workflow's exit handler runs (after a Stop too)
        self.deleted = False
        self.task: asyncio.Future[None] | None = None
        self.wants_result = "outputs.result" in json.dumps(obj.get("spec") or {})
        self.volumes = [v for v in as_list(self._spec.get("volumes")) if isinstance(v, dict)]

    # ---- nodes --------------------------------------------------------------------------------

    def stopped(self) -> str | None:
        """The node message when the workflow is shut down (start nothing more)."""
        if self.shutdown is not None and not self.exiting:
            return self.stop_message
        return stopped_message("Terminate") if self.deleted else None

    async def flush(self, *ids: str) -> None:
        if self.deleted:
            return
        nodes = {i: self.nodes[i] for i in dict.fromkeys(ids) if i in self.nodes}
        with contextlib.suppress(ApiError):
            await self.api.patch_object("workflows", self.namespace, self.name, {"status": {"nodes": nodes}})

    async def init_node(
        self,
        name: str,
        kind: str,
        template: str,
        boundary: str | None,
        parents: list[str],
        display: str,
        phase: str = "Running",
        **extra: Any,
    ) -> str:
        node_id = self._node_id(name)
        node: Obj = {
            "id": node_id,
            "name": name,
            "displayName": display,
            "type": kind,
            "templateName": template,
            "templateScope": f"local/{self.name}",
            "phase": phase,
            "startedAt": now(),
        }
        ref = self.refs.get(name)
        if ref is not None and kind != "Container":
            del node["templateName"]
            node["templateRef"] = ref
        if boundary is not None:
            node["boundaryID"] = boundary
        node.update(extra)
        if phase in (SUCCEEDED, FAILED, ERROR, SKIPPED, "Omitted"):
            node["finishedAt"] = node["startedAt"]
        self.nodes[node_id] = node
        for parent in parents:
            children = self.nodes[parent].setdefault("children", [])
            if node_id not in children:
                children.append(node_id)
        await self.flush(node_id, *parents)
        return node_id

    async def end_node(self, node_id: str, phase: str, message: str = "", outputs: Obj | None = None) -> None:
        node = self.nodes[node_id]
        node["phase"] = phase
        node["finishedAt"] = now()
        if message:
            node["message"] = message
        if outputs:
            node["outputs"] = outputs
        await self.flush(node_id)

    def outbound_of(self, node_id: str) -> list[str]:
        node = self.nodes[node_id]
        kind = node["type"]
        if kind in ("Pod", "Skipped", "Suspend", "Container"):
            return self.outbound.get(node_id) or [node_id]
        if kind == "Retry":
            children = node.get("children") or []
            return self.outbound_of(children[-1]) if children else [node_id]
        if kind == "TaskGroup":
            out = [o for c in node.get("children") or [] for o in self.outbound_of(c)]
            return out or [node_id]
        return list(node.get("outboundNodes") or []) or [node_id]

    @staticmethod
    def params_of(values: dict[str, str]) -> Obj:
        return {"parameters": [{"name": k, "value": v} for k, v in values.items()]} if values else {}

    @staticmethod
    def node_outputs(result: Result) -> Obj:
        out: Obj = {}
        params = [
            {"name": k[len("parameters.") :], "value": v}
            for k, v in result.outputs.items()
            if k.startswith("parameters.")
        ]
        if params:
            out["parameters"] = params
        if "result" in result.outputs:
            out["result"] = result.outputs["result"]
        if result.exit_code is not None:
            out["exitCode"] = str(result.exit_code)
        return out

    # ---- the workflow -------------------------------------------------------------------------

    async def status(self, patch: Obj) -> None:
        if self.deleted:
            return
        with contextlib.suppress(ApiError):
            await self.api.patch_object("workflows", self.namespace, self.name, patch)

    async def run(self) -> None:
        entry = self._doc.template(self._doc.run_entrypoint() or "")
        assert entry is not None
        await self.status(
            {
                "metadata": {
                    "labels": {PHASE_LABEL: "Running", COMPLETED_LABEL: "false"},
                    "annotations": {POD_NAME_FORMAT: "v2"},
                },
                "status": {"phase": "Running", "startedAt": now(), "nodes": {}},
            }
        )
        args = {
            k[len("workflow.parameters.") :]: v
            for k, v in self._globals.items()
            if k.startswith("workflow.parameters.")
        }
        deadline = self._spec.get("activeDeadlineSeconds")
        timer = None
        if deadline is not None and text_of(deadline).isdigit():
            timer = asyncio.get_running_loop().call_later(
                int(text_of(deadline)),
                lambda: self.argo.stop(self, "Deadline", "Step exceeded its deadline"),
            )
        result, _ = await self.node(entry, args, self.name, None, [], self.name)
        if timer is not None:
            timer.cancel()
        if self.deleted:
            return
        on_exit = self._spec.get("onExit")
        if isinstance(on_exit, str) and on_exit and self.shutdown != "Terminate":
            handler = self._doc.template(on_exit)
            if handler is not None:
                self._globals["workflow.status"] = SUCCEEDED if result.phase == SUCCEEDED else FAILED
                self.exiting = True  # Stop and a deadline run the exit handler
                await self.node(handler, {}, f"{self.name}.onExit", None, [], f"{self.name}.onExit")
                self.exiting = False
        phase = result.phase if result.phase in (SUCCEEDED, FAILED, ERROR) else SUCCEEDED
        message = result.message
        if self.shutdown is not None:
            phase, message = FAILED, self.stop_message
        patch: Obj = {"phase": phase, "finishedAt": now()}
        if message:
            patch["message"] = message
        await self.status({"metadata": {"labels": {PHASE_LABEL: phase, COMPLETED_LABEL: "true"}}, "status": patch})

    async def node(
        self,
        template: Template,
        given: dict[str, str],
        name: str,
        boundary: str | None,
        parents: list[str],
        display: str,
    ) -> tuple[Result, str]:
        """A template invocation: a Retry node and its attempts when the template retries."""
        try:
            inputs = self._inputs(template, given)
        except EngineError as exc:
            node_id = await self.init_node(
                name, "Pod", template.name, boundary, parents, display, ERROR, message=str(exc)
            )
            return Result(ERROR, message=str(exc)), node_id
        limit = as_dict(template.data().get("retryStrategy")).get("limit")
        if limit is None:
            return await self.template_node(template, inputs, name, boundary, parents, display)
        retries = int(text_of(limit)) if text_of(limit).isdigit() else 0
        retry_id = await self.init_node(
            name, "Retry", template.name, boundary, parents, display, inputs=self.params_of(inputs)
        )
        attempt = 0
        while True:
            if name in self.refs:
                self.refs[f"{name}({attempt})"] = self.refs[name]
            result, _ = await self.template_node(
                template, inputs, f"{name}({attempt})", boundary, [retry_id], f"{display}({attempt})"
            )
            if result.phase == SUCCEEDED or attempt >= retries or self.stopped():
                break
            attempt += 1
        message = result.message if result.phase != SUCCEEDED else ""
        if result.phase != SUCCEEDED and not self.stopped() and retries:
            message = "No more retries left"
        await self.end_node(retry_id, result.phase, message, self.node_outputs(result))
        return result, retry_id

    async def template_node(
        self,
        template: Template,
        inputs: dict[str, str],
        name: str,
        boundary: str | None,
        parents: list[str],
        display: str,
    ) -> tuple[Result, str]:
        if template.leaf:
            return await self.pod_node(template, inputs, name, boundary, parents, display)
        if template.type == "steps":
            return await self.steps_node(template, inputs, name, boundary, parents, display)
        if template.type == "dag":
            return await self.dag_node(template, inputs, name, boundary, parents, display)
        if template.type == "suspend":
            node_id = await self.init_node(name, "Suspend", template.name, boundary, parents, display, SUCCEEDED)
            return Result(SUCCEEDED), node_id
        message = f"{template.type} templates are not run by the test cluster"
        node_id = await self.init_node(name, "Pod", template.name, boundary, parents, display, ERROR, message=message)
        return Result(ERROR, message=message), node_id

    # ---- steps / dag ----------------------------------------------------------------------------

    async def call(
        self, task: ArgoTask, scope: dict[str, str], name: str, boundary: str, parents: list[str], kind: str
    ) -> tuple[Result, list[str]]:
        """One steps item / DAG task: `when`, the fan-out, then the template it calls."""
        stopped = self.stopped()
        if stopped:
            return Result(FAILED, message=stopped), []
        data = task.data()
        target = task.target
        if target is None:
            message = f"{task.called} is not resolved"
            node_id = await self.init_node(
                name, "Pod", task.called, boundary, parents, task.name, ERROR, message=message
            )
            return Result(ERROR, message=message), [node_id]
        when = data.get("when")
        if when is not None:
            condition = text_of(substitute(when, scope))
            try:
                go = evaluate(condition)
            except ExpressionError as exc:
                message = f"Invalid 'when' expression '{condition}': {exc}"
                node_id = await self.init_node(
                    name, "Skipped", target.name, boundary, parents, task.name, ERROR, message=message
                )
                return Result(ERROR, message=message), [node_id]
            if not go:
                message = f"when '{condition}' evaluated false"
                node_id = await self.init_node(
                    name, "Skipped", target.name, boundary, parents, task.name, SKIPPED, message=message
                )
                return Result(SKIPPED), [node_id]
        try:
            items = self._items(task, data, scope)
        except EngineError as exc:
            node_id = await self.init_node(
                name, "Skipped", target.name, boundary, parents, task.name, ERROR, message=str(exc)
            )
            return Result(ERROR, message=str(exc)), [node_id]
        if items is None:
            result, node_id = await self.invoke(task, target, data, scope, name, boundary, parents, task.name)
            return result, [node_id]
        group_id = None
        if kind == "dag":
            group_id = await self.init_node(name, "TaskGroup", target.name, boundary, parents, task.name)
            parents = [group_id]
        runs = []
        for index, item in enumerate(items):
            desc = self._describe(item).replace("(", "").replace(")", "")
            item_scope = dict(scope)
            item_scope["item"] = text_of(item)
            if isinstance(item, dict):
                item_scope.update({f"item.{k}": text_of(v) for k, v in item.items()})
            runs.append(
                self.invoke(
                    task,
                    target,
                    data,
                    item_scope,
                    f"{name}({index}:{desc})",
                    boundary,
                    parents,
                    f"{task.name}({index}:{desc})",
                )
            )
        results = await asyncio.gather(*runs)
        outputs: dict[str, str] = {}
        for key in {k for r, _ in results for k in r.outputs}:
            outputs[key] = json.dumps([r.outputs.get(key, "") for r, _ in results])
        phase = FAILED if any(r.phase in (FAILED, ERROR) for r, _ in results) else SUCCEEDED
        failed = next((i for r, i in results if r.phase in (FAILED, ERROR)), None)
        message = (self.stopped() or f"child '{failed}' failed") if failed else ""
        if group_id is not None:
            await self.end_node(group_id, phase, message)
        return Result(phase, outputs, message), [group_id] if group_id else [i for _, i in results]

    async def invoke(
        self,
        task: ArgoTask,
        target: Template,
        data: dict[str, Any],
        scope: dict[str, str],
        name: str,
        boundary: str,
        parents: list[str],
        display: str,
    ) -> tuple[Result, str]:
        arguments = as_dict(substitute(data.get("arguments"), scope))
        given = {
            str(p["name"]): text_of(p.get("value"))
            for p in as_list(arguments.get("parameters"))
            if isinstance(p, dict) and "name" in p and "value" in p
        }
        if task.ref_template is not None and task.task_ref is not None:
            self.refs[name] = {"name": task.task_ref.name, "template": task.ref_template}
        result, node_id = await self.node(target, given, name, boundary, parents, display)
        hook = data.get("onExit")
        if isinstance(hook, str) and hook and task.owner is not None and task.owner.document is not None:
            handler = task.owner.document.template(hook)
            if handler is not None:
                await self.node(handler, {}, f"{name}.onExit", boundary, [node_id], f"{display}.onExit")
        return result, node_id

    async def steps_node(
        self,
        template: Template,
        inputs: dict[str, str],
        name: str,
        boundary: str | None,
        parents: list[str],
        display: str,
    ) -> tuple[Result, str]:
        steps_id = await self.init_node(
            name, "Steps", template.name, boundary, parents, display, inputs=self.params_of(inputs)
        )
        scope = self._scope(inputs)
        phase, message = SUCCEEDED, ""
        previous: tuple[str, list[str]] | None = None
        for index, group in enumerate(template.groups):
            if self.stopped():
                break
            if previous is None:
                group_parents = [steps_id]
            else:
                group_parents = [o for c in previous[1] for o in self.outbound_of(c)] or [previous[0]]
            group_id = await self.init_node(
                f"{name}[{index}]", "StepGroup", template.name, steps_id, group_parents, f"[{index}]"
            )
            calls = [
                self.call(task, scope, f"{name}[{index}].{task.name}", steps_id, [group_id], "steps") for task in group
            ]
            done = await asyncio.gather(*calls)
            children: list[str] = []
            group_phase, group_message = SUCCEEDED, ""
            for task, (result, ids) in zip(group, done, strict=True):
                children.extend(ids)
                self._record(scope, "steps", task.name, result)
                if result.phase in (FAILED, ERROR) and not self._continue_on(task):
                    group_phase = FAILED
                    group_message = group_message or f"child '{ids[0] if ids else task.name}' failed"
            if self.stopped():
                group_phase, group_message = FAILED, self.stopped() or ""
            await self.end_node(group_id, group_phase, group_message)
            previous = (group_id, children)
            if group_phase == FAILED:
                phase, message = FAILED, f"child '{group_id}' failed"
                break
        if previous is not None:
            self.nodes[steps_id]["outboundNodes"] = [o for c in previous[1] for o in self.outbound_of(c)]
        stopped = self.stopped()
        if stopped:
            phase, message = FAILED, stopped
        outputs = self._template_outputs(template, scope) if phase == SUCCEEDED else {}
        await self.end_node(steps_id, phase, message, self.node_outputs(Result(phase, outputs)))
        return Result(phase, outputs, message), steps_id

    async def dag_node(
        self,
        template: Template,
        inputs: dict[str, str],
        name: str,
        boundary: str | None,
        parents: list[str],
        display: str,
    ) -> tuple[Result, str]:
        dag_id = await self.init_node(
            name, "DAG", template.name, boundary, parents, display, inputs=self.params_of(inputs)
        )
        scope = self._scope(inputs)
        calls = template.calls.tasks if template.calls is not None else []
        tasks = [t for t in calls if isinstance(t, ArgoTask)]
        loop = asyncio.get_running_loop()
        done: dict[str, asyncio.Future[tuple[Result, list[str]]]] = {t.name: loop.create_future() for t in tasks}
        handled: set[str] = set()
        needed: set[str] = set()
        deps_of: dict[str, list[str]] = {}
        for task in tasks:
            data = task.data()
            depends = data.get("depends")
            if isinstance(depends, str):
                deps_of[task.name] = sorted(depends_terms(depends) & set(done))
                handled.update(t.split(".")[0] for t in re.findall(r"[\w-]+\.(?:Failed|Errored)", depends))
            else:
                deps_of[task.name] = [str(d) for d in as_list(data.get("dependencies")) if str(d) in done]
            needed.update(deps_of[task.name])

        async def run(task: ArgoTask) -> None:
            data = task.data()
            task_name = f"{name}.{task.name}"
            outcome: tuple[Result, list[str]] | BaseException
            try:
                results = {d: await done[d] for d in deps_of[task.name]}
                stopped = self.stopped()
                if stopped:
                    raise _NotStarted(stopped)
                depends = data.get("depends")
                if isinstance(depends, str):

                    def lookup(word: str) -> bool | None:
                        head, _, tail = word.partition(".")
                        if head not in results:
                            return None
                        phase = results[head][0].phase
                        if not tail:
                            return phase in (SUCCEEDED, SKIPPED)
                        if tail in ("Succeeded", "Failed", "Skipped"):
                            return phase == tail
                        if tail == "Errored":
                            return phase == ERROR
                        return False if tail == "Daemoned" else None

                    go = evaluate(depends, lookup)
                else:
                    go = all(r.phase in (SUCCEEDED, SKIPPED) for r, _ in results.values())
                task_parents = [o for _, ids in results.values() for i in ids for o in self.outbound_of(i)] or [dag_id]
                task_parents = list(dict.fromkeys(task_parents))
                if not go:
                    target = task.target.name if task.target is not None else task.called
                    node_id = await self.init_node(
                        task_name,
                        "Skipped",
                        target,
                        dag_id,
                        task_parents,
                        task.name,
                        "Omitted",
                        message="omitted: depends condition not met",
                    )
                    outcome = (Result(SKIPPED), [node_id])
                else:
                    outcome = await self.call(task, scope, task_name, dag_id, task_parents, "dag")
            except _NotStarted as exc:
                outcome = (Result(FAILED, message=str(exc)), [])
            except ExpressionError as exc:
                outcome = (Result(ERROR, message=f"depends: {exc}"), [])
            except Exception as exc:  # a bug: the dependents must not hang
                outcome = exc
            if isinstance(outcome, tuple):
                self._record(scope, "tasks", task.name, outcome[0])
                done[task.name].set_result(outcome)
            else:
                done[task.name].set_exception(outcome)

        await asyncio.gather(*(run(t) for t in tasks))
        phase, message = SUCCEEDED, ""
        leaves: list[str] = []
        for task in tasks:
            exc = done[task.name].exception()
            if exc is not None:
                raise exc
            result, ids = done[task.name].result()
            if task.name not in needed:
                leaves.extend(o for i in ids for o in self.outbound_of(i))
            if result.phase in (FAILED, ERROR) and task.name not in handled and not self._continue_on(task):
                phase = FAILED
                message = message or f"child '{ids[0] if ids else task.name}' failed"
        self.nodes[dag_id]["outboundNodes"] = list(dict.fromkeys(leaves))
        stopped = self.stopped()
        if stopped:
            phase, message = FAILED, stopped
        outputs = self._template_outputs(template, scope) if phase == SUCCEEDED else {}
        await self.end_node(dag_id, phase, message, self.node_outputs(Result(phase, outputs)))
        return Result(phase, outputs, message), dag_id

    # ---- pods -----------------------------------------------------------------------------------

    def pod_name(self, node_name: str, template: str) -> str:
        if node_name == self.name:
            return self.name
        prefix = f"{self.name}-{template}"
        if len(prefix) > 242:
            prefix = prefix[:242]
        return f"{prefix}-{fnv32a(node_name)}"

    async def pod_node(
        self,
        template: Template,
        inputs: dict[str, str],
        name: str,
        boundary: str | None,
        parents: list[str],
        display: str,
    ) -> tuple[Result, str]:
        node_id = await self.init_node(
            name, "Pod", template.name, boundary, parents, display, "Pending", inputs=self.params_of(inputs)
        )
        scope = self._scope(inputs)
        data = substitute(template.data(), scope)
        pod_name = self.pod_name(name, template.name)
        try:
            pod, run = self.build_pod(template, data, name, node_id, pod_name)
        except EngineError as exc:
            await self.end_node(node_id, ERROR, str(exc))
            return Result(ERROR, message=str(exc)), node_id
        self.pod_runs[node_id] = run
        container_nodes: dict[str, str] = {}
        if template.type == "containerSet":
            for ctr in run.main():
                container_nodes[ctr.name] = await self.init_node(
                    f"{name}.{ctr.name}", "Container", template.name, node_id, [], ctr.name, "Pending"
                )
            for ctr in run.main():
                for parent in ctr.deps or [None]:
                    owner = node_id if parent is None else container_nodes.get(parent, node_id)
                    self.nodes[owner].setdefault("children", []).append(container_nodes[ctr.name])
            used = {d for c in run.main() for d in c.deps}
            self.outbound[node_id] = [container_nodes[c.name] for c in run.main() if c.name not in used]
            await self.flush(node_id, *container_nodes.values())

        async def on_running() -> None:
            self.nodes[node_id]["phase"] = "Running"
            self.nodes[node_id]["hostNodeName"] = NODE
            for cid in container_nodes.values():
                self.nodes[cid]["phase"] = "Running"
            await self.flush(node_id, *container_nodes.values())

        async def on_exit(ctr: Ctr) -> None:
            cid = container_nodes.get(ctr.name)
            if cid is not None:
                phase = SUCCEEDED if ctr.exit_code == 0 else FAILED
                message = "" if ctr.exit_code == 0 else f"Error (exit code {ctr.exit_code})"
                await self.end_node(cid, phase, message, {"exitCode": str(ctr.exit_code)})

        outputs: dict[str, str] = {}

        def save_outputs() -> str:
            """The wait container's work once the mains are done; an error message or ''."""
            for decl in as_list(as_dict(data.get("outputs")).get("parameters")):
                if not isinstance(decl, dict) or "name" not in decl:
                    continue
                source = as_dict(decl.get("valueFrom"))
                path = source.get("path")
                value: str | None = None
                if isinstance(path, str):
                    main = run.main()[-1]
                    full = run.host(path) if os.path.isabs(path) else os.path.join(main.cwd, path)
                    with contextlib.suppress(OSError), open(full) as f:
                        value = f.read()
                    if value is None and "default" not in source:
                        return f"failed to save outputs: open {path}: no such file or directory"
                if value is None and "default" in source:
                    value = text_of(source["default"])
                if value is None and "value" in decl:
                    value = text_of(decl["value"])
                if value is not None:
                    outputs[f"parameters.{decl['name']}"] = value
            main = next((c for c in run.main() if c.name == "main"), None)
            if main is not None and (template.type == "script" or self.wants_result):
                outputs["result"] = b"".join(main.stdout).decode(errors="replace").strip()
            return ""

        await self.argo.run_pod(self, run, pod, on_running, on_exit, save_outputs)
        codes = [c.exit_code if c.exit_code is not None else 1 for c in run.main()]
        exit_code = next((c for c in codes if c), 0)
        if run.ended is not None:
            phase, message = FAILED, run.ended
        elif run.reason:
            phase, message = ERROR, run.reason
        elif exit_code:
            phase, message = FAILED, f"Error (exit code {exit_code})"
        else:
            phase, message = SUCCEEDED, ""
        for cid in container_nodes.values():
            if self.nodes[cid]["phase"] in ("Pending", "Running"):
                await self.end_node(cid, FAILED, message)
        result = Result(phase, outputs, message, exit_code)
        await self.end_node(node_id, phase, message, self.node_outputs(result))
        return result, node_id

    def build_pod(
        self, template: Template, data: Obj, node_name: str, node_id: str, pod_name: str
    ) -> tuple[Obj, PodRun]:
        folder = os.path.join(self.argo.root, self.namespace, pod_name)
        volumes: list[Obj] = [{"name": "var-run-argo", "emptyDir": {}}]
        volumes += [v for v in self.volumes + [v for v in as_list(data.get("volumes")) if isinstance(v, dict)]]
        specs: list[tuple[str, Obj]] = []
        if template.type in ("container", "script"):
            specs.append(("main", as_dict(data.get(template.type))))
        else:
            specs += [
                (str(c.get("name")), c)
                for c in as_list(as_dict(data.get("containerSet")).get("containers"))
                if isinstance(c, dict)
            ]
        shared_mounts = [
            m for m in as_list(as_dict(data.get("containerSet")).get("volumeMounts")) if isinstance(m, dict)
        ]
        mounts = {VAR_RUN_ARGO: os.path.join(folder, "var-run-argo"), "/argo/staging": os.path.join(folder, "staging")}
        mounts["/tmp"] = os.path.join(folder, "tmp")
        for _, body in specs:
            for mount in shared_mounts + [m for m in as_list(body.get("volumeMounts")) if isinstance(m, dict)]:
                if mount.get("mountPath"):
                    mounts.setdefault(str(mount["mountPath"]), os.path.join(folder, "volumes", str(mount.get("name"))))
        run = PodRun(
            self.namespace, pod_name, node_id, node_name, folder, sorted(mounts.items(), key=lambda m: -len(m[0]))
        )
        argo_env = [
            {"name": "ARGO_POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
            {"name": "ARGO_NODE_ID", "value": node_id},
            {"name": "ARGO_WORKFLOW_NAME", "value": self.name},
            {"name": "ARGO_INCLUDE_SCRIPT_OUTPUT", "value": "true" if template.type == "script" else "false"},
            {"name": "ARGO_DEADLINE", "value": "0001-01-01T00:00:00Z"},
        ]
        template_json = json.dumps({"name": template.name, **{k: v for k, v in data.items() if k != "name"}})
        containers: list[Obj] = []
        debug = False
        for cname, body in specs:
            command = [text_of(c) for c in as_list(body.get("command"))]
            args = [text_of(a) for a in as_list(body.get("args"))]
            if template.type == "script":
                args = [*args, SCRIPT_PATH]
            if not command:
                where = f"{template.span.path}:{template.span.line}"
                raise EngineError(
                    f'{where}: container "{cname}" of template "{template.name}" has no command: the test cluster '
                    "runs commands on the host and cannot look up an image's entrypoint"
                )
            env = [e for e in as_list(body.get("env")) if isinstance(e, dict) and "name" in e]
            debug = debug or any(e["name"] in DEBUG_ENV for e in env)
            env = [
                *env,
                {"name": emissary.CONTAINER_ENV, "value": cname},
                {"name": "ARGO_TEMPLATE", "value": template_json},
                *argo_env,
            ]
            container: Obj = {
                "name": cname,
                "image": text_of(body.get("image")),
                "command": [*EMISSARY, *command],
                "args": args,
                "env": env,
                "volumeMounts": [
                    {"name": "var-run-argo", "mountPath": VAR_RUN_ARGO},
                    *shared_mounts,
                    *[m for m in as_list(body.get("volumeMounts")) if isinstance(m, dict)],
                ],
                "terminationMessagePolicy": "FallbackToLogsOnError",
            }
            if body.get("workingDir"):
                container["workingDir"] = text_of(body["workingDir"])
            containers.append(container)
        wait = {
            "name": "wait",
            "image": EXECUTOR_IMAGE,
            "command": ["argoexec"],
            "args": ["wait", "--loglevel", "info", "--log-format", "text"],
            "env": [{"name": emissary.CONTAINER_ENV, "value": "wait"}, *argo_env],
            "volumeMounts": [{"name": "var-run-argo", "mountPath": VAR_RUN_ARGO}],
        }
        init = {
            "name": "init",
            "image": EXECUTOR_IMAGE,
            "command": ["argoexec"],
            "args": ["init", "--loglevel", "info", "--log-format", "text"],
            "env": [{"name": emissary.CONTAINER_ENV, "value": "init"}, *argo_env],
            "volumeMounts": [{"name": "var-run-argo", "mountPath": VAR_RUN_ARGO}],
        }
        spec: Obj = {
            "initContainers": [init],
            "containers": [wait, *containers],
            "volumes": volumes,
            "nodeName": NODE,
            "restartPolicy": "Never",
            "serviceAccountName": "default",
        }
        deadline = data.get("activeDeadlineSeconds")
        if deadline is not None and not debug and text_of(deadline).isdigit():
            spec["activeDeadlineSeconds"] = int(text_of(deadline))
        timeout = data.get("timeout")
        if timeout:
            from dap_server.engines.local.common import duration

            seconds = duration(timeout, f"template {template.name} timeout")
            if seconds:
                spec["activeDeadlineSeconds"] = max(1, int(seconds))
        run.deadline = float(spec["activeDeadlineSeconds"]) if "activeDeadlineSeconds" in spec else None
        meta_extra = as_dict(data.get("metadata"))
        labels = {**{str(k): text_of(v) for k, v in as_dict(meta_extra.get("labels")).items()}}
        labels.update({WORKFLOW_LABEL: self.name, COMPLETED_LABEL: "false"})
        annotations = {str(k): text_of(v) for k, v in as_dict(meta_extra.get("annotations")).items()}
        annotations.update(
            {
                NODE_NAME: node_name,
                NODE_ID: node_id,
                DEFAULT_CONTAINER: containers[-1]["name"] if template.type == "containerSet" else "main",
                "workflows.argoproj.io/pod-gc-strategy": "",
            }
        )
        pod: Obj = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": pod_name,
                "namespace": self.namespace,
                "labels": labels,
                "annotations": annotations,
                "ownerReferences": [
                    {
                        "apiVersion": f"{GROUP}/{VERSION}",
                        "kind": "Workflow",
                        "name": self.name,
                        "uid": self.uid,
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "spec": spec,
            "status": {"phase": "Pending"},
        }
        # the kubelet's view
        script = str(as_dict(data.get("script")).get("source", "")) if template.type == "script" else None
        if script is not None:
            os.makedirs(run.host("/argo/staging"), exist_ok=True)
            with open(run.host(SCRIPT_PATH), "w") as f:
                f.write(run.host_text(script))
        run.containers.append(Ctr("wait", EXECUTOR_IMAGE, {}, folder, [], wait=True))
        for container, (_, body) in zip(containers, specs, strict=True):
            work = container.get("workingDir")
            cwd = run.host(work) if work else os.path.join(folder, "root")
            if work and cwd == work and not os.path.isdir(work):
                cwd = os.path.join(folder, "root")
            command = [run.host_text(a) for a in container["command"][len(EMISSARY) :] + container["args"]]
            deps = [text_of(d) for d in as_list(body.get("dependencies"))]
            run.containers.append(Ctr(container["name"], container["image"], {}, cwd, command, deps))
        return pod, run


# ---- the controller and kubelet of one test API ---------------------------------------------


def _log_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        import traceback

        traceback.print_exception(task.exception())


class Argo:
    """Argo's controller and the kubelet of its pods, on one test API. `close()` ends every process."""

    def __init__(self, api: KubeAPI, root: str) -> None:
        self.api = api
        self.root = root
        self.workflows: dict[tuple[str, str], WorkflowRun] = {}
        self.pods: dict[tuple[str, str], PodRun] = {}
        api.on_write("workflows", self.on_workflow)
        api.on_write("pods", self.on_pod)

    # ---- controller ---------------------------------------------------------------------------

    async def on_workflow(self, kind: str, obj: Obj, old: Obj | None) -> None:
        meta = obj["metadata"]
        key = (meta["namespace"], meta["name"])
        run = self.workflows.get(key)
        if kind == "ADDED" and run is None:
            task = asyncio.ensure_future(self.start(obj))
            task.add_done_callback(_log_failure)
        elif kind == "MODIFIED" and run is not None:
            strategy = (obj.get("spec") or {}).get("shutdown")
            if strategy:
                self.stop(run, str(strategy))
        elif kind == "DELETED" and run is not None:
            await self.delete(run)

    def parse(self, obj: Obj, folder: str) -> ArgoDocument:
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, f"{obj['metadata']['name']}.yaml")
        text = yaml.safe_dump({k: v for k, v in obj.items() if k != "status"}, sort_keys=False)
        with open(path, "w") as f:
            f.write(text)
        templates = os.path.join(folder, "workflowtemplates")
        os.makedirs(templates, exist_ok=True)
        for wt in self.api.objects_of("workflowtemplates"):
            if wt["metadata"]["namespace"] == obj["metadata"]["namespace"]:
                with open(os.path.join(templates, f"{wt['metadata']['name']}.yaml"), "w") as f:
                    yaml.safe_dump({k: v for k, v in wt.items() if k != "status"}, f, sort_keys=False)
        docs = [d for d in parse_text(path, text) if isinstance(d, ArgoDocument) and d.kind == "Workflow"]
        if not docs:
            raise SourceError(path, 1, 1, "not a Workflow with a spec")
        sources = SourceSet([templates])
        sources.add(path, list(docs))
        doc = sources.resolve(docs[0])
        assert isinstance(doc, ArgoDocument)
        return doc

    async def start(self, obj: Obj) -> None:
        meta = obj["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        folder = os.path.join(self.root, namespace, f"workflow-{name}")
        try:
            document = self.parse(obj, folder)
            run = WorkflowRun(self, obj, document, folder)
        except (SourceError, EngineError) as exc:
            cause = exc.cause if isinstance(exc, SourceError) else str(exc)
            with contextlib.suppress(ApiError):
                await self.api.patch_object(
                    "workflows",
                    namespace,
                    name,
                    {
                        "metadata": {"labels": {PHASE_LABEL: FAILED, COMPLETED_LABEL: "true"}},
                        "status": {
                            "phase": FAILED,
                            "startedAt": now(),
                            "finishedAt": now(),
                            "message": f"invalid spec: {cause}",
                        },
                    },
                )
            return
        self.workflows[(namespace, name)] = run
        run.task = asyncio.ensure_future(run.run())
        with contextlib.suppress(asyncio.CancelledError):
            await run.task

    def stop(self, run: WorkflowRun, strategy: str, message: str = "") -> None:
        """`spec.shutdown` (or the workflow's activeDeadlineSeconds): nothing more starts, running
        pods are terminated in the background (SIGTERM, paused ones end: v4), their nodes fail
        with `message`."""
        if run.shutdown is not None or run.task is None or run.task.done():
            return
        run.shutdown = strategy
        run.stop_message = message = message or stopped_message(strategy)
        pods = [p for p in run.pod_runs.values() if not p.done.is_set()]
        if pods:
            task = asyncio.ensure_future(asyncio.gather(*(self.terminate(p, message) for p in pods)))
            task.add_done_callback(_log_failure)

    async def delete(self, run: WorkflowRun) -> None:
        run.deleted = True
        for pod in run.pod_runs.values():
            pod.ended = pod.ended or "pod deleted"
            self.kill(pod)
        for pod in run.pod_runs.values():
            await self.reap(pod)
        if run.task is not None and not run.task.done():
            run.task.cancel()
        for pod in run.pod_runs.values():
            with contextlib.suppress(ApiError):
                await self.api.delete_object("pods", pod.namespace, pod.name)

    async def on_pod(self, kind: str, obj: Obj, old: Obj | None) -> None:
        if kind != "DELETED":
            self.start_ephemeral(obj)
            return
        meta = obj["metadata"]
        key = (meta["namespace"], meta["name"])
        pod = self.pods.get(key)
        self.api.exec_handlers.pop(key, None)
        if pod is not None and not pod.done.is_set():
            pod.ended = pod.ended or "pod deleted"
            self.kill(pod)
            await self.reap(pod)

    # ---- kubelet ------------------------------------------------------------------------------

    def env_of(self, run: PodRun, pod: Obj, container: Obj) -> dict[str, str]:
        base = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.path.join(run.folder, "root"),
            "HOSTNAME": run.name,
        }
        return self.api.container_env(pod, container, base, lambda value: run.host_text(text_of(value)))

    async def patch_pod(self, run: PodRun, status: Obj, labels: Obj | None = None) -> None:
        patch: Obj = {"status": status}
        if labels:
            patch["metadata"] = {"labels": labels}
        with contextlib.suppress(ApiError):
            await self.api.patch_object("pods", run.namespace, run.name, patch)

    def statuses(self, run: PodRun) -> list[Obj]:
        return [_status(c) for c in run.containers]

    async def run_pod(
        self,
        workflow: WorkflowRun,
        run: PodRun,
        pod: Obj,
        on_running: Any,
        on_exit: Any,
        save_outputs: Any,
    ) -> None:
        """Create the pod, run its containers, follow them to the end."""
        self.pods[(run.namespace, run.name)] = run
        for sub in ("var-run-argo", "tmp", "root"):
            os.makedirs(os.path.join(run.folder, sub), exist_ok=True)
        for _, outside in run.mounts:
            os.makedirs(outside, exist_ok=True)
        stopped = workflow.stopped()
        if stopped:  # shut down before the pod was created: no pod
            run.ended = stopped
            run.done.set()
            return
        pod = await self.api.put("pods", pod)
        self.api.exec_handlers[(run.namespace, run.name)] = self.exec
        specs = {c["name"]: c for c in pod["spec"]["containers"]}
        started = now()
        init_status = {
            "name": "init",
            "image": EXECUTOR_IMAGE,
            "imageID": f"quay.io/argoproj/argoexec@sha256:{'0' * 64}",
            "ready": False,
            "started": False,
            "restartCount": 0,
            "state": {
                "terminated": {"exitCode": 0, "reason": "Completed", "startedAt": started, "finishedAt": started}
            },
        }
        for ctr in run.containers:
            ctr.env = self.env_of(run, pod, specs[ctr.name])
            self.api.log_buffer(run.namespace, run.name, ctr.name)  # the log exists once it runs
            ctr.started = now()
            if ctr.wait:
                self.api.append_log(
                    run.namespace, run.name, "wait", argo_log("Starting Workflow Executor", version="v4.0.0")
                )
                continue
            flags = ["--ctr-root", run.host(VAR_RUN_ARGO)]
            if ctr.deps:
                flags += ["--deps", ",".join(ctr.deps)]
            os.makedirs(ctr.cwd, exist_ok=True)
            try:
                ctr.proc = await asyncio.create_subprocess_exec(
                    *emissary.command_line(flags, ctr.command),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                    cwd=ctr.cwd,
                    env={**ctr.env, PARENT_PID_ENV: str(os.getpid())},
                    start_new_session=True,
                    limit=1 << 20,
                )
            except OSError as exc:
                ctr.exit_code, ctr.finished = 128, now()
                self.api.append_log(run.namespace, run.name, ctr.name, f"{exc}\n".encode())
        for ctr in run.main():
            # argoexec (Go) makes its ctr dir within milliseconds of starting, long before the
            # kubelet reports the container running; the Python stand-in needs a moment: report
            # running once it has made it (or ended), as a cluster would be seen
            ctr_dir = os.path.join(run.host(VAR_RUN_ARGO), "ctr", ctr.name)
            while ctr.proc is not None and ctr.proc.returncode is None and not os.path.isdir(ctr_dir):
                await asyncio.sleep(0.005)
        await self.patch_pod(
            run,
            {
                "phase": "Running",
                "startTime": started,
                "hostIP": "10.0.0.1",
                "podIP": "10.244.0.10",
                "initContainerStatuses": [init_status],
                "containerStatuses": self.statuses(run),
            },
        )
        await on_running()
        if run.deadline is not None:
            run.timer = asyncio.get_running_loop().call_later(
                run.deadline, lambda: asyncio.ensure_future(self.terminate(run, DEADLINE_MESSAGE, "DeadlineExceeded"))
            )
        for ctr in run.main():
            run.tasks.append(asyncio.ensure_future(self.follow(run, ctr, on_exit)))
        await asyncio.gather(*run.tasks, return_exceptions=True)
        if run.timer is not None:
            run.timer.cancel()
        # the wait container: the mains are done, save the outputs, terminate
        wait = run.containers[0]
        if run.ended is None:
            self.api.append_log(run.namespace, run.name, "wait", argo_log("Main container completed", error="<nil>"))
            failure = save_outputs()
            if failure:
                run.reason = failure
                self.api.append_log(run.namespace, run.name, "wait", argo_log(failure))
        wait.exit_code = 0 if not run.reason else 1
        wait.finished = now()
        self.api.append_log(run.namespace, run.name, "wait", argo_log("Alloc=1234 TotalAlloc=5678 Sys=9012 NumGC=3"))
        self.api.end_log(run.namespace, run.name, "wait")
        for ctr in run.ephemeral:  # the pod ends: its ephemeral containers with it
            if ctr.proc is not None and ctr.proc.returncode is None:
                signal_process(ctr.proc.pid, signal.SIGKILL)
        failed = run.ended is not None or bool(run.reason) or any(c.exit_code for c in run.main())
        status: Obj = {"phase": "Failed" if failed else "Succeeded", "containerStatuses": self.statuses(run)}
        if run.ended == DEADLINE_MESSAGE:
            status.update({"reason": "DeadlineExceeded", "message": DEADLINE_MESSAGE})
        await self.patch_pod(run, status, {COMPLETED_LABEL: "true"})
        run.done.set()

    async def follow(self, run: PodRun, ctr: Ctr, on_exit: Any) -> None:
        proc = ctr.proc
        if proc is None:
            self.api.end_log(run.namespace, run.name, ctr.name)
            await self.patch_pod(run, {"containerStatuses": self.statuses(run)})
            await on_exit(ctr)
            return
        stdout = proc.stdout

        async def pump_out() -> None:
            async for line in lines(stdout):
                ctr.stdout.append(line)
                self.api.append_log(run.namespace, run.name, ctr.name, line)

        async def pump_err() -> None:
            prefix = emissary.PROTOCOL_PREFIX.encode()
            async for line in lines(proc.stderr):
                if line.startswith(prefix):
                    continue  # the stand-in's local-only side channel: a real emissary never prints it
                if b'msg="sub-process exited"' in line:
                    line = line.replace(b" error=<nil>", b' error="<nil>"')  # logrus quotes <nil>
                    # the command is gone: its stdout is all in the pipe; log it before this line
                    for _ in range(100):
                        buffered = getattr(stdout, "_buffer", b"")
                        if not buffered or b"\n" not in buffered:
                            break
                        await asyncio.sleep(0)
                self.api.append_log(run.namespace, run.name, ctr.name, line)

        pumps = [asyncio.ensure_future(pump_out()), asyncio.ensure_future(pump_err())]
        try:
            await asyncio.wait(pumps)
            await proc.wait()
        finally:
            for p in pumps:
                p.cancel()
        code = proc.returncode
        ctr.exit_code = code if code is not None and code >= 0 else 128 - (code or -9)
        ctr.finished = now()
        kill_session(proc.pid)
        self.api.end_log(run.namespace, run.name, ctr.name)
        await self.patch_pod(run, {"containerStatuses": self.statuses(run)})
        await on_exit(ctr)

    async def terminate(self, run: PodRun, message: str, reason: str = "") -> None:
        """SIGTERM every running container (what `argoexec kill 15 1` does), SIGKILL after the grace."""
        if run.done.is_set() or run.ended is not None:
            return
        run.ended = message
        for ctr in run.main():
            if ctr.proc is not None and ctr.proc.returncode is None:
                signal_process(ctr.proc.pid, signal.SIGTERM)
        if run.tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*run.tasks, return_exceptions=True), GRACE)
        self.kill(run)

    def kill(self, run: PodRun) -> None:
        for ctr in [*run.main(), *run.ephemeral]:
            if ctr.proc is not None:
                if ctr.proc.returncode is None:
                    signal_process(ctr.proc.pid, signal.SIGKILL)
                kill_session(ctr.proc.pid)

    async def reap(self, run: PodRun) -> None:
        """Wait until the killed processes are reaped (their return codes known)."""
        for ctr in [*run.main(), *run.ephemeral]:
            if ctr.proc is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(ctr.proc.wait()), GRACE)

    def processes(self) -> list[int]:
        """Pids of container processes still alive (for "shutdown leaves no process")."""
        return [
            c.proc.pid
            for r in self.pods.values()
            for c in [*r.containers, *r.ephemeral]
            if c.proc is not None and c.proc.returncode is None
        ]

    async def close(self) -> None:
        for run in self.workflows.values():
            run.deleted = True
        for pod in self.pods.values():
            if pod.timer is not None:
                pod.timer.cancel()
            self.kill(pod)
        for pod in self.pods.values():
            await self.reap(pod)
        for run in self.workflows.values():
            if run.task is not None and not run.task.done():
                run.task.cancel()
        for pod in self.pods.values():
            await asyncio.gather(*pod.tasks, *pod.ephemeral_tasks, return_exceptions=True)
        for run in self.workflows.values():
            if run.task is not None:
                await asyncio.gather(run.task, return_exceptions=True)
        shutil.rmtree(self.root, ignore_errors=True)

    # ---- ephemeral containers ---------------------------------------------------------------------

    def start_ephemeral(self, pod: Obj) -> None:
        """Start the ephemeral containers the pod's spec has and the kubelet has not started."""
        meta = pod["metadata"]
        run = self.pods.get((meta["namespace"], meta["name"]))
        if run is None or run.done.is_set() or run.ended is not None:
            return
        known = {c.name for c in run.ephemeral}
        for spec in (pod.get("spec") or {}).get("ephemeralContainers") or []:
            if spec.get("name") in known:
                continue
            ctr = Ctr(str(spec["name"]), str(spec.get("image") or ""), {}, "", [])
            run.ephemeral.append(ctr)
            task = asyncio.ensure_future(self.run_ephemeral(run, pod, spec, ctr))
            task.add_done_callback(_log_failure)
            run.ephemeral_tasks.append(task)

    async def run_ephemeral(self, run: PodRun, pod: Obj, spec: Obj, ctr: Ctr) -> None:
        private = os.path.join(run.folder, "ephemeral", ctr.name)
        mounts = {VAR_RUN_ARGO: os.path.join(private, "var-run-argo"), "/tmp": os.path.join(private, "tmp")}
        for mount in spec.get("volumeMounts") or []:
            volume = str(mount.get("name"))
            outside = (
                run.host(VAR_RUN_ARGO) if volume == "var-run-argo" else os.path.join(run.folder, "volumes", volume)
            )
            mounts[str(mount["mountPath"])] = outside
        view = PodRun(run.namespace, run.name, run.node_id, run.node_name, run.folder, [])
        view.mounts = sorted(mounts.items(), key=lambda m: -len(m[0]))
        for outside in [private, *mounts.values()]:
            os.makedirs(outside, exist_ok=True)
        ctr.cwd = private
        ctr.env = self.env_of(view, pod, spec)
        ctr.command = [view.host_text(text_of(a)) for a in [*(spec.get("command") or []), *(spec.get("args") or [])]]
        ctr.started = now()
        self.api.log_buffer(run.namespace, run.name, ctr.name)
        binary = str((spec.get("command") or spec.get("args") or [""])[0])
        proc = None
        if ctr.shell_less or not ctr.command:
            ctr.start_error = _start_error(binary or ctr.image)
        else:
            try:
                proc = await asyncio.create_subprocess_exec(
                    *ctr.command,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.STDOUT,
                    cwd=ctr.cwd,
                    env=ctr.env,
                    start_new_session=True,
                )
            except OSError:
                ctr.start_error = _start_error(binary)
        if proc is None:
            ctr.exit_code, ctr.finished = 128, now()
            self.api.end_log(run.namespace, run.name, ctr.name)
            await self.patch_pod(run, {"ephemeralContainerStatuses": [_status(c) for c in run.ephemeral]})
            return
        ctr.proc = proc
        await self.patch_pod(run, {"ephemeralContainerStatuses": [_status(c) for c in run.ephemeral]})
        async for line in lines(proc.stdout):
            self.api.append_log(run.namespace, run.name, ctr.name, line)
        code = await proc.wait()
        ctr.exit_code = code if code >= 0 else 128 - code
        ctr.finished = now()
        kill_session(proc.pid)
        self.api.end_log(run.namespace, run.name, ctr.name)
        await self.patch_pod(run, {"ephemeralContainerStatuses": [_status(c) for c in run.ephemeral]})

    # ---- exec ---------------------------------------------------------------------------------

    async def exec(self, namespace: str, pod: str, container: str, argv: list[str]) -> tuple[int, bytes, bytes]:
        run = self.pods.get((namespace, pod))
        if run is None:
            raise ApiError(404, "NotFound", f'pods "{pod}" not found')
        ctr = next((c for c in run.containers if c.name == container), None)
        if ctr is None:
            raise ApiError(400, "BadRequest", f"container {container} is not valid for pod {pod}")
        if not ctr.started or ctr.exit_code is not None:
            raise ApiError(400, "BadRequest", f'container not found ("{container}")')
        if ctr.shell_less:
            raise ExecStartError(not_found(argv[0]))
        host_argv = [run.host_text(a) for a in argv]
        try:
            proc = await asyncio.create_subprocess_exec(
                *host_argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=ctr.cwd,
                env=ctr.env,
            )
        except FileNotFoundError:
            raise ExecStartError(not_found(argv[0])) from None
        except OSError as exc:
            raise ExecStartError(f"error executing command in container: failed to exec in container: {exc}") from None
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        return proc.returncode or 0, out, err
