"""One TaskRun on this machine: a folder shaped like its pod, one supervisor per step.

Folder of a TaskRun (what the pod's volumes hold on a cluster):

    <folder>/tekton/run/<i>/            step i's run dir (markers, status/exitCode)
    <folder>/tekton/results/<r>         $(results.r.path)
    <folder>/tekton/scripts/script-<i>-<x>   a step's script
    <folder>/tekton/steps/step-<name>   -> ../run/<i>/status  ($(steps.step-x.exitCode.path))
    <folder>/tekton/termination-<i>     step i's termination message
    <folder>/tekton/home                HOME of every step
    <folder>/workspace/                 default working dir; Tekton's /workspace

Like a pod, every step's supervisor starts with the TaskRun and waits for the previous step's
`out`. The steps' outputs are read in step order (a pipe keeps what a later step writes until
its turn), so events of step i+1 never come before step i's StepFinished.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dap_server.engines import markers
from dap_server.engines.base import (
    EngineError,
    EventSink,
    ExecResult,
    Output,
    PauseKind,
    Resume,
    StepFinished,
    StepPaused,
    StepRef,
    StepRunning,
    StepView,
    TaskFinished,
    TaskStarted,
)
from dap_server.engines.local.common import (
    MAX_RESULT_BYTES,
    as_dict,
    as_list,
    child_name,
    duration,
    ensure_dir,
    random_suffix,
    read_text,
    resolve_params,
    rfc3339,
)
from dap_server.engines.local.process import (
    KILL_GRACE,
    drain,
    kill_session,
    lines,
    signal_process,
    spawn_supervisor,
)
from dap_server.sources.model import Step, TaskSpec
from dap_server.sources.tekton_vars import Reference, Value, scalar_text, substitute, substitute_args

SCRIPT_PREAMBLE = "#!/bin/sh\nset -e\n"  # Tekton's, for a script without a shebang
DRAIN_WAIT = 0.5  # seconds a pause waits for the step's stdout to be read to its end
DEBUG_FLAGS = ("-breakpoint_on_failure", "-debug_before_step", "-debug_after_step")


@dataclass
class TaskRunRequest:
    """What the engine (lone Task/TaskRun) or the pipeline decided for one TaskRun."""

    name: str  # the TaskRun name: also the task_id of events
    display_name: str
    spec: TaskSpec
    folder: str  # this TaskRun's folder (created by the runner)
    params: Mapping[str, object] = field(default_factory=dict)  # given values, already substituted
    workspaces: Mapping[str, str | None] = field(default_factory=dict)  # bound dirs; None: unbound
    context: Mapping[str, str] = field(default_factory=dict)  # more context.* values (pipelineRun...)
    pipeline_task: str | None = None
    instance: int | None = None
    timeout: float | None = None
    debug: bool = True
    namespace: str = "default"


@dataclass
class StepPlan:
    index: int
    name: str  # Tekton's name for it: the step name, or unnamed-<i>
    container: str
    image: str
    script: str | None
    command: list[str]
    args: list[str]
    working_dir: str  # a folder on this machine
    env: dict[str, str]  # declared env, resolved, + HOME: what the Variables pane shows
    on_error: str
    timeout: str | None  # Go duration, passed to the supervisor as written


@dataclass
class StepState:
    plan: StepPlan
    proc: asyncio.subprocess.Process | None = None
    state: str = "waiting"
    paused: PauseKind | None = None
    failure_exit_code: int | None = None  # the command's code, told by its onFailure pause
    exit_code: int | None = None
    reason: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    failed: bool = False
    engine_skipped: bool = False  # the engine said fail-continue: a previous step failed
    user_skipped: bool = False  # the session said fail-continue before the step
    stopped: bool = False  # still running when the TaskRun was cancelled / timed out


@dataclass(frozen=True)
class TaskOutcome:
    succeeded: bool
    reason: str
    message: str
    results: dict[str, Value]


def container_name(step_name: str) -> str:
    """`step-<name>`, at most 63 characters, without trailing non-alphanumerics."""
    name = f"step-{step_name}"[:63]
    while name and not name[-1].isalnum():
        name = name[:-1]
    return name


def merge_step_template(template: Mapping[str, Any], step: Mapping[str, Any]) -> dict[str, Any]:
    """The step over its stepTemplate: step fields win, env merged by name, volumeMounts by
    mountPath, envFrom appended (Tekton merges with a strategic merge patch)."""
    merged = dict(template)
    for key, value in step.items():
        if key in ("env", "volumeMounts") and isinstance(value, list):
            ident = "name" if key == "env" else "mountPath"
            items = {str(as_dict(i).get(ident)): i for i in as_list(template.get(key))}
            items.update({str(as_dict(i).get(ident)): i for i in value})
            merged[key] = list(items.values())
        elif key == "envFrom" and isinstance(value, list):
            merged[key] = [*as_list(template.get(key)), *value]
        else:
            merged[key] = value
    return merged


class TaskRunner:
    """Prepares (in the constructor: every user mistake is an EngineError there), runs and
    inspects one TaskRun."""

    def __init__(self, request: TaskRunRequest, sink: EventSink) -> None:
        self.request = request
        self.task_id = request.name
        self.pod = child_name(request.name, "-pod")
        self._sink = sink
        spec = request.spec
        self._where = f'Task "{spec.name}" ({spec.span.path}:{spec.span.line})'
        data = spec.data()
        self.params = resolve_params([as_dict(p) for p in as_list(data.get("params"))], request.params, self._where)
        self.result_types = {
            str(r.get("name")): str(r.get("type") or "string") for r in map(as_dict, as_list(data.get("results")))
        }
        self.tekton = os.path.join(request.folder, "tekton")
        self.workspace_dir = os.path.join(request.folder, "workspace")
        self.home = os.path.join(self.tekton, "home")
        self.workspaces, self._mounts = self._bind_workspaces(as_list(data.get("workspaces")))
        self._warnings: list[tuple[int | None, str]] = []
        for entry in as_list(data.get("sidecars")):
            self._warn(None, f'sidecar "{as_dict(entry).get("name", "")}" is not run by the local engine')
        self.values = self._values(spec)
        template = as_dict(data.get("stepTemplate"))
        raw_steps = [as_dict(s) for s in as_list(data.get("steps"))]
        self.steps = [StepState(self._plan(step, raw_steps[step.index], template)) for step in spec.steps]
        self._stop_reason: str | None = None
        self._stop_message = ""
        self._error: str | None = None
        self._kill_timer: asyncio.TimerHandle | None = None
        self._done = asyncio.Event()

    # ---- preparation ---------------------------------------------------------------------

    def _warn(self, step: int | None, text: str) -> None:
        self._warnings.append((step, f"warning: {text}\n"))

    def _bind_workspaces(self, decls: list[Any]) -> tuple[dict[str, str | None], list[tuple[str, str]]]:
        bound: dict[str, str | None] = {}
        mounts: list[tuple[str, str]] = []
        for decl in map(as_dict, decls):
            name = str(decl.get("name", ""))
            path = self.request.workspaces.get(name)
            if path is None and not decl.get("optional"):
                raise EngineError(f'{self._where}: workspace "{name}" is not bound')
            bound[name] = path
            mounts.append((str(decl.get("mountPath") or f"/workspace/{name}"), name))
        mounts.sort(key=lambda m: len(m[0]), reverse=True)
        return bound, mounts

    def _values(self, spec: TaskSpec) -> dict[str, Value]:
        values: dict[str, Value] = {f"params.{name}": value for name, value in self.params.items()}
        for name in self.result_types:
            values[f"results.{name}.path"] = os.path.join(self.tekton, "results", name)
        for name, path in self.workspaces.items():
            values[f"workspaces.{name}.path"] = path or ""
            values[f"workspaces.{name}.bound"] = "true" if path else "false"
            values[f"workspaces.{name}.claim"] = ""
            values[f"workspaces.{name}.volume"] = f"ws-{name}" if path else ""
        values.update(
            {
                "context.taskRun.name": self.request.name,
                "context.taskRun.namespace": self.request.namespace,
                "context.taskRun.uid": str(uuid.uuid4()),
                "context.task.name": spec.name,
                "context.task.retry-count": "0",
            }
        )
        values.update({f"context.{k}": v for k, v in self.request.context.items()})
        for step in spec.steps:
            container = container_name(step.label)
            values[f"steps.{container}.exitCode.path"] = os.path.join(self.tekton, "steps", container, "exitCode")
        return values

    def _plan(self, step: Step, fields: Mapping[str, Any], template: Mapping[str, Any]) -> StepPlan:
        raw = merge_step_template(template, fields)
        label = step.label
        where = f'{self._where}, step "{label}"'
        if "ref" in raw:
            raise EngineError(f"{where} uses a StepAction (ref), which the local engine cannot run")
        container = container_name(label)
        values: dict[str, Value] = dict(self.values)
        for result in map(as_dict, as_list(raw.get("results"))):
            name = str(result.get("name", ""))
            values[f"step.results.{name}.path"] = os.path.join(self.tekton, "steps", container, "results", name)
        unresolved: list[Reference] = []

        def text(value: object) -> str:
            out, missing = substitute(scalar_text(value), values)
            unresolved.extend(missing)
            return out

        def arguments(value: object) -> list[str]:
            out, missing = substitute_args([scalar_text(v) for v in as_list(value)], values)
            unresolved.extend(missing)
            return out

        script = text(raw["script"]) if raw.get("script") is not None else None
        command = arguments(raw.get("command"))
        if script is None and not command:
            raise EngineError(
                f"{where} has neither command nor script: the local engine runs steps on this machine "
                f'and cannot know the entrypoint of image "{raw.get("image", "")}"'
            )
        env = {"HOME": self.home}
        for var in map(as_dict, as_list(raw.get("env"))):
            name = str(var.get("name", ""))
            if "valueFrom" in var:
                resolved = self._value_from(name, as_dict(var.get("valueFrom")))
                if resolved is None:
                    self._warn(
                        step.index,
                        f'{where}: env "{name}" comes from {_source(var)}, which cannot be read locally: left unset',
                    )
                    continue
                env[name] = resolved
            else:
                env[name] = text(var.get("value", ""))
        if raw.get("when"):
            self._warn(step.index, f"{where}: step when expressions are not evaluated by the local engine: it runs")
        for source in map(as_dict, as_list(raw.get("envFrom"))):
            self._warn(step.index, f"{where}: envFrom {_source(source)} cannot be read locally: ignored")
        timeout = raw.get("timeout")
        duration(timeout, where)  # checked now, passed on as written
        plan = StepPlan(
            index=step.index,
            name=label,
            container=container,
            image=text(raw.get("image", "")),
            script=script,
            command=command,
            args=arguments(raw.get("args")),
            working_dir=self._host_path(text(raw.get("workingDir") or "")),
            env=env,
            on_error=text(raw.get("onError") or ""),
            timeout=scalar_text(timeout) if timeout not in (None, "") else None,
        )
        for ref in dict.fromkeys(r.text for r in unresolved):
            self._warn(step.index, f"{where}: {ref} cannot be resolved; left as written")
        return plan

    def _value_from(self, name: str, source: Mapping[str, Any]) -> str | None:
        """The downward API fields a local run can answer; None for Secrets and ConfigMaps."""
        path = as_dict(source.get("fieldRef")).get("fieldPath")
        return {"metadata.name": self.pod, "metadata.namespace": self.request.namespace}.get(str(path))

    def _host_path(self, path: str) -> str:
        """A step's path on this machine: workspace mount paths map to their bound folder,
        `/workspace/...` and `/tekton/...` into the TaskRun's folder, relative paths under
        its `workspace/`; other absolute paths are host paths."""
        if not path:
            return self.workspace_dir
        for mount, name in self._mounts:
            bound = self.workspaces.get(name)
            if bound and (path == mount or path.startswith(mount + "/")):
                return bound + path[len(mount) :]
        for prefix, folder in (("/workspace", self.workspace_dir), ("/tekton", self.tekton)):
            if path == prefix or path.startswith(prefix + "/"):
                return folder + path[len(prefix) :]
        return path if os.path.isabs(path) else os.path.join(self.workspace_dir, path)

    # ---- running -------------------------------------------------------------------------

    def _emit_output(self, step: int | None, category: str, text: str) -> None:
        self._sink(Output(self.task_id, step, category, text))

    def _path(self, rel: str) -> str:
        return os.path.join(self.tekton, *rel.split("/"))

    def _exists(self, rel: str) -> bool:
        return os.path.exists(self._path(rel))

    def _layout(self) -> None:
        for folder in (self.home, self.workspace_dir, os.path.join(self.tekton, "results")):
            ensure_dir(folder)
        scripts = ensure_dir(os.path.join(self.tekton, "scripts"))
        steps_dir = ensure_dir(os.path.join(self.tekton, "steps"))
        for st in self.steps:
            plan = st.plan
            ensure_dir(self._path(markers.status_dir(plan.index)))
            link = os.path.join(steps_dir, plan.container)
            if not os.path.lexists(link):
                os.symlink(os.path.join("..", markers.RUN_DIR, str(plan.index), markers.STATUS_DIR_NAME), link)
            ensure_dir(os.path.join(link, "results"))
            ensure_dir(plan.working_dir)
            if plan.script is not None:
                body = plan.script if plan.script.startswith("#!") else SCRIPT_PREAMBLE + plan.script
                path = os.path.join(scripts, f"script-{plan.index}-{random_suffix()}")
                with open(path, "w") as f:
                    f.write(body)
                os.chmod(path, 0o755)
                plan.command = [path]

    def _flags(self, plan: StepPlan) -> list[str]:
        i = plan.index
        flags = [
            "-post_file",
            self._path(markers.post_file(i)),
            "-termination_path",
            os.path.join(self.tekton, f"termination-{i}"),
            "-step_metadata_dir",
            self._path(markers.status_dir(i)),
        ]
        if i > 0:
            flags += ["-wait_file", self._path(markers.post_file(i - 1))]
        if plan.on_error:
            flags += ["-on_error", plan.on_error]
        if plan.timeout:
            flags += ["-timeout", plan.timeout]
        if self.request.debug:
            flags += DEBUG_FLAGS
        return flags

    def process_env(self, index: int) -> dict[str, str]:
        """The step process's whole environment: this machine's, HOME, the step's env."""
        return {**os.environ, **self.steps[index].plan.env}

    async def run(self) -> TaskOutcome:
        """Run every step; emit events; return when every supervisor has ended."""
        request = self.request
        self._sink(
            TaskStarted(
                task_id=self.task_id,
                display_name=request.display_name,
                pipeline_task=request.pipeline_task,
                instance=request.instance,
                step_names=tuple(st.plan.name for st in self.steps),
                run_name=self.task_id,
                steps=tuple(request.spec.steps),
            )
        )
        for step, text in self._warnings:
            self._emit_output(step, "console", text)
        loop = asyncio.get_running_loop()
        timer = None
        if request.timeout:
            message = f'TaskRun "{self.task_id}" failed to finish within "{request.timeout:g}s"'
            timer = loop.call_later(request.timeout, self.stop, "TaskRunTimeout", message)
        try:
            try:
                self._layout()
            except OSError as exc:
                self._error = f"cannot prepare the folder of {self.task_id}: {exc}"
                self.stop("Failed", self._error)
            spawned = [asyncio.Event() for _ in self.steps]
            spawner = asyncio.ensure_future(self._spawn_all(spawned))
            try:
                for st, ready in zip(self.steps, spawned, strict=True):
                    await ready.wait()
                    await self._drive(st)
            finally:
                await spawner  # it stops at once once stopped; never leave it spawning
        finally:
            if timer is not None:
                timer.cancel()
            if self._kill_timer is not None:
                self._kill_timer.cancel()
            if self._stop_reason is not None:
                self.kill()  # what stopped steps left in their sessions
            self._done.set()
        outcome = self._outcome()
        self._sink(TaskFinished(self.task_id, outcome.succeeded, outcome.reason, outcome.message))
        return outcome

    async def _spawn_all(self, spawned: list[asyncio.Event]) -> None:
        """Start every step's supervisor, one after the other, as a pod starts every container:
        each waits for its previous step's `out`. Runs beside the steps' driving (`spawned[i]`
        is set once step i's supervisor exists or never will), so step 0 is followed while the
        others start. (Starting them a few steps ahead instead was measured: each resume then
        competed with a supervisor's start-up for the CPU, and resume latency grew fivefold.)"""
        try:
            for st, ready in zip(self.steps, spawned, strict=True):
                if self._stop_reason is not None:
                    return
                try:
                    st.proc = await spawn_supervisor(
                        self._flags(st.plan),
                        [*st.plan.command, *st.plan.args],
                        st.plan.working_dir,
                        self.process_env(st.plan.index),
                    )
                except OSError as exc:
                    self._error = f"cannot start step {st.plan.name!r} of {self.task_id}: {exc}"
                    self.stop("Failed", self._error)
                ready.set()
        finally:
            for ready in spawned:
                ready.set()

    async def _drive(self, st: StepState) -> None:
        """Follow one step from its turn to its end."""
        if st.proc is None:  # never started: the run was stopped first
            st.finished_at = time.time()
            self._finished(st, 9, self._stop_reason or "Cancelled", failed=True)
            return
        index = st.plan.index
        previous_failed = index > 0 and self._exists(markers.err_file(index - 1))
        if not self.request.debug and self._stop_reason is None and not previous_failed:
            self._set_running(st)
        proc = st.proc
        stdout = asyncio.ensure_future(self._pump(st, proc.stdout, "stdout"))
        stderr = asyncio.ensure_future(self._pump_stderr(st, proc.stderr, stdout))
        readers = {stdout, stderr}
        try:
            await drain(proc, readers)
            for reader in readers:
                if reader.done():
                    reader.result()  # a bug in a reader surfaces here
        finally:
            for reader in readers:
                reader.cancel()
        returncode = proc.returncode if proc.returncode is not None else -signal.SIGKILL
        self._finish(st, 128 - returncode if returncode < 0 else returncode, previous_failed)

    async def _pump(self, st: StepState, stream: asyncio.StreamReader | None, category: str) -> None:
        async for line in lines(stream):
            self._emit_output(st.plan.index, category, line)

    async def _pump_stderr(
        self, st: StepState, stream: asyncio.StreamReader | None, stdout: asyncio.Future[None]
    ) -> None:
        """The step's stderr: pause lines become StepPaused, everything else Output."""
        detector = markers.PauseDetector()
        async for line in lines(stream):
            detection = detector.feed(line)
            if detection.pause is not None:
                await self._paused(st, detection.pause, stdout)
            if not detection.protocol and not self._quiet(st, line):
                self._emit_output(st.plan.index, "stderr", line)

    def _quiet(self, st: StepState, line: str) -> bool:
        """Supervisor lines about things the user did not do: the engine's own fail-continue
        of a step after a failed one, and the cancel of steps that never started."""
        message = markers.log_message(line.rstrip("\n"))
        if st.engine_skipped and message == markers.SKIP_BEFORE_STEP_FAIL:
            return True
        return st.state == "waiting" and message == markers.STEP_CANCELLED

    def _set_running(self, st: StepState) -> None:
        st.state = "running"
        st.started_at = time.time()
        self._sink(StepRunning(StepRef(self.task_id, st.plan.index)))

    async def _paused(self, st: StepState, kind: PauseKind, stdout: asyncio.Future[None]) -> None:
        index = st.plan.index
        if self._stop_reason is not None:
            return  # it is being cancelled
        if kind is PauseKind.BEFORE:
            if index > 0 and self._exists(markers.err_file(index - 1)):
                # Tekton without a debugger skips a step after a failed one; -breakpoint_on_failure
                # (on for every debug step) would run it: the engine says fail-continue itself.
                st.engine_skipped = True
                markers.apply_writes(self.tekton, markers.marker_writes(kind, Resume.FAIL_CONTINUE, index))
                return
            st.state, st.paused = "paused-before", kind
            self._sink(StepPaused(StepRef(self.task_id, index), kind))
            return
        # the command has exited: let its last stdout lines out first (unless something it
        # started still holds stdout)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(stdout), DRAIN_WAIT)
        code = self._termination(index).get(markers.KEY_EXIT_CODE)
        exit_code = int(code) if code is not None and code.lstrip("-").isdigit() else None
        st.state, st.paused = f"paused-{kind.value}", kind
        reason = None
        if kind is PauseKind.FAILURE:
            st.failure_exit_code, reason = exit_code, "ExitCode"
        self._sink(StepPaused(StepRef(self.task_id, index), kind, exit_code=exit_code, reason=reason))

    def _termination(self, index: int) -> dict[str, str]:
        text = read_text(os.path.join(self.tekton, f"termination-{index}"))
        try:
            entries = json.loads(text) if text else []
        except ValueError:
            return {}
        return {str(e.get("key")): str(e.get("value")) for e in entries if isinstance(e, dict)}

    def _finish(self, st: StepState, code: int, previous_failed: bool) -> None:
        index = st.plan.index
        st.finished_at = time.time()
        wrote_out = self._exists(markers.post_file(index))
        failed = self._exists(markers.err_file(index)) or (not wrote_out and code != 0)
        status = (read_text(self._path(markers.exit_code_file(index))) or "").strip()
        if st.stopped and self._stop_reason is not None:
            reason = self._stop_reason
        elif st.engine_skipped or st.user_skipped or (previous_failed and not self.request.debug and failed):
            reason = "Skipped"
        elif self._termination(index).get(markers.KEY_REASON) == markers.REASON_TIMEOUT:
            reason = "TimeoutExceeded"
        else:
            reason = "Error" if failed else "Completed"
        if wrote_out and status.lstrip("-").isdigit():
            code = int(status)  # the real code of a tolerated failure (onError: continue)
        elif failed and reason == "Error" and st.failure_exit_code is not None:
            code = st.failure_exit_code  # a failure let stand after its pause: the command's code
        self._finished(st, code, reason, failed)

    def _finished(self, st: StepState, code: int, reason: str, failed: bool) -> None:
        st.exit_code, st.reason, st.failed, st.paused = code, reason, failed, None
        st.state = "skipped" if reason == "Skipped" else "terminated"
        self._sink(StepFinished(StepRef(self.task_id, st.plan.index), code, reason))

    def _outcome(self) -> TaskOutcome:
        results = self.read_results(warn=True)
        if self._error is not None:
            return TaskOutcome(False, "Failed", self._error, results)
        if self._stop_reason is not None:
            return TaskOutcome(False, self._stop_reason, self._stop_message, results)
        for st in self.steps:
            if st.failed:
                name = st.plan.container
                if st.reason == "Skipped":
                    message = f'"{name}" was not run: fail-continue before the step'
                elif st.reason == "TimeoutExceeded":
                    message = f'"{name}" exited because the step exceeded the specified timeout limit'
                else:
                    message = f'"{name}" exited with code {st.exit_code}'
                return TaskOutcome(False, "Failed", message, results)
        return TaskOutcome(True, "Succeeded", "All Steps have completed executing", results)

    # ---- control -------------------------------------------------------------------------

    def stop(self, reason: str, message: str) -> None:
        """Cancel (reason "Cancelled") or time out ("TaskRunTimeout"): SIGTERM every supervisor
        (each kills its command's group and fails its step), SIGKILL what is left after a grace."""
        if self._stop_reason is not None or self._done.is_set():
            return
        self._stop_reason, self._stop_message = reason, message
        for st in self.steps:
            if st.proc is None or st.proc.returncode is None:
                st.stopped = True
            if st.proc is not None and st.proc.returncode is None:
                signal_process(st.proc.pid, signal.SIGTERM)
        self._kill_timer = asyncio.get_running_loop().call_later(KILL_GRACE, self.kill)

    def kill(self) -> None:
        """SIGKILL every supervisor still there, and what is left in the session of every
        stopped one (a SIGKILLed supervisor could not end its command's group). A session id
        stays allocated while any process of the session lives, so this never hits a stranger."""
        for st in self.steps:
            if st.proc is not None and (st.stopped or st.proc.returncode is None):
                if st.proc.returncode is None:
                    signal_process(st.proc.pid, signal.SIGKILL)
                kill_session(st.proc.pid)

    async def wait(self) -> None:
        await self._done.wait()

    def step(self, index: int) -> StepState:
        if not 0 <= index < len(self.steps):
            raise EngineError(f"{self.task_id} has no step {index}")
        return self.steps[index]

    def debug_python(self, index: int, port: int, debugpy_path: str) -> bool:
        """Make a Python script step, paused before, wait for a debugpy client on `port` and stop
        at its first line once attached (stepIn). False when the step is not a Python script."""
        st = self.step(index)
        plan = st.plan
        if st.paused is not PauseKind.BEFORE or plan.script is None or not plan.command:
            return False
        first, _, rest = plan.script.partition("\n")
        if not (first.startswith("#!") and "python" in first):
            return False
        bootstrap = (
            f"import sys as _pdap_sys; _pdap_sys.path.append({debugpy_path!r}); import debugpy as _pdap_debugpy; "
            f"_pdap_debugpy.listen(('127.0.0.1', {port})); _pdap_debugpy.wait_for_client(); "
            "_pdap_debugpy.breakpoint()  # pipeline-dap: stepIn\n"
        )
        try:
            with open(plan.command[0], "w") as f:
                f.write(f"{first}\n{bootstrap}{rest}")
        except OSError as exc:
            raise EngineError(f"cannot prepare step {plan.name!r} for debugpy: {exc}") from exc
        return True

    def skip_after(self, index: int) -> None:
        """Release step `index`'s after-step pause before it is taken (the marker, ahead)."""
        st = self.step(index)
        if st.paused is not None:
            return
        try:
            markers.apply_writes(self.tekton, markers.marker_writes(PauseKind.AFTER, Resume.CONTINUE, index))
        except OSError as exc:
            raise EngineError(f"cannot release {self.task_id} ahead: {exc}") from exc

    def resume(self, index: int, kind: PauseKind, action: Resume) -> None:
        st = self.step(index)
        if st.paused is not kind:
            raise EngineError(f'step "{st.plan.name}" of {self.task_id} is not paused {kind.value}')
        if kind is PauseKind.FAILURE and action is Resume.FAIL_CONTINUE and st.plan.on_error == "continue":
            writes = markers.continue_on_error_writes(index, st.failure_exit_code or 1)
        else:
            writes = markers.marker_writes(kind, action, index)
        try:
            markers.apply_writes(self.tekton, writes)
        except OSError as exc:
            raise EngineError(f"cannot resume {self.task_id}: {exc}") from exc
        st.paused = None
        if kind is PauseKind.BEFORE and action is Resume.CONTINUE:
            self._set_running(st)
        elif kind is PauseKind.BEFORE:
            st.user_skipped = True
            st.state = "waiting"
        else:
            st.state = "running"

    # ---- inspection ----------------------------------------------------------------------

    def read_results(self, warn: bool = False) -> dict[str, Value]:
        """The declared results written so far (trimmed to Tekton's 4096 bytes; array and
        object results parsed from their JSON)."""
        out: dict[str, Value] = {}
        for name, kind in self.result_types.items():
            text = read_text(os.path.join(self.tekton, "results", name), MAX_RESULT_BYTES)
            if text is None:
                continue
            if len(text.encode()) > MAX_RESULT_BYTES:
                text = text.encode()[:MAX_RESULT_BYTES].decode(errors="ignore")
                if warn:
                    self._emit_output(
                        None, "console", f'warning: result "{name}" trimmed to {MAX_RESULT_BYTES} bytes\n'
                    )
            out[name] = _typed_result(text, kind)
        return out

    def view(self, index: int) -> StepView:
        st = self.step(index)
        plan = st.plan
        return StepView(
            task_id=self.task_id,
            step_index=index,
            name=plan.name,
            image=plan.image,
            command=[] if plan.script is not None else list(plan.command),
            args=list(plan.args),
            script=plan.script,
            working_dir=plan.working_dir,
            env=dict(plan.env),
            params={
                k: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v)
                for k, v in self.params.items()
            },
            results={k: v if isinstance(v, str) else json.dumps(v) for k, v in self.read_results().items()},
            workspaces={k: v or "" for k, v in self.workspaces.items()},
            state=st.state,
            exit_code=st.exit_code,
            started_at=rfc3339(st.started_at) if st.started_at is not None else None,
            finished_at=rfc3339(st.finished_at) if st.finished_at is not None else None,
            pod=self.pod,
            container=plan.container,
            extra={"folder": self.request.folder, "runDir": self._path(markers.step_run_dir(index))},
        )

    def set_result(self, name: str, value: str) -> None:
        if name not in self.result_types:
            declared = ", ".join(self.result_types) or "none"
            raise EngineError(f'{self.task_id} declares no result "{name}" (declared: {declared})')
        try:
            markers.write_file_atomic(os.path.join(self.tekton, "results", name), value)
        except OSError as exc:
            raise EngineError(f'cannot write result "{name}": {exc}') from exc

    async def exec(self, index: int, argv: list[str]) -> ExecResult:
        """Run argv as the step would run: its env and working dir; output merged."""
        plan = self.step(index).plan
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                cwd=plan.working_dir,
                env=self.process_env(index),
                start_new_session=True,
            )
        except OSError as exc:
            raise EngineError(f"cannot run {argv[0] if argv else '(nothing)'}: {exc}") from exc
        output = bytearray()

        async def read() -> None:
            assert proc.stdout is not None
            while chunk := await proc.stdout.read(65536):
                output.extend(chunk)

        reader = asyncio.ensure_future(read())
        try:
            await drain(proc, {reader})  # not communicate(): a background job would hold the pipe
        finally:
            reader.cancel()
            if proc.returncode is None:
                kill_session(proc.pid)
        code = proc.returncode if proc.returncode is not None else -signal.SIGKILL
        return ExecResult(128 - code if code < 0 else code, output.decode(errors="replace"))

    def shell(self, index: int) -> tuple[list[str], str, dict[str, str]]:
        plan = self.step(index).plan
        return [os.environ.get("SHELL") or "/bin/sh"], plan.working_dir, self.process_env(index)


def _typed_result(text: str, kind: str) -> Value:
    if kind not in ("array", "object"):
        return text
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if kind == "array" and isinstance(value, list):
        return [scalar_text(v) for v in value]
    if kind == "object" and isinstance(value, dict):
        return {str(k): scalar_text(v) for k, v in value.items()}
    return text


def _source(var: Mapping[str, Any]) -> str:
    """`Secret "s" key "k"` / `ConfigMap "c"` / a field, for warnings."""
    source = as_dict(var.get("valueFrom")) or var
    for key, label in (
        ("secretKeyRef", "Secret"),
        ("configMapKeyRef", "ConfigMap"),
        ("secretRef", "Secret"),
        ("configMapRef", "ConfigMap"),
    ):
        ref = as_dict(source.get(key))
        if ref:
            described = f'{label} "{ref.get("name", "")}"'
            return described + (f' key "{ref["key"]}"' if "key" in ref else "")
    field_ref = as_dict(source.get("fieldRef")) or as_dict(source.get("resourceFieldRef"))
    return f'field "{field_ref.get("fieldPath") or field_ref.get("resource") or "?"}"'
