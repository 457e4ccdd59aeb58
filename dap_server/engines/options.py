"""What a launch tells an engine, beyond the document to run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RunOptions:
    params: dict[str, Any] = field(default_factory=dict)  # run params (override declared defaults)
    workspaces: dict[str, str] = field(default_factory=dict)  # workspace name -> directory (local)
    debug: bool = True  # False: a plain run, no pause requested at all (DAP noDebug)
    run_root: str | None = None  # where run folders go (default: a fresh temporary directory)
    timeout: float | None = None  # overall run timeout in seconds (None: as the document says)
    namespace: str | None = None
    kube_context: str | None = None
    kubeconfig: str | None = None
    attach: str | None = None  # cluster engines: the name of an existing run to attach to (no create)
    extra: dict[str, Any] = field(default_factory=dict)  # engine-specific launch keys
