"""The Argo engine: Workflows on a cluster, paused with Argo's own emissary pauses
(ARGO_DEBUG_PAUSE_BEFORE/AFTER, engine-protocols.md PART B). See engine.py.

`fetch_run(options)` gives the YAML of the Workflow to attach to (`options.attach`), for a
source map when the attach configuration has no `program`."""

from __future__ import annotations

from dap_server.engines.argo.engine import ArgoEngine, create_argo_engine, fetch_run, workflow_yaml

__all__ = ["ArgoEngine", "create_argo_engine", "fetch_run", "workflow_yaml"]
