"""Launch configuration (dap-mapping.md "Launch configuration") and what it starts."""

from __future__ import annotations

import os
from typing import Any, Literal

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
