"""The Tekton engine: runs a Task or TaskRun document as a TaskRun on a cluster.

- Before anything is created, ConfigMap `feature-flags` (namespace `tekton-pipelines`) must say
  `enable-api-fields: alpha`: Tekton rejects spec.debug otherwise (engine-protocols.md A1).
- The TaskRun embeds the document's Task (the file being debugged is the truth, not a Task of the
  same name on the cluster), with `translate.debug_spec`: onFailure enabled and a before-step pause
  on every named step. The session releases the pauses nobody asked for. Its `timeout` is the
  launch's `timeout` (seconds) when given, else `0s`: pauses count toward a TaskRun's timeout (A5).
- State comes from two watches (the TaskRun by name, its pod by label `tekton.dev/taskRun`);
  pauses from each step container's followed log (the entrypoint's exact lines, A2) -- nothing
  is polled. Per paused-and-resumed step the engine makes two requests: the log follow and
  the exec that resumes it.
- A pause is released by exec into the paused step's own container, argv only: a fixed `sh`
  program writes the files `markers.marker_writes` lists (what Tekton's debug scripts write),
  each atomically, the paths and contents passed as arguments.
- Tekton's forced onFailure (A2 "Waiter semantics"): a before-step pause of a step whose previous
  step failed is released at once with fail-continue, so the step is skipped as without debug.
- `cancel` patches `spec.status: TaskRunCancelled` (Tekton then deletes the pod, paused steps
  included); if the run does not end in time the engine deletes the pod itself.
- Pipelines and PipelineRuns are refused: Tekton does not pass spec.debug to child TaskRuns.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
from dataclasses import dataclass, field
from typing import Any

import yaml

from dap_server.engines import markers, podenv
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
from dap_server.engines.kube import Kube, Stream, api_message
from dap_server.engines.options import RunOptions
from dap_server.sources.model import Document, TaskSpec
from dap_server.translate import StepPlan, debug_spec

log = logging.getLogger(__name__)

GROUP, VERSION, PLURAL = "tekton.dev", "v1", "taskruns"
FLAGS_NAMESPACE, FLAGS_NAME = "tekton-pipelines", "feature-flags"
TASKRUN_LABEL = "tekton.dev/taskRun"
MANAGED_BY = {"app.kubernetes.io/managed-by": "pipeline-dap"}
CANCELLED_STATUS = "TaskRunCancelled"
END_WAIT = 30.0  # seconds the TaskRun's final condition may lag behind its pod
CANCEL_WAIT = 15.0  # seconds a cancelled run gets before the engine deletes the pod itself
# Writes (path, content) pairs in order, each through a temporary file renamed over the name,
# so a waiting entrypoint never reads a half-written marker. Paths and contents are arguments.
WRITER = (
    'while [ "$#" -ge 2 ]; do printf "%s" "$2" > "$1.pipeline-dap" && mv -f "$1.pipeline-dap" "$1" || exit 1; '
    "shift 2; done"
)


SHELL_NOISE = ("_", "SHLVL")  # set by the exec's own shell, not the step's environment


HISTORY_END = ""  # attach: ends a step's log read so far in its line queue (a log line has its newline)


def step_container(name: str, index: int) -> str:
    """`step-<name>` (`step-unnamed-<i>`), 63 characters at most (pkg/pod/entrypoint.go StepName)."""
    text = f"step-{name or f'unnamed-{index}'}"[:63]
    while text and not text[-1].isalnum():
        text = text[:-1]
    return text


def writer_argv(writes: list[tuple[str, str]]) -> list[str]:
    """The exec argv that performs `writes` (paths relative to /tekton) in the container."""
    argv = ["sh", "-c", WRITER, "pipeline-dap"]
    for rel, content in writes:
        argv += [f"/tekton/{rel}", content]
    return argv


def live_argv(results: list[str]) -> list[str]:
    """The exec argv of the live read (podenv.LIVE_READER) for the declared result names."""
    return podenv.live_argv([(name, f"/tekton/results/{name}") for name in results])


@dataclass
class StepTrack:
    index: int
    name: str  # raw step name ("" when unnamed)
    label: str
    container: str
    before_pause: bool  # has -debug_before_step
    on_error: str
    lines: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    log: Stream | None = None
    log_ended: bool = False
    terminated: dict[str, Any] | None = None
    terminated_seen: asyncio.Event = field(default_factory=asyncio.Event)
    ended: threading.Event = field(default_factory=threading.Event)  # the same, for the log's thread
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    paused: PauseKind | None = None
    state: str = "waiting"
    exit_code: int | None = None
    reason: str | None = None
    failed: bool = False
    engine_skipped: bool = False
    user_skipped: bool = False
    running_told: bool = False  # StepRunning emitted (once, before any later pause of the step)
    log_started: bool = False  # attach: the log's replay (then follow) has begun
    run_released: bool = False  # its before-pause was released to run (the exec may not have returned yet)


class TektonEngine(Engine):
    after_pauses = False  # Tekton has before-step and on-failure breakpoints only (A1)

    def __init__(self, document: Document, options: RunOptions) -> None:
        if document.kind in ("Pipeline", "PipelineRun"):
            raise EngineError(
                f"{document.key} ({document.path}:{document.span.line}): the tekton engine runs Tasks and "
                "TaskRuns only: Tekton does not pass spec.debug from a PipelineRun to its TaskRuns "
                '(tektoncd/pipeline#5184). Debug the pipeline with "engine": "local", or one of its Tasks here.'
            )
        if document.kind not in ("Task", "TaskRun"):
            raise EngineError(f"{document.key}: the tekton engine runs Tekton Tasks and TaskRuns, not {document.kind}")
        if document.task is None:
            raise EngineError(f"{document.key}: its Task is not resolved ({document.path})")
        self._doc = document
        self._prepared = False
        self._task: TaskSpec = document.task
        self._options = options
        self._kube = Kube(options.kubeconfig, options.kube_context)
        self._sink: EventSink | None = None
        self.namespace = ""
        self.name: str | None = None  # the TaskRun's name once created
        self.pod_name: str | None = None
        self._taskrun: dict[str, Any] = {}
        self._pod: dict[str, Any] = {}
        self._configmaps: dict[str, dict[str, str]] = {}
        self._secret_keys: dict[str, set[str]] = {}  # envFrom Secrets: their key names (values never kept)
        self._done = asyncio.Event()  # the TaskRun has its final condition
        self._pod_gone = False
        self._steps: list[StepTrack] = []
        self._main: asyncio.Future[None] | None = None
        self._drivers: list[asyncio.Future[None]] = []
        self._stopping = False
        self._closed = False
        self._run_finished = False
        self._warnings: list[str] = []
        self._background: set[asyncio.Future[None]] = set()
        self._attach = options.attach  # the existing TaskRun to attach to (nothing is created)

    # ---- start -----------------------------------------------------------------------------

    async def prepare(self) -> None:
        """Connect and check the alpha gate: a launch on a cluster that cannot run it fails at once."""
        try:
            await self._kube.connect()
            self.namespace = self._options.namespace or self._doc_namespace() or self._kube.default_namespace
            if self._attach:
                await self._read_attached()
            else:
                await self._check_feature_flags()
        except BaseException:
            await self._kube.close()
            raise
        self._prepared = True

    async def start(self, sink: EventSink) -> None:
        if self._main is not None or self._closed:
            raise EngineError("this run was already started")
        self._sink = sink
        if self._attach:
            try:
                if not self._prepared:
                    await self.prepare()
            except BaseException:
                await self._kube.close()
                raise
            self._begin()
            return
        try:
            if not self._prepared:
                await self.prepare()
            body = self._taskrun_body()
            try:
                created = await self._kube.call(
                    "create TaskRun",
                    self._kube.custom.create_namespaced_custom_object,
                    GROUP,
                    VERSION,
                    self.namespace,
                    PLURAL,
                    body,
                )
            except EngineError:
                raise
            except Exception as exc:
                raise EngineError(
                    f"{self._doc.key} ({self._doc.path}): cannot create the TaskRun in namespace "
                    f'"{self.namespace}": {api_message(exc)}'
                ) from None
        except BaseException:
            await self._kube.close()
            raise
        self._taskrun = created
        self.name = str(created["metadata"]["name"])
        self._begin()

    def _begin(self) -> None:
        """The TaskRun exists (created, or attached to): announce it, watch it and its pod."""
        assert self.name is not None
        self._emit(
            TaskStarted(
                task_id=self.name,
                display_name=self._task.name,
                pipeline_task=None,
                instance=None,
                step_names=tuple(t.label for t in self._steps),
                run_name=self.name,
                steps=tuple(self._task.steps),
            )
        )
        for text in self._warnings:
            self._emit(Output(self.name, None, "console", text))
        kube = self._kube
        kube.watch(
            f"taskrun {self.name}",
            kube.custom.list_namespaced_custom_object,
            (GROUP, VERSION, self.namespace, PLURAL),
            {"field_selector": f"metadata.name={self.name}"},
            self._on_taskrun,
        )
        kube.watch(
            f"pods of {self.name}",
            kube.core.list_namespaced_pod,
            (self.namespace,),
            {"label_selector": f"{TASKRUN_LABEL}={self.name}"},
            self._on_pod,
        )
        self._drivers = [asyncio.ensure_future(self._drive(t)) for t in self._steps]
        self._main = asyncio.ensure_future(self._run())

    async def _read_attached(self) -> None:
        """Attach: read the TaskRun (nothing is created), check it still runs and that the
        document's steps are its steps, and take its steps and pauses from it."""
        assert self._attach
        obj = await read_taskrun(self._kube, self.namespace, self._attach)
        condition = _condition(obj)
        if condition.get("status") in ("True", "False"):
            raise EngineError(
                f'TaskRun "{self._attach}" in namespace "{self.namespace}" has already finished '
                f"({condition.get('reason')}: {condition.get('message', '')}): there is nothing to attach to"
            )
        task_data = taskrun_task_spec(obj)
        raw_steps = [s for s in task_data.get("steps") or [] if isinstance(s, dict)]
        theirs = [str(s.get("name") or "") for s in raw_steps]
        ours = [step.name for step in self._task.steps]
        if theirs != ours:
            raise EngineError(
                f"{self._doc.key} ({self._doc.path}:{self._doc.span.line}) does not describe TaskRun "
                f'"{self._attach}": its steps are {ours or "none"}, the TaskRun runs {theirs or "none"}. '
                'Give the file that defines this TaskRun\'s Task as "program", or leave "program" out to '
                "debug with the TaskRun as the cluster has it"
            )
        debug = (obj.get("spec") or {}).get("debug") or {}
        befores = set((debug.get("breakpoints") or {}).get("beforeSteps") or [])
        self._steps = self._step_tracks(raw_steps, befores)
        if not debug:
            self._warnings.append(
                f'TaskRun "{self._attach}" was created without spec.debug: Tekton will not pause it, so the '
                "debugger shows its steps, state and logs but cannot stop it (breakpoints will not be hit)\n"
            )
        self._taskrun = obj
        self.name = self._attach

    def _doc_namespace(self) -> str | None:
        if self._doc.kind != "TaskRun":
            return None
        namespace = (self._doc.data().get("metadata") or {}).get("namespace")
        return str(namespace) if namespace else None

    async def _check_feature_flags(self) -> None:
        try:
            flags = await self._kube.call(
                "read feature-flags", self._kube.core.read_namespaced_config_map, FLAGS_NAME, FLAGS_NAMESPACE
            )
        except EngineError:
            raise  # the cluster is not reachable: say that, not "is Tekton installed"
        except Exception as exc:
            raise EngineError(
                f"cannot read ConfigMap {FLAGS_NAME} in namespace {FLAGS_NAMESPACE} "
                f"(is Tekton Pipelines installed, and may this user read it?): {api_message(exc)}"
            ) from None
        value = str((flags.data or {}).get("enable-api-fields") or "beta")
        if value != "alpha":
            raise EngineError(
                f"{self._doc.key}: the tekton engine needs Tekton's alpha API fields (spec.debug), but ConfigMap "
                f'{FLAGS_NAME} in namespace {FLAGS_NAMESPACE} has enable-api-fields: "{value}". Enable them with: '
                f"kubectl patch configmap {FLAGS_NAME} -n {FLAGS_NAMESPACE} "
                """-p '{"data":{"enable-api-fields":"alpha"}}'"""
            )

    def _taskrun_body(self) -> dict[str, Any]:
        doc, task = self._doc, self._task
        data = doc.data()
        task_data = task.data()
        spec: dict[str, Any] = {}
        metadata = data.get("metadata") or {} if doc.kind == "TaskRun" else {}
        if doc.kind == "TaskRun":
            spec = {k: v for k, v in (data.get("spec") or {}).items() if k not in ("debug", "status", "taskRef")}
        spec["taskSpec"] = task_data
        params = {str(p.get("name")): p.get("value") for p in spec.get("params") or [] if isinstance(p, dict)}
        params.update(self._options.params)
        if params:
            spec["params"] = [{"name": k, "value": v} for k, v in params.items()]
        bound = {str(w.get("name")) for w in spec.get("workspaces") or [] if isinstance(w, dict)}
        for decl in task_data.get("workspaces") or []:
            name = str(decl.get("name", ""))
            if name not in bound and not decl.get("optional"):
                spec.setdefault("workspaces", []).append({"name": name, "emptyDir": {}})
                self._warnings.append(f'workspace "{name}" is not bound: the TaskRun gets an emptyDir\n')
        if self._options.timeout:
            spec["timeout"] = f"{int(self._options.timeout)}s"
        elif self._options.debug:
            spec["timeout"] = "0s"  # pauses count toward the timeout: no timeout while debugging
        befores: set[str] = set()
        if self._options.debug:
            debug, _ = debug_spec(task, StepPlan(), True)
            spec["debug"] = debug
            befores = set(debug["breakpoints"]["beforeSteps"])
        raw_steps = task_data.get("steps") or []
        self._steps = self._step_tracks(raw_steps, befores)
        labels = {**(metadata.get("labels") or {}), **MANAGED_BY}
        if doc.kind == "Task":
            labels["tekton.dev/task"] = task.name
        prefix = (metadata.get("name") or metadata.get("generateName") or task.name).rstrip("-")
        return {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "TaskRun",
            "metadata": {
                "generateName": f"{prefix[:40]}-debug-",
                "namespace": self.namespace,
                "labels": labels,
                "annotations": dict(metadata.get("annotations") or {}),
            },
            "spec": spec,
        }

    def _step_tracks(self, raw_steps: list[Any], befores: set[str]) -> list[StepTrack]:
        """One track per step of the Task; `befores`: the step names spec.debug pauses before."""
        tracks = []
        for step in self._task.steps:
            raw = raw_steps[step.index] if step.index < len(raw_steps) else {}
            tracks.append(
                StepTrack(
                    index=step.index,
                    name=step.name,
                    label=step.label,
                    container=step_container(step.name, step.index),
                    before_pause=bool(step.name) and step.name in befores,
                    on_error=str(raw.get("onError") or ""),
                )
            )
        return tracks

    def _emit(self, event: RunEvent) -> None:
        if self._sink is not None:
            self._sink(event)

    # ---- watches ----------------------------------------------------------------------------

    def _on_taskrun(self, kind: str, obj: dict[str, Any]) -> None:
        if kind == "DELETED":
            self._taskrun.setdefault("status", {})["conditions"] = [
                {"type": "Succeeded", "status": "False", "reason": "Deleted", "message": "the TaskRun was deleted"}
            ]
            self._done.set()
            return
        self._taskrun = obj
        if _condition(obj).get("status") in ("True", "False"):
            self._done.set()

    def _on_pod(self, kind: str, obj: dict[str, Any]) -> None:
        if kind == "DELETED":
            self._pod_gone = True
            for track in self._steps:
                track.terminated_seen.set()
                track.ended.set()
                if track.log is None:
                    track.lines.put_nowait(None)
                    track.log_ended = True
            return
        first = not self._pod
        self._pod = obj
        self.pod_name = str(obj["metadata"]["name"])
        if first:
            self._background.add(asyncio.ensure_future(self._read_configmaps(obj)))
        statuses = {s.get("name"): s for s in (obj.get("status") or {}).get("containerStatuses") or []}
        for track in self._steps:
            status = statuses.get(track.container)
            if status is None:
                continue
            state = status.get("state") or {}
            started = "running" in state or "terminated" in state
            if self._attach and started and not track.log_started and not track.log_ended:
                track.log_started = True
                self._background.add(asyncio.ensure_future(self._replay(track)))
            elif track.log is None and not track.log_ended and started and not self._attach:
                track.log = self._kube.follow_log(
                    self.namespace, self.pod_name, track.container, track.lines.put_nowait, ended=track.ended
                )
            if "terminated" in state and track.terminated is None:
                track.terminated = state["terminated"]
                track.terminated_seen.set()
                track.ended.set()

    async def _read_configmaps(self, pod: dict[str, Any]) -> None:
        """The ConfigMaps the step env refers to, read once (inspect shows their values)."""
        for name in podenv.configmap_names(pod):
            try:
                cm = await self._kube.call(
                    "read ConfigMap", self._kube.core.read_namespaced_config_map, name, self.namespace
                )
                self._configmaps[name] = dict(cm.data or {})
            except Exception as exc:
                log.info("ConfigMap %s: %s", name, exc)
        secrets = {
            str(source["secretRef"].get("name"))
            for container in pod.get("spec", {}).get("containers") or []
            for source in container.get("envFrom") or []
            if source.get("secretRef")
        }
        for name in sorted(secrets):  # only the key names: the live env masks those values
            try:
                secret = await self._kube.call(
                    "read Secret", self._kube.core.read_namespaced_secret, name, self.namespace
                )
                self._secret_keys[name] = set((secret.data or {}).keys())
            except Exception as exc:
                log.info("Secret %s: %s", name, exc)

    async def _replay(self, track: StepTrack) -> None:
        """Attach: the log so far (history: its pauses may be over), then HISTORY_END, then
        the log followed from there."""
        assert self.pod_name is not None
        skip = 0
        try:
            data = await self._kube.read_log(self.namespace, self.pod_name, track.container)
        except Exception as exc:
            log.info("log of %s: %s", track.container, exc)
            data = b""
        skip = data.rfind(b"\n") + 1  # whole lines only: a partial last line comes with the follow
        for raw in data[:skip].split(b"\n")[:-1]:
            track.lines.put_nowait(raw.decode(errors="replace") + "\n")
        track.lines.put_nowait(HISTORY_END)
        if self._pod_gone or self._stopping:
            track.lines.put_nowait(None)
            return
        track.log = self._kube.follow_log(
            self.namespace, self.pod_name, track.container, track.lines.put_nowait, skip, ended=track.ended
        )

    async def _still_paused(self, track: StepTrack, kind: PauseKind) -> bool:
        """Attach: whether a pause the log so far ends with is still in effect (its release
        markers absent); the container's own answer, by exec. Without one, the log's word."""
        if track.ended.is_set() or self._pod_gone:
            return False
        if kind is PauseKind.BEFORE:
            names = [markers.before_step_file(track.index), markers.before_step_file(track.index, fail=True)]
        else:
            names = [markers.breakpoint_exit_file(track.index)]
        argv = ["sh", "-c", 'for f; do [ -e "$f" ] && exit 3; done; exit 0', "pipeline-dap"]
        try:
            code, _ = await self._exec(track, argv + [f"/tekton/{n}" for n in names])
        except EngineError:
            return True
        return code != 3

    # ---- the steps ---------------------------------------------------------------------------

    async def _drive(self, track: StepTrack) -> None:
        """One step's log, in step order: a step's events never come before the previous step's
        StepFinished (the logs are separate streams; this keeps the order a reader expects)."""
        assert self.name is not None
        if track.index > 0:
            await self._steps[track.index - 1].finished.wait()
        if not track.before_pause and not self._stopping:
            self._set_running(track)
        detector = markers.PauseDetector()
        history = bool(self._attach)  # attach: lines before HISTORY_END were logged before we came
        earlier: PauseKind | None = None  # the pause the history ends in, if it does
        while (line := await track.lines.get()) is not None:
            if line == HISTORY_END:
                history = False
                if earlier is not None and await self._still_paused(track, earlier):
                    await self._paused(track, earlier)  # in effect when we attached
                elif earlier is PauseKind.BEFORE:
                    self._set_running(track)
                continue
            detection = detector.feed(line)
            if history:
                if detection.pause is not None:
                    earlier = detection.pause
                elif not detection.protocol or detection.exit_code is not None:
                    if earlier is PauseKind.BEFORE:
                        self._set_running(track)  # released before we came: the step ran
                    earlier = None
            elif detection.pause is not None:
                await self._paused(track, detection.pause)
            if not detection.protocol and not self._quiet(track, line):
                self._emit(Output(self.name, track.index, "stdout", line))
        track.log_ended = True
        await track.terminated_seen.wait()
        self._finish(track)

    def _quiet(self, track: StepTrack, line: str) -> bool:
        message = markers._strip_log_prefix(line.rstrip("\n"))
        if track.engine_skipped and message == markers.SKIP_BEFORE_STEP_FAIL:
            return True
        return track.state == "waiting" and message == markers.STEP_CANCELLED

    def _set_running(self, track: StepTrack) -> None:
        assert self.name is not None
        if track.running_told:
            return
        track.running_told = True
        track.state = "running"
        self._emit(StepRunning(StepRef(self.name, track.index)))

    async def _paused(self, track: StepTrack, kind: PauseKind) -> None:
        assert self.name is not None
        if self._stopping:
            return
        ref = StepRef(self.name, track.index)
        if kind is PauseKind.BEFORE and track.index > 0 and self._steps[track.index - 1].failed:
            # Tekton without a debugger skips a step after a failed one; the forced onFailure
            # would run it: fail-continue it here, as the local engine does.
            track.engine_skipped = True
            try:
                await self._write(track, markers.marker_writes(kind, Resume.FAIL_CONTINUE, track.index))
            except EngineError as exc:
                self._emit(Output(self.name, track.index, "console", f"{exc}\n"))
            return
        if kind is not PauseKind.BEFORE:
            # the command ran: its failure can reach us (log stream) before the exec that
            # released the before-pause has returned; StepRunning still comes first
            self._set_running(track)
        track.paused = kind
        track.state = f"paused-{kind.value}"
        reason = "ExitCode" if kind is PauseKind.FAILURE else None
        self._emit(StepPaused(ref, kind, exit_code=None, reason=reason))

    def _finish(self, track: StepTrack) -> None:
        assert self.name is not None
        terminated = track.terminated or {}
        if track.run_released and terminated:
            # the step ran and ended before the exec that released it returned: StepRunning first
            self._set_running(track)
        cancelled = _condition(self._taskrun).get("reason") if self._done.is_set() else None
        termination = _termination(str(terminated.get("message") or ""))
        if not terminated:
            code = 9
            reason = "Cancelled" if cancelled in (None, CANCELLED_STATUS) else str(cancelled)
        else:
            code = int(terminated.get("exitCode") or 0)
            if code != 0 and (self._stopping or cancelled in (CANCELLED_STATUS, "TaskRunTimeout")):
                reason = "TaskRunTimeout" if cancelled == "TaskRunTimeout" else "Cancelled"
            elif track.engine_skipped or track.user_skipped:
                reason = "Skipped"
            elif termination.get(markers.KEY_REASON) == markers.REASON_TIMEOUT:
                reason = "TimeoutExceeded"
            else:
                reason = "Completed" if code == 0 else "Error"
        track.failed = code != 0 or reason == "Skipped"
        real = termination.get(markers.KEY_EXIT_CODE)
        if code == 0 and track.on_error == "continue" and real and real.lstrip("-").isdigit():
            code = int(real)  # a tolerated failure shows its real code
        track.exit_code, track.reason, track.paused = code, reason, None
        track.state = "skipped" if reason == "Skipped" else "terminated"
        self._emit(StepFinished(StepRef(self.name, track.index), code, reason))
        track.finished.set()

    async def _run(self) -> None:
        assert self.name is not None
        await asyncio.gather(*self._drivers, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._done.wait(), END_WAIT)
        condition = _condition(self._taskrun)
        status = self._taskrun.get("status") or {}
        for result in status.get("results") or []:
            value = result.get("value")
            shown = value if isinstance(value, str) else json.dumps(value)
            self._emit(Output(None, None, "console", f'TaskRun result "{result.get("name")}": {shown}\n'))
        succeeded = condition.get("status") == "True"
        reason = str(condition.get("reason") or "Unknown")
        if reason == CANCELLED_STATUS:
            reason = "Cancelled"
        elif not succeeded and reason not in ("TaskRunTimeout", "Cancelled"):
            reason = "Failed"
        message = str(condition.get("message") or "")
        self._run_finished = True
        self._emit(TaskFinished(self.name, succeeded, reason, message))
        self._emit(RunFinished(succeeded, reason, message))
        await self._kube.close()

    # ---- control -------------------------------------------------------------------------------

    def _track(self, step: StepRef) -> StepTrack:
        if step.task_id != self.name or not 0 <= step.step_index < len(self._steps):
            raise EngineError(f"no step {step.step_index} in task {step.task_id}")
        return self._steps[step.step_index]

    async def _write(self, track: StepTrack, writes: list[tuple[str, str]]) -> None:
        code, output = await self._exec(track, writer_argv(writes))
        if code != 0:
            raise EngineError(f"resuming {track.container} failed (exit code {code}): {output.strip()}")

    async def _exec(self, track: StepTrack, argv: list[str]) -> tuple[int, str]:
        if self.pod_name is None or self._pod_gone:
            raise EngineError(f"{track.container}: the pod of {self.name} is not running")
        try:
            return await self._kube.exec(self.namespace, self.pod_name, track.container, argv)
        except EngineError:
            raise
        except Exception as exc:
            raise EngineError(f"exec in {self.pod_name}/{track.container} failed: {api_message(exc)}") from None

    async def resume(self, step: StepRef, kind: PauseKind, action: Resume) -> None:
        track = self._track(step)
        if track.paused is not kind:
            raise EngineError(f'step "{track.label}" of {self.name} is not paused {kind.value}')
        if kind is PauseKind.FAILURE and action is Resume.FAIL_CONTINUE and track.on_error == "continue":
            writes = markers.continue_on_error_writes(track.index, 1)
        else:
            writes = markers.marker_writes(kind, action, track.index)
        track.paused = None
        track.run_released = kind is PauseKind.BEFORE and action is Resume.CONTINUE
        try:
            await self._write(track, writes)
        except EngineError as exc:
            track.run_released = False
            track.paused = kind
            self._emit(Output(self.name, track.index, "console", f"{exc}\n"))
            raise
        if kind is PauseKind.BEFORE and action is Resume.CONTINUE:
            self._set_running(track)
        elif kind is PauseKind.BEFORE:
            track.user_skipped = True
            track.state = "waiting"
        else:
            track.state = "running"

    async def cancel(self) -> None:
        """Cancel the TaskRun (Tekton deletes its pod, paused steps included) and wait for the
        run to end; if it does not in time, delete the pod."""
        main = self._main
        if main is None or self.name is None:
            return
        if not main.done() and not self._run_finished:
            self._stopping = True
            try:
                await self._kube.call(
                    "cancel TaskRun",
                    self._kube.custom.patch_namespaced_custom_object,
                    GROUP,
                    VERSION,
                    self.namespace,
                    PLURAL,
                    self.name,
                    {"spec": {"status": CANCELLED_STATUS}},
                )
            except Exception as exc:
                self._emit(Output(None, None, "console", f"cannot cancel {self.name}: {api_message(exc)}\n"))
            done, _ = await asyncio.wait({main}, timeout=CANCEL_WAIT)
            if not done:
                await self._delete_pod()
                self._pod_gone = True
                for track in self._steps:
                    track.terminated_seen.set()
                    track.ended.set()
                    if track.log is not None:
                        track.log.stop()
                    else:
                        track.lines.put_nowait(None)
                self._done.set()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(main)

    async def _delete_pod(self) -> None:
        if self.pod_name is None:
            return
        with contextlib.suppress(Exception):
            await self._kube.call(
                "delete pod",
                self._kube.core.delete_namespaced_pod,
                self.pod_name,
                self.namespace,
                grace_period_seconds=0,
            )

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.cancel()
        for future in [*self._drivers, *self._background]:
            future.cancel()
        await self._kube.close()

    async def wait(self) -> None:
        """Until RunFinished was emitted (tests)."""
        if self._main is not None:
            await asyncio.shield(self._main)

    # ---- inspection ------------------------------------------------------------------------------

    def inspect(self, step: StepRef) -> StepView:
        track = self._track(step)
        containers = {c.get("name"): c for c in (self._pod.get("spec") or {}).get("containers") or []}
        container = containers.get(track.container) or {}
        statuses = {s.get("name"): s for s in (self._pod.get("status") or {}).get("containerStatuses") or []}
        status = statuses.get(track.container) or {}
        args = list(container.get("args") or [])
        command: list[str] = []
        if "-entrypoint" in args:
            command.append(str(args[args.index("-entrypoint") + 1]))
        if "--" in args:
            command += [str(a) for a in args[args.index("--") + 1 :]]
        raw = self._task.steps[track.index].data()
        state = status.get("state") or {}
        started: str | None = (state.get("running") or state.get("terminated") or {}).get("startedAt")
        finished: str | None = (state.get("terminated") or {}).get("finishedAt")
        params: dict[str, Any] = {}
        for decl in self._task.data().get("params") or []:
            if "default" in decl:
                params[str(decl["name"])] = decl["default"]
        for given in (self._taskrun.get("spec") or {}).get("params") or []:
            params[str(given.get("name"))] = given.get("value")
        results = {
            str(r.get("name")): r.get("value") if isinstance(r.get("value"), str) else json.dumps(r.get("value"))
            for r in (self._taskrun.get("status") or {}).get("results") or []
        }
        workspaces = {
            str(w.get("name")): str(w.get("mountPath") or f"/workspace/{w.get('name')}")
            for w in self._task.data().get("workspaces") or []
        }
        return StepView(
            task_id=step.task_id,
            step_index=track.index,
            name=track.label,
            image=str(container.get("image") or raw.get("image") or ""),
            command=command if raw.get("script") is None else [],
            args=[],
            script=str(raw["script"]) if raw.get("script") is not None else None,
            working_dir=str(container.get("workingDir") or raw.get("workingDir") or "/workspace"),
            env=podenv.spec_env(self._pod, container, self._configmaps),
            params=params,
            results=results,
            workspaces=workspaces,
            state=track.state,
            exit_code=track.exit_code,
            started_at=started,
            finished_at=finished,
            pod=self.pod_name or "",
            container=track.container,
            extra={
                "node": str((self._pod.get("spec") or {}).get("nodeName") or ""),
                "imageDigest": str(status.get("imageID") or ""),
                "containerState": next(iter(state), "waiting"),
                "restartCount": str(status.get("restartCount", 0)),
                "namespace": self.namespace,
                "taskRun": self.name or "",
            },
        )

    async def inspect_live(self, step: StepRef) -> StepView:
        """`inspect`, with the real environment and the results written so far read from the
        paused step's container (one exec). Secret-sourced values stay masked."""
        view = self.inspect(step)
        track = self._track(step)
        if track.paused is None or self._pod_gone:
            return view
        declared = [str(r.get("name")) for r in self._task.data().get("results") or [] if r.get("name")]
        try:
            code, output = await self._exec(track, live_argv(declared))
        except EngineError as exc:
            self._emit(Output(self.name, track.index, "console", f"values from the pod spec only: {exc}\n"))
            return view
        parsed = podenv.parse_live(output) if code == 0 else None
        if parsed is None:
            shown = output.replace("\0", " ").strip()[:200]
            self._emit(
                Output(
                    self.name,
                    track.index,
                    "console",
                    f"values from the pod spec only: reading {track.container}'s environment failed "
                    f"(exit code {code}): {shown}\n",
                )
            )
            return view
        real, results = parsed
        containers = {c.get("name"): c for c in (self._pod.get("spec") or {}).get("containers") or []}
        container = containers.get(track.container) or {}
        view.env = podenv.live_env(real, view.env, container, self._secret_keys, noise=SHELL_NOISE)
        view.results = {**view.results, **results}
        view.extra["values"] = "read from the running container"
        return view

    async def set_result(self, step: StepRef, name: str, value: str) -> None:
        """Write `/tekton/results/<name>` in the paused step's container (a declared result)."""
        track = self._track(step)
        declared = [str(r.get("name")) for r in self._task.data().get("results") or [] if r.get("name")]
        if name not in declared:
            known = ", ".join(declared) if declared else "none"
            raise EngineError(f'Task {self._task.name} declares no result "{name}" (its results: {known})')
        if track.paused is None:
            raise EngineError(f'step "{track.label}" is not paused: results can be changed only while it is')
        code, output = await self._exec(track, writer_argv([(f"results/{name}", value)]))
        if code != 0:
            raise EngineError(f'writing result "{name}" in {track.container} failed (exit code {code}): {output}')

    def shell_command(self, step: StepRef) -> tuple[list[str], str, dict[str, str]] | None:
        """`kubectl exec -it` into the step's container, with this run's namespace, context and
        kubeconfig, for runInTerminal."""
        track = self._track(step)
        if self.pod_name is None or self._pod_gone:
            return None
        argv = ["kubectl", "exec", "-it", "-n", self.namespace, self.pod_name, "-c", track.container]
        if self._options.kube_context:
            argv += ["--context", self._options.kube_context]
        kubeconfig = self._options.kubeconfig or self._kube.config_file
        if kubeconfig:
            argv += ["--kubeconfig", os.path.abspath(os.path.expanduser(str(kubeconfig)))]
        return [*argv, "--", "sh"], os.getcwd(), {}

    async def exec(self, step: StepRef, argv: list[str]) -> ExecResult:
        if not argv:
            raise EngineError("nothing to run")
        track = self._track(step)
        try:
            code, output = await self._exec(track, argv)
        except EngineError as exc:
            self._emit(Output(self.name, track.index, "console", f"{exc}\n"))
            raise
        return ExecResult(code, output)


