"""The Tekton engine: Tasks and TaskRuns on a cluster, paused with Tekton's own debug support
(spec.debug, engine-protocols.md PART A). See engine.py."""

from __future__ import annotations

from dap_server.engines.tekton.engine import (
    TektonEngine,
    create_tekton_engine,
    fetch_taskrun,
    taskrun_task_name,
    taskrun_yaml,
)

__all__ = ["TektonEngine", "create_tekton_engine", "fetch_taskrun", "taskrun_task_name", "taskrun_yaml"]
