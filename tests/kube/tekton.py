"""Tekton's controller and a kubelet, on the test API (engine-protocols.md PART A).

What a cluster with Tekton (alpha API fields) does for a TaskRun, reproduced from A1-A6:

- admission: `spec.debug` needs `enable-api-fields: alpha` in ConfigMap `feature-flags`
  (namespace `tekton-pipelines`); `breakpoints` needs `onFailure: enabled`; `beforeSteps`
  unique. The webhook's own error texts.
- the controller: resolves the Task (`taskSpec`, or `taskRef` to a Task in the namespace),
  substitutes params and `$(results.x.path)`, creates pod `<tr>-pod` (labels
  `tekton.dev/taskRun`, `tekton.dev/taskRunUID`, `app.kubernetes.io/managed-by`), one container
  `step-<name>` per step whose command is `/tekton/bin/entrypoint` with Tekton's flags
  (A2), and keeps `status` (podName, startTime, steps[], conditions Running ->
  Succeeded/Failed, results) in step with the pod; `spec.status: TaskRunCancelled` and
  `spec.timeout` end the run and delete the pod.
- the kubelet: every step container starts with the pod, all at once, as a real host process:
  the project's Tekton entrypoint (`python -m dap_server.engines.local.supervisor`) with the
  container's flags. A per-pod folder stands for the pod's volumes: `/tekton/...` and
  `/workspace` paths are mapped into it (flags, script text, env, exec argv); `/tekton/termination`
  is per container. The process's stdout and stderr, merged, are the container log. Exec runs
  argv as a host process in the container's environment; Tekton's debug scripts
  (`/tekton/debug/scripts/debug-*`, A3) are recognised and write exactly the script's markers for
  the container's own step index.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from dap_server.engines import markers
from dap_server.engines.base import PauseKind, Resume
from dap_server.engines.local.supervisor import PARENT_PID_ENV, UsageError, command_line, parse_duration
from dap_server.sources.tekton_vars import Value, scalar_text, substitute, substitute_args
from tests.kube.kubeapi import ApiError, KubeAPI, Obj

FLAGS_NAMESPACE = "tekton-pipelines"
FLAGS_NAME = "feature-flags"
MANAGED_BY = "app.kubernetes.io/managed-by"
TASKRUN_LABEL = "tekton.dev/taskRun"
DEBUG_SCRIPTS = {
    "debug-continue": (PauseKind.FAILURE, Resume.CONTINUE),
    "debug-fail-continue": (PauseKind.FAILURE, Resume.FAIL_CONTINUE),
    "debug-beforestep-continue": (PauseKind.BEFORE, Resume.CONTINUE),
    "debug-beforestep-fail-continue": (PauseKind.BEFORE, Resume.FAIL_CONTINUE),
}


async def spawn_supervisor(
    flags: list[str], command: list[str], cwd: str, env: dict[str, str]
) -> asyncio.subprocess.Process:
    """A step container's process: the entrypoint in its own session, dying with us."""
    return await asyncio.create_subprocess_exec(
        *command_line(flags, command),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=cwd,
        env={**env, PARENT_PID_ENV: str(os.getpid())},
        start_new_session=True,
        limit=1 << 20,
    )


async def lines(stream: asyncio.StreamReader | None) -> AsyncIterator[bytes]:
    if stream is None:
        return
    while True:
        try:
            yield await stream.readuntil(b"\n")
        except asyncio.IncompleteReadError as end:
            if end.partial:
                yield end.partial + b"\n"
            return
        except asyncio.LimitOverrunError as long:
            yield await stream.readexactly(long.consumed)


def signal_process(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)


