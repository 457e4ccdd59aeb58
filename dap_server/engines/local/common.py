"""Small helpers of the local engine: Kubernetes-style names, times, durations, params."""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any

from dap_server.engines.base import EngineError
from dap_server.engines.local.supervisor import UsageError, parse_duration
from dap_server.sources.tekton_vars import Value, scalar_text

NAME_LIMIT = 63  # a Kubernetes object name (DNS-1123 label)
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery rand.String
MAX_RESULT_BYTES = 4096  # Tekton's default max-result-size


def random_suffix(length: int = 5) -> str:
    """What `metadata.generateName` appends."""
    return "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(length))


def child_name(parent: str, suffix: str) -> str:
    """knative kmeta.ChildName: `parent + suffix`, shortened with an md5 of the parent when
    longer than 63 characters (TaskRun names of a PipelineRun, pod names of a TaskRun)."""
    if len(parent) + len(suffix) <= NAME_LIMIT:
        return parent + suffix
    digest = hashlib.md5(parent.encode(), usedforsecurity=False).hexdigest()
    head = NAME_LIMIT - len(digest) - len(suffix)
    if head <= 0:
        return hashlib.md5((parent + suffix).encode(), usedforsecurity=False).hexdigest()
    return parent[:head] + digest + suffix


def generated_name(metadata: Mapping[str, Any], fallback: str) -> str:
    """metadata.name, or metadata.generateName + a random suffix, or `fallback-` + suffix."""
    name = metadata.get("name")
    if isinstance(name, str) and name:
        return name
    prefix = metadata.get("generateName")
    if not isinstance(prefix, str) or not prefix:
        prefix = f"{fallback}-"
    return prefix + random_suffix()


def rfc3339(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


def duration(text: object, where: str) -> float | None:
    """A Go duration from YAML ("1h30m", "90s"), in seconds; None for absent or "0" (no timeout)."""
    if text is None or text == "":
        return None
    try:
        seconds = parse_duration(scalar_text(text))
    except UsageError as exc:
        raise EngineError(f"{where}: {exc}") from None
    if seconds < 0:
        raise EngineError(f'{where}: negative duration "{text}"')
    return seconds or None


def read_text(path: str, limit: int | None = None) -> str | None:
    try:
        with open(path, "rb") as f:
            data = f.read() if limit is None else f.read(limit + 1)
    except OSError:
        return None
    return data.decode(errors="replace")


def ensure_dir(path: str) -> str:
    os.makedirs(path, exist_ok=True)
    return path


# ---- params ------------------------------------------------------------------------------------


def param_type(decl: Mapping[str, Any]) -> str:
    """A ParamSpec's type: as declared, else inferred from the default, else string."""
    declared = decl.get("type")
    if isinstance(declared, str) and declared:
        return declared
    default = decl.get("default")
    if isinstance(default, list):
        return "array"
    if isinstance(default, dict):
        return "object"
    return "string"


def coerce_param(name: str, kind: str, value: object, where: str) -> Value:
    """A param value from YAML or a launch configuration, checked against its declared type.
    Scalars become strings (YAML `true` is "true", 3 is "3")."""
    if isinstance(value, list):
        if kind not in ("array",):
            raise EngineError(f'{where}: param "{name}" is of type {kind} but was given an array')
        return [scalar_text(v) for v in value]
    if isinstance(value, dict):
        if kind != "object":
            raise EngineError(f'{where}: param "{name}" is of type {kind} but was given an object')
        return {str(k): scalar_text(v) for k, v in value.items()}
    if kind in ("array", "object"):
        raise EngineError(f'{where}: param "{name}" is of type {kind} but was given a string')
    return scalar_text(value)


def resolve_params(decls: Sequence[Mapping[str, Any]], given: Mapping[str, object], where: str) -> dict[str, Value]:
    """Declared params with their values: given, else default; a required param without a
    value is an EngineError naming it. Given params that are not declared are kept too
    (Tekton propagates params into embedded specs)."""
    out: dict[str, Value] = {}
    for decl in decls:
        name = str(decl.get("name", ""))
        kind = param_type(decl)
        if name in given:
            value = coerce_param(name, kind, given[name], where)
            default = coerce_param(name, kind, decl["default"], where) if "default" in decl else None
            if isinstance(default, dict) and isinstance(value, dict):
                value = {**default, **value}  # missing keys of an object param come from its default
        elif "default" in decl:
            value = coerce_param(name, kind, decl["default"], where)
        else:
            raise EngineError(f'{where}: param "{name}" has no value and no default')
        allowed = [scalar_text(a) for a in as_list(decl.get("enum"))]
        if allowed and isinstance(value, str) and value not in allowed:
            raise EngineError(f'{where}: param "{name}" value "{value}" is not in its enum {allowed}')
        out[name] = value
    for name, raw in given.items():
        if name not in out:
            out[name] = coerce_param(name, _kind_of(raw), raw, where)
    return out


def _kind_of(value: object) -> str:
    return "array" if isinstance(value, list) else "object" if isinstance(value, dict) else "string"


def named_values(items: object) -> dict[str, object]:
    """`[{name, value}, ...]` (params of a run or a pipeline task) as a dict."""
    out: dict[str, object] = {}
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict) and "name" in item:
                out[str(item["name"])] = item.get("value")
    return out


def as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
