"""The Argo engine: runs an Argo Workflow on a cluster (engine-protocols.md PART B).

- `prepare` connects and checks that Argo is installed (a namespaced list of Workflows, limit 1);
  nothing is created. `start` submits the self-contained Workflow of `workflow.workflow_body`
  (`generateName: <name>-debug-`, launch params, `timeout` as activeDeadlineSeconds, with debug
  `ARGO_DEBUG_PAUSE_BEFORE/AFTER=true` on every leaf container). With `options.attach` nothing
  is submitted: the existing Workflow is followed the same way.
- State comes from two watches (the Workflow by name, its pods by label
  `workflows.argoproj.io/workflow`); every pod is one task (`TaskStarted`, task id = the node id
  annotation), mapped to its source by walking its node name from the entrypoint template.
- Pauses come from real signals only, nothing is polled: a container turning `running` with the
  pause-before flag (and, in a containerSet, its dependencies terminated) is paused before --
  the emissary logs nothing then; the `sub-process exited` line in the followed log, with the
  pause-after flag, is the pause after (`error="exit status N"`: a FAILURE pause with code N).
  A paused-and-resumed step costs the log follow and one exec per pause.
- A pause is released by exec `touch /var/run/argo/ctr/<c>/before` (or `/after`) in the paused
  container. An image without `touch` (the exec fails: executable file not found) is released
  from an ephemeral container instead: one strategic-merge patch of the pod's
  `ephemeralcontainers` subresource adds `pipeline-dap-release-<n>` (image: the launch key
  `releaseImage`, default `busybox:1.36`; `touch` of the marker; the pod's `var-run-argo`
  emptyDir mounted at /var/run/argo; targeting the container), and the console says so. The
  container is then known to have no `touch`: its later releases go straight to that route.
  A refused patch (RBAC, ephemeral containers unsupported) is an error naming the API's cause,
  with the `kubectl debug` command that releases it by hand; a release container that ends
  with a non-zero code leaves the step paused (reported again, with the cause).
- `cancel` merge-patches `spec.shutdown: Terminate` (the controller SIGTERMs every running
  container, paused ones too, v4); if the run does not end in time the engine deletes the pods.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from dataclasses import dataclass, field
from typing import Any

from dap_server.engines import markers, podenv
from dap_server.engines.argo.workflow import (
    AFTER_ENV,
    AUXILIARY,
    BEFORE_ENV,
    GROUP,
    NODE_ID,
    NODE_NAME,
    PLURAL,
    VERSION,
    WORKFLOW_LABEL,
    Body,
    NodeSource,
    exited_code,
    is_emissary_line,
    locate,
    workflow_body,
)
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
from dap_server.sources.argo import ArgoDocument, Template, text_of
from dap_server.sources.model import Document, Step

log = logging.getLogger(__name__)

ARGO_ROOT = "/var/run/argo"
FINAL = ("Succeeded", "Failed", "Error")
END_WAIT = 30.0  # seconds the pods' last events may lag behind the Workflow's final phase
ORDER_WAIT = 5.0  # seconds a new pod's events wait for ended pods to tell their end first
CANCEL_WAIT = 15.0  # seconds a terminated run gets before the engine deletes its pods
SIGTERM_EXIT = 143
_NOT_FOUND = re.compile(r"executable file not found|not found in \$PATH")
_NO_DIR = re.compile(r"No such file or directory|can't create", re.I)
RELEASE_PREFIX = "pipeline-dap-release-"
RELEASE_IMAGE = "busybox:1.36"  # default of the launch key `releaseImage`
ARGO_VOLUME = "var-run-argo"


def marker_path(container: str, kind: PauseKind) -> str:
    rel = markers.argo_before_file(container) if kind is PauseKind.BEFORE else markers.argo_after_file(container)
    return f"{ARGO_ROOT}/{rel}"


def ephemeral_hint(namespace: str, pod: str, container: str, kind: PauseKind, image: str = "busybox") -> str:
    """The `kubectl debug` command that releases a pause from an ephemeral container (an image
    without `touch`, engine-protocols.md B3)."""
    marker = "before" if kind is PauseKind.BEFORE else "after"
    return (
        f"kubectl debug -it -n {namespace} {pod} --image={image} --target={container} -- "
        f"touch /proc/1/root{ARGO_ROOT}/ctr/{container}/{marker}"
    )


def release_container(name: str, image: str, container: str, kind: PauseKind) -> dict[str, Any]:
    """The ephemeral container that creates a pause's marker through the pod's `var-run-argo`
    emptyDir (engine-protocols.md B3, option 4)."""
    return {
        "name": name,
        "image": image,
        "command": ["touch", marker_path(container, kind)],
        "volumeMounts": [{"name": ARGO_VOLUME, "mountPath": ARGO_ROOT}],
        "targetContainerName": container,
    }


@dataclass
class ContainerTrack:
    index: int
    name: str
    deps: list[str]
    pause_before: bool
    pause_after: bool
    step: Step | None
    lines: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    log: Stream | None = None
    log_wanted: bool = False  # a follow was started (or a probe is on its way)
    log_ended: bool = False
    seen_waiting: bool = False
    seen_running: bool = False
    terminated: dict[str, Any] | None = None
    terminated_seen: asyncio.Event = field(default_factory=asyncio.Event)
    finished: bool = False
    paused: PauseKind | None = None
    before_done: bool = False  # the before pause was reported (or will never come)
    state: str = "waiting"
    command_exit: int | None = None  # from `sub-process exited`
    exit_code: int | None = None
    reason: str | None = None
    running_told: bool = False
    dep_failed: bool = False
    output_seen: bool = False
    no_touch: bool = False  # its image has no `touch`: releases go through an ephemeral container


@dataclass
class PodTrack:
    node_id: str
    node_name: str
    pod_name: str
    pod: dict[str, Any]
    source: NodeSource | None
    template: Template | None
    containers: list[ContainerTrack]
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    gone: bool = False
    main: asyncio.Future[None] | None = None
    drivers: list[asyncio.Future[None]] = field(default_factory=list)
    configmaps: dict[str, dict[str, str]] = field(default_factory=dict)
    releases: dict[str, tuple[ContainerTrack, PauseKind]] = field(default_factory=dict)  # ephemeral name ->
    release_failed: set[str] = field(default_factory=set)  # release containers whose failure was told


class ArgoEngine(Engine):
    def __init__(self, document: Document, options: RunOptions) -> None:
        if not isinstance(document, ArgoDocument):
            raise EngineError(
                f"{document.key} ({document.path}) is not an Argo document: the argo engine runs Argo Workflows; "
                'use "engine": "tekton" or "local" for Tekton'
            )
        self._doc = document
        self._options = options
        self._attach = options.attach
        self._body: Body | None = None
        if not self._attach:
            self._body = workflow_body(document, options, options.namespace or "")  # bad input fails the launch
        self._kube = Kube(options.kubeconfig, options.kube_context)
        self._prepared = False
        self._sink: EventSink | None = None
        self.namespace = ""
        self.name: str | None = None
        self._entry: str | None = document.run_entrypoint()
        self._workflow: dict[str, Any] = {}
        self._done = asyncio.Event()
        self._changed = asyncio.Event()
        self._pods: dict[str, PodTrack] = {}
        self._skipped_told: set[str] = set()
        self._main: asyncio.Future[None] | None = None
        self._background: set[asyncio.Future[None]] = set()
        self._held: list[tuple[str, dict[str, Any]]] = []  # pod events waiting behind ended pods
        self._stopping = False
        self._closed = False
        self._run_finished = False

    # ---- start -------------------------------------------------------------------------------

    async def prepare(self) -> None:
        """Connect and check that Argo is installed (and, attaching, that the Workflow exists)."""
        try:
            await self._kube.connect()
            self.namespace = self._options.namespace or self._doc_namespace() or self._kube.default_namespace
            if self._body is not None:
                self._body.workflow["metadata"]["namespace"] = self.namespace
            await self._check_installed()
        except BaseException:
            await self._kube.close()
            raise
        self._prepared = True

    def _doc_namespace(self) -> str | None:
        namespace = (self._doc.data().get("metadata") or {}).get("namespace")
        return str(namespace) if namespace else None

    async def _check_installed(self) -> None:
        try:
            await self._kube.call(
                "list Workflows",
                self._kube.custom.list_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                limit=1,
            )
        except EngineError:
            raise  # the cluster is not reachable: that is the message
        except Exception as exc:
            if getattr(exc, "status", None) == 404:
                raise EngineError(
                    "Argo Workflows is not installed (no workflows.argoproj.io resource): install it in the cluster "
                    "(https://argo-workflows.readthedocs.io/en/latest/quick-start/), or debug the workflow with "
                    '"engine": "local"'
                ) from None
            raise EngineError(f'cannot list Workflows in namespace "{self.namespace}": {api_message(exc)}') from None

    async def start(self, sink: EventSink) -> None:
        if self._main is not None or self._closed:
            raise EngineError("this run was already started")
        self._sink = sink
        try:
            if not self._prepared:
                await self.prepare()
            workflow = await (self._read_attached() if self._attach else self._create())
        except BaseException:
            await self._kube.close()
            raise
        self._workflow = workflow
        self.name = str(workflow["metadata"]["name"])
        self._entry = str((workflow.get("spec") or {}).get("entrypoint") or self._entry or "")
        if self._attach:
            self._emit(Output(None, None, "console", f"attached to Workflow {self.name} in {self.namespace}\n"))
        kube = self._kube
        kube.watch(
            f"workflow {self.name}",
            kube.custom.list_namespaced_custom_object,
            (GROUP, VERSION, self.namespace, PLURAL),
            {"field_selector": f"metadata.name={self.name}"},
            self._on_workflow,
        )
        kube.watch(
            f"pods of {self.name}",
            kube.core.list_namespaced_pod,
            (self.namespace,),
            {"label_selector": f"{WORKFLOW_LABEL}={self.name}"},
            self._on_pod,
        )
        self._main = asyncio.ensure_future(self._run())

    async def _create(self) -> dict[str, Any]:
        assert self._body is not None
        try:
            created: dict[str, Any] = await self._kube.call(
                "create Workflow",
                self._kube.custom.create_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                self._body.workflow,
            )
        except Exception as exc:
            raise EngineError(
                f"{self._doc.key} ({self._doc.path}): cannot create the Workflow in namespace "
                f'"{self.namespace}": {api_message(exc)}'
            ) from None
        return created

    async def _read_attached(self) -> dict[str, Any]:
        assert self._attach is not None
        try:
            found: dict[str, Any] = await self._kube.call(
                "read Workflow",
                self._kube.custom.get_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                self._attach,
            )
        except Exception as exc:
            raise EngineError(
                f'cannot attach to Workflow "{self._attach}" in namespace "{self.namespace}": {api_message(exc)}'
            ) from None
        return found

    def _emit(self, event: RunEvent) -> None:
        if self._sink is not None and not self._run_finished:
            self._sink(event)

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # ---- the Workflow ---------------------------------------------------------------------------

    def _on_workflow(self, kind: str, obj: dict[str, Any]) -> None:
        if kind == "DELETED":
            status = self._workflow.setdefault("status", {})
            if status.get("phase") not in FINAL:
                status["phase"], status["message"] = "Error", "the Workflow was deleted"
            self._done.set()
            self._wake()
            return
        self._workflow = obj
        status = obj.get("status") or {}
        for node in (status.get("nodes") or {}).values():
            if not isinstance(node, dict):
                continue
            if node.get("type") == "Skipped" or node.get("phase") in ("Skipped", "Omitted"):
                name = str(node.get("name") or node.get("id"))
                if name not in self._skipped_told:
                    self._skipped_told.add(name)
                    why = str(node.get("message") or ("omitted" if node.get("phase") == "Omitted" else "skipped"))
                    self._emit(TaskFinished(name, True, "Skipped", why))
        if status.get("phase") in FINAL:
            self._done.set()
        self._wake()

    def _node(self, node_id: str) -> dict[str, Any]:
        node = ((self._workflow.get("status") or {}).get("nodes") or {}).get(node_id)
        return node if isinstance(node, dict) else {}

    # ---- pods -------------------------------------------------------------------------------------

    def _on_pod(self, kind: str, obj: dict[str, Any]) -> None:
        """Pod events in watch order. A new pod waits until the pods that ended before it was
        created have told their end (their logs end on other streams, later than the watch
        says so): a dependent task never starts, in the events, before what it depends on
        finished. The wait is bounded; later events queue behind it to keep the order."""
        meta = obj.get("metadata") or {}
        node_id = str((meta.get("annotations") or {}).get(NODE_ID) or meta.get("name"))
        if not self._held and kind != "DELETED" and node_id not in self._pods:
            ending = [t.main for t in self._pods.values() if t.ended.is_set() and t.main and not t.main.done()]
            if ending:
                self._background.add(asyncio.ensure_future(self._release_held(ending)))
                self._held.append((kind, obj))
                return
        if self._held:
            self._held.append((kind, obj))
            return
        self._pod_event(kind, obj)

    async def _release_held(self, ending: list[asyncio.Future[None]]) -> None:
        await asyncio.wait(ending, timeout=ORDER_WAIT)
        held, self._held = self._held, []
        for number, (kind, obj) in enumerate(held):
            if self._closed:
                return
            self._on_pod(kind, obj)
            if self._held:  # a later new pod waits in its turn: keep the rest behind it
                self._held.extend(held[number + 1 :])
                return

    def _pod_event(self, kind: str, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        annotations = meta.get("annotations") or {}
        node_id = str(annotations.get(NODE_ID) or meta.get("name"))
        track = self._pods.get(node_id)
        if track is None:
            if kind == "DELETED" or self._run_finished:
                return
            track = self._new_pod(node_id, str(annotations.get(NODE_NAME) or node_id), obj)
        if kind == "DELETED":
            self._pod_gone(track)
            return
        track.pod = obj
        self._pod_status(track)
        if track.releases:
            self._release_status(track)
        if (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            track.ended.set()
        self._wake()

    def _new_pod(self, node_id: str, node_name: str, pod: dict[str, Any]) -> PodTrack:
        assert self.name is not None
        containers = {
            str(c.get("name")): c for c in (pod.get("spec") or {}).get("containers") or [] if isinstance(c, dict)
        }
        names = [n for n in containers if n not in AUXILIARY]
        source = locate(self._doc, self.name, node_name, self._entry)
        template = source.template if source is not None else None
        if template is not None and not self._fits(template, names):
            source, template = None, None
        if template is None:
            template = self._template_of_node(node_id, names)
        steps: list[Step] = list(template.spec.steps) if template is not None and template.spec is not None else []
        if steps:
            names = [s.name for s in steps]
        tracks = []
        for index, name in enumerate(names):
            spec = containers.get(name) or {}
            env = {str(e.get("name")): e.get("value") for e in spec.get("env") or [] if isinstance(e, dict)}
            data = steps[index].data() if index < len(steps) else {}
            deps = [str(d) for d in data.get("dependencies") or []] if isinstance(data, dict) else []
            tracks.append(
                ContainerTrack(
                    index=index,
                    name=name,
                    deps=deps,
                    pause_before=env.get(BEFORE_ENV) == "true",
                    pause_after=env.get(AFTER_ENV) == "true",
                    step=steps[index] if index < len(steps) else None,
                )
            )
        track = PodTrack(
            node_id, node_name, str((pod.get("metadata") or {}).get("name")), pod, source, template, tracks
        )
        self._pods[node_id] = track
        task = source.task if source is not None else None
        display = node_name
        self._emit(
            TaskStarted(
                task_id=node_id,
                display_name=display,
                pipeline_task=task.name
                if task is not None
                else None
                if source is not None
                else self._fallback_name(node_id),
                instance=source.instance if source is not None else None,
                step_names=tuple(t.name for t in tracks),
                run_name=node_name,
                steps=tuple(steps),
                frames=source.frames if source is not None else (),
            )
        )
        track.drivers = [asyncio.ensure_future(self._drive(track, c)) for c in tracks]
        track.main = asyncio.ensure_future(self._pod_main(track))
        self._background.add(asyncio.ensure_future(self._read_configmaps(track)))
        return track

    def _fallback_name(self, node_id: str) -> str | None:
        """A pod node whose name did not walk to the source: its displayName (the task's name)."""
        shown = self._node(node_id).get("displayName")
        return str(shown) if shown else None

    @staticmethod
    def _fits(template: Template, names: list[str]) -> bool:
        """The template of a pod is the one whose containers the pod has."""
        steps = template.spec.steps if template.spec is not None else []
        return bool(steps) and all(s.name in names for s in steps)

    def _template_of_node(self, node_id: str, names: list[str]) -> Template | None:
        """Fallback: the node's templateName in status.nodes."""
        name = str(self._node(node_id).get("templateName") or "")
        template: Template | None = None
        if self._body is not None:
            template = self._body.templates.get(name)
        if template is None and name:
            template = self._doc.template(name)
        return template if template is not None and self._fits(template, names) else None

    def _pod_status(self, track: PodTrack) -> None:
        statuses = {s.get("name"): s for s in (track.pod.get("status") or {}).get("containerStatuses") or []}
        for ct in track.containers:
            status = statuses.get(ct.name)
            state = (status or {}).get("state") or {}
            if not state or "waiting" in state:
                ct.seen_waiting = True
                continue
            if not ct.log_wanted:
                ct.log_wanted = True
                if self._attach and "running" in state and not ct.seen_waiting:
                    self._background.add(asyncio.ensure_future(self._probe(track, ct)))
                else:
                    self._follow(track, ct)
            if "running" in state and not ct.seen_running:
                ct.seen_running = True
                if not (self._attach and not ct.seen_waiting):
                    self._running(track, ct, statuses)
            elif "running" in state and not ct.before_done and ct.state == "waiting":
                self._running(track, ct, statuses)  # waiting for containerSet dependencies
            if "terminated" in state and ct.terminated is None:
                ct.terminated = state["terminated"]
                ct.before_done = True
                ct.terminated_seen.set()

    def _follow(self, track: PodTrack, ct: ContainerTrack, skip: int = 0) -> None:
        if track.gone:
            ct.lines.put_nowait(None)
            return
        ct.log = self._kube.follow_log(self.namespace, track.pod_name, ct.name, ct.lines.put_nowait, skip)

    def _running(self, track: PodTrack, ct: ContainerTrack, statuses: dict[Any, Any]) -> None:
        """A container turned running: paused before its command when it has the flag (after its
        containerSet dependencies ended), else running."""
        if ct.before_done:
            return
        codes = []
        by_name = {c.name: c for c in track.containers}
        for dep in ct.deps:
            terminated = ((statuses.get(dep) or {}).get("state") or {}).get("terminated")
            other = by_name.get(dep)
            if terminated is None or (other is not None and not other.finished):
                return  # the emissary still waits for the dependency's exit code (or we have not told its end)
            codes.append(int(terminated.get("exitCode") or 0))
        ct.before_done = True
        if any(codes):
            ct.dep_failed = True  # the emissary does not run it
            return
        if ct.pause_before and not self._stopping and not ct.output_seen:
            ct.paused, ct.state = PauseKind.BEFORE, "paused-before"
            self._emit(StepPaused(StepRef(track.node_id, ct.index), PauseKind.BEFORE))
        else:
            self._set_running(track, ct)

    async def _probe(self, track: PodTrack, ct: ContainerTrack) -> None:
        """Attaching to a running container: its log so far tells where it is (nothing and the
        before flag: paused before; `sub-process exited` and the after flag: paused after)."""
        try:
            data = await self._kube.read_log(self.namespace, track.pod_name, ct.name)
        except Exception as exc:
            log.info("log of %s/%s: %s", track.pod_name, ct.name, exc)
            data = b""
        text = data.decode(errors="replace")
        lines = text.splitlines(keepends=True)
        if lines and not lines[-1].endswith("\n"):
            data = data[: len(data) - len(lines[-1].encode())]  # an unfinished line comes again with the follow
            lines = lines[:-1]
        if not lines and ct.terminated is None:
            statuses = {s.get("name"): s for s in (track.pod.get("status") or {}).get("containerStatuses") or []}
            self._running(track, ct, statuses)
        else:
            ct.before_done = True
            for line in lines:
                ct.lines.put_nowait(line)
        self._follow(track, ct, len(data))

    def _set_running(self, track: PodTrack, ct: ContainerTrack) -> None:
        if ct.running_told:
            return
        ct.running_told = True
        ct.before_done = True
        if ct.paused is None:
            ct.state = "running"
        self._emit(StepRunning(StepRef(track.node_id, ct.index)))

    def _pod_gone(self, track: PodTrack) -> None:
        track.gone = True
        for ct in track.containers:
            ct.terminated_seen.set()
            if not ct.log_wanted:
                ct.log_wanted = True
                ct.lines.put_nowait(None)
        track.ended.set()
        self._wake()

    async def _read_configmaps(self, track: PodTrack) -> None:
        """The ConfigMaps the pod's env refers to, read once (inspect shows their values)."""
        for name in podenv.configmap_names(track.pod):
            try:
                cm = await self._kube.call(
                    "read ConfigMap", self._kube.core.read_namespaced_config_map, name, self.namespace
                )
                track.configmaps[name] = dict(cm.data or {})
            except Exception as exc:
                log.info("ConfigMap %s: %s", name, exc)

    # ---- containers ------------------------------------------------------------------------------

    async def _drive(self, track: PodTrack, ct: ContainerTrack) -> None:
        """One container's log: output, and the pause after its command."""
        ref = StepRef(track.node_id, ct.index)
        while (line := await ct.lines.get()) is not None:
            code = exited_code(line)
            if code is not None:
                ct.command_exit = code
                self._set_running(track, ct)
                if ct.pause_after and ct.terminated is None and not self._stopping:
                    kind = PauseKind.FAILURE if code else PauseKind.AFTER
                    ct.paused, ct.state = kind, f"paused-{kind.value}"
                    self._emit(StepPaused(ref, kind, exit_code=code, reason="ExitCode" if code else None))
                continue
            if is_emissary_line(line):
                continue
            ct.output_seen = True
            self._set_running(track, ct)
            self._emit(Output(track.node_id, ct.index, "stdout", line))
        ct.log_ended = True
        await ct.terminated_seen.wait()
        self._finish(track, ct)

    def _finish(self, track: PodTrack, ct: ContainerTrack) -> None:
        terminated = ct.terminated or {}
        shutdown = bool((self._workflow.get("spec") or {}).get("shutdown"))
        if not terminated:
            code, reason = SIGTERM_EXIT, "Cancelled"
        else:
            code = int(terminated.get("exitCode") or 0)
            if code != 0 and (self._stopping or shutdown):
                reason = "Cancelled"
            elif code != 0 and ct.dep_failed and not ct.output_seen:
                reason = "Skipped"
            elif terminated.get("reason") in ("OOMKilled", "DeadlineExceeded"):
                reason = str(terminated["reason"])
            else:
                reason = "Completed" if code == 0 else "Error"
        ct.exit_code, ct.reason, ct.paused, ct.finished = code, reason, None, True
        ct.state = "skipped" if reason == "Skipped" else "terminated"
        self._emit(StepFinished(StepRef(track.node_id, ct.index), code, reason))
        statuses = {s.get("name"): s for s in (track.pod.get("status") or {}).get("containerStatuses") or []}
        for other in track.containers:
            if ct.name in other.deps and other.seen_running and not other.before_done:
                self._running(track, other, statuses)  # it waited for this one

    async def _pod_main(self, track: PodTrack) -> None:
        await asyncio.gather(*track.drivers, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(track.ended.wait(), END_WAIT)
        phase = str((track.pod.get("status") or {}).get("phase") or "")
        node = self._node(track.node_id)
        succeeded = phase == "Succeeded" and not track.gone
        shutdown = bool((self._workflow.get("spec") or {}).get("shutdown"))
        if succeeded:
            reason = "Succeeded"
        elif self._stopping or shutdown:
            reason = "Cancelled"
        else:
            reason = "Failed"
        message = str(node.get("message") or "")
        if not message and not succeeded:
            failed = next((c for c in track.containers if c.exit_code), None)
            if failed is not None:
                message = f'container "{failed.name}" exited with code {failed.exit_code}'
            elif track.gone:
                message = "the pod was deleted"
        self._emit(TaskFinished(track.node_id, succeeded, reason, message))
        self._wake()

    async def _run(self) -> None:
        await self._done.wait()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + END_WAIT
        while True:
            waiting = self._changed
            pending = [t for t in self._pods.values() if t.main is not None and not t.main.done()]
            expected = self._unseen_pod_nodes()
            if not pending and not expected:
                break
            left = deadline - loop.time()
            if left <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiting.wait(), left)
        status = self._workflow.get("status") or {}
        phase = str(status.get("phase") or "Error")
        succeeded = phase == "Succeeded"
        shutdown = bool((self._workflow.get("spec") or {}).get("shutdown"))
        reason = "Cancelled" if not succeeded and (self._stopping or shutdown) else phase
        message = str(status.get("message") or "")
        for track in self._pods.values():
            if track.main is not None and not track.main.done():
                track.main.cancel()
        self._emit(RunFinished(succeeded, reason, message))
        self._run_finished = True
        await self._kube.close()

    def _unseen_pod_nodes(self) -> list[str]:
        """Pod nodes of the final status that ran (Succeeded/Failed) but whose pod we have not
        seen yet: their events are still on their way."""
        nodes = (self._workflow.get("status") or {}).get("nodes") or {}
        return [
            str(node_id)
            for node_id, node in nodes.items()
            if isinstance(node, dict)
            and node.get("type") == "Pod"
            and node.get("phase") in ("Succeeded", "Failed")
            and node_id not in self._pods
            and not self._stopping
        ]

    # ---- control ------------------------------------------------------------------------------------

    def _track(self, step: StepRef) -> tuple[PodTrack, ContainerTrack]:
        track = self._pods.get(step.task_id)
        if track is None or not 0 <= step.step_index < len(track.containers):
            raise EngineError(f"no step {step.step_index} in task {step.task_id}")
        return track, track.containers[step.step_index]

    async def _exec(self, track: PodTrack, ct: ContainerTrack, argv: list[str]) -> tuple[int, str]:
        if track.gone:
            raise EngineError(f"{ct.name}: the pod {track.pod_name} is gone")
        try:
            return await self._kube.exec(self.namespace, track.pod_name, ct.name, argv)
        except EngineError:
            raise
        except Exception as exc:
            raise EngineError(f"exec in {track.pod_name}/{ct.name} failed: {api_message(exc)}") from None

    async def resume(self, step: StepRef, kind: PauseKind, action: Resume) -> None:
        """Create the pause's marker in the paused container (exec `touch`; an image without
        `touch`: from an ephemeral container). Argo has no fail variant: fail-continue on a
        FAILURE pause lets the failure stand (as continue does: the emissary keeps the command's
        exit code), and on a BEFORE pause the command still runs."""
        track, ct = self._track(step)
        if ct.paused is not kind:
            raise EngineError(f'step "{ct.name}" of {track.node_name} is not paused {kind.value}')
        ct.paused = None
        path = marker_path(ct.name, kind)
        try:
            if ct.no_touch:
                await self._release_ephemeral(track, ct, kind, "")
            else:
                code, output = await self._exec(track, ct, ["touch", path])
                if code != 0 and _NO_DIR.search(output):
                    # the container runs but its emissary has not made its ctr dir yet: make it (the
                    # emissary's MkdirAll accepts it) and touch again
                    await self._exec(track, ct, ["mkdir", "-p", path.rsplit("/", 1)[0]])
                    code, output = await self._exec(track, ct, ["touch", path])
                if code != 0:
                    text = output.strip()
                    if not _NOT_FOUND.search(text):
                        raise EngineError(f"releasing {track.node_name}/{ct.name} failed (exit code {code}): {text}")
                    ct.no_touch = True
                    await self._release_ephemeral(track, ct, kind, text)
        except EngineError as exc:
            if not ct.finished:
                ct.paused = kind
            self._emit(Output(track.node_id, ct.index, "console", f"{exc}\n"))
            raise
        if kind is PauseKind.BEFORE:
            self._set_running(track, ct)
        elif not ct.finished:
            ct.state = "running"

    def _release_image(self) -> str:
        image = self._options.extra.get("releaseImage")
        return str(image) if isinstance(image, str) and image.strip() else RELEASE_IMAGE

    def _release_name(self, track: PodTrack) -> str:
        """`pipeline-dap-release-<n>`, n above every one the pod has (added by anyone) or we asked for."""
        used = [*track.releases]
        used += [str(c.get("name")) for c in (track.pod.get("spec") or {}).get("ephemeralContainers") or []]
        cut = len(RELEASE_PREFIX)
        numbers = [int(n[cut:]) for n in used if n.startswith(RELEASE_PREFIX) and n[cut:].isdigit()]
        return f"{RELEASE_PREFIX}{max(numbers, default=0) + 1}"

    async def _release_ephemeral(self, track: PodTrack, ct: ContainerTrack, kind: PauseKind, why: str) -> None:
        """Release the pause from an ephemeral container (the image has no `touch`): one
        strategic-merge patch of the pod's `ephemeralcontainers` adding a container that
        touches the marker through the `var-run-argo` emptyDir."""
        if track.gone:
            raise EngineError(f"{ct.name}: the pod {track.pod_name} is gone")
        image = self._release_image()
        name = self._release_name(track)
        body = {"spec": {"ephemeralContainers": [release_container(name, image, ct.name, kind)]}}
        where = f"{track.node_name}/{ct.name}"
        cause = f" ({why})" if why else ""
        try:
            await self._kube.call(
                "add ephemeral container",
                self._kube.core.patch_namespaced_pod_ephemeralcontainers,
                track.pod_name,
                self.namespace,
                body,
            )
        except Exception as exc:
            raise EngineError(
                f'cannot release {where}: its image has no "touch"{cause} and adding the ephemeral container '
                f"{name} to pod {track.pod_name} failed: {api_message(exc)}. Release it by hand: "
                f"{ephemeral_hint(self.namespace, track.pod_name, ct.name, kind, self._release_image())}"
            ) from None
        track.releases[name] = (ct, kind)
        self._emit(
            Output(
                track.node_id,
                ct.index,
                "console",
                f'{where}: the image has no "touch"; the pause {kind.value} was released through the ephemeral '
                f"container {name} ({image}) of pod {track.pod_name}\n",
            )
        )

    def _release_status(self, track: PodTrack) -> None:
        """A release container that ended with a non-zero code did not create the marker: the
        step is still paused (told again, with the cause)."""
        statuses = (track.pod.get("status") or {}).get("ephemeralContainerStatuses") or []
        for status in statuses:
            name = str(status.get("name"))
            terminated = (status.get("state") or {}).get("terminated")
            if name not in track.releases or name in track.release_failed or not terminated:
                continue
            code = int(terminated.get("exitCode") or 0)
            if code == 0:
                continue
            track.release_failed.add(name)
            ct, kind = track.releases[name]
            reason = " ".join(str(terminated.get(k) or "") for k in ("reason", "message")).strip()
            self._emit(
                Output(
                    track.node_id,
                    ct.index,
                    "console",
                    f"the ephemeral container {name} ({status.get('image') or self._release_image()}) ended with "
                    f"exit code {code}{': ' + reason if reason else ''}; {track.node_name}/{ct.name} stays paused "
                    f"{kind.value}. Release it by hand: "
                    f"{ephemeral_hint(self.namespace, track.pod_name, ct.name, kind, self._release_image())}\n",
                )
            )
            if ct.finished or ct.terminated is not None or self._stopping or ct.paused is not None:
                continue
            if kind is PauseKind.BEFORE and ct.output_seen:
                continue
            if kind is not PauseKind.BEFORE and ct.command_exit is None:
                continue
            ct.paused, ct.state = kind, f"paused-{kind.value}"
            exit_code = ct.command_exit if kind is not PauseKind.BEFORE else None
            self._emit(
                StepPaused(
                    StepRef(track.node_id, ct.index),
                    kind,
                    exit_code=exit_code,
                    reason="ExitCode" if exit_code else None,
                )
            )

    async def cancel(self) -> None:
        """Terminate the Workflow (`spec.shutdown: Terminate`: the controller SIGTERMs every
        running container, paused ones included) and wait for the run to end; if it does not in
        time, delete its pods."""
        main = self._main
        if main is None or self.name is None:
            return
        if main.done() or self._run_finished:
            return
        self._stopping = True
        try:
            await self._kube.call(
                "terminate Workflow",
                self._kube.custom.patch_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                self.name,
                {"spec": {"shutdown": "Terminate"}},
            )
        except Exception as exc:
            self._emit(Output(None, None, "console", f"cannot terminate {self.name}: {api_message(exc)}\n"))
        done, _ = await asyncio.wait({main}, timeout=CANCEL_WAIT)
        if done:
            return
        for track in list(self._pods.values()):
            with contextlib.suppress(Exception):
                await self._kube.call(
                    "delete pod",
                    self._kube.core.delete_namespaced_pod,
                    track.pod_name,
                    self.namespace,
                    grace_period_seconds=0,
                )
            for ct in track.containers:
                if ct.log is not None:
                    ct.log.stop()
            self._pod_gone(track)
        self._done.set()
        self._wake()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(main)

    async def close(self) -> None:
        """Stop every stream. A launched run still going is cancelled first; an attached one is
        left to itself (the session releases or cancels it before closing)."""
        if self._closed:
            return
        self._closed = True
        if not self._attach:
            await self.cancel()
        for track in self._pods.values():
            for future in [*track.drivers, *([track.main] if track.main else [])]:
                future.cancel()
        if self._main is not None and not self._main.done():
            self._main.cancel()
        for future in self._background:
            future.cancel()
        await self._kube.close()

    async def wait(self) -> None:
        """Until RunFinished was emitted (tests)."""
        if self._main is not None:
            await asyncio.shield(self._main)

    # ---- inspection -----------------------------------------------------------------------------------

    def _container_spec(self, track: PodTrack, name: str) -> dict[str, Any]:
        for container in (track.pod.get("spec") or {}).get("containers") or []:
            if container.get("name") == name:
                return dict(container)
        return {}

    def _params(self, track: PodTrack) -> dict[str, Any]:
        """The node's inputs: status.nodes when the controller wrote them, else the document
        (the call's arguments with workflow parameters substituted, then declared defaults)."""
        node = self._node(track.node_id)
        given = (node.get("inputs") or {}).get("parameters")
        if isinstance(given, list) and given:
            return {str(p.get("name")): p.get("value") for p in given if isinstance(p, dict)}
        scope = self._workflow_scope()
        params: dict[str, Any] = {}
        template = track.template
        if template is not None:
            for decl in (template.data().get("inputs") or {}).get("parameters") or []:
                if isinstance(decl, dict) and ("value" in decl or "default" in decl):
                    params[str(decl.get("name"))] = text_of(decl.get("value", decl.get("default")))
        task = track.source.task if track.source is not None else None
        if task is not None:
            for arg in (task.data().get("arguments") or {}).get("parameters") or []:
                if isinstance(arg, dict) and "value" in arg:
                    params[str(arg.get("name"))] = _substitute(text_of(arg["value"]), scope)
        return params

    def _workflow_scope(self) -> dict[str, str]:
        spec = self._workflow.get("spec") or {}
        scope = {"workflow.name": self.name or "", "workflow.namespace": self.namespace}
        for param in (spec.get("arguments") or {}).get("parameters") or []:
            if isinstance(param, dict):
                scope[f"workflow.parameters.{param.get('name')}"] = text_of(param.get("value", param.get("default")))
        return scope

    def _results(self, track: PodTrack) -> dict[str, str]:
        outputs = self._node(track.node_id).get("outputs") or {}
        results = {
            str(p.get("name")): text_of(p.get("value"))
            for p in outputs.get("parameters") or []
            if isinstance(p, dict) and "value" in p
        }
        if "result" in outputs:
            results["result"] = text_of(outputs["result"])
        return results

    def inspect(self, step: StepRef) -> StepView:
        track, ct = self._track(step)
        container = self._container_spec(track, ct.name)
        statuses = {s.get("name"): s for s in (track.pod.get("status") or {}).get("containerStatuses") or []}
        status = statuses.get(ct.name) or {}
        state = status.get("state") or {}
        raw = ct.step.data() if ct.step is not None else {}
        command = [str(c) for c in container.get("command") or raw.get("command") or []]
        if "--" in command and command and command[0].endswith("argoexec"):
            command = command[command.index("--") + 1 :]  # the emissary's wrapper
        args = [str(a) for a in container.get("args") or raw.get("args") or []]
        script = raw.get("source") if track.template is not None and track.template.type == "script" else None
        env = podenv.spec_env(track.pod, container, track.configmaps)
        if self._body is not None and self._options.debug:
            for name in (BEFORE_ENV, AFTER_ENV):
                env.pop(name, None)  # ours, not the workflow's
        workspaces: dict[str, str] = {}
        if track.template is not None:
            data = track.template.data()
            for kind in ("inputs", "outputs"):
                for artifact in (data.get(kind) or {}).get("artifacts") or []:
                    if isinstance(artifact, dict) and artifact.get("path"):
                        workspaces[str(artifact.get("name"))] = str(artifact["path"])
        exit_code = ct.exit_code if ct.exit_code is not None else ct.command_exit
        return StepView(
            task_id=track.node_id,
            step_index=ct.index,
            name=ct.name,
            image=str(container.get("image") or raw.get("image") or ""),
            command=command if script is None else [str(c) for c in raw.get("command") or []],
            args=args if script is None else [],
            script=str(script) if script is not None else None,
            working_dir=str(container.get("workingDir") or raw.get("workingDir") or ""),
            env=env,
            params=self._params(track),
            results=self._results(track),
            workspaces=workspaces,
            state=ct.state,
            exit_code=exit_code,
            started_at=(state.get("running") or state.get("terminated") or {}).get("startedAt"),
            finished_at=(state.get("terminated") or {}).get("finishedAt"),
            pod=track.pod_name,
            container=ct.name,
            extra={
                "node": str((track.pod.get("spec") or {}).get("nodeName") or ""),
                "argoNode": track.node_name,
                "template": track.template.name if track.template is not None else "",
                "imageDigest": str(status.get("imageID") or ""),
                "containerState": next(iter(state), "waiting"),
                "restartCount": str(status.get("restartCount", 0)),
                "namespace": self.namespace,
                "workflow": self.name or "",
                "pod": track.pod_name,
            },
        )

    async def inspect_live(self, step: StepRef) -> StepView:
        """`inspect`, with the real environment and the output parameters written so far, read
        from the paused container by one exec; Secret-sourced values stay masked. Any failure
        falls back to the pod spec quietly."""
        view = self.inspect(step)
        track, ct = self._track(step)
        if ct.paused is None or track.gone:
            return view
        outputs: list[tuple[str, str]] = []
        if track.template is not None and ct.name in ("main", *[s.name for s in track.containers[-1:]]):
            for decl in (track.template.data().get("outputs") or {}).get("parameters") or []:
                path = (decl.get("valueFrom") or {}).get("path") if isinstance(decl, dict) else None
                if isinstance(path, str) and "{{" not in path:
                    outputs.append((str(decl.get("name")), path))
        try:
            code, output = await self._exec(track, ct, podenv.live_argv(outputs))
        except EngineError as exc:
            log.info("live read of %s/%s: %s", track.pod_name, ct.name, exc)
            return view
        parsed = podenv.parse_live(output) if code == 0 else None
        if parsed is None:
            return view
        real, results = parsed
        container = self._container_spec(track, ct.name)
        hidden = frozenset({BEFORE_ENV, AFTER_ENV}) if self._body is not None and self._options.debug else frozenset()
        view.env = podenv.live_env(real, view.env, container, {}, hidden=hidden)
        view.results = {**view.results, **results}
        view.extra["values"] = "read from the running container"
        return view

    async def set_result(self, step: StepRef, name: str, value: str) -> None:
        """Change an output parameter: write its `valueFrom.path` file in the container paused
        after its command (the emissary saves outputs after the pause-after, B1 step 9), argv only."""
        track, ct = self._track(step)
        declared: dict[str, Any] = {}
        if track.template is not None:
            for decl in (track.template.data().get("outputs") or {}).get("parameters") or []:
                if isinstance(decl, dict) and "name" in decl:
                    declared[str(decl["name"])] = (decl.get("valueFrom") or {}).get("path")
        template = track.template.name if track.template is not None else track.node_name
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise EngineError(f'template "{template}" has no output parameter "{name}" (declared: {known})')
        path = declared[name]
        if not isinstance(path, str) or "{{" in path:
            raise EngineError(f'output parameter "{name}" of "{template}" is not read from a file: nothing to change')
        if ct.paused not in (PauseKind.AFTER, PauseKind.FAILURE) or ct.name != track.containers[-1].name:
            raise EngineError(
                f'output parameter "{name}" can be changed while its container is paused after its command: '
                "Argo reads it from the file when the container ends"
            )
        argv = ["sh", "-c", 'printf "%s" "$2" > "$1"', "pipeline-dap", path, value]
        code, output = await self._exec(track, ct, argv)
        if code != 0:
            where = f"{track.pod_name}/{ct.name}"
            raise EngineError(f"writing {path} in {where} failed (exit code {code}): {output.strip()}")

    async def exec(self, step: StepRef, argv: list[str]) -> ExecResult:
        if not argv:
            raise EngineError("nothing to run")
        track, ct = self._track(step)
        try:
            code, output = await self._exec(track, ct, argv)
        except EngineError as exc:
            self._emit(Output(track.node_id, ct.index, "console", f"{exc}\n"))
            raise
        return ExecResult(code, output)

    def shell_command(self, step: StepRef) -> tuple[list[str], str, dict[str, str]] | None:
        """`kubectl exec -it` into the step's container, with this run's namespace, context and
        kubeconfig, for runInTerminal."""
        track, ct = self._track(step)
        if track.gone:
            return None
        argv = ["kubectl", "exec", "-it", "-n", self.namespace, track.pod_name, "-c", ct.name]
        if self._options.kube_context:
            argv += ["--context", self._options.kube_context]
        kubeconfig = self._options.kubeconfig or getattr(self._kube, "config_file", None)
        if kubeconfig:
            argv += ["--kubeconfig", os.path.abspath(os.path.expanduser(str(kubeconfig)))]
        return [*argv, "--", "sh"], os.getcwd(), {}


_VAR = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")


def _substitute(text: str, scope: dict[str, str]) -> str:
    return _VAR.sub(lambda m: scope.get(m.group(1), m.group(0)), text)


def create_argo_engine(document: Document, options: RunOptions) -> Engine:
    """The factory the session uses (`engine: argo`)."""
    return ArgoEngine(document, options)


def workflow_yaml(workflow: dict[str, Any]) -> str:
    """The YAML of an existing Workflow to build a source map from (attach without `program`):
    its spec, or the spec of the WorkflowTemplate it ran (status.storedWorkflowTemplateSpec)."""
    import yaml

    meta = workflow.get("metadata") or {}
    spec = dict(workflow.get("spec") or {})
    stored = (workflow.get("status") or {}).get("storedWorkflowTemplateSpec")
    if isinstance(stored, dict) and (spec.get("workflowTemplateRef") or not spec.get("templates")):
        spec = {**stored, **{k: v for k, v in spec.items() if k != "workflowTemplateRef"}}
        spec["templates"] = stored.get("templates") or spec.get("templates") or []
    spec.pop("shutdown", None)
    document = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Workflow",
        "metadata": {"name": meta.get("name"), "namespace": meta.get("namespace")},
        "spec": spec,
    }
    return str(yaml.safe_dump(document, sort_keys=False, width=1000))


async def fetch_run(options: RunOptions) -> str:
    """The YAML of the Workflow `options.attach` names (see `workflow_yaml`)."""
    if not options.attach:
        raise EngineError("no Workflow to attach to (attach needs `run`: workflow/NAME)")
    kube = Kube(options.kubeconfig, options.kube_context)
    try:
        await kube.connect()
        namespace = options.namespace or kube.default_namespace
        try:
            found = await kube.call(
                "read Workflow",
                kube.custom.get_namespaced_custom_object,
                GROUP,
                VERSION,
                namespace,
                PLURAL,
                options.attach,
            )
        except Exception as exc:
            if getattr(exc, "status", None) == 404 and "workflows" not in api_message(exc):
                raise EngineError("Argo Workflows is not installed (no workflows.argoproj.io resource)") from None
            raise EngineError(
                f'cannot read Workflow "{options.attach}" in namespace "{namespace}": {api_message(exc)}'
            ) from None
    finally:
        await kube.close()
    return workflow_yaml(found)
