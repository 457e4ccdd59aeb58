"""Inspection requests: threads, stack frames, scopes and variables, evaluate, exception info.

Frames of a stopped thread are step › pipeline task › run (dap-mapping.md); their ids and
variable references live only while the thread stays stopped.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dap_server.engines.base import EngineError, PauseKind, StepRef, StepView
from dap_server.protocol import models as m
from dap_server.protocol.connection import RequestError
from dap_server.sources.argo import ArgoDocument
from dap_server.sources.model import Span

from . import expressions, variables
from .threads import FrameRef, ThreadState

if TYPE_CHECKING:
    from .session import Session


class Inspector:
    """Answers the requests that read (or, for Results and exitCode, edit) a stopped run."""

    def __init__(self, session: Session) -> None:
        self.session = session

    async def threads_request(self, _args: Any) -> m.ThreadsResponseBody:
        return m.ThreadsResponseBody(
            threads=[m.Thread(id=t.id, name=t.name) for t in sorted(self.session.threads.values(), key=lambda t: t.id)]
        )

    async def stack_trace(self, args: m.StackTraceArguments) -> m.StackTraceResponseBody:
        thread = self.session.threads.get(args.thread_id)
        if thread is None:
            raise RequestError(f"thread {args.thread_id} does not exist (it may have finished)")
        frames = self._frames(thread)
        start = args.start_frame or 0
        count = args.levels or len(frames)
        return m.StackTraceResponseBody(stack_frames=frames[start : start + count], total_frames=len(frames))

    def _frames(self, thread: ThreadState) -> list[m.StackFrame]:
        index = thread.pause.step.step_index if thread.pause else (thread.current or 0)
        step, _ = self.session.source_step(thread, index)
        frames: list[m.StackFrame] = []

        def add(kind: str, name: str, span: Span | None, step_index: int | None) -> None:
            fid = next(self.session.frame_ids)
            self.session.frames[fid] = FrameRef(thread, kind, step_index)
            frames.append(
                m.StackFrame(
                    id=fid,
                    name=name,
                    source=self.session.source_of(span.path) if span else None,
                    line=self.session.client_line(span.line) if span else 0,
                    column=span.column if span else 0,
                    end_line=self.session.client_line(span.end_line) if span else None,
                )
            )

        add("step", thread.step_name(index), step.span if step else None, index)
        for name, span in self.session.enclosing(thread):
            add("task", name, span, None)
        if self.session.document is not None:
            add("run", self.session.document.key, self.session.document.span, None)
        return frames

    async def scopes(self, args: m.ScopesArguments) -> m.ScopesResponseBody:
        ref = self.session.frames.get(args.frame_id)
        if ref is None:
            raise RequestError(f"frame {args.frame_id} is not valid any more (the thread was resumed)")
        thread = ref.thread
        index = ref.step_index if ref.step_index is not None else (thread.pause.step.step_index if thread.pause else 0)
        step_ref = StepRef(thread.task_id, index)
        view_cache: list[StepView] = []
        live: StepView | None = None
        if thread.pause is not None and thread.pause.step == step_ref:
            live = await self.session.live_view(thread)

        def view() -> StepView:
            if not view_cache:
                found = live if live is not None else self.session.inspect_step(step_ref)
                if found is None:
                    raise RequestError("this step's values are not available")
                found = dataclasses.replace(found)  # the stop's shared view stays as the engine gave it
                pause = thread.pause
                if pause is not None and pause.step == step_ref and pause.kind is PauseKind.FAILURE:
                    # stopped on the failure: the step has not ended, but its exit code is known
                    if found.exit_code is None:
                        found.exit_code = pause.exit_code
                    if thread.exit_code_override is not None:
                        found.exit_code = thread.exit_code_override
                view_cache.append(found)
            return view_cache[0]

        def scope(
            name: str, hint: str | None, fn: Callable[[], list[variables.Var]], expensive: bool = False
        ) -> m.Scope:
            return m.Scope(
                name=name,
                presentation_hint=hint,
                variables_reference=self.session.handles.add(thread.id, name, fn),
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
        doc = self.session.document
        if doc is None:
            return {}
        values: dict[str, Any] = {}
        if isinstance(doc, ArgoDocument):
            arguments = doc.spec_data().get("arguments") or {}
            for p in arguments.get("parameters") or []:
                if isinstance(p, dict) and "name" in p:
                    values[str(p["name"])] = p.get("value")
            if self.session.config is not None:
                values.update(self.session.config.params)
            return values
        spec = doc.pipeline.data() if doc.pipeline is not None else (doc.task.data() if doc.task else {})
        for p in spec.get("params") or []:
            if isinstance(p, dict) and "name" in p and "default" in p:
                values[str(p["name"])] = p["default"]
        if doc.kind in ("PipelineRun", "TaskRun"):
            for p in doc.data().get("spec", {}).get("params") or []:
                if isinstance(p, dict) and "name" in p:
                    values[str(p["name"])] = p.get("value")
        if self.session.config is not None:
            values.update(self.session.config.params)
        return values

    async def variables(self, args: m.VariablesArguments) -> m.VariablesResponseBody:
        children = self.session.handles.get(args.variables_reference)
        if children is None:
            raise RequestError(f"variables reference {args.variables_reference} is not valid any more")
        result = []
        for var in children():
            owner = self.session.handles.owner(args.variables_reference)
            ref = self.session.handles.add(owner[0] if owner else 0, var.name, var.children) if var.children else 0
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
        owner = self.session.handles.owner(args.variables_reference)
        if owner is None:
            raise RequestError(f"variables reference {args.variables_reference} is not valid any more")
        thread = self.session.stopped_thread(owner[0])
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
            if self.session.engine is None:
                raise RequestError("no run")
            try:
                await self.session.engine.set_result(thread.pause.step, args.name, args.value)
            except EngineError as exc:
                raise RequestError(str(exc)) from None
            return m.SetVariableResponseBody(value=args.value, type="string")
        raise RequestError(f"{scope} values are read-only: only Results and the Step's exitCode can be changed")

    async def exception_info(self, args: m.ExceptionInfoArguments) -> m.ExceptionInfoResponseBody:
        thread = self.session.stopped_thread(args.thread_id)
        pause = thread.pause
        assert pause is not None
        if pause.kind is not PauseKind.FAILURE:
            raise RequestError(f"thread {thread.id} is not stopped on a step failure")
        name = thread.step_name(pause.step.step_index)
        tail = list(thread.logs.get(pause.step.step_index, []))
        category = pause.reason or "ExitCode"
        if pause.exit_code is None:
            # Tekton's entrypoint records a failed step's code only when the container ends,
            # after the pause (engine-protocols.md A2): nothing shows it while paused
            description = f'Step "{name}" of {thread.name} failed; its exit code is known once the step is released'
            message = "exit code not known while paused (reported when the step is released)"
        else:
            description = f'Step "{name}" of {thread.name} exited with code {pause.exit_code}'
            message = f"exit code {pause.exit_code}"
        return m.ExceptionInfoResponseBody(
            exception_id=category,
            description=description,
            break_mode="always",
            details=m.ExceptionDetails(
                message=message,
                type_name=category,
                full_type_name=f"{self.session.document.key if self.session.document else ''}/{thread.name}/{name}",
                evaluate_name="step.exitCode",
                stack_trace="\n".join(tail) if tail else "(the step printed nothing)",
            ),
        )

    async def evaluate(self, args: m.EvaluateArguments) -> m.EvaluateResponseBody:
        ref = self.session.frames.get(args.frame_id) if args.frame_id is not None else None
        thread = ref.thread if ref else next((t for t in self.session.threads.values() if t.pause), None)
        if thread is None or thread.pause is None:
            raise RequestError("nothing is stopped: evaluate needs a stopped step")
        step_ref = thread.pause.step
        context = args.context or "repl"
        expression = args.expression.strip()
        if context == "repl" and expression == ":shell":
            return await self._open_shell(thread)
        if context == "repl" and not _looks_like_expression(expression):
            return await self._run_in_step(step_ref, expression)
        view = await self.session.live_view(thread) or self.session.inspect_step(step_ref)
        if view is None:
            raise RequestError("this step's values are not available")
        if "$(" in expression or "{{" in expression:
            text = expressions.format_log_message(
                expression, variables.substitution_values(view), variables.names_for(view)
            )
            return m.EvaluateResponseBody(result=text, variables_reference=0)
        try:
            value = expressions.evaluate(expression, variables.names_for(view))
        except expressions.ExpressionError as exc:
            raise RequestError(str(exc)) from None
        var = variables.value_var(expression, value, expression)
        ref_id = self.session.handles.add(thread.id, "evaluate", var.children) if var.children else 0
        return m.EvaluateResponseBody(result=var.value, type=var.type, variables_reference=ref_id)

    async def _run_in_step(self, step: StepRef, command: str) -> m.EvaluateResponseBody:
        if self.session.engine is None:
            raise RequestError("no run")
        if command.startswith("!"):
            command = command[1:]
        try:
            result = await self.session.engine.exec(step, ["/bin/sh", "-c", command])
        except EngineError as exc:
            raise RequestError(str(exc)) from None
        text = result.output.rstrip("\n")
        if result.exit_code:
            text += f"\n(exit code {result.exit_code})"
        return m.EvaluateResponseBody(result=text, variables_reference=0)

    async def _open_shell(self, thread: ThreadState) -> m.EvaluateResponseBody:
        assert thread.pause is not None and self.session.engine is not None
        shell = self.session.engine.shell_command(thread.pause.step)
        if shell is None:
            raise RequestError("this engine cannot open a shell in a step")
        argv, cwd, full_env = shell
        # runInTerminal adds `env` to the terminal's own environment: send only what differs
        env = {k: v for k, v in full_env.items() if os.environ.get(k) != v}
        if not self.session.supports_run_in_terminal:
            return m.EvaluateResponseBody(
                result="run this to get a shell in the step: " + shlex.join(argv), variables_reference=0
            )
        response = await self.session.conn.request(
            "runInTerminal",
            m.RunInTerminalRequestArguments(
                kind="integrated",
                title=f"{thread.name} › {thread.step_name(thread.pause.step.step_index)}",
                cwd=cwd,
                args=argv,
                env=dict[str, str | None](env),
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


def _looks_like_expression(text: str) -> bool:
    """In the REPL, `params.x == "a"` or `$(params.x)` is an expression; anything else is a command."""
    if text.startswith("!"):
        return False
    head = text.split(".", 1)[0].split("[", 1)[0].strip()
    return text.startswith(("$(", "{{")) or head in ("params", "env", "results", "workspaces", "step")
