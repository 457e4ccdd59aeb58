"""Launch configuration (dap-mapping.md "Launch configuration") and what it starts."""

from __future__ import annotations

import asyncio
import os
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from dap_server.engines.base import Engine, EngineError
from dap_server.engines.local.supervisor import UsageError, parse_duration
from dap_server.engines.options import RunOptions
from dap_server.sources import SourceSet
from dap_server.sources.argo import is_argo
from dap_server.sources.model import Document, SourceError

ParamValue = str | list[str] | dict[str, str]


class LaunchConfig(BaseModel):
    """The `launch` request's arguments as this adapter understands them."""

    model_config = ConfigDict(extra="allow", alias_generator=to_camel, populate_by_name=True)

    program: str = Field(description="the YAML file to run")
    object: str | None = Field(default=None, description="Kind/name of the document to run")
    engine: Literal["local", "tekton", "argo"] = "local"
    params: dict[str, ParamValue] = Field(default_factory=dict)
    workspaces: dict[str, Any] = Field(default_factory=dict)
    search_paths: list[str] = Field(default_factory=list)
    stop_on_entry: bool = False
    namespace: str | None = None
    kube_context: str | None = None
    kubeconfig: str | None = None
    cancel_on_disconnect: bool = True
    no_debug: bool = Field(default=False, alias="noDebug")
    cwd: str | None = None

    def resolve_path(self, path: str) -> str:
        base = self.cwd or os.getcwd()
        return os.path.realpath(os.path.join(base, os.path.expanduser(path)))


class LaunchError(Exception):
    """A launch that cannot start; the message names file, line and cause."""


def parse_config(arguments: dict[str, Any]) -> LaunchConfig:
    try:
        return LaunchConfig.model_validate(arguments)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "arguments"
            problems.append(f"{where}: {error['msg']}")
        raise LaunchError("invalid launch configuration: " + "; ".join(problems)) from None


def load_run(config: LaunchConfig) -> tuple[SourceSet, Document]:
    """Find, parse and resolve the document to run. Raises LaunchError (file:line:col: cause)."""
    program = config.resolve_path(config.program)
    if not os.path.isfile(program):
        raise LaunchError(f"{program}: no such file (launch 'program')")
    search = [config.resolve_path(p) for p in config.search_paths] or [os.path.dirname(program)]
    sources = SourceSet(search)
    try:
        document = sources.select(program, config.object)
        sources.resolve(document)
    except SourceError as exc:
        raise LaunchError(str(exc)) from None
    return sources, document


def run_options(config: LaunchConfig) -> RunOptions:
    workspaces = {}
    for name, value in config.workspaces.items():
        if not isinstance(value, str):
            if config.engine == "local":
                raise LaunchError(
                    f"workspaces.{name}: the local engine binds a workspace to a directory path, "
                    f"not {type(value).__name__}"
                )
            continue
        workspaces[name] = config.resolve_path(value)
    return RunOptions(
        params=dict(config.params),
        workspaces=workspaces,
        debug=not config.no_debug,
        namespace=config.namespace,
        kube_context=config.kube_context,
        kubeconfig=config.kubeconfig,
        timeout=_seconds(config.model_extra.get("timeout")) if config.model_extra else None,
        extra=dict(config.model_extra or {}),
    )


def _seconds(value: object) -> float | None:
    """A launch `timeout`: seconds as a number, or a Go duration like "1h30m", "90s"."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        seconds = parse_duration(str(value))
    except UsageError as exc:
        raise LaunchError(f"timeout {value!r}: use seconds or a duration like 1h30m ({exc})") from None
    if seconds < 0:
        raise LaunchError(f"timeout {value!r}: a timeout cannot be negative")
    return seconds


def create_engine(config: LaunchConfig, document: Document) -> Engine:
    options = run_options(config)
    if config.engine == "local":
        try:
            if is_argo(document):
                from dap_server.engines.local.argo import create_argo_local_engine

                return create_argo_local_engine(document, options)
            from dap_server.engines.local.engine import create_local_engine

            return create_local_engine(document, options)
        except EngineError as exc:
            raise LaunchError(str(exc)) from None
    if config.engine == "tekton":
        if is_argo(document):
            raise LaunchError(f'{document.key} is an Argo document: use "engine": "argo" or "local"')
        try:
            from dap_server.engines.tekton import create_tekton_engine
        except ImportError as exc:
            raise LaunchError(
                f'engine "tekton" needs the Kubernetes client: pip install "pipeline-dap[kube]" ({exc})'
            ) from None
        try:
            return create_tekton_engine(document, options)
        except EngineError as exc:
            raise LaunchError(str(exc)) from None
    if config.engine == "argo":
        if not is_argo(document):
            raise LaunchError(
                f"{document.key} ({document.path}) is a Tekton document: the argo engine runs Argo Workflows; use "
                '"engine": "tekton" (Tasks, TaskRuns) or "local"'
            )
        try:
            from dap_server.engines.argo import create_argo_engine
        except ImportError as exc:
            raise LaunchError(
                f'engine "argo" needs the Kubernetes client: pip install "pipeline-dap[kube]" ({exc})'
            ) from None
        try:
            return create_argo_engine(document, options)
        except EngineError as exc:
            raise LaunchError(str(exc)) from None
    raise LaunchError(f'engine "{config.engine}" is not available: use "engine": "local", "tekton" or "argo"')


# ---- attach (dap-mapping.md: `"request": "attach"`) ------------------------------------------

RUN_KINDS = {"taskrun": "TaskRun", "pipelinerun": "PipelineRun", "workflow": "Workflow"}


class AttachConfig(BaseModel):
    """The `attach` request's arguments: a run already on a cluster."""

    model_config = ConfigDict(extra="allow", alias_generator=to_camel, populate_by_name=True)

    engine: Literal["tekton", "argo"] = Field(description="the cluster engine of the run")
    run: str = Field(description="taskrun/NAME, pipelinerun/NAME or workflow/NAME")
    namespace: str | None = None
    program: str | None = Field(default=None, description="the YAML that defines the run's tasks (source lines)")
    search_paths: list[str] = Field(default_factory=list)
    kube_context: str | None = None
    kubeconfig: str | None = None
    cancel_on_disconnect: bool = False  # attach: a disconnect leaves the run going (every pause released)
    stop_on_entry: bool = True  # stop at the first pause (the one in effect when attaching, if any)
    cwd: str | None = None

    def resolve_path(self, path: str) -> str:
        base = self.cwd or os.getcwd()
        return os.path.realpath(os.path.join(base, os.path.expanduser(path)))

    @property
    def run_kind(self) -> str:
        return RUN_KINDS[self.run.partition("/")[0].lower()]

    @property
    def run_name(self) -> str:
        return self.run.partition("/")[2]


