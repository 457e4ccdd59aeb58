"""The local Argo engine: a Workflow run on this machine, each container a host process under
the emissary (`emissary.py`, Argo's pause protocol).

What it runs, the way Argo's controller does (node names, pod node ids, phases):

- `spec.arguments.parameters` (overridden by the launch's `params`), `{{workflow.parameters.x}}`,
  `{{workflow.name}}`, `{{workflow.status}}` (onExit), `{{inputs.parameters.x}}`,
  `{{steps.s.outputs.parameters.p}}`, `{{tasks.t.outputs.parameters.p}}`, `outputs.result`,
  `{{item}}` / `{{item.field}}` with `withItems`, `withParam`, `withSequence`;
- `steps` templates (groups one after another, the items of a group in parallel) and `dag`
  templates (`dependencies`, `depends` with `.Succeeded`, `.Failed`, `.Skipped`, `&&`, `||`, `!`),
  `when`, `continueOn.failed`, `retryStrategy.limit`, `onExit` (workflow level), template
  `timeout` (the whole pod, pauses included, as kubelet would) and `activeDeadlineSeconds` (the
  command only: Argo clears a paused pod's deadline), workflow `activeDeadlineSeconds`;
- container templates (`command` + `args` on the host; the image is only recorded), script
  templates (`source` written to a file, run with `command`), containerSet (`dependencies`).

Every pod node is one thread (`TaskStarted`), named like Argo's node (`wf[0].build`,
`wf.dag-task(0:a)`), with its containers as steps and the call chain as frames. With
`options.debug`, every container runs with `ARGO_DEBUG_PAUSE_BEFORE/AFTER=true`; a pause-after
of a failed command is reported as a FAILURE pause.

Outputs written to absolute paths (`valueFrom.path: /tmp/x`) are host paths: parallel pods
writing the same path race, as they would not in separate containers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

from dap_server.engines import markers
from dap_server.engines.base import (
    Engine,
    EngineError,
    EventSink,
    ExecResult,
    Output,
    PauseKind,
    Resume,
    RunEvent,
    RunFinished,
    StepFinished,
    StepPaused,
    StepRef,
    StepRunning,
    StepView,
    TaskFinished,
    TaskStarted,
)
from dap_server.engines.local.argo import emissary
from dap_server.engines.local.argo.expressions import ExpressionError, depends_terms, evaluate
from dap_server.engines.local.common import as_dict, as_list, duration, generated_name, rfc3339
from dap_server.engines.local.process import kill_session, lines
from dap_server.engines.local.supervisor import PARENT_PID_ENV
from dap_server.engines.options import RunOptions
from dap_server.sources.argo import ArgoDocument, ArgoTask, Template, text_of
from dap_server.sources.model import Document, Span

SUCCEEDED, FAILED, SKIPPED, ERROR = "Succeeded", "Failed", "Skipped", "Error"
_VAR = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
Frames = tuple[tuple[str, Span], ...]


def fnv32a(text: str) -> int:
    value = 0x811C9DC5
    for byte in text.encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def substitute(value: Any, scope: dict[str, str]) -> Any:
    """`{{name}}` replaced in every string of `value` (names it does not know are kept)."""
    if isinstance(value, str):
        return _VAR.sub(lambda m: scope.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [substitute(v, scope) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, scope) for k, v in value.items()}
    return value


@dataclass
class Result:
    phase: str
    outputs: dict[str, str] = field(default_factory=dict)
    message: str = ""
    exit_code: int | None = None


@dataclass
class Container:
    name: str
    data: dict[str, Any]
    command: list[str]
    script: str | None
    env: dict[str, str]
    working_dir: str
    deps: list[str]
    state: str = "waiting"
    exit_code: int | None = None
    started_at: float | None = None
    finished_at: float | None = None
    process: asyncio.subprocess.Process | None = None


@dataclass
class Pod:
    node_id: str
    node_name: str
    template: Template
    inputs: dict[str, str]
    folder: str
    containers: list[Container]
    outputs: dict[str, str] = field(default_factory=dict)
    overrides: dict[str, str] = field(default_factory=dict)
    stdout: list[str] = field(default_factory=list)


class ArgoLocalEngine(Engine):
    def __init__(self, document: Document, options: RunOptions) -> None:
        if not isinstance(document, ArgoDocument) or document.kind not in (
            "Workflow",
            "WorkflowTemplate",
            "ClusterWorkflowTemplate",
            "CronWorkflow",
        ):
            raise EngineError(f"{document.key}: the local Argo engine runs Argo Workflows, not {document.kind}")
        entry = document.run_entrypoint()
        if entry is None or document.template(entry) is None:
            raise EngineError(f"{document.key}: no entrypoint template to run ({document.path})")
        self._doc = document
        self._options = options
        self._spec = document.spec_data()
        if document.base is not None:
            base = document.base.spec_data()
            self._spec = {**base, **self._spec}
            base_args = as_list(as_dict(base.get("arguments")).get("parameters"))
            own_args = as_list(as_dict(self._spec.get("arguments")).get("parameters"))
            names = {str(p.get("name")) for p in own_args if isinstance(p, dict)}
            merged = [p for p in base_args if isinstance(p, dict) and str(p.get("name")) not in names] + own_args
            self._spec["arguments"] = {"parameters": merged}
        metadata = as_dict(document.data().get("metadata"))
        self.name = generated_name(metadata, document.name)
        self._globals: dict[str, str] = {
            "workflow.name": self.name,
            "workflow.namespace": options.namespace or str(metadata.get("namespace") or "default"),
            "workflow.uid": f"local-{fnv32a(self.name):08x}",
            "workflow.status": "Running",
        }
        params = as_list(as_dict(self._spec.get("arguments")).get("parameters"))
        for param in params:
            if isinstance(param, dict) and "name" in param:
                value = param.get("value", param.get("default"))
                self._globals[f"workflow.parameters.{param['name']}"] = text_of(value)
        for name, value in options.params.items():
            self._globals[f"workflow.parameters.{name}"] = text_of(value)
        missing = [
            p["name"]
            for p in params
            if isinstance(p, dict)
            and "name" in p
            and "value" not in p
            and "default" not in p
            and str(p["name"]) not in options.params
        ]
        if missing:
            raise EngineError(f'{document.key}: workflow parameter "{missing[0]}" has no value ({document.path})')
        self._sink: EventSink | None = None
        self._folder: str | None = None
        self._main: asyncio.Future[None] | None = None
        self._pods: dict[str, Pod] = {}
        self._closed = False
        self._finished = False

    # ---- life cycle -------------------------------------------------------------------------

    async def start(self, sink: EventSink) -> None:
        if self._main is not None or self._closed:
            raise EngineError("this run was already started")
        self._sink = sink
        root = self._options.run_root
        if root:
            os.makedirs(root, exist_ok=True)
        self._folder = tempfile.mkdtemp(prefix="pipeline-dap-argo-", dir=root)
        self._main = asyncio.ensure_future(self._run())

    def _emit(self, event: RunEvent) -> None:
        if self._sink is not None:
            self._sink(event)

    async def _run(self) -> None:
        entry = self._doc.template(self._doc.run_entrypoint() or "")
        assert entry is not None
        deadline = self._options.timeout or duration(
            self._spec.get("activeDeadlineSeconds") and f"{self._spec['activeDeadlineSeconds']}s",
            "activeDeadlineSeconds",
        )
        args = {
            k[len("workflow.parameters.") :]: v
            for k, v in self._globals.items()
            if k.startswith("workflow.parameters.")
        }
        try:
            result = await asyncio.wait_for(self._execute(entry, args, self.name, None, None, ()), deadline)
        except TimeoutError:
            await self._stop_all()
            result = Result(FAILED, message="Step exceeded its deadline")
        except asyncio.CancelledError:
            self._finish(Result(FAILED, message="cancelled"), "Cancelled")
            raise
        except EngineError as exc:
            self._emit(Output(None, None, "console", f"{exc}\n"))
            result = Result(ERROR, message=str(exc))
        on_exit = self._spec.get("onExit")
        if isinstance(on_exit, str) and on_exit:
            handler = self._doc.template(on_exit)
            if handler is not None:
                self._globals["workflow.status"] = SUCCEEDED if result.phase == SUCCEEDED else FAILED
                with contextlib.suppress(EngineError):
                    await self._execute(handler, {}, f"{self.name}.onExit", None, None, ())
        self._finish(result, result.phase)

    def _finish(self, result: Result, reason: str) -> None:
        if self._finished:
            return
        self._finished = True
        self._emit(RunFinished(result.phase == SUCCEEDED, reason, result.message))

    async def resume(self, step: StepRef, kind: PauseKind, action: Resume) -> None:
        pod = self._pods.get(step.task_id)
        if pod is None or not 0 <= step.step_index < len(pod.containers):
            raise EngineError(f"no paused step {step.step_index} in {step.task_id}")
        name = pod.containers[step.step_index].name
        if kind is PauseKind.BEFORE:
            rel, content = markers.argo_before_file(name), ""
        else:
            passed = kind is PauseKind.FAILURE and action is Resume.CONTINUE
            rel, content = markers.argo_after_file(name), "0\n" if passed else ""
        markers.apply_writes(pod.folder, [(rel, content)])

    async def _stop_all(self) -> None:
        procs = [c.process for p in self._pods.values() for c in p.containers if c.process is not None]
        for proc in procs:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                await asyncio.wait_for(proc.wait(), 3)
            except TimeoutError:
                kill_session(proc.pid)
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()

    async def cancel(self) -> None:
        await self._stop_all()
        main = self._main
        if main is not None and not main.done():
            main.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await main
        self._finish(Result(FAILED, message="cancelled by the user"), "Cancelled")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._main is not None and not self._main.done():
            await self.cancel()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)

    # ---- templates --------------------------------------------------------------------------

    def _inputs(self, template: Template, given: dict[str, str]) -> dict[str, str]:
        values: dict[str, str] = {}
        declared = as_list(as_dict(template.data().get("inputs")).get("parameters"))
        for decl in declared:
            if not isinstance(decl, dict) or "name" not in decl:
                continue
            name = str(decl["name"])
            if name in given:
                values[name] = given[name]
            elif "value" in decl or "default" in decl:
                values[name] = text_of(substitute(decl.get("value", decl.get("default")), self._globals))
            else:
                raise EngineError(
                    f'{template.span.path}:{template.span.line}: input parameter "{name}" of template '
                    f'"{template.name}" has no value'
                )
        return values

    async def _execute(
        self,
        template: Template,
        given: dict[str, str],
        node_name: str,
        call: ArgoTask | None,
        instance: int | None,
        frames: Frames,
    ) -> Result:
        inputs = self._inputs(template, given)
        limit = as_dict(template.data().get("retryStrategy")).get("limit")
        retries = int(text_of(limit)) if limit is not None and text_of(limit).isdigit() else 0
        attempt = 0
        while True:
            name = f"{node_name}({attempt})" if limit is not None else node_name
            if template.leaf:
                result = await self._pod(template, inputs, name, call, instance, frames)
            elif template.type == "steps":
                result = await self._steps(template, inputs, name, frames)
            elif template.type == "dag":
                result = await self._dag(template, inputs, name, frames)
            elif template.type == "suspend":
                result = Result(SUCCEEDED)
            else:
                raise EngineError(
                    f"{template.span.path}:{template.span.line}: "
                    f"{template.type} templates cannot run on the local engine"
                )
            if result.phase == SUCCEEDED or attempt >= retries:
                return result
            attempt += 1

    def _scope(self, inputs: dict[str, str]) -> dict[str, str]:
        scope = dict(self._globals)
        scope.update({f"inputs.parameters.{k}": v for k, v in inputs.items()})
        return scope

    async def _call(self, task: ArgoTask, scope: dict[str, str], node_name: str, frames: Frames, prefix: str) -> Result:
        """One DAG task / steps item: when, fan-out, then the template it calls."""
        data = task.data()
        target = task.target
        if target is None:
            raise EngineError(f"{task.span.path}:{task.span.line}: {task.called} is not resolved")
        when = data.get("when")
        if when is not None:
            condition = text_of(substitute(when, scope))
            try:
                run = evaluate(condition)
            except ExpressionError as exc:
                raise EngineError(f"{task.span.path}:{task.span.line}: when: {exc}") from None
            if not run:
                self._emit(TaskFinished(node_name, True, "Skipped", f"when '{condition}' evaluated false"))
                return Result(SKIPPED)
        items = self._items(task, data, scope)
        if items is None:
            return await self._invoke(task, target, data, scope, node_name, None, frames)
        runs = []
        for index, item in enumerate(items):
            desc = self._describe(item).replace("(", "").replace(")", "")
            item_scope = dict(scope)
            item_scope["item"] = text_of(item)
            if isinstance(item, dict):
                item_scope.update({f"item.{k}": text_of(v) for k, v in item.items()})
            name = f"{node_name}({index}:{desc})"
            runs.append(self._invoke(task, target, data, item_scope, name, index, frames))
        results = await asyncio.gather(*runs)
        outputs: dict[str, str] = {}
        keys = {k for r in results for k in r.outputs}
        for key in keys:
            outputs[key] = json.dumps([r.outputs.get(key, "") for r in results])
        phase = FAILED if any(r.phase == FAILED for r in results) else SUCCEEDED
        return Result(phase, outputs)

    @staticmethod
    def _describe(item: Any) -> str:
        if isinstance(item, dict):
            return ",".join(f"{k}:{text_of(v)}" for k, v in sorted(item.items()))
        return text_of(item)

    def _items(self, task: ArgoTask, data: dict[str, Any], scope: dict[str, str]) -> list[Any] | None:
        where = f"{task.span.path}:{task.span.line}"
        if "withItems" in data:
            return list(as_list(substitute(data["withItems"], scope)))
        if "withParam" in data:
            text = text_of(substitute(data["withParam"], scope))
            try:
                value = json.loads(text)
            except ValueError:
                raise EngineError(f"{where}: withParam is not a JSON list: {text!r}") from None
            if not isinstance(value, list):
                raise EngineError(f"{where}: withParam is not a JSON list: {text!r}")
            return value
        if "withSequence" in data:
            seq = as_dict(substitute(data["withSequence"], scope))
            start = int(text_of(seq.get("start", "0")) or 0)
            if "count" in seq:
                end = start + int(text_of(seq["count"])) - 1
            else:
                end = int(text_of(seq.get("end", start)))
            step = 1 if end >= start else -1
            fmt = seq.get("format")
            numbers = range(start, end + step, step)
            return [(str(fmt) % n) if fmt else str(n) for n in numbers]
        return None

    async def _invoke(
        self,
        task: ArgoTask,
        target: Template,
        data: dict[str, Any],
        scope: dict[str, str],
        node_name: str,
        instance: int | None,
        frames: Frames,
    ) -> Result:
        arguments = as_dict(substitute(data.get("arguments"), scope))
        given = {
            str(p["name"]): text_of(p.get("value"))
            for p in as_list(arguments.get("parameters"))
            if isinstance(p, dict) and "name" in p and "value" in p
        }
        result = await self._execute(target, given, node_name, task, instance, frames)
        hook = data.get("onExit")
        if isinstance(hook, str) and hook and task.owner is not None and task.owner.document is not None:
            handler = task.owner.document.template(hook)
            if handler is not None:
                await self._execute(handler, {}, f"{node_name}.onExit", task, instance, frames)
        return result

    def _child_frames(self, task: ArgoTask, template: Template, frames: Frames) -> Frames:
        return ((task.name, task.span), (template.name, template.span), *frames)

    async def _steps(self, template: Template, inputs: dict[str, str], node_name: str, frames: Frames) -> Result:
        scope = self._scope(inputs)
        phase, message = SUCCEEDED, ""
        for index, group in enumerate(template.groups):
            calls = [
                self._call(
                    task,
                    scope,
                    f"{node_name}[{index}].{task.name}",
                    self._child_frames(task, template, frames),
                    "steps",
                )
                for task in group
            ]
            results = await asyncio.gather(*calls)
            for task, result in zip(group, results, strict=True):
                self._record(scope, "steps", task.name, result)
                if result.phase in (FAILED, ERROR) and not self._continue_on(task):
                    phase = FAILED
                    message = message or f"{node_name}[{index}].{task.name}: {result.message or result.phase}"
            if phase == FAILED:
                break
        return Result(phase, self._template_outputs(template, scope), message)

    @staticmethod
    def _continue_on(task: ArgoTask) -> bool:
        return bool(as_dict(task.data().get("continueOn")).get("failed"))

    @staticmethod
    def _record(scope: dict[str, str], kind: str, name: str, result: Result) -> None:
        scope[f"{kind}.{name}.status"] = result.phase
        if result.exit_code is not None:
            scope[f"{kind}.{name}.exitCode"] = str(result.exit_code)
        for key, value in result.outputs.items():
            scope[f"{kind}.{name}.outputs.{key}"] = value

    def _template_outputs(self, template: Template, scope: dict[str, str]) -> dict[str, str]:
        outputs: dict[str, str] = {}
        for decl in as_list(as_dict(template.data().get("outputs")).get("parameters")):
            if isinstance(decl, dict) and "name" in decl:
                source = as_dict(decl.get("valueFrom"))
                expr = source.get("parameter") or decl.get("value")
                if expr is not None:
                    outputs[f"parameters.{decl['name']}"] = text_of(substitute(expr, scope))
        return outputs

    async def _dag(self, template: Template, inputs: dict[str, str], node_name: str, frames: Frames) -> Result:
        scope = self._scope(inputs)
        calls = template.calls.tasks if template.calls is not None else []
        tasks = [t for t in calls if isinstance(t, ArgoTask)]
        done: dict[str, asyncio.Future[Result]] = {t.name: asyncio.get_running_loop().create_future() for t in tasks}
        handled: set[str] = set()

        async def run(task: ArgoTask) -> None:
            data = task.data()
            name = f"{node_name}.{task.name}"
            try:
                depends = data.get("depends")
                deps = [str(d) for d in as_list(data.get("dependencies"))]
                if isinstance(depends, str):
                    terms = depends_terms(depends) & set(done)
                    results = {t: await done[t] for t in terms}

                    def lookup(word: str) -> bool | None:
                        head, _, tail = word.partition(".")
                        if head not in results:
                            return None
                        phase = results[head].phase
                        if not tail:
                            return phase in (SUCCEEDED, SKIPPED)
                        if tail in ("Succeeded", "Failed", "Skipped"):
                            return phase == tail
                        if tail == "Errored":
                            return phase == ERROR
                        if tail == "Daemoned":
                            return False
                        return None

                    go = evaluate(depends, lookup)
                else:
                    results = {d: await done[d] for d in deps if d in done}
                    go = all(r.phase in (SUCCEEDED, SKIPPED) for r in results.values())
                if not go:
                    self._emit(TaskFinished(name, True, "Skipped", "omitted: its dependencies were not met"))
                    done[task.name].set_result(Result(SKIPPED))
                    return
                result = await self._call(task, scope, name, self._child_frames(task, template, frames), "tasks")
            except ExpressionError as exc:
                result = Result(ERROR, message=f"depends: {exc}")
            except EngineError as exc:
                result = Result(ERROR, message=str(exc))
            self._record(scope, "tasks", task.name, result)
            done[task.name].set_result(result)

        for task in tasks:
            depends = task.data().get("depends")
            if isinstance(depends, str):
                handled.update(t.split(".")[0] for t in re.findall(r"[\w-]+\.(?:Failed|Errored)", depends))
        await asyncio.gather(*(run(t) for t in tasks))
        phase, message = SUCCEEDED, ""
        for task in tasks:
            result = done[task.name].result()
            if result.phase in (FAILED, ERROR) and task.name not in handled and not self._continue_on(task):
                phase = FAILED
                message = message or f"{node_name}.{task.name}: {result.message or result.phase}"
        return Result(phase, self._template_outputs(template, scope), message)

    # ---- pods -------------------------------------------------------------------------------

    def _node_id(self, node_name: str) -> str:
        return self.name if node_name == self.name else f"{self.name}-{fnv32a(node_name)}"

    def _containers(self, template: Template, data: dict[str, Any], folder: str) -> list[Container]:
        specs: list[tuple[str, dict[str, Any]]] = []
        script: str | None = None
        if template.type in ("container", "script"):
            body = as_dict(data.get(template.type))
            specs.append(("main", body))
            if template.type == "script":
                script = str(body.get("source", ""))
        else:
            for item in as_list(as_dict(data.get("containerSet")).get("containers")):
                if isinstance(item, dict):
                    specs.append((str(item.get("name")), item))
        out = []
        for name, body in specs:
            command = [text_of(c) for c in as_list(body.get("command"))]
            args = [text_of(a) for a in as_list(body.get("args"))]
            if script is not None:
                path = os.path.join(folder, "script")
                with open(path, "w") as f:
                    f.write(script)
                command = [*(command or ["sh"]), path]
            else:
                command = command + args
            if not command:
                where = f"{template.span.path}:{template.span.line}"
                raise EngineError(
                    f'{where}: container "{name}" of template "{template.name}" has no command: the local '
                    "engine runs commands on the host and cannot run an image's entrypoint"
                )
            env = {
                str(e["name"]): text_of(e.get("value"))
                for e in as_list(body.get("env"))
                if isinstance(e, dict) and "name" in e and "value" in e
            }
            working = str(body.get("workingDir") or "")
            deps = [str(d) for d in as_list(body.get("dependencies"))]
            out.append(Container(name, body, command, script, env, working if os.path.isdir(working) else folder, deps))
        return out

    async def _pod(
        self,
        template: Template,
        inputs: dict[str, str],
        node_name: str,
        call: ArgoTask | None,
        instance: int | None,
        frames: Frames,
    ) -> Result:
        assert self._folder is not None and template.spec is not None
        node_id = self._node_id(node_name)
        folder = os.path.join(self._folder, node_id)
        os.makedirs(folder, exist_ok=True)
        scope = self._scope(inputs)
        data = substitute(template.data(), scope)
        pod = Pod(node_id, node_name, template, inputs, folder, self._containers(template, data, folder))
        self._pods[node_id] = pod
        self._emit(
            TaskStarted(
                task_id=node_id,
                display_name=node_name,
                pipeline_task=call.name if call is not None else None,
                instance=instance,
                step_names=tuple(c.name for c in pod.containers),
                run_name=node_name,
                steps=tuple(template.spec.steps),
                frames=frames,
            )
        )
        timeout = duration(data.get("timeout"), f"template {template.name} timeout")
        deadline = data.get("activeDeadlineSeconds")
        try:
            codes = await asyncio.wait_for(
                asyncio.gather(*(self._container(pod, i, deadline) for i in range(len(pod.containers)))),
                timeout,
            )
            message = ""
        except TimeoutError:
            await self._kill_pod(pod)
            codes = [c.exit_code if c.exit_code is not None else 1 for c in pod.containers]
            message = "Pod was active on the node longer than the specified deadline"
        succeeded = all(code == 0 for code in codes)
        if not message and not succeeded:
            failed = next(c for c in pod.containers if c.exit_code)
            message = f'container "{failed.name}" exited with code {failed.exit_code}'
        self._read_outputs(pod, data)
        outputs = {**pod.outputs, **{f"parameters.{k}": v for k, v in pod.overrides.items()}}
        self._emit(TaskFinished(node_id, succeeded, SUCCEEDED if succeeded else FAILED, message))
        exit_code = next((c for c in codes if c), 0)
        return Result(SUCCEEDED if succeeded else FAILED, outputs, message, exit_code)

    async def _kill_pod(self, pod: Pod) -> None:
        for container in pod.containers:
            proc = container.process
            if proc is not None and proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(proc.wait(), 3)

    def _read_outputs(self, pod: Pod, data: dict[str, Any]) -> None:
        for decl in as_list(as_dict(data.get("outputs")).get("parameters")):
            if not isinstance(decl, dict) or "name" not in decl:
                continue
            source = as_dict(decl.get("valueFrom"))
            value: str | None = None
            path = source.get("path")
            if isinstance(path, str):
                full = path if os.path.isabs(path) else os.path.join(pod.containers[0].working_dir, path)
                with contextlib.suppress(OSError), open(full) as f:
                    value = f.read()
            if value is None and "default" in source:
                value = text_of(source["default"])
            if value is None and "value" in decl:
                value = text_of(decl["value"])
            if value is not None:
                pod.outputs[f"parameters.{decl['name']}"] = value
        if pod.template.type == "script":
            pod.outputs["result"] = "".join(pod.stdout).strip()

    async def _container(self, pod: Pod, index: int, deadline: object) -> int:
        container = pod.containers[index]
        ref = StepRef(pod.node_id, index)
        flags = ["--ctr-root", pod.folder]
        if container.deps:
            flags += ["--deps", ",".join(container.deps)]
        if deadline is not None and text_of(deadline).isdigit():
            flags += ["--timeout", text_of(deadline)]
        env = {
            **os.environ,
            **container.env,
            emissary.CONTAINER_ENV: container.name,
            PARENT_PID_ENV: str(os.getpid()),
        }
        if self._options.debug:
            env[emissary.PAUSE_BEFORE_ENV] = "true"
            env[emissary.PAUSE_AFTER_ENV] = "true"
        proc = await asyncio.create_subprocess_exec(
            *emissary.command_line(flags, container.command),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=container.working_dir,
            env=env,
            start_new_session=True,
        )
        container.process = proc
        if not self._options.debug and not container.deps:
            container.state, container.started_at = "running", time.time()
            self._emit(StepRunning(ref))

        async def pump_out() -> None:
            async for line in lines(proc.stdout):
                if index == 0:
                    pod.stdout.append(line)
                self._emit(Output(pod.node_id, index, "stdout", line))

        async def pump_err() -> None:
            async for line in lines(proc.stderr):
                if line.startswith(emissary.PROTOCOL_PREFIX):
                    self._protocol(pod, index, line[len(emissary.PROTOCOL_PREFIX) :].split())
                elif 'msg="sub-process exited"' in line:
                    continue
                else:
                    self._emit(Output(pod.node_id, index, "stderr", line))

        await asyncio.gather(pump_out(), pump_err())
        code = await proc.wait()
        container.exit_code = code if code >= 0 else 128 - code
        container.finished_at = time.time()
        reason = "Skipped" if container.state == "skipped" else ("Completed" if code == 0 else "Error")
        if container.state != "skipped":
            container.state = "terminated"
        self._emit(StepFinished(ref, container.exit_code, reason))
        return container.exit_code

    def _protocol(self, pod: Pod, index: int, words: list[str]) -> None:
        container = pod.containers[index]
        ref = StepRef(pod.node_id, index)
        event, args = (words[0], words[1:]) if words else ("", [])
        code = int(args[0]) if args and args[0].lstrip("-").isdigit() else None
        if event == "paused-before":
            container.state = "paused-before"
            self._emit(StepPaused(ref, PauseKind.BEFORE))
        elif event == "released-before":
            container.state, container.started_at = "running", time.time()
            self._emit(StepRunning(ref))
        elif event == "exited":
            container.exit_code = code
            if container.started_at is None:
                container.started_at = time.time()
            if index == 0 or container.name == "main":
                self._read_outputs(pod, substitute(pod.template.data(), self._scope(pod.inputs)))
        elif event == "paused-after":
            failed = bool(code)
            container.state = "paused-failure" if failed else "paused-after"
            kind = PauseKind.FAILURE if failed else PauseKind.AFTER
            self._emit(StepPaused(ref, kind, code, "ExitCode" if failed else None))
        elif event == "released-after":
            container.exit_code = code
            container.state = "running"
        elif event == "skipped":
            container.state = "skipped"

    # ---- inspection -------------------------------------------------------------------------

    def inspect(self, step: StepRef) -> StepView:
        pod = self._pods.get(step.task_id)
        if pod is None:
            raise EngineError(f"no task {step.task_id}")
        container = pod.containers[step.step_index]
        image = text_of(container.data.get("image"))
        results = {k[len("parameters.") :]: v for k, v in pod.outputs.items() if k.startswith("parameters.")}
        results.update(pod.overrides)
        return StepView(
            task_id=pod.node_id,
            step_index=step.step_index,
            name=container.name,
            image=image,
            command=[text_of(c) for c in as_list(container.data.get("command"))],
            args=[text_of(a) for a in as_list(container.data.get("args"))],
            script=container.script,
            working_dir=container.working_dir,
            env=dict(container.env),
            params=dict(pod.inputs),
            results=results,
            workspaces={},
            state=container.state,
            exit_code=container.exit_code,
            started_at=rfc3339(container.started_at) if container.started_at else None,
            finished_at=rfc3339(container.finished_at) if container.finished_at else None,
            pod=pod.node_id,
            container=container.name,
            extra={"node": pod.node_name, "template": pod.template.name},
        )

    async def set_result(self, step: StepRef, name: str, value: str) -> None:
        pod = self._pods.get(step.task_id)
        if pod is None:
            raise EngineError(f"no task {step.task_id}")
        declared = {
            str(p.get("name"))
            for p in as_list(as_dict(pod.template.data().get("outputs")).get("parameters"))
            if isinstance(p, dict)
        }
        if name not in declared:
            raise EngineError(f'template "{pod.template.name}" has no output parameter "{name}"')
        pod.overrides[name] = value

    async def exec(self, step: StepRef, argv: list[str]) -> ExecResult:
        pod = self._pods.get(step.task_id)
        if pod is None:
            raise EngineError(f"no task {step.task_id}")
        container = pod.containers[step.step_index]
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=container.working_dir,
            env={**os.environ, **container.env},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
        return ExecResult(proc.returncode or 0, out.decode(errors="replace"))

    def shell_command(self, step: StepRef) -> tuple[list[str], str, dict[str, str]] | None:
        pod = self._pods.get(step.task_id)
        if pod is None:
            return None
        container = pod.containers[step.step_index]
        return ["/bin/sh"], container.working_dir, dict(container.env)


def create_argo_local_engine(document: Document, options: RunOptions) -> Engine:
    """The local engine for a resolved Argo document (Workflow, CronWorkflow, WorkflowTemplate)."""
    return ArgoLocalEngine(document, options)
