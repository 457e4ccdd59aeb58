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
import shlex
from collections.abc import Callable
from dataclasses import dataclass
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
from dap_server.sources import SourceSet, breakpoint_locations
from dap_server.sources.model import Document, PipelineTask, Span, Step

from . import expressions, variables
from .dependencies import dependents
from .breakpoints import BreakpointStore, SourceBreakpoint
from .launch import LaunchConfig, LaunchError, create_engine, load_run, parse_config
from .threads import Intent, Pause, ThreadState

log = logging.getLogger(__name__)

ON_FAILURE = "onFailure"


@dataclass
class FrameRef:
    thread: ThreadState
    kind: str  # step | task | run
    step_index: int | None


class Session:
    """One debug session over one DAP connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.lines_start_at1 = True
        self.supports_run_in_terminal = False
        self.config: LaunchConfig | None = None
        self.sources: SourceSet | None = None
        self.document: Document | None = None
        self.engine: Engine | None = None
        self.breakpoints = BreakpointStore()
        self.exception_filters: set[str] = set()
        self.threads: dict[int, ThreadState] = {}
        self.by_task: dict[str, ThreadState] = {}
        self._thread_ids = itertools.count(1)
        self._frame_ids = itertools.count(1)
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

    # ------------------------------------------------------------------ wiring

    def register(self) -> None:
        c = self.conn
        c.register("initialize", self.initialize, m.InitializeRequestArguments)
        c.register("launch", self.launch, None)
        c.register("attach", self.attach, None)
        c.register("setBreakpoints", self.set_breakpoints, m.SetBreakpointsArguments)
        c.register("breakpointLocations", self.breakpoint_locations, m.BreakpointLocationsArguments)
        c.register("setExceptionBreakpoints", self.set_exception_breakpoints, m.SetExceptionBreakpointsArguments)
        c.register("configurationDone", self.configuration_done, None)
        c.register("threads", self.threads_request, None)
        c.register("stackTrace", self.stack_trace, m.StackTraceArguments)
        c.register("scopes", self.scopes, m.ScopesArguments)
        c.register("variables", self.variables, m.VariablesArguments)
        c.register("setVariable", self.set_variable, m.SetVariableArguments)
        c.register("continue", self.continue_, m.ContinueArguments)
        c.register("next", self.next, m.NextArguments)
        c.register("stepIn", self.step_in, m.StepInArguments)
        c.register("stepOut", self.step_out, m.StepOutArguments)
        c.register("pause", self.pause, m.PauseArguments)
        c.register("exceptionInfo", self.exception_info, m.ExceptionInfoArguments)
        c.register("evaluate", self.evaluate, m.EvaluateArguments)
        c.register("source", self.source, m.SourceArguments)
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
        self.config, self.sources, self.document, self.engine = config, sources, document, engine
        self.entry_pending = config.stop_on_entry
        self._check_breakpoint_files()
        self.console(f"Launching {document.key} from {document.path} on the {config.engine} engine\n")
        if self.configured:
            await self._start()

    async def attach(self, arguments: dict[str, Any]) -> None:
        engine = arguments.get("engine", "local")
        raise RequestError(
            f'attach needs a cluster engine ("tekton" or "argo"); engine "{engine}" has no runs to attach to'
            if engine == "local"
            else f'engine "{engine}" is not available in this build, so there is nothing to attach to',
            show_user=True,
        )

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

    # ------------------------------------------------------------------ breakpoints

    async def set_breakpoints(self, args: m.SetBreakpointsArguments) -> m.SetBreakpointsResponseBody:
        path = args.source.path
        if not path:
            raise RequestError("setBreakpoints needs source.path (pipeline files are on disk)")
        requested: list[dict[str, object]] = []
        for sb in args.breakpoints or []:
            requested.append(
                {
                    "line": self.server_line(sb.line),
                    "mode": sb.mode,
                    "condition": sb.condition,
                    "hit_condition": sb.hit_condition,
                    "log_message": sb.log_message,
                }
            )
        if not args.breakpoints and args.lines:
            requested = [{"line": self.server_line(line)} for line in args.lines]
        bps = await asyncio.to_thread(self.breakpoints.set, path, requested)
        if self.document is not None:
            self._check_breakpoint_files(bps)
        return m.SetBreakpointsResponseBody(breakpoints=[self.to_dap(bp) for bp in bps])

    def to_dap(self, bp: SourceBreakpoint) -> m.Breakpoint:
        span = bp.span
        if not bp.verified or span is None:
            return m.Breakpoint(
                id=bp.id,
                verified=False,
                message=bp.message,
                reason="failed",
                source=self.source_of(bp.path),
                line=self.client_line(bp.line),
            )
        return m.Breakpoint(
            id=bp.id,
            verified=True,
            message=bp.note,
            source=self.source_of(span.path),
            line=self.client_line(span.line),
            end_line=self.client_line(span.end_line),
            column=span.column,
        )

    def _check_breakpoint_files(self, bps: list[SourceBreakpoint] | None = None) -> None:
        """Late binding: once the run is known, say which breakpoints it can never reach."""
        if self.sources is None or self.document is None:
            return
        files = self.sources.files_of(self.document)
        for bp in bps if bps is not None else self.breakpoints.all():
            note = None
            if bp.verified and bp.path not in files:
                note = (
                    f"{os.path.basename(bp.path)} is not used by {self.document.key}: "
                    "this breakpoint will not be hit in this run"
                )
            if note != bp.note:
                bp.note = note
                if bps is None:
                    self.emit("breakpoint", m.BreakpointEventBody(reason="changed", breakpoint=self.to_dap(bp)))

    async def breakpoint_locations(self, args: m.BreakpointLocationsArguments) -> m.BreakpointLocationsResponseBody:
        path = args.source.path
        if not path or not os.path.isfile(path):
            return m.BreakpointLocationsResponseBody(breakpoints=[])
        end = self.server_line(args.end_line) if args.end_line is not None else None
        spans: list[Span] = await asyncio.to_thread(breakpoint_locations, path, self.server_line(args.line), end)
        return m.BreakpointLocationsResponseBody(
            breakpoints=[
                m.BreakpointLocation(line=self.client_line(s.line), end_line=self.client_line(s.end_line))
                for s in spans
            ]
        )

    async def set_exception_breakpoints(self, args: m.SetExceptionBreakpointsArguments) -> m.SetExceptionBreakpointsResponseBody:
        filters = set(args.filters or [])
        filters |= {o.filter_id for o in args.filter_options or []}
        unknown = filters - {ON_FAILURE}
        self.exception_filters = filters & {ON_FAILURE}
        return m.SetExceptionBreakpointsResponseBody(
            breakpoints=[
                m.Breakpoint(verified=f not in unknown, message=f'unknown exception filter "{f}"' if f in unknown else None)
                for f in [*(args.filters or []), *(o.filter_id for o in args.filter_options or [])]
            ]
        )

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
        self.emit(
            "output", m.OutputEventBody(category=event.category, output=event.text, source=source, line=line)
        )

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

    def source_step(self, thread: ThreadState, index: int) -> tuple[Step | None, PipelineTask | None]:
        doc = self.document
        if doc is None:
            return None, None
        if thread.pipeline_task is not None and doc.pipeline is not None:
            ptask = doc.pipeline.task(thread.pipeline_task)
            spec = ptask.task if ptask is not None else None
            steps = spec.steps if spec is not None else []
            return (steps[index] if 0 <= index < len(steps) else None), ptask
        if doc.task is not None and 0 <= index < len(doc.task.steps):
            return doc.task.steps[index], None
        return None, None

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
            self.spawn(self._resume(event.step, event.kind, _default_action(event.kind)))
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
                code = pause.exit_code
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
        step, ptask = self.source_step(thread, pause.step.step_index)
        if step is None:
            return []
        mode = "before" if pause.kind is PauseKind.BEFORE else "after"
        index = pause.step.step_index
        candidates = self.breakpoints.for_step(step, ptask, mode, first=index == 0, last=index == thread.last_index)
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
                    view = self._inspect(pause.step)
                if view is None:
                    continue
                names = variables.names_for(view)
                if bp.condition:
                    try:
                        if not expressions.evaluate(bp.condition, names):
                            continue
                    except expressions.ExpressionError as exc:
                        self.console(f"Breakpoint condition error at {os.path.basename(bp.path)}:{bp.line}: {exc}; stopping\n")
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

    def _inspect(self, step: StepRef) -> StepView | None:
        if self.engine is None:
            return None
        try:
            return self.engine.inspect(step)
        except (EngineError, KeyError, IndexError) as exc:
            log.warning("inspect %s failed: %s", step, exc)
            return None

    async def _resume(self, step: StepRef, kind: PauseKind, action: Resume) -> None:
        if self.engine is None:
            return
        try:
            await self.engine.resume(step, kind, action)
        except EngineError as exc:
            self.console(f"Could not resume step {step.step_index} of {step.task_id}: {exc}\n")

    # ------------------------------------------------------------------ execution control

    def stopped_thread(self, thread_id: int) -> ThreadState:
        thread = self.threads.get(thread_id)
        if thread is None:
            raise RequestError(f"thread {thread_id} does not exist (it may have finished)")
        if thread.pause is None:
            raise RequestError(f'thread {thread_id} ("{thread.name}") is running, not stopped')
        return thread

    async def release(self, thread: ThreadState) -> None:
        pause = thread.pause
        if pause is None:
            return
        thread.pause = None
        self.handles.drop_thread(thread.id)
        for fid in [f for f, ref in self.frames.items() if ref.thread is thread]:
            del self.frames[fid]
        action = _default_action(pause.kind)
        if pause.kind is PauseKind.FAILURE and thread.exit_code_override == 0:
            action = Resume.CONTINUE
        await self._resume(pause.step, pause.kind, action)

    async def _release_others(self, keep: ThreadState) -> None:
        for other in list(self.threads.values()):
            if other is not keep and other.pause is not None:
                await self.release(other)
                self.emit("continued", m.ContinuedEventBody(thread_id=other.id, all_threads_continued=False))

    async def continue_(self, args: m.ContinueArguments) -> m.ContinueResponseBody:
        thread = self.threads.get(args.thread_id)
        if args.single_thread:
            if thread is None:
                raise RequestError(f"thread {args.thread_id} does not exist (it may have finished)")
            thread.intent = Intent.NONE
            await self.release(thread)
            return m.ContinueResponseBody(all_threads_continued=False)
        for other in list(self.threads.values()):
            other.intent = Intent.NONE
            await self.release(other)
        return m.ContinueResponseBody(all_threads_continued=True)

    async def next(self, args: m.NextArguments) -> None:
        await self._step(args.thread_id, bool(args.single_thread), Intent.NEXT)

    async def step_in(self, args: m.StepInArguments) -> None:
        await self._step(args.thread_id, bool(args.single_thread), Intent.NEXT)

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
        await self.release(thread)

    async def pause(self, args: m.PauseArguments) -> None:
        thread = self.threads.get(args.thread_id)
        if thread is None:
            raise RequestError(f"thread {args.thread_id} does not exist (it may have finished)")
        if thread.pause is not None:
            return
        thread.intent = Intent.PAUSE

    # ------------------------------------------------------------------ threads, frames, variables

    async def threads_request(self, _args: Any) -> m.ThreadsResponseBody:
        return m.ThreadsResponseBody(
            threads=[m.Thread(id=t.id, name=t.name) for t in sorted(self.threads.values(), key=lambda t: t.id)]
        )

    async def stack_trace(self, args: m.StackTraceArguments) -> m.StackTraceResponseBody:
        thread = self.threads.get(args.thread_id)
        if thread is None:
            raise RequestError(f"thread {args.thread_id} does not exist (it may have finished)")
        frames = self._frames(thread)
        start = args.start_frame or 0
        count = args.levels or len(frames)
        return m.StackTraceResponseBody(stack_frames=frames[start : start + count], total_frames=len(frames))

    def _frames(self, thread: ThreadState) -> list[m.StackFrame]:
        index = thread.pause.step.step_index if thread.pause else (thread.current or 0)
        step, ptask = self.source_step(thread, index)
        frames: list[m.StackFrame] = []

        def add(kind: str, name: str, span: Span | None, step_index: int | None) -> None:
            fid = next(self._frame_ids)
            self.frames[fid] = FrameRef(thread, kind, step_index)
            frames.append(
                m.StackFrame(
                    id=fid,
                    name=name,
                    source=self.source_of(span.path) if span else None,
                    line=self.client_line(span.line) if span else 0,
                    column=span.column if span else 0,
                    end_line=self.client_line(span.end_line) if span else None,
                )
            )

        add("step", thread.step_name(index), step.span if step else None, index)
        if ptask is not None:
            add("task", thread.name, ptask.span, None)
        elif self.document is not None and self.document.task is not None and self.document.kind != "Task":
            spec = self.document.task
            if spec.document is not None and spec.document is not self.document:
                add("task", f"Task/{spec.name}", spec.document.span, None)
        if self.document is not None:
            add("run", self.document.key, self.document.span, None)
        return frames

    async def scopes(self, args: m.ScopesArguments) -> m.ScopesResponseBody:
        ref = self.frames.get(args.frame_id)
        if ref is None:
            raise RequestError(f"frame {args.frame_id} is not valid any more (the thread was resumed)")
        thread = ref.thread
        index = ref.step_index if ref.step_index is not None else (thread.pause.step.step_index if thread.pause else 0)
        step_ref = StepRef(thread.task_id, index)
        view_cache: list[StepView] = []

        def view() -> StepView:
            if not view_cache:
                found = self._inspect(step_ref)
                if found is None:
                    raise RequestError("this step's values are not available")
                view_cache.append(found)
            return view_cache[0]

        def scope(name: str, hint: str | None, fn: Callable[[], list[variables.Var]], expensive: bool = False) -> m.Scope:
            return m.Scope(
                name=name,
                presentation_hint=hint,
                variables_reference=self.handles.add(thread.id, name, fn),
                expensive=expensive,
            )

        if ref.kind == "step":
            scopes = [
                scope("Environment", "locals", lambda: variables.value_vars(view().env, "env")),
                scope("Parameters", "arguments", lambda: variables.value_vars(view().params, "params")),
                scope("Results", "returnValue", lambda: variables.value_vars(view().results, "results")),
                scope("Workspaces", None, lambda: variables.value_vars(view().workspaces, "workspaces")),
                scope("Step", "registers", lambda: variables.step_vars(view())),
            ]
        elif ref.kind == "task":
            scopes = [
                scope("Parameters", "arguments", lambda: variables.value_vars(view().params, "params")),
                scope("Results", "returnValue", lambda: variables.value_vars(view().results, "results")),
            ]
        else:
            scopes = [scope("Parameters", "arguments", lambda: variables.value_vars(self.run_params(), "params"))]
        return m.ScopesResponseBody(scopes=scopes)

    def run_params(self) -> dict[str, Any]:
        doc = self.document
        if doc is None:
            return {}
        spec = doc.pipeline.data() if doc.pipeline is not None else (doc.task.data() if doc.task else {})
        values: dict[str, Any] = {}
        for p in spec.get("params") or []:
            if isinstance(p, dict) and "name" in p and "default" in p:
                values[str(p["name"])] = p["default"]
        if doc.kind in ("PipelineRun", "TaskRun"):
            for p in doc.data().get("spec", {}).get("params") or []:
                if isinstance(p, dict) and "name" in p:
                    values[str(p["name"])] = p.get("value")
        if self.config is not None:
            values.update(self.config.params)
        return values

    async def variables(self, args: m.VariablesArguments) -> m.VariablesResponseBody:
        children = self.handles.get(args.variables_reference)
        if children is None:
            raise RequestError(f"variables reference {args.variables_reference} is not valid any more")
        result = []
        for var in children():
            owner = self.handles.owner(args.variables_reference)
            ref = self.handles.add(owner[0] if owner else 0, var.name, var.children) if var.children else 0
            result.append(
                m.Variable(
                    name=var.name,
                    value=var.value,
                    type=var.type,
                    variables_reference=ref,
                    evaluate_name=var.evaluate_name,
                    presentation_hint=m.VariablePresentationHint(attributes=["readOnly"]) if var.read_only else None,
                )
            )
        start = args.start or 0
        if args.count:
            result = result[start : start + args.count]
        return m.VariablesResponseBody(variables=result)

    async def set_variable(self, args: m.SetVariableArguments) -> m.SetVariableResponseBody:
        owner = self.handles.owner(args.variables_reference)
        if owner is None:
            raise RequestError(f"variables reference {args.variables_reference} is not valid any more")
        thread = self.stopped_thread(owner[0])
        assert thread.pause is not None
        scope = owner[1]
        if scope == "Step" and args.name == "exitCode":
            if thread.pause.kind is not PauseKind.FAILURE:
                raise RequestError("exitCode can only be changed while stopped on a step failure")
            try:
                code = int(args.value.strip())
            except ValueError:
                raise RequestError(f"exitCode must be an integer, not {args.value!r}") from None
            if code not in (0, thread.pause.exit_code):
                raise RequestError(
                    "exitCode can be set to 0 (the step counts as passed) or left as the failure's own code"
                )
            thread.exit_code_override = code
            return m.SetVariableResponseBody(value=str(code), type="int")
        if scope == "Results":
            if self.engine is None:
                raise RequestError("no run")
            try:
                await self.engine.set_result(thread.pause.step, args.name, args.value)
            except EngineError as exc:
                raise RequestError(str(exc)) from None
            return m.SetVariableResponseBody(value=args.value, type="string")
        raise RequestError(f"{scope} values are read-only: only Results and the Step's exitCode can be changed")

    async def exception_info(self, args: m.ExceptionInfoArguments) -> m.ExceptionInfoResponseBody:
        thread = self.stopped_thread(args.thread_id)
        pause = thread.pause
        assert pause is not None
        if pause.kind is not PauseKind.FAILURE:
            raise RequestError(f'thread {thread.id} is not stopped on a step failure')
        name = thread.step_name(pause.step.step_index)
        tail = list(thread.logs.get(pause.step.step_index, []))
        category = pause.reason or "ExitCode"
        step, _ = self.source_step(thread, pause.step.step_index)
        return m.ExceptionInfoResponseBody(
            exception_id=category,
            description=f'Step "{name}" of {thread.name} exited with code {pause.exit_code}',
            break_mode="always",
            details=m.ExceptionDetails(
                message=f"exit code {pause.exit_code}",
                type_name=category,
                full_type_name=f"{self.document.key if self.document else ''}/{thread.name}/{name}",
                evaluate_name="step.exitCode",
                stack_trace="\n".join(tail) if tail else "(the step printed nothing)",
            ),
        )

    async def evaluate(self, args: m.EvaluateArguments) -> m.EvaluateResponseBody:
        ref = self.frames.get(args.frame_id) if args.frame_id is not None else None
        thread = ref.thread if ref else next((t for t in self.threads.values() if t.pause), None)
        if thread is None or thread.pause is None:
            raise RequestError("nothing is stopped: evaluate needs a stopped step")
        step_ref = thread.pause.step
        context = args.context or "repl"
        expression = args.expression.strip()
        if context == "repl" and expression == ":shell":
            return await self._open_shell(thread)
        if context == "repl" and not _looks_like_expression(expression):
            return await self._run_in_step(step_ref, expression)
        view = self._inspect(step_ref)
        if view is None:
            raise RequestError("this step's values are not available")
        if "$(" in expression or "{{" in expression:
            text = expressions.format_log_message(expression, variables.substitution_values(view), variables.names_for(view))
            return m.EvaluateResponseBody(result=text, variables_reference=0)
        try:
            value = expressions.evaluate(expression, variables.names_for(view))
        except expressions.ExpressionError as exc:
            raise RequestError(str(exc)) from None
        var = variables.value_var(expression, value, expression)
        ref_id = self.handles.add(thread.id, "evaluate", var.children) if var.children else 0
        return m.EvaluateResponseBody(result=var.value, type=var.type, variables_reference=ref_id)

    async def _run_in_step(self, step: StepRef, command: str) -> m.EvaluateResponseBody:
        if self.engine is None:
            raise RequestError("no run")
        if command.startswith("!"):
            command = command[1:]
        try:
            result = await self.engine.exec(step, ["/bin/sh", "-c", command])
        except EngineError as exc:
            raise RequestError(str(exc)) from None
        text = result.output.rstrip("\n")
        if result.exit_code:
            text += f"\n(exit code {result.exit_code})"
        return m.EvaluateResponseBody(result=text, variables_reference=0)

    async def _open_shell(self, thread: ThreadState) -> m.EvaluateResponseBody:
        assert thread.pause is not None and self.engine is not None
        shell = self.engine.shell_command(thread.pause.step)
        if shell is None:
            raise RequestError("this engine cannot open a shell in a step")
        argv, cwd, env = shell
        if not self.supports_run_in_terminal:
            return m.EvaluateResponseBody(result="run this to get a shell in the step: " + shlex.join(argv), variables_reference=0)
        response = await self.conn.request(
            "runInTerminal",
            m.RunInTerminalRequestArguments(
                kind="integrated", title=f"{thread.name} › {thread.step_name(thread.pause.step.step_index)}", cwd=cwd, args=argv, env=dict[str, str | None](env)
            ),
        )
        if not response.get("success"):
            raise RequestError(f"the client could not open a terminal: {response.get('message')}")
        return m.EvaluateResponseBody(result="shell opened in the paused step", variables_reference=0)

    async def source(self, args: m.SourceArguments) -> m.SourceResponseBody:
        path = args.source.path if args.source else None
        if not path or not os.path.isfile(path):
            raise RequestError("source is only available for files on disk")
        with open(path, encoding="utf-8") as fh:
            return m.SourceResponseBody(content=fh.read(), mime_type="text/yaml")

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

    async def shutdown(self, cancel: bool | None = None) -> None:
        """End of the session (disconnect or the client went away): never leave a step paused."""
        if self.engine is None:
            return
        if cancel is None:
            cancel = self.config.cancel_on_disconnect if self.config else True
        if not self.run_done.is_set():
            if cancel or not self.configured:
                await self.cancel_run()
            else:
                await self.release_all()
                await self.run_done.wait()
        await self._close_engine()

    async def _close_engine(self) -> None:
        engine = self.engine
        if engine is not None:
            with contextlib.suppress(EngineError):
                await engine.close()


def _default_action(kind: PauseKind) -> Resume:
    return Resume.FAIL_CONTINUE if kind is PauseKind.FAILURE else Resume.CONTINUE


def _looks_like_expression(text: str) -> bool:
    """In the REPL, `params.x == "a"` or `$(params.x)` is an expression; anything else is a command."""
    if text.startswith("!"):
        return False
    head = text.split(".", 1)[0].split("[", 1)[0].strip()
    return text.startswith(("$(", "{{")) or head in ("params", "env", "results", "workspaces", "step")


def capabilities() -> m.Capabilities:
    return m.Capabilities(
        supports_configuration_done_request=True,
        supports_conditional_breakpoints=True,
        supports_hit_conditional_breakpoints=True,
        supports_log_points=True,
        supports_breakpoint_locations_request=True,
        supports_evaluate_for_hovers=True,
        supports_set_variable=True,
        supports_exception_info_request=True,
        supports_terminate_request=True,
        support_terminate_debuggee=True,
        supports_restart_request=True,
        supports_single_thread_execution_requests=True,
        exception_breakpoint_filters=[
            m.ExceptionBreakpointsFilter(
                filter=ON_FAILURE,
                label="Step failed",
                description="Stop when a step exits non-zero, before its failure is reported",
                default=False,
            )
        ],
        breakpoint_modes=[
            m.BreakpointMode(
                mode="before", label="Before step", description="Stop before the step runs", applies_to=["source"]
            ),
            m.BreakpointMode(
                mode="after",
                label="After step",
                description="Stop after the step ran, before the next one starts",
                applies_to=["source"],
            ),
        ],
    )
