"""The DAP session: where pipelines meet the Debug Adapter Protocol.

Engines pause at every step boundary; this module decides which pauses the user sees
(breakpoints, stepping, pause requests, stop on entry, step failures) and releases the
others at once. Threads are task instances, frames are step › pipeline task › run.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import shutil
import tempfile
from typing import Any

from pydantic import BaseModel

from dap_server.engines.base import (
    Engine,
    EngineError,
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
from dap_server.protocol import models as m
from dap_server.protocol.connection import Connection, RequestError
from dap_server.sources import SourceSet
from dap_server.sources.model import Document, Span, Step

from . import expressions, variables
from .breakpoint_requests import BreakpointRequests
from .breakpoints import BreakpointStore
from .capabilities import ON_FAILURE, capabilities
from .dependencies import dependents
from .inspection import Inspector
from .launch import (
    AttachConfig,
    LaunchConfig,
    LaunchError,
    create_attach_engine,
    create_engine,
    load_run,
    parse_attach_config,
    parse_config,
)
from .ports import free_port, listening
from .threads import FrameRef, Intent, Pause, ThreadState

log = logging.getLogger(__name__)


class Session:
    """One debug session over one DAP connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.lines_start_at1 = True
        self.supports_run_in_terminal = False
        self.supports_start_debugging = False
        self.config: LaunchConfig | None = None
        self.attach_config: AttachConfig | None = None
        self.attach_folder: str | None = None  # attach without program: the run's YAML lives here
        self.sources: SourceSet | None = None
        self.document: Document | None = None
        self.engine: Engine | None = None
        self.breakpoints = BreakpointStore()
        self.exception_filters: set[str] = set()
        self.threads: dict[int, ThreadState] = {}
        self.by_task: dict[str, ThreadState] = {}
        self._thread_ids = itertools.count(1)
        self.frame_ids = itertools.count(1)
        self.frames: dict[int, FrameRef] = {}
        self.handles = variables.Handles()
        self.configured = False
        self.entry_pending = False
        self.released = False  # after a disconnect without cancel: no more stops
        self.next_task_after: set[str] = set()  # pipeline tasks whose dependents' first step ends a `next`
        self.run_done = asyncio.Event()
        self.exit_code: int | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ended = False
        self._closing: dict[int, asyncio.Future[None]] = {}
        self._live: dict[int, asyncio.Future[StepView | None]] = {}  # thread id -> this stop's live view
        self.bp_requests = BreakpointRequests(self)
        self.inspector = Inspector(self)

    # ------------------------------------------------------------------ wiring

    def register(self) -> None:
        c, bps, insp = self.conn, self.bp_requests, self.inspector
        c.register("initialize", self.initialize, m.InitializeRequestArguments)
        c.register("launch", self.launch, None)
        c.register("attach", self.attach, None)
        c.register("setBreakpoints", bps.set_breakpoints, m.SetBreakpointsArguments)
        c.register("breakpointLocations", bps.breakpoint_locations, m.BreakpointLocationsArguments)
        c.register("setExceptionBreakpoints", bps.set_exception_breakpoints, m.SetExceptionBreakpointsArguments)
        c.register("configurationDone", self.configuration_done, None)
        c.register("threads", insp.threads_request, None)
        c.register("stackTrace", insp.stack_trace, m.StackTraceArguments)
        c.register("scopes", insp.scopes, m.ScopesArguments)
        c.register("variables", insp.variables, m.VariablesArguments)
        c.register("setVariable", insp.set_variable, m.SetVariableArguments)
        c.register("exceptionInfo", insp.exception_info, m.ExceptionInfoArguments)
        c.register("evaluate", insp.evaluate, m.EvaluateArguments)
        c.register("source", insp.source, m.SourceArguments)
        c.register("continue", self.continue_, m.ContinueArguments)
        c.register("next", self.next, m.NextArguments)
        c.register("stepIn", self.step_in, m.StepInArguments)
        c.register("stepOut", self.step_out, m.StepOutArguments)
        c.register("pause", self.pause, m.PauseArguments)
        c.register("terminate", self.terminate, None)
        c.register("restart", self.restart, None)
        c.register("disconnect", self.disconnect, None)

    async def _initialized(self) -> None:
        await self.conn.send_event("initialized")

    def emit(self, event: str, body: BaseModel | None = None) -> None:
        """Send an event from synchronous code; events keep their order on the wire."""
        self.spawn(self.conn.send_event(event, body))

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())

    # ------------------------------------------------------------------ lines

    def client_line(self, line: int) -> int:
        return line if self.lines_start_at1 else line - 1

    def server_line(self, line: int) -> int:
        return line if self.lines_start_at1 else line + 1

    def source_of(self, path: str) -> m.Source:
        return m.Source(name=os.path.basename(path), path=path)

    # ------------------------------------------------------------------ initialize & launch

    async def initialize(self, args: m.InitializeRequestArguments) -> m.Capabilities:
        self.lines_start_at1 = args.lines_start_at1 is not False
        self.supports_run_in_terminal = bool(args.supports_run_in_terminal_request)
        self.supports_start_debugging = bool(args.supports_start_debugging_request)
        self.conn.after_reply(self._initialized)
        return capabilities()

    async def launch(self, arguments: dict[str, Any]) -> None:
        if self.engine is not None:
            raise RequestError("a run was already launched in this session")
        try:
            config = parse_config(arguments)
            sources, document = await asyncio.to_thread(load_run, config)
            engine = create_engine(config, document)
        except LaunchError as exc:
            raise RequestError(str(exc), show_user=True) from None
        try:
            await engine.prepare()
        except EngineError as exc:
            await engine.close()
            raise RequestError(str(exc), show_user=True) from None
        self.config, self.sources, self.document, self.engine = config, sources, document, engine
        self.entry_pending = config.stop_on_entry
        self.bp_requests.check_files()
        self.console(f"Launching {document.key} from {document.path} on the {config.engine} engine\n")
        if self.configured:
            await self._start()

    async def attach(self, arguments: dict[str, Any]) -> None:
        """Attach to a run already on a cluster (dap-mapping.md): nothing is created; pauses in
        effect are found from the run's logs; a disconnect releases every pause and leaves the
        run going unless `cancelOnDisconnect`."""
        if self.engine is not None:
            raise RequestError("a run was already launched in this session")
        folder = tempfile.mkdtemp(prefix="pipeline-dap-attach-")
        try:
            config = parse_attach_config(arguments)
            sources, document, engine = await create_attach_engine(config, folder)
        except LaunchError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise RequestError(str(exc), show_user=True) from None
        try:
            await engine.prepare()
        except EngineError as exc:
            await engine.close()
            shutil.rmtree(folder, ignore_errors=True)
            raise RequestError(str(exc), show_user=True) from None
        self.attach_config, self.sources, self.document, self.engine = config, sources, document, engine
        self.attach_folder = folder
        self.entry_pending = config.stop_on_entry
        self.bp_requests.check_files()
        where = f'namespace "{config.namespace}"' if config.namespace else "the context's namespace"
        self.console(f"Attached to {config.run} in {where} on the {config.engine} engine; source: {document.path}\n")
        if self.configured:
            await self._start()

    async def configuration_done(self, _args: Any) -> None:
        self.configured = True
        if self.engine is not None:
            await self._start()

    async def _start(self) -> None:
        assert self.engine is not None
        try:
            await self.engine.start(self.on_event)
        except EngineError as exc:
            await self._close_engine()
            raise RequestError(str(exc), show_user=True) from None

    # ------------------------------------------------------------------ engine events

    def on_event(self, event: RunEvent) -> None:
        try:
            self._on_event(event)
        except Exception:  # an event must never kill the engine's reader
            log.exception("handling %r failed", event)

    def _on_event(self, event: RunEvent) -> None:
        if isinstance(event, TaskStarted):
            thread = ThreadState(
                id=next(self._thread_ids),
                task_id=event.task_id,
                name=event.display_name,
                pipeline_task=event.pipeline_task,
                instance=event.instance,
                step_names=event.step_names,
                run_name=event.run_name,
                steps=event.steps,
                frames=event.frames,
            )
            self.threads[thread.id] = thread
            self.by_task[event.task_id] = thread
            self.emit("thread", m.ThreadEventBody(reason="started", thread_id=thread.id))
        elif isinstance(event, StepPaused):
            self._on_pause(event)
        elif isinstance(event, StepRunning | StepFinished):
            running = self.by_task.get(event.step.task_id)
            if running is not None:
                running.current = event.step.step_index
        elif isinstance(event, TaskFinished):
            ended = self.by_task.pop(event.task_id, None)
            if ended is not None:
                self.threads.pop(ended.id, None)
                self.handles.drop_thread(ended.id)
                if not event.succeeded and event.reason not in ("Skipped", "Cancelled"):
                    self.console(f"Task {ended.name} failed: {event.message or event.reason}\n")
                self.emit("thread", m.ThreadEventBody(reason="exited", thread_id=ended.id))
            elif event.reason == "Skipped":
                self.console(f"Task {event.task_id} skipped: {event.message}\n")
        elif isinstance(event, Output):
            self._on_output(event)
        elif isinstance(event, RunFinished):
            self._on_run_finished(event)

    def _on_output(self, event: Output) -> None:
        thread = self.by_task.get(event.task_id) if event.task_id else None
        source: m.Source | None = None
        line: int | None = None
        if thread is not None and event.step_index is not None:
            thread.remember_log(event.step_index, event.text)
            step = self.source_step(thread, event.step_index)[0]
            if step is not None:
                source, line = self.source_of(step.span.path), self.client_line(step.span.line)
        self.emit("output", m.OutputEventBody(category=event.category, output=event.text, source=source, line=line))

    def console(self, text: str) -> None:
        self.emit("output", m.OutputEventBody(category="console", output=text))

    def _on_run_finished(self, event: RunFinished) -> None:
        if self._ended:
            return
        self._ended = True
        self.exit_code = 0 if event.succeeded else 1
        summary = "succeeded" if event.succeeded else f"failed: {event.message or event.reason}"
        name = self.document.key if self.document else "run"
        self.console(f"{name} {summary}\n")
        for thread in list(self.threads.values()):
            self.emit("thread", m.ThreadEventBody(reason="exited", thread_id=thread.id))
        self.threads.clear()
        self.by_task.clear()
        self.emit("terminated", m.TerminatedEventBody())
        self.emit("exited", m.ExitedEventBody(exit_code=self.exit_code))
        self.run_done.set()
        self.spawn(self._close_engine())

    # ------------------------------------------------------------------ stop decisions

    def source_step(self, thread: ThreadState, index: int) -> tuple[Step | None, Span | None]:
        """Where step `index` of a thread is written, and the span of the task item that runs it
        (pipeline task, DAG task or steps item; None for a lone Task). What the engine said
        (TaskStarted.steps / frames) comes first, else the Tekton pipeline task of that name."""
        step: Step | None = None
        task_span: Span | None = thread.frames[0][1] if thread.frames else None
        if thread.steps:
            step = thread.steps[index] if 0 <= index < len(thread.steps) else None
        doc = self.document
        if doc is not None and thread.pipeline_task is not None and doc.pipeline is not None:
            ptask = doc.pipeline.task(thread.pipeline_task)
            if ptask is not None:
                task_span = task_span or ptask.span
                steps = ptask.task.steps if ptask.task is not None else []
                if step is None and 0 <= index < len(steps):
                    step = steps[index]
        elif step is None and doc is not None and doc.task is not None and 0 <= index < len(doc.task.steps):
            step = doc.task.steps[index]
        return step, task_span

    def enclosing(self, thread: ThreadState) -> list[tuple[str, Span]]:
        """Frames between the step and the run: the engine's, else the Tekton pipeline task."""
        if thread.frames:
            return list(thread.frames)
        _, task_span = self.source_step(thread, 0)
        if task_span is not None:
            return [(thread.name, task_span)]
        doc = self.document
        if doc is not None and doc.task is not None and doc.kind != "Task":
            spec = doc.task
            if spec.document is not None and spec.document is not doc:
                return [(f"Task/{spec.name}", spec.document.span)]
        return []

    def _on_pause(self, event: StepPaused) -> None:
        thread = self.by_task.get(event.step.task_id)
        if thread is None:  # a task we never heard of: never leave it paused
            self.spawn(self._resume(event.step, event.kind, _default_action(event.kind)))
            return
        index = event.step.step_index
        thread.current = index
        pause = Pause(event.step, event.kind, event.exit_code, event.reason)
        stop = self._decide(thread, pause)
        if stop is None:
            self.spawn(self._release_unasked(thread, pause))
            return
        reason, description, hit_ids = stop
        thread.pause = pause
        thread.intent = Intent.NONE
        thread.exit_code_override = None
        self.emit(
            "stopped",
            m.StoppedEventBody(
                reason=reason,
                description=description,
                thread_id=thread.id,
                all_threads_stopped=False,
                hit_breakpoint_ids=hit_ids or None,
                text=description if reason == "exception" else None,
            ),
        )

    def _decide(self, thread: ThreadState, pause: Pause) -> tuple[str, str, list[int]] | None:
        if self.released:
            return None
        kind, index = pause.kind, pause.step.step_index
        step_name = thread.step_name(index)
        if kind is PauseKind.FAILURE:
            if ON_FAILURE in self.exception_filters:
                code = "not known until the step is released" if pause.exit_code is None else pause.exit_code
                return "exception", f'Step "{step_name}" failed (exit code {code})', []
            return None
        hit_ids = self._breakpoint_hits(thread, pause)
        where = f'{"before" if kind is PauseKind.BEFORE else "after"} step "{step_name}" of {thread.name}'
        if hit_ids:
            return "breakpoint", f"Breakpoint {where}", hit_ids
        if thread.pipeline_task in self.next_task_after_dependents() and kind is PauseKind.BEFORE and index == 0:
            self.next_task_after.clear()
            return "step", f"Stopped {where}", []
        if thread.stepping_stop(kind, index):
            reason = "pause" if thread.intent is Intent.PAUSE else "step"
            return reason, f"{'Paused' if reason == 'pause' else 'Stopped'} {where}", []
        if self.entry_pending and kind is PauseKind.BEFORE:
            self.entry_pending = False
            return "entry", f"Stopped on entry {where}", []
        return None

    def next_task_after_dependents(self) -> set[str]:
        """Pipeline tasks that depend on a task a `next` stepped past the end of."""
        if not self.next_task_after or self.document is None or self.document.pipeline is None:
            return set()
        return dependents(self.document.pipeline, self.next_task_after)

    def _breakpoint_hits(self, thread: ThreadState, pause: Pause) -> list[int]:
        step, task_span = self.source_step(thread, pause.step.step_index)
        if step is None:
            return []
        mode = "before" if pause.kind is PauseKind.BEFORE else "after"
        index = pause.step.step_index
        candidates = self.breakpoints.for_step(step, task_span, mode, first=index == 0, last=index == thread.last_index)
        if not candidates:
            return []
        view: StepView | None = None
        hits = []
        for bp in candidates:
            bp.hits += 1
            if bp.hit_condition and not expressions.hit_condition_met(bp.hit_condition, bp.hits):
                continue
            if bp.condition or bp.log_message:
                if view is None:
                    view = self.inspect_step(pause.step)
                if view is None:
                    continue
                names = variables.names_for(view)
                if bp.condition:
                    try:
                        if not expressions.evaluate(bp.condition, names):
                            continue
                    except expressions.ExpressionError as exc:
                        self.console(
                            f"Breakpoint condition error at {os.path.basename(bp.path)}:{bp.line}: {exc}; stopping\n"
                        )
                if bp.log_message:
                    text = expressions.format_log_message(bp.log_message, variables.substitution_values(view), names)
                    self.emit(
                        "output",
                        m.OutputEventBody(
                            category="console",
                            output=text + "\n",
                            source=self.source_of(bp.path),
                            line=self.client_line(bp.line),
                        ),
                    )
                    continue
            hits.append(bp.id)
        return hits

    def inspect_step(self, step: StepRef) -> StepView | None:
        if self.engine is None:
            return None
        try:
            return self.engine.inspect(step)
        except (EngineError, KeyError, IndexError) as exc:
            log.warning("inspect %s failed: %s", step, exc)
            return None

    async def live_view(self, thread: ThreadState) -> StepView | None:
        """The paused step's values, topped up by the engine from the running step
        (`Engine.inspect_live`): read once per stop, shared by every request of that stop."""
        pause = thread.pause
        if pause is None or self.engine is None:
            return None
        future = self._live.get(thread.id)
        if future is None:
            future = asyncio.ensure_future(self._inspect_live(self.engine, pause.step))
            self._live[thread.id] = future
        return await asyncio.shield(future)

    async def _inspect_live(self, engine: Engine, step: StepRef) -> StepView | None:
        try:
            return await engine.inspect_live(step)
        except (EngineError, KeyError, IndexError) as exc:
            log.warning("live inspect %s failed: %s", step, exc)
            return self.inspect_step(step)

    async def _release_unasked(self, thread: ThreadState, pause: Pause) -> None:
        """Release a pause nobody stops at. If the engine cannot (a cluster refused the exec), the
        step would stay paused unseen: it becomes a stop the user sees, to continue once possible."""
        await self._resume_thread(thread, pause, _default_action(pause.kind))

    async def _resume_thread(self, thread: ThreadState, pause: Pause, action: Resume) -> str | None:
        """Resume a thread's pause; if the engine cannot, the console says why and the thread is
        shown stopped there again. The failure's text, or None."""
        try:
            await self._resume_or_raise(pause.step, pause.kind, action, thread)
        except EngineError as exc:
            where = f'step "{thread.step_name(pause.step.step_index)}" of {thread.name}'
            self.console(f"Could not resume {where}: {exc}\n")
            self._stopped_again(thread, pause, where)
            return f"could not resume {where}: {exc}"
        return None

    def _stopped_again(self, thread: ThreadState, pause: Pause, where: str) -> None:
        """The thread's step is still paused after a failed release: show it stopped there."""
        if thread.pause is not None or self.threads.get(thread.id) is not thread or self._ended or self.released:
            return
        thread.pause = pause
        thread.intent = Intent.NONE
        self.emit(
            "stopped",
            m.StoppedEventBody(
                reason="pause",
                description=f"Still paused: could not resume {where}",
                thread_id=thread.id,
                all_threads_stopped=False,
            ),
        )

    async def _resume(self, step: StepRef, kind: PauseKind, action: Resume, thread: ThreadState | None = None) -> None:
        """Release a pause nobody stops at; a failure is told on the console."""
        try:
            await self._resume_or_raise(step, kind, action, thread)
        except EngineError as exc:
            self.console(f"Could not resume step {step.step_index} of {step.task_id}: {exc}\n")

    async def _resume_or_raise(
        self, step: StepRef, kind: PauseKind, action: Resume, thread: ThreadState | None = None
    ) -> None:
        if self.engine is None:
            return
        if (
            thread is not None
            and kind is PauseKind.BEFORE
            and action is Resume.CONTINUE
            and not self._may_stop_after(thread, step.step_index)
        ):
            await self.engine.skip_after(step)
        await self.engine.resume(step, kind, action)

    def _may_stop_after(self, thread: ThreadState, index: int) -> bool:
        """Whether the after-step pause of a step about to run could become a stop. Decided as
        the step starts: breakpoints set while it runs apply from the next step on (dap-mapping:
        "every step that has not started"), and a pause request stops at the next boundary."""
        if self.released:
            return False
        last = index == thread.last_index
        if thread.intent is Intent.PAUSE or (thread.intent in (Intent.NEXT, Intent.OUT) and last):
            return True
        step, task_span = self.source_step(thread, index)
        if step is None:
            return True  # unknown source: keep the pause, the stop decision will be made then
        return bool(self.breakpoints.for_step(step, task_span, "after", first=index == 0, last=last))

    # ------------------------------------------------------------------ execution control

    def stopped_thread(self, thread_id: int) -> ThreadState:
        thread = self.threads.get(thread_id)
        if thread is None:
            raise RequestError(f"thread {thread_id} does not exist (it may have finished)")
        if thread.pause is None:
            raise RequestError(f'thread {thread_id} ("{thread.name}") is running, not stopped')
        return thread

    async def release(self, thread: ThreadState, strict: bool = False) -> None:
        """Let a stopped thread go. If the engine cannot (a cluster refused the exec), the
        step is still paused: the thread is stopped again (a `stopped` event says why), the
        console says so, and with `strict` the request fails with the cause."""
        pause = thread.pause
        if pause is None:
            return
        thread.pause = None
        self._live.pop(thread.id, None)
        self.handles.drop_thread(thread.id)
        for fid in [f for f, ref in self.frames.items() if ref.thread is thread]:
            del self.frames[fid]
        action = _default_action(pause.kind)
        if pause.kind is PauseKind.FAILURE and thread.exit_code_override == 0:
            action = Resume.CONTINUE
        failure = await self._resume_thread(thread, pause, action)
        if failure is not None and strict:
            raise RequestError(failure, show_user=True)

    async def _release_others(self, keep: ThreadState) -> None:
        for other in list(self.threads.values()):
            if other is not keep and other.pause is not None:
                await self.release(other)
                if other.pause is None:
                    self.emit("continued", m.ContinuedEventBody(thread_id=other.id, all_threads_continued=False))

    async def continue_(self, args: m.ContinueArguments) -> m.ContinueResponseBody:
        thread = self.threads.get(args.thread_id)
        if args.single_thread:
            if thread is None:
                raise RequestError(f"thread {args.thread_id} does not exist (it may have finished)")
            thread.intent = Intent.NONE
            await self.release(thread, strict=True)
            return m.ContinueResponseBody(all_threads_continued=False)
        failures: list[str] = []
        for other in list(self.threads.values()):
            if other.pause is not None:  # a running thread keeps its own step request
                other.intent = Intent.NONE
                try:
                    await self.release(other, strict=True)
                except RequestError as exc:
                    failures.append(str(exc))
        if failures:
            raise RequestError("; ".join(failures), show_user=True)
        return m.ContinueResponseBody(all_threads_continued=True)

    async def next(self, args: m.NextArguments) -> None:
        await self._step(args.thread_id, bool(args.single_thread), Intent.NEXT)

    async def step_in(self, args: m.StepInArguments) -> None:
        """Like `next`; on a Python script step paused before, the step runs under debugpy and
        the client is asked (startDebugging) to attach a child session to it."""
        thread = self.stopped_thread(args.thread_id)
        pause = thread.pause
        port = 0
        if self.supports_start_debugging and pause is not None and pause.kind is PauseKind.BEFORE and self.engine:
            port = free_port()
            try:
                if not await self.engine.debug_python(pause.step, port):
                    port = 0
            except EngineError as exc:
                self.console(f"stepIn: {exc}; stepping over instead\n")
                port = 0
        await self._step(args.thread_id, bool(args.single_thread), Intent.NEXT)
        if port:
            name = f"{thread.name} › {thread.step_name(pause.step.step_index) if pause else ''} (Python)"
            self.spawn(self._attach_child(name, port))

    async def _attach_child(self, name: str, port: int) -> None:
        """Once the step's debugpy listens, ask the client for a child session attached to it."""
        if not await listening(port, timeout=30):
            self.console(f"stepIn: the step's debugpy did not listen on port {port}\n")
            return
        configuration = {
            "type": "debugpy",
            "request": "attach",
            "name": name,
            "connect": {"host": "127.0.0.1", "port": port},
            "justMyCode": False,
        }
        try:
            response = await self.conn.request(
                "startDebugging", m.StartDebuggingRequestArguments(request="attach", configuration=configuration)
            )
        except (ConnectionError, TimeoutError) as exc:
            self.console(f"stepIn: no child session: {exc}\n")
            return
        if not response.get("success"):
            self.console(
                f"stepIn: the client did not start a Python session ({response.get('message')}); "
                f"attach a Python debugger to 127.0.0.1:{port} to let the step run\n"
            )

    async def step_out(self, args: m.StepOutArguments) -> None:
        await self._step(args.thread_id, bool(args.single_thread), Intent.OUT)

    async def _step(self, thread_id: int, single: bool, intent: Intent) -> None:
        thread = self.stopped_thread(thread_id)
        if thread.at_task_end():
            # Past the end of the task: the next stop is the first step of a task that depends on it.
            if thread.pipeline_task is not None:
                self.next_task_after = {thread.pipeline_task}
            thread.intent = Intent.NONE
        elif intent is Intent.NEXT:
            thread.start_next()
        else:
            thread.intent = Intent.OUT
        if not single:
            await self._release_others(thread)
        await self.release(thread, strict=True)

    async def pause(self, args: m.PauseArguments) -> None:
        thread = self.threads.get(args.thread_id)
        if thread is None:
            raise RequestError(f"thread {args.thread_id} does not exist (it may have finished)")
        if thread.pause is not None:
            return
        thread.intent = Intent.PAUSE

    # ------------------------------------------------------------------ ending

    async def terminate(self, _args: Any) -> None:
        await self.cancel_run()

    async def cancel_run(self) -> None:
        engine = self.engine
        if engine is None or self.run_done.is_set():
            return
        await engine.cancel()
        if not self._ended:
            self._on_run_finished(RunFinished(succeeded=False, reason="Cancelled", message="cancelled by the user"))

    async def release_all(self) -> None:
        """Let the run finish on its own: release every pause, never stop again."""
        self.released = True
        for thread in list(self.threads.values()):
            thread.intent = Intent.NONE
            await self.release(thread)

    async def restart(self, arguments: Any) -> None:
        if self.config is None:
            raise RequestError("restart needs a launched run")
        args = arguments.get("arguments") if isinstance(arguments, dict) else None
        config_args = args if isinstance(args, dict) and args.get("program") else self.config.model_dump(by_alias=True)
        # The old run ends quietly: a restart is not the end of the session (no terminated/exited).
        self._ended = True
        for thread in list(self.threads.values()):
            self.emit("thread", m.ThreadEventBody(reason="exited", thread_id=thread.id))
        if self.engine is not None:
            await self.engine.cancel()
        await self._close_engine()
        self.engine = None
        self._ended = False
        self.run_done = asyncio.Event()
        self.threads.clear()
        self.by_task.clear()
        self.frames.clear()
        for bp in self.breakpoints.all():
            bp.hits = 0
        await self.launch(config_args)

    async def disconnect(self, arguments: Any) -> None:
        terminate = None
        if isinstance(arguments, dict):
            terminate = arguments.get("terminateDebuggee")
        await self.shutdown(cancel=terminate if isinstance(terminate, bool) else None)
        # DAP: after disconnect the adapter shuts down (over TCP, it serves the next client).
        self.conn.after_reply(self._hang_up)

    async def _hang_up(self) -> None:
        self.conn.close()

    async def shutdown(self, cancel: bool | None = None) -> None:
        """End of the session (disconnect or the client went away): never leave a step paused."""
        try:
            if self.engine is None:
                return
            if cancel is None:
                if self.config is not None:
                    cancel = self.config.cancel_on_disconnect
                else:
                    cancel = self.attach_config.cancel_on_disconnect if self.attach_config else True
            if not self.run_done.is_set():
                if cancel or not self.configured:
                    await self.cancel_run()
                else:
                    await self.release_all()
                    await self.run_done.wait()
            await self._close_engine()
        finally:
            if self.attach_folder is not None:
                shutil.rmtree(self.attach_folder, ignore_errors=True)
                self.attach_folder = None

    async def _close_engine(self) -> None:
        """Close the engine (its temporary folders go); every caller waits for the same close,
        so a disconnect is answered only once nothing is left on disk."""
        engine = self.engine
        if engine is None:
            return
        closing = self._closing.get(id(engine))
        if closing is None:
            closing = asyncio.ensure_future(self._close(engine))
            self._closing[id(engine)] = closing
        await asyncio.shield(closing)

    @staticmethod
    async def _close(engine: Engine) -> None:
        with contextlib.suppress(EngineError):
            await engine.close()


def _default_action(kind: PauseKind) -> Resume:
    return Resume.FAIL_CONTINUE if kind is PauseKind.FAILURE else Resume.CONTINUE
