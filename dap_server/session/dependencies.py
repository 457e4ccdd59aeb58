"""Which pipeline tasks run because of others: `runAfter` and result references."""

from __future__ import annotations

import re
from typing import Any

from dap_server.sources.model import PipelineSpec, PipelineTask

_TASK_REF = re.compile(r"\$\(\s*tasks\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.")


def upstream(task: PipelineTask) -> set[str]:
    """Names of the pipeline tasks `task` waits for."""
    data = task.data()
    names = {str(n) for n in data.get("runAfter") or []}
    names.update(match.group(1) for match in _TASK_REF.finditer(_text(data)))
    names.discard(task.name)
    return names


def dependents(pipeline: PipelineSpec, names: set[str]) -> set[str]:
    """Tasks that directly depend on any of `names`; when none does, the finally tasks."""
    found = {t.name for t in pipeline.tasks if upstream(t) & names}
    if not found and not names & {t.name for t in pipeline.finally_tasks}:
        found = {t.name for t in pipeline.finally_tasks}
    return found


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return " ".join(_text(v) for v in value.values())
    if isinstance(value, list):
        return " ".join(_text(v) for v in value)
    return str(value) if isinstance(value, str) else ""