def kill_session(sid: int) -> None:
    """SIGKILL the process group of a step (its session leader's pid): what a container's end kills."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(sid, signal.SIGKILL)


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def step_container(name: str, index: int) -> str:
    """`step-<name>` (`step-unnamed-<i>`), at most 63 characters, no trailing non-alphanumerics."""
    text = f"step-{name or f'unnamed-{index}'}"[:63]
    return text.rstrip("-_.")


@dataclass
class Container:
    index: int
    name: str  # step-<name>
    step: str  # raw step name
    env: dict[str, str]
    cwd: str
    proc: asyncio.subprocess.Process | None = None
    exit_code: int | None = None
    started: str = ""
    finished: str = ""


@dataclass
class PodRun:
    namespace: str
    taskrun: str
    pod: str
    folder: str  # stands for the pod's volumes
    containers: list[Container] = field(default_factory=list)
    on_error: dict[int, str] = field(default_factory=dict)
    ended: str | None = None  # reason the run was ended (cancel, timeout)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    timer: asyncio.TimerHandle | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def host(self, path: str, index: int | None = None) -> str:
        """A container path -> the pod folder (the volumes' stand-in)."""
        if index is not None and path == "/tekton/termination":
            return os.path.join(self.folder, "tekton", f"termination-{index}")
        for prefix, sub in (("/tekton", "tekton"), ("/workspace", "workspace")):
            if path == prefix or path.startswith(prefix + "/"):
                return os.path.join(self.folder, sub) + path[len(prefix) :]
        return path

    def host_text(self, text: str) -> str:
        return text.replace("/tekton/", os.path.join(self.folder, "tekton") + "/").replace(
            "/workspace", os.path.join(self.folder, "workspace")
        )


class Tekton:
    """The controller and kubelet of one test API. `close()` ends every process."""

    def __init__(self, api: KubeAPI, root: str) -> None:
        self.api = api
        self.root = root
        self.runs: dict[tuple[str, str], PodRun] = {}
        api.validators["taskruns"] = self.validate
        api.on_write("taskruns", self.on_taskrun)
        api.exec_handler = self.exec

    async def install(self, api_fields: str = "alpha") -> None:
        """Tekton's namespace objects: ConfigMap feature-flags with `enable-api-fields`."""
        await self.api.put(
            "configmaps",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": FLAGS_NAME, "namespace": FLAGS_NAMESPACE},
                "data": {"enable-api-fields": api_fields, "keep-pod-on-cancel": "false"},
            },
        )

    def api_fields(self) -> str:
        flags = self.api.get("configmaps", FLAGS_NAMESPACE, FLAGS_NAME) or {}
        return str((flags.get("data") or {}).get("enable-api-fields", "beta"))

    # ---- admission ----------------------------------------------------------------------------

    async def validate(self, taskrun: Obj) -> None:
        debug = (taskrun.get("spec") or {}).get("debug")
        problems: list[str] = []
        if debug is not None:
            fields = self.api_fields()
            if fields != "alpha":
                problems.append(f'debug requires "enable-api-fields" feature gate to be "alpha" but it is "{fields}"')
            breakpoints = debug.get("breakpoints")
            if breakpoints is not None:
                on_failure = breakpoints.get("onFailure", "")
                if on_failure == "":
                    problems.append("onFailure breakpoint is empty, it is only allowed to be set as enabled")
                elif on_failure != "enabled":
                    problems.append(f"{on_failure} is not a valid onFailure breakpoint value, ...")
                seen: set[str] = set()
                for i, name in enumerate(breakpoints.get("beforeSteps") or []):
                    if name in seen:
                        problems.append(
                            f"before step must be unique, the same step: {name} is defined multiple times at: "
                            f"spec.debug.breakpoints.beforeSteps[{i}]"
                        )
                    seen.add(name)
        if problems:
            raise ApiError(
                400,
                "BadRequest",
                'admission webhook "validation.webhook.pipeline.tekton.dev" denied the request: '
                "validation failed: " + "; ".join(problems),
            )

    # ---- controller --------------------------------------------------------------------------

    async def on_taskrun(self, kind: str, obj: Obj, old: Obj | None) -> None:
        meta = obj["metadata"]
        key = (meta["namespace"], meta["name"])
        if kind == "ADDED" and key not in self.runs:
            task = asyncio.ensure_future(self._start(obj))
            task.add_done_callback(_log_failure)
        elif kind == "MODIFIED" and (obj.get("spec") or {}).get("status") == "TaskRunCancelled":
            run = self.runs.get(key)
            if run is not None and run.ended is None and not run.done.is_set():
                await self.end(run, "TaskRunCancelled", f'TaskRun "{meta["name"]}" was cancelled')

    def _task_spec(self, taskrun: Obj) -> Obj:
        spec = taskrun.get("spec") or {}
        if "taskSpec" in spec:
            return dict(spec["taskSpec"])
        ref = (spec.get("taskRef") or {}).get("name")
        task = self.api.get("tasks", taskrun["metadata"]["namespace"], str(ref)) if ref else None
        if task is None:
            raise ApiError(404, "NotFound", f'Task "{ref}" not found')
        return dict(task.get("spec") or {})

    async def _fail(self, taskrun: Obj, reason: str, message: str) -> None:
        meta = taskrun["metadata"]
        condition = {"type": "Succeeded", "status": "False", "reason": reason, "message": message}
        await self.api.patch_object(
            "taskruns",
            meta["namespace"],
            meta["name"],
            {"status": {"conditions": [condition], "completionTime": now()}},
        )

    async def _start(self, taskrun: Obj) -> None:
        meta = taskrun["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        try:
            spec = self._task_spec(taskrun)
        except ApiError as exc:
            await self._fail(taskrun, "TaskRunResolutionFailed", exc.message)
            return
        run_spec = taskrun.get("spec") or {}
        debug = run_spec.get("debug") if self.api_fields() == "alpha" else None  # the runtime gate (A1)
        breakpoints = (debug or {}).get("breakpoints") or {}
        on_failure = breakpoints.get("onFailure") == "enabled"
        before = set(breakpoints.get("beforeSteps") or [])
        pod_name = f"{name}-pod"
        run = PodRun(namespace, name, pod_name, os.path.join(self.root, namespace, pod_name))
        self.runs[(namespace, name)] = run
        for sub in ("tekton/results", "tekton/scripts", "tekton/bin", "workspace", "tekton/home"):
            os.makedirs(os.path.join(run.folder, sub), exist_ok=True)
        values: dict[str, Value] = {}
        given = {str(p.get("name")): p.get("value") for p in run_spec.get("params") or []}
        for decl in spec.get("params") or []:
            pname = str(decl.get("name"))
            value = given.get(pname, decl.get("default", ""))
            values[f"params.{pname}"] = value if isinstance(value, list | dict) else scalar_text(value)
        for result in spec.get("results") or []:
            values[f"results.{result['name']}.path"] = f"/tekton/results/{result['name']}"
        values.update({"context.taskRun.name": name, "context.taskRun.namespace": namespace})
        values["context.task.name"] = str(meta.get("labels", {}).get("tekton.dev/task", name))
        for ws in spec.get("workspaces") or []:
            path = ws.get("mountPath") or f"/workspace/{ws['name']}"
            values[f"workspaces.{ws['name']}.path"] = path
            os.makedirs(run.host(path), exist_ok=True)
        containers: list[Obj] = []
        scripts: dict[int, str] = {}
        steps = list(spec.get("steps") or [])
        for i, step in enumerate(steps):
            sname = str(step.get("name") or "")
            cname = step_container(sname, i)
            args = ["-post_file", f"/tekton/run/{i}/out", "-termination_path", "/tekton/termination"]
            args += ["-step_metadata_dir", f"/tekton/run/{i}/status"]
            if i > 0:
                args = ["-wait_file", f"/tekton/run/{i - 1}/out", *args]
            if step.get("onError"):
                args += ["-on_error", str(step["onError"])]
                run.on_error[i] = str(step["onError"])
            if step.get("timeout"):
                args += ["-timeout", str(step["timeout"])]
            if on_failure:
                args.append("-breakpoint_on_failure")
            if sname and sname in before:
                args.append("-debug_before_step")
            if step.get("script") is not None:
                script, _ = substitute(scalar_text(step["script"]), values)
                path = f"/tekton/scripts/script-{i}-{name[-5:]}"
                scripts[i] = script
                command = [path]
            else:
                command, _ = substitute_args([scalar_text(c) for c in step.get("command") or []], values)
                more, _ = substitute_args([scalar_text(c) for c in step.get("args") or []], values)
                command += more
            args += ["-entrypoint", command[0], "--", *command[1:]] if command else ["--"]
            env = []
            for var in step.get("env") or []:
                if "value" in var:
                    env.append({"name": var["name"], "value": substitute(scalar_text(var["value"]), values)[0]})
                else:
                    env.append(var)
            container: Obj = {
                "name": cname,
                "image": step.get("image", ""),
                "command": ["/tekton/bin/entrypoint"],
                "args": args,
                "env": env,
                "workingDir": step.get("workingDir") or "/workspace",
                "terminationMessagePath": "/tekton/termination",
            }
            containers.append(container)
            run.containers.append(Container(i, cname, sname, {}, run.host(container["workingDir"])))
        labels = {
            **(meta.get("labels") or {}),
            TASKRUN_LABEL: name,
            "tekton.dev/taskRunUID": meta.get("uid", ""),
            MANAGED_BY: "tekton-pipelines",
        }
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": pod_name, "namespace": namespace, "labels": labels},
            "spec": {"containers": containers, "nodeName": "test-node", "restartPolicy": "Never"},
            "status": {"phase": "Pending"},
        }
        pod = await self.api.put("pods", pod)
        started = now()
        await self.api.patch_object(
            "taskruns",
            namespace,
            name,
            {
                "status": {
                    "podName": pod_name,
                    "startTime": started,
                    "conditions": [
                        {
                            "type": "Succeeded",
                            "status": "Unknown",
                            "reason": "Running",
                            "message": "Not all Steps in the Task have finished executing",
                        }
                    ],
                    "steps": [{"name": c.step or f"unnamed-{c.index}", "container": c.name} for c in run.containers],
                }
            },
        )
        timeout = run_spec.get("timeout")
        if timeout:
            try:
                seconds = parse_duration(str(timeout))
            except UsageError:
                seconds = 0
            if seconds > 0:
                message = f'TaskRun "{name}" failed to finish within "{timeout}"'
                run.timer = asyncio.get_running_loop().call_later(
                    seconds, lambda: asyncio.ensure_future(self.end(run, "TaskRunTimeout", message))
                )
        await self._kubelet(run, pod, scripts)

    # ---- kubelet ------------------------------------------------------------------------------

    def _env(self, run: PodRun, pod: Obj, container: Obj) -> dict[str, str]:
        base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": run.host("/tekton/home")}
        return self.api.container_env(pod, container, base, lambda value: run.host_text(str(value)))

    async def _kubelet(self, run: PodRun, pod: Obj, scripts: dict[int, str]) -> None:
        statuses = []
        for spec, ctr in zip(pod["spec"]["containers"], run.containers, strict=True):
            ctr.env = self._env(run, pod, spec)
            if ctr.index in scripts:
                body = scripts[ctr.index]
                body = body if body.startswith("#!") else "#!/bin/sh\nset -e\n" + body
                path = run.host(spec["args"][spec["args"].index("-entrypoint") + 1])
                with open(path, "w") as f:
                    f.write(run.host_text(body))
                os.chmod(path, 0o755)
            args = list(spec["args"])
            split = args.index("--")
            flags = [run.host(a, ctr.index) if a.startswith("/") else a for a in args[:split]]
            entry = ""
            if "-entrypoint" in flags:
                at = flags.index("-entrypoint")
                entry = flags[at + 1]
                del flags[at : at + 2]
            command = ([entry] if entry else []) + [run.host_text(a) for a in args[split + 1 :]]
            os.makedirs(run.host(f"/tekton/run/{ctr.index}/status"), exist_ok=True)
            os.makedirs(ctr.cwd, exist_ok=True)
            ctr.proc = await spawn_supervisor(flags, command, ctr.cwd, ctr.env)
            ctr.started = now()
            self.api.log_buffer(run.namespace, run.pod, ctr.name)  # the log exists once it runs
            statuses.append(self._status(ctr))
        await self.api.patch_object(
            "pods",
            run.namespace,
            run.pod,
            {"status": {"phase": "Running", "startTime": now(), "containerStatuses": statuses}},
        )
        for ctr in run.containers:
            task = asyncio.ensure_future(self._follow(run, ctr))
            run.tasks.append(task)
        await asyncio.gather(*run.tasks, return_exceptions=True)
        await self._finish(run)

    def _status(self, ctr: Container, message: str = "") -> Obj:
        state: Obj
        if ctr.exit_code is None:
            state = {"running": {"startedAt": ctr.started}}
        else:
            state = {
                "terminated": {
                    "exitCode": ctr.exit_code,
                    "reason": "Completed" if ctr.exit_code == 0 else "Error",
                    "message": message,
                    "startedAt": ctr.started,
                    "finishedAt": ctr.finished,
                    "containerID": f"containerd://{ctr.name}",
                }
            }
        return {
            "name": ctr.name,
            "image": "test",
            "imageID": f"test.io/{ctr.name}@sha256:{'0' * 64}",
            "ready": ctr.exit_code is None,
            "restartCount": 0,
            "started": ctr.exit_code is None,
            "state": state,
        }

    async def _follow(self, run: PodRun, ctr: Container) -> None:
        proc = ctr.proc
        assert proc is not None

        async def pump(stream: asyncio.StreamReader | None) -> None:
            async for line in lines(stream):
                self.api.append_log(run.namespace, run.pod, ctr.name, line)

        pumps = [asyncio.ensure_future(pump(proc.stdout)), asyncio.ensure_future(pump(proc.stderr))]
        try:
            await asyncio.wait(pumps)  # both pipes closed: the entrypoint and its command are gone
            await proc.wait()
        finally:
            for p in pumps:
                p.cancel()
        ctr.exit_code = proc.returncode if proc.returncode is not None and proc.returncode >= 0 else 137
        ctr.finished = now()
        try:
            with open(run.host("/tekton/termination", ctr.index)) as f:
                message = f.read()
        except OSError:
            message = ""
        self.api.end_log(run.namespace, run.pod, ctr.name)
        pod = self.api.get("pods", run.namespace, run.pod)
        if pod is None:
            return
        statuses = [s for s in pod["status"].get("containerStatuses", []) if s["name"] != ctr.name]
        statuses.insert(ctr.index, self._status(ctr, message))
        await self.api.patch_object("pods", run.namespace, run.pod, {"status": {"containerStatuses": statuses}})
        await self._taskrun_steps(run)

    async def _taskrun_steps(self, run: PodRun) -> None:
        pod = self.api.get("pods", run.namespace, run.pod)
        if pod is None or self.api.get("taskruns", run.namespace, run.taskrun) is None:
            return
        by_name = {s["name"]: s for s in pod["status"].get("containerStatuses", [])}
        steps = []
        for ctr in run.containers:
            status = by_name.get(ctr.name, {})
            steps.append({"name": ctr.step or f"unnamed-{ctr.index}", "container": ctr.name, **status.get("state", {})})
        await self.api.patch_object("taskruns", run.namespace, run.taskrun, {"status": {"steps": steps}})

    async def _finish(self, run: PodRun) -> None:
        if run.timer is not None:
            run.timer.cancel()
        if run.ended is None and self.api.get("taskruns", run.namespace, run.taskrun) is not None:
            failed = next(
                (c for c in run.containers if c.exit_code not in (0, None) and run.on_error.get(c.index) != "continue"),
                None,
            )
            results = []
            results_dir = run.host("/tekton/results")
            for result in sorted(os.listdir(results_dir)):
                with open(os.path.join(results_dir, result)) as f:
                    results.append({"name": result, "type": "string", "value": f.read()})
            if failed is None:
                condition = {
                    "type": "Succeeded",
                    "status": "True",
                    "reason": "Succeeded",
                    "message": "All Steps have completed executing",
                }
            else:
                condition = {
                    "type": "Succeeded",
                    "status": "False",
                    "reason": "Failed",
                    "message": f'"{failed.name}" exited with code {failed.exit_code}',
                }
            pod = self.api.get("pods", run.namespace, run.pod)
            if pod is not None:
                phase = "Succeeded" if failed is None else "Failed"
                await self.api.patch_object("pods", run.namespace, run.pod, {"status": {"phase": phase}})
            await self.api.patch_object(
                "taskruns",
                run.namespace,
                run.taskrun,
                {"status": {"conditions": [condition], "completionTime": now(), "results": results}},
            )
        run.done.set()

    async def end(self, run: PodRun, reason: str, message: str) -> None:
        """Cancel / timeout (A5): the TaskRun fails with `reason`, running steps are
        terminated, the pod is deleted (keep-pod-on-cancel is off)."""
        if run.ended is not None:
            return
        run.ended = reason
        for ctr in run.containers:
            if ctr.proc is not None and ctr.proc.returncode is None:
                signal_process(ctr.proc.pid, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*run.tasks, return_exceptions=True), 5)
        self.kill(run)
        condition = {"type": "Succeeded", "status": "False", "reason": reason, "message": message}
        with contextlib.suppress(ApiError):
            await self.api.patch_object(
                "taskruns", run.namespace, run.taskrun, {"status": {"conditions": [condition], "completionTime": now()}}
            )
        with contextlib.suppress(ApiError):
            await self.api.delete_object("pods", run.namespace, run.pod)

    def kill(self, run: PodRun) -> None:
        for ctr in run.containers:
            if ctr.proc is not None:
                if ctr.proc.returncode is None:
                    signal_process(ctr.proc.pid, signal.SIGKILL)
                kill_session(ctr.proc.pid)
            self.api.end_log(run.namespace, run.pod, ctr.name)

    def processes(self) -> list[int]:
        """Pids of step processes still alive (for "cancel leaves no process")."""
        return [
            c.proc.pid
            for r in self.runs.values()
            for c in r.containers
            if c.proc is not None and c.proc.returncode is None
        ]

    async def close(self) -> None:
        for run in self.runs.values():
            if run.timer is not None:
                run.timer.cancel()
            self.kill(run)
            for task in run.tasks:
                task.cancel()
        for run in self.runs.values():
            await asyncio.gather(*run.tasks, return_exceptions=True)
        shutil.rmtree(os.path.join(self.root), ignore_errors=True)

    # ---- exec ---------------------------------------------------------------------------------

    async def exec(self, namespace: str, pod: str, container: str, argv: list[str]) -> tuple[int, bytes, bytes]:
        run = next((r for r in self.runs.values() if r.namespace == namespace and r.pod == pod), None)
        if run is None:
            raise ApiError(404, "NotFound", f'pods "{pod}" not found')
        ctr = next((c for c in run.containers if c.name == container), None)
        if ctr is None:
            raise ApiError(400, "BadRequest", f"container {container} is not valid for pod {pod}")
        if ctr.proc is None or ctr.proc.returncode is not None:
            raise ApiError(400, "BadRequest", "cannot exec in a stopped container")
        script = DEBUG_SCRIPTS.get(argv[0].removeprefix(markers.DEBUG_SCRIPTS_DIR + "/"))
        if argv[0].startswith(markers.DEBUG_SCRIPTS_DIR + "/") and script is not None:
            markers.apply_writes(os.path.join(run.folder, "tekton"), markers.marker_writes(*script, ctr.index))
            return 0, f"Executing step {ctr.index}...\n".encode(), b""
        host_argv = [run.host(a, ctr.index) if a.startswith("/") else a for a in argv]
        try:
            proc = await asyncio.create_subprocess_exec(
                *host_argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=ctr.cwd,
                env=ctr.env,
            )
        except OSError as exc:
            return 126, b"", f"OCI runtime exec failed: {exc}\n".encode()
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        return proc.returncode or 0, out, err


def _log_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        import traceback

        traceback.print_exception(task.exception())


def decode_termination(message: str) -> dict[str, str]:
    try:
        entries = json.loads(message) if message else []
    except ValueError:
        return {}
    return {str(e.get("key")): str(e.get("value")) for e in entries if isinstance(e, dict)}