def parse_attach_config(arguments: dict[str, Any]) -> AttachConfig:
    engine = arguments.get("engine")
    if engine == "local":
        raise LaunchError(
            'attach needs a cluster engine ("tekton" or "argo"): the local engine has no runs to attach to'
        )
    try:
        config = AttachConfig.model_validate(arguments)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "arguments"
            problems.append(f"{where}: {error['msg']}")
        raise LaunchError("invalid attach configuration: " + "; ".join(problems)) from None
    kind, slash, name = config.run.partition("/")
    if not slash or not name or kind.lower() not in RUN_KINDS:
        raise LaunchError(f'attach "run": {config.run!r} is not taskrun/NAME, pipelinerun/NAME or workflow/NAME')
    if kind.lower() == "pipelinerun":
        raise LaunchError(
            f"{config.run}: the tekton engine attaches to TaskRuns only: Tekton does not pass spec.debug from a "
            "PipelineRun to its TaskRuns (tektoncd/pipeline#5184), so a PipelineRun never pauses. Attach to one "
            "of its TaskRuns (taskrun/NAME) to follow it"
        )
    wanted = "argo" if kind.lower() == "workflow" else "tekton"
    if config.engine != wanted:
        raise LaunchError(f'attach "run": {config.run} is a {config.run_kind}: use "engine": "{wanted}"')
    return config


def attach_options(config: AttachConfig) -> RunOptions:
    return RunOptions(
        namespace=config.namespace,
        kube_context=config.kube_context,
        kubeconfig=config.kubeconfig,
        attach=config.run_name,
        extra=dict(config.model_extra or {}),
    )


async def create_attach_engine(config: AttachConfig, folder: str) -> tuple[SourceSet, Document, Engine]:
    """The engine attached to `config.run`, and the document its frames point into: from
    `program` when given, else the run's YAML from the cluster written to a file in `folder`
    (the session's, removed at its end). Raises LaunchError."""
    options = attach_options(config)
    try:
        if config.engine == "tekton":
            from dap_server.engines.tekton import create_tekton_engine, fetch_taskrun

            text = await fetch_taskrun(options)
        else:
            from dap_server.engines.argo import create_argo_engine, fetch_run

            text = await fetch_run(options)
    except ImportError as exc:
        raise LaunchError(
            f'engine "{config.engine}" needs the Kubernetes client: pip install "pipeline-dap[kube]" ({exc})'
        ) from None
    except EngineError as exc:
        raise LaunchError(str(exc)) from None
    if config.program:
        sources, document = await asyncio.to_thread(_attach_program, config, text)
    else:
        path = os.path.join(folder, f"{config.run_kind.lower()}-{config.run_name}.yaml")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
        sources = SourceSet([folder])
        try:
            document = sources.select(path)
            sources.resolve(document)
        except SourceError as exc:
            raise LaunchError(f"{config.run} as the cluster has it: {exc}") from None
    try:
        if config.engine == "tekton":
            return sources, document, create_tekton_engine(document, options)
        return sources, document, create_argo_engine(document, options)
    except EngineError as exc:
        raise LaunchError(str(exc)) from None


def _attach_program(config: AttachConfig, run_yaml: str) -> tuple[SourceSet, Document]:
    """The document of `program` that describes the run: for a TaskRun, the Task it runs (by
    name), else the file's only Task; for a Workflow, the file's runnable document."""
    assert config.program is not None
    program = config.resolve_path(config.program)
    if not os.path.isfile(program):
        raise LaunchError(f"{program}: no such file (attach 'program')")
    search = [config.resolve_path(p) for p in config.search_paths] or [os.path.dirname(program)]
    sources = SourceSet(search)
    try:
        if config.engine == "argo":
            document = sources.select(program)
        else:
            from dap_server.engines.tekton import taskrun_task_name

            wanted = taskrun_task_name(yaml.safe_load(run_yaml) or {})
            tasks = [d for d in sources.documents(program) if d.kind in ("Task", "ClusterTask")]
            named = [d for d in tasks if wanted and d.name == wanted]
            if named:
                document = named[0]
            elif len(tasks) == 1:
                document = tasks[0]
            else:
                found = ", ".join(f"{d.key} (line {d.span.line})" for d in tasks) or "none"
                raise LaunchError(
                    f"{program}: which Task does {config.run} run? "
                    + (f'it runs Task "{wanted}", ' if wanted else "")
                    + f"and this file's Tasks are: {found}"
                )
        sources.resolve(document)
    except SourceError as exc:
        raise LaunchError(str(exc)) from None
    return sources, document
