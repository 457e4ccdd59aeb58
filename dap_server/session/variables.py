"""Variables pane: scopes of a frame and their variables, computed lazily when expanded."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dap_server.engines.base import StepView
from dap_server.sources.tekton_vars import Value


@dataclass
class Var:
    name: str
    value: str
    type: str | None = None
    children: Callable[[], list[Var]] | None = None
    evaluate_name: str | None = None
    read_only: bool = True


@dataclass
class Handles:
    """variablesReference numbers: valid while the program is stopped, lazy children."""

    _next: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _items: dict[int, Callable[[], list[Var]]] = field(default_factory=dict)
    _owner: dict[int, tuple[int, str]] = field(default_factory=dict)  # ref -> (thread id, scope name)

    def add(self, thread_id: int, scope: str, children: Callable[[], list[Var]]) -> int:
        ref = next(self._next)
        self._items[ref] = children
        self._owner[ref] = (thread_id, scope)
        return ref

    def get(self, ref: int) -> Callable[[], list[Var]] | None:
        return self._items.get(ref)

    def owner(self, ref: int) -> tuple[int, str] | None:
        return self._owner.get(ref)

    def drop_thread(self, thread_id: int) -> None:
        for ref in [r for r, (t, _) in self._owner.items() if t == thread_id]:
            self._items.pop(ref, None)
            self._owner.pop(ref, None)


def value_vars(values: dict[str, Any], prefix: str) -> list[Var]:
    """Variables of a name -> value mapping; arrays and objects expand."""
    return [value_var(name, value, f"{prefix}.{name}" if prefix else name) for name, value in sorted(values.items())]


def value_var(name: str, value: Any, evaluate_name: str) -> Var:
    if isinstance(value, dict):
        items = dict(value)
        return Var(name, _short(value), "object", lambda: value_vars(items, evaluate_name), evaluate_name)
    if isinstance(value, list):
        entries = list(value)
        return Var(
            name,
            _short(value),
            "array",
            lambda: [value_var(f"[{i}]", v, f"{evaluate_name}[{i}]") for i, v in enumerate(entries)],
            evaluate_name,
        )
    if value is None:
        return Var(name, "null", None, None, evaluate_name)
    return Var(name, str(value), "string" if isinstance(value, str) else type(value).__name__, None, evaluate_name)


def _short(value: Any) -> str:
    text = json.dumps(value, separators=(", ", ": "))
    return text if len(text) <= 120 else text[:117] + "..."


def step_vars(view: StepView) -> list[Var]:
    rows: list[tuple[str, Any]] = [
        ("name", view.name),
        ("image", view.image),
    ]
    if view.script is not None:
        rows.append(("script", view.script))
    if view.command:
        rows.append(("command", view.command))
    if view.args:
        rows.append(("args", view.args))
    rows += [
        ("workingDir", view.working_dir),
        ("state", view.state),
        ("exitCode", view.exit_code),
        ("startedAt", view.started_at),
        ("finishedAt", view.finished_at),
        ("pod", view.pod),
        ("container", view.container),
    ]
    rows += sorted(view.extra.items())
    result = []
    for name, value in rows:
        var = value_var(name, value, f"step.{name}")
        var.read_only = name != "exitCode"
        result.append(var)
    return result


def names_for(view: StepView) -> dict[str, Any]:
    """The names a condition or watch expression sees for a step."""
    return {
        "params": dict(view.params),
        "env": dict(view.env),
        "results": dict(view.results),
        "workspaces": dict(view.workspaces),
        "step": {
            "name": view.name,
            "image": view.image,
            "state": view.state,
            "exitCode": view.exit_code,
            "workingDir": view.working_dir,
        },
    }


def substitution_values(view: StepView) -> dict[str, Value]:
    """Values for `$(...)` substitution in logpoints and hovers."""
    values: dict[str, Value] = {f"params.{k}": _value(v) for k, v in view.params.items()}
    values.update({f"results.{k}": v for k, v in view.results.items()})
    values.update({f"workspaces.{k}.path": v for k, v in view.workspaces.items()})
    values.update({f"env.{k}": v for k, v in view.env.items()})
    values.update({"context.taskRun.name": view.pod.removesuffix("-pod")})
    return values


def _value(value: Any) -> Value:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return "" if value is None else str(value)