def _condition(obj: dict[str, Any]) -> dict[str, Any]:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Succeeded":
            return dict(condition)
    return {}


def _termination(message: str) -> dict[str, str]:
    try:
        entries = json.loads(message) if message else []
    except ValueError:
        return {}
    if not isinstance(entries, list):
        return {}
    return {str(e.get("key")): str(e.get("value")) for e in entries if isinstance(e, dict)}


def taskrun_task_spec(obj: dict[str, Any]) -> dict[str, Any]:
    """The Task a TaskRun runs as the cluster has it: spec.taskSpec, else status.taskSpec
    (Tekton stores the resolved taskRef there)."""
    spec = (obj.get("spec") or {}).get("taskSpec") or (obj.get("status") or {}).get("taskSpec") or {}
    return dict(spec) if isinstance(spec, dict) else {}


def taskrun_task_name(obj: dict[str, Any]) -> str | None:
    """The name of the Task a TaskRun runs (label tekton.dev/task, else its taskRef)."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    name = labels.get("tekton.dev/task") or ((obj.get("spec") or {}).get("taskRef") or {}).get("name")
    return str(name) if name else None


async def read_taskrun(kube: Kube, namespace: str, name: str) -> dict[str, Any]:
    try:
        found: dict[str, Any] = await kube.call(
            "read TaskRun", kube.custom.get_namespaced_custom_object, GROUP, VERSION, namespace, PLURAL, name
        )
    except Exception as exc:
        if getattr(exc, "status", None) == 404:
            raise EngineError(f'TaskRun "{name}" not found in namespace "{namespace}"') from None
        raise EngineError(f'cannot read TaskRun "{name}" in namespace "{namespace}": {api_message(exc)}') from None
    return found


def taskrun_yaml(obj: dict[str, Any]) -> str:
    """A TaskRun as a document to map: its Task inlined (spec.taskSpec), without status and
    server-set metadata, so frames point at a file that reads like the TaskRun's own YAML."""
    meta = obj.get("metadata") or {}
    spec = {k: v for k, v in (obj.get("spec") or {}).items() if k not in ("taskRef", "status", "statusMessage")}
    spec["taskSpec"] = taskrun_task_spec(obj)
    kept = {k: meta[k] for k in ("name", "namespace", "labels", "annotations") if meta.get(k)}
    document = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "TaskRun", "metadata": kept, "spec": spec}
    header = f"# TaskRun {meta.get('name')} as the cluster has it (written by pipeline-dap for an attach)\n"
    return header + yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=120)


async def fetch_taskrun(options: RunOptions) -> str:
    """The YAML of the TaskRun `options.attach` names (see `taskrun_yaml`)."""
    if not options.attach:
        raise EngineError("no TaskRun to attach to (attach needs `run`: taskrun/NAME)")
    kube = Kube(options.kubeconfig, options.kube_context)
    try:
        await kube.connect()
        obj = await read_taskrun(kube, options.namespace or kube.default_namespace, options.attach)
    finally:
        await kube.close()
    if not taskrun_task_spec(obj).get("steps"):
        raise EngineError(
            f'TaskRun "{options.attach}" has no Task steps yet (neither spec.taskSpec nor status.taskSpec)'
        )
    return taskrun_yaml(obj)


def create_tekton_engine(document: Document, options: RunOptions) -> Engine:
    """The factory the session uses (`engine: tekton`)."""
    return TektonEngine(document, options)
