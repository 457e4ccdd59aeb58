"""The embedded local engine: runs a Tekton Task, TaskRun, Pipeline or PipelineRun on this
machine, every step a host process under the step supervisor (Tekton's entrypoint protocol).

- A run folder per run: `options.run_root/pipeline-dap-XXXX/` (or a fresh temporary one), with
  one folder per TaskRun (see taskrun.py) and `workspaces/<name>/` for workspaces that the
  launch did not bind to a folder. `close()` removes the run folder: nothing is left behind
  (folders given in `options.workspaces` are the user's and are kept).
- Names: a lone Task runs as TaskRun `<task>-run-<xxxxx>`; a TaskRun / PipelineRun keeps
  `metadata.name` (or `generateName` + 5 characters); a Pipeline runs as `<pipeline>-run-<xxxxx>`;
  the TaskRun of pipeline task `t` is `<pipelinerun>-t` (matrix: `<pipelinerun>-t-<i>`),
  Kubernetes-shortened when longer than 63 characters. The TaskRun name is the task_id.
- Params: launch params override the run document's `spec.params`, which override
  declared defaults; a required param without a value is an EngineError naming it.
- Timeouts: `spec.timeout` of a TaskRun, `timeouts` (v1) / `timeout` (v1beta1) of a
  PipelineRun, `timeout` of a pipeline task, step `timeout`, and `options.timeout` for the
  whole run. Tekton's 60-minute default is not applied: a debugging session may pause longer.
- debug off (`options.debug` False): the supervisors get no debug flag at all, plain Tekton.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import tempfile
import uuid
from typing import Any

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
    StepRef,
    StepView,
)
from dap_server.engines.local.common import (
    as_dict,
    as_list,
    duration,
    ensure_dir,
    generated_name,
    named_values,
)
from dap_server.engines.local.pipeline import PipelineRunner, PipelineRunRequest, resolve_pipeline_params
from dap_server.engines.local.taskrun import TaskRunner, TaskRunRequest
from dap_server.engines.options import RunOptions
from dap_server.sources.model import Document

log = logging.getLogger(__name__)

_UNBINDABLE = ("configMap", "secret", "projected", "csi")


class LocalEngine(Engine):
    def __init__(self, document: Document, options: RunOptions) -> None:
        if document.kind in ("Task", "TaskRun") and document.task is None:
            raise EngineError(f"{document.key}: its Task is not resolved ({document.path})")
        if document.kind in ("Pipeline", "PipelineRun") and document.pipeline is None:
            raise EngineError(f"{document.key}: its Pipeline is not resolved ({document.path})")
        if document.kind not in ("Task", "TaskRun", "Pipeline", "PipelineRun"):
            raise EngineError(f"{document.key}: the local engine runs Tekton Tasks and Pipelines, not {document.kind}")
        self._doc = document
        self._data = document.data()  # the document as plain data, constructed once
        self._options = options
        self._folder: str | None = None
        self._sink: EventSink | None = None
        self._task: TaskRunner | None = None
        self._pipeline: PipelineRunner | None = None
        self._main: asyncio.Future[None] | None = None
        self._warnings: list[str] = []
        self._closed = False

    # ---- start -----------------------------------------------------------------------------

    async def start(self, sink: EventSink) -> None:
        if self._main is not None or self._closed:
            raise EngineError("this run was already started")
        self._sink = sink
        root = self._options.run_root
        try:
            if root:
                ensure_dir(root)
            self._folder = tempfile.mkdtemp(prefix="pipeline-dap-", dir=root)
        except OSError as exc:
            raise EngineError(f"cannot create a run folder in {root or tempfile.gettempdir()}: {exc}") from exc
        try:
            if self._doc.kind in ("Task", "TaskRun"):
                self._task = TaskRunner(self._task_request(), self._emit)
            else:
                self._pipeline = PipelineRunner(self._pipeline_request(), self._emit)
        except BaseException:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None
            raise
        self._main = asyncio.ensure_future(self._run())

    def _emit(self, event: RunEvent) -> None:
        if self._sink is not None:
            self._sink(event)

    def _spec(self) -> dict[str, Any]:
        """The run document's spec (TaskRun / PipelineRun), or {} for a Task / Pipeline."""
        return as_dict(self._data.get("spec")) if self._doc.kind.endswith("Run") else {}

    def _namespace(self) -> str:
        metadata = as_dict(self._data.get("metadata"))
        return self._options.namespace or str(metadata.get("namespace") or "default")

    def _run_name(self) -> str:
        metadata = as_dict(self._data.get("metadata"))
        if self._doc.kind.endswith("Run"):
            return generated_name(metadata, self._doc.name)
        return generated_name({}, f"{self._doc.name}-run")

    def _bind(self, decls: list[Any], bindings: list[Any]) -> dict[str, str | None]:
        """Workspace name -> folder: the launch's folder, else a fresh folder in the run
        folder; an optional workspace that nobody binds stays unbound (None)."""
        assert self._folder is not None
        by_name = {str(as_dict(b).get("name")): as_dict(b) for b in bindings}
        out: dict[str, str | None] = {}
        for decl in map(as_dict, decls):
            name = str(decl.get("name", ""))
            given = self._options.workspaces.get(name)
            binding = by_name.get(name)
            if given:
                if not os.path.isdir(given):
                    raise EngineError(f'workspace "{name}": {given} is not a folder')
                out[name] = os.path.abspath(given)
            elif binding is None and decl.get("optional"):
                out[name] = None
            else:
                if binding is not None and any(k in binding for k in _UNBINDABLE):
                    kind = next(k for k in _UNBINDABLE if k in binding)
                    self._warnings.append(
                        f'warning: workspace "{name}" is bound to a {kind} in the run; '
                        "the local engine uses an empty folder (bind a folder in the launch workspaces)\n"
                    )
                out[name] = ensure_dir(os.path.join(self._folder, "workspaces", name))
        return out

    def _task_request(self) -> TaskRunRequest:
        assert self._folder is not None and self._doc.task is not None
        spec = self._spec()
        task = self._doc.task
        name = self._run_name()
        timeout = _earliest(duration(spec.get("timeout"), f"{self._doc.key} spec.timeout"), self._options.timeout)
        return TaskRunRequest(
            name=name,
            display_name=task.name,
            spec=task,
            folder=os.path.join(self._folder, name),
            params={**named_values(spec.get("params")), **self._options.params},
            workspaces=self._bind(as_list(task.data().get("workspaces")), as_list(spec.get("workspaces"))),
            timeout=timeout,
            debug=self._options.debug,
            namespace=self._namespace(),
        )

    def _pipeline_request(self) -> PipelineRunRequest:
        assert self._folder is not None and self._doc.pipeline is not None
        spec = self._spec()
        pipeline = self._doc.pipeline
        data = pipeline.data()
        where = f"{self._doc.key} spec.timeouts"
        timeouts = as_dict(spec.get("timeouts"))
        pipeline_timeout = duration(timeouts.get("pipeline", spec.get("timeout")), where)
        return PipelineRunRequest(
            name=self._run_name(),
            spec=pipeline,
            folder=self._folder,
            params=resolve_pipeline_params(
                pipeline, data, {**named_values(spec.get("params")), **self._options.params}
            ),
            workspaces=self._bind(as_list(data.get("workspaces")), as_list(spec.get("workspaces"))),
            timeouts={
                "pipeline": _earliest(pipeline_timeout, self._options.timeout),
                "tasks": duration(timeouts.get("tasks"), where),
                "finally": duration(timeouts.get("finally"), where),
            },
            debug=self._options.debug,
            namespace=self._namespace(),
            uid=str(uuid.uuid4()),
        )

    # ---- the run ---------------------------------------------------------------------------

    async def _run(self) -> None:
        for text in self._warnings:
            self._emit(Output(None, None, "console", text))
        try:
            if self._task is not None:
                outcome = await self._task.run()
                for name, value in outcome.results.items():
                    shown = value if isinstance(value, str) else repr(value)
                    self._emit(Output(None, None, "console", f'TaskRun result "{name}": {shown}\n'))
                finished = RunFinished(outcome.succeeded, outcome.reason, outcome.message)
            else:
                assert self._pipeline is not None
                finished = RunFinished(*await self._pipeline.run())
        except Exception as exc:  # a bug: report it, leave nothing running
            log.exception("local run failed")
            for runner in self._runners():
                runner.kill()
            finished = RunFinished(False, "InternalError", f"the local engine failed: {exc!r}")
        self._emit(finished)

    def _runners(self) -> list[TaskRunner]:
        if self._task is not None:
            return [self._task]
        return self._pipeline.runners() if self._pipeline is not None else []

    def _runner(self, task_id: str) -> TaskRunner:
        for runner in self._runners():
            if runner.task_id == task_id:
                return runner
        raise EngineError(f"no started task {task_id}")

    # ---- control ---------------------------------------------------------------------------

    async def resume(self, step: StepRef, kind: PauseKind, action: Resume) -> None:
        self._runner(step.task_id).resume(step.step_index, kind, action)

    async def debug_python(self, step: StepRef, port: int) -> bool:
        import debugpy

        site = os.path.dirname(os.path.dirname(os.path.abspath(debugpy.__file__)))
        return self._runner(step.task_id).debug_python(step.step_index, port, site)

    async def skip_after(self, step: StepRef) -> None:
        self._runner(step.task_id).skip_after(step.step_index)

    async def cancel(self) -> None:
        """SIGTERM every supervisor (paused ones too: they write out.err and exit 9), wait for
        the run to end (RunFinished is emitted), then SIGKILL whatever is left in their sessions."""
        main = self._main
        if main is None:
            return
        if not main.done():
            if self._task is not None:
                self._task.stop("Cancelled", f'TaskRun "{self._task.task_id}" was cancelled')
            elif self._pipeline is not None:
                self._pipeline.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(main)
        for runner in self._runners():
            runner.kill()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.cancel()
        if self._folder is not None:
            await asyncio.to_thread(shutil.rmtree, self._folder, True)
            self._folder = None

    # ---- inspection ------------------------------------------------------------------------

    def inspect(self, step: StepRef) -> StepView:
        return self._runner(step.task_id).view(step.step_index)

    async def set_result(self, step: StepRef, name: str, value: str) -> None:
        self._runner(step.task_id).set_result(name, value)

    async def exec(self, step: StepRef, argv: list[str]) -> ExecResult:
        if not argv:
            raise EngineError("nothing to run")
        return await self._runner(step.task_id).exec(step.step_index, argv)

    def shell_command(self, step: StepRef) -> tuple[list[str], str, dict[str, str]] | None:
        return self._runner(step.task_id).shell(step.step_index)

    # ---- for tests and benchmarks -----------------------------------------------------------

    @property
    def folder(self) -> str | None:
        """The run folder (None before start and after close)."""
        return self._folder

    async def wait(self) -> None:
        """Until the run has finished (RunFinished emitted)."""
        if self._main is not None:
            await asyncio.shield(self._main)


def create_local_engine(document: Document, options: RunOptions) -> Engine:
    """The factory the session uses (`engine: local`)."""
    return LocalEngine(document, options)


def _earliest(*timeouts: float | None) -> float | None:
    given = [t for t in timeouts if t]
    return min(given) if given else None
