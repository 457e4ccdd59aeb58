"""A test Kubernetes API on kmock: what the official `kubernetes` client needs from a server.

`KubeAPI` subclasses kmock's `KubernetesEmulator` (its aiohttp server, request parsing,
discovery and error rendering) and keeps its own object store, because the engines rely on
what kmock leaves out (testing-notes.md section 4):

- create answers 201 and honours `metadata.generateName`;
- every write stamps a real, increasing `metadata.resourceVersion`;
- list and watch honour `labelSelector` (equality, `k`, `!k`) and `fieldSelector`
  (`metadata.name`, `metadata.namespace`); watch honours `resourceVersion` (events after it)
  and `timeoutSeconds`, and answers an ERROR 410 Gone for a version older than
  `compacted_before` (tests move it to force a re-list);
- merge patch (RFC 7386) and JSON patch on objects and on `/status`; delete;
- pod logs (`/log?container=c&follow=true`) from a per-container buffer filled by the
  kubelet stand-in (`append_log` / `end_log`);
- pod exec over websocket (`v5.channel.k8s.io`, `v4.channel.k8s.io`), answered by the
  pod's kubelet: `exec_handlers[(namespace, pod)]` (Argo registers each of its pods), else
  `exec_handler` (Tekton), `(namespace, pod, container, argv)` -> (exit code, stdout, stderr);
  a handler raising `ExecStartError` (the runtime could not start the command) ends the
  stream with an InternalError status and no exit code, as a kubelet does;
- PATCH `pods/<name>/ephemeralcontainers` (strategic merge: the official client's choice for
  an object body, merge patch, JSON patch, apply; anything else 415 as the API server answers)
  changes only `spec.ephemeralContainers`, validated like the API server does (existing ones
  unchanged, unique names, image required, target container and volume mounts must exist: 422);
  the pod's kubelet (`on_write("pods")`) starts the new ones;
- `fail_next(method, path_part, status, message=...)`: the next matching requests fail
  (transient errors by default; a `message` makes it a Forbidden/other Status with that text);
- `counts`: every request seen, as (method, path, query) for request-count assertions.

Controllers (tekton.py) hook in with `on_write(plural, callback)` and change objects with
`put` / `patch_object` / `delete_object`, which publish watch events like API writes do.
"""

from __future__ import annotations

import asyncio
import copy
import json
import random
import string
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp.web
import kmock
import yaml

Obj = dict[str, Any]
WriteHook = Callable[[str, Obj, Obj | None], Awaitable[None]]  # event type, object, old object
ExecHandler = Callable[[str, str, str, list[str]], Awaitable[tuple[int, bytes, bytes]]]

CORE = {"pods": "Pod", "configmaps": "ConfigMap", "secrets": "Secret", "namespaces": "Namespace"}
CUSTOM = {
    ("tekton.dev", "v1", "taskruns"): "TaskRun",
    ("tekton.dev", "v1", "tasks"): "Task",
    ("tekton.dev", "v1", "pipelineruns"): "PipelineRun",
    ("tekton.dev", "v1", "pipelines"): "Pipeline",
    ("argoproj.io", "v1alpha1", "workflows"): "Workflow",
    ("argoproj.io", "v1alpha1", "workflowtemplates"): "WorkflowTemplate",
}


JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, APPLY_PATCH)
_UNSUPPORTED_PATCH = (
    "the body of the request was in an unknown format - accepted media types include: "
    "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, "
    "application/strategic-merge-patch+json, application/apply-patch+cbor"
)
_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    415: "UnsupportedMediaType",
    422: "Invalid",
    500: "InternalError",
    503: "ServiceUnavailable",
}


def _ephemeral_problems(pod: Obj, current: list[Obj], wanted: list[Obj]) -> list[str]:
    """What the API server refuses in an ephemeral containers update (field paths as it names them)."""
    spec = pod.get("spec") or {}
    problems = []
    by_name = {str(c.get("name")): c for c in wanted if isinstance(c, dict)}
    for old in current:
        now = by_name.get(str(old.get("name")))
        if now != old:
            change = "removed" if now is None else "changed"
            problems.append(
                f'spec.ephemeralContainers: Forbidden: existing ephemeral containers "{old.get("name")}" '
                f"may not be {change}"
            )
    names = [str(c.get("name")) for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]]
    volumes = {str(v.get("name")) for v in spec.get("volumes") or []}
    regular = {str(c.get("name")) for c in spec.get("containers") or []}
    for i, container in enumerate(wanted):
        at = f"spec.ephemeralContainers[{i}]"
        if not isinstance(container, dict):
            problems.append(f"{at}: Invalid value: not an object")
            continue
        name = str(container.get("name") or "")
        if not name:
            problems.append(f"{at}.name: Required value")
        elif name in names:
            problems.append(f'{at}.name: Duplicate value: "{name}"')
        names.append(name)
        if not container.get("image"):
            problems.append(f"{at}.image: Required value")
        target = container.get("targetContainerName")
        if target and target not in regular:
            problems.append(f'{at}.targetContainerName: Not found: "{target}"')
        for j, mount in enumerate(container.get("volumeMounts") or []):
            if mount.get("name") not in volumes:
                problems.append(f'{at}.volumeMounts[{j}].name: Not found: "{mount.get("name")}"')
        for field_name in ("ports", "livenessProbe", "readinessProbe", "startupProbe", "resources", "lifecycle"):
            if container.get(field_name):
                problems.append(f"{at}.{field_name}: Forbidden: cannot be set for an Ephemeral Container")
    return problems


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message

    def status(self) -> Obj:
        return {
            "apiVersion": "v1",
            "kind": "Status",
            "metadata": {},
            "status": "Failure",
            "code": self.code,
            "reason": self.reason,
            "message": self.message,
        }


class ExecStartError(ApiError):
    """The runtime could not start the exec'd command (no such binary, ...): the kubelet ends
    the stream with an InternalError status on the error channel, no exit code."""

    def __init__(self, message: str) -> None:
        super().__init__(500, "InternalError", message)


@dataclass
class LogBuffer:
    data: bytearray = field(default_factory=bytearray)
    ended: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    drops: int = 0  # drop_logs() count: a follow open across a drop ends

    def wake(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()


def _merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge_patch(out.get(key), value)
    return out


def _json_patch(target: Obj, ops: list[Obj]) -> Obj:
    doc = copy.deepcopy(target)
    for op in ops:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in str(op["path"]).split("/")[1:]]
        parent: Any = doc
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent.setdefault(part, {})
        last = parts[-1]
        kind = op["op"]
        if isinstance(parent, list):
            index = len(parent) if last == "-" else int(last)
            if kind == "add":
                parent.insert(index, op["value"])
            elif kind == "replace":
                parent[index] = op["value"]
            elif kind == "remove":
                parent.pop(index)
        elif kind in ("add", "replace"):
            parent[last] = op["value"]
        elif kind == "remove":
            parent.pop(last, None)
    return doc


def _selector_ok(labels: dict[str, str], selector: str) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key.strip()) == value.strip():
                return False
        elif "=" in term:
            key, value = term.split("=", 1)
            if labels.get(key.strip().rstrip("=")) != value.strip().lstrip("="):
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def _fields_ok(obj: Obj, selector: str) -> bool:
    meta = obj.get("metadata", {})
    for term in filter(None, (t.strip() for t in selector.split(","))):
        key, _, value = term.partition("=")
        value = value.lstrip("=")
        actual = {"metadata.name": meta.get("name"), "metadata.namespace": meta.get("namespace")}.get(key.strip())
        if actual != value:
            return False
    return True


class KubeAPI(kmock.KubernetesEmulator):  # type: ignore[misc]
    """See the module docstring."""

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.store: dict[tuple[str, str, str], Obj] = {}
        self.history: list[tuple[int, str, str, Obj]] = []  # (rv, plural, type, object)
        self.rv = 100
        self.compacted_before = 0
        self.watch_generation = 0
        self.changed = asyncio.Event()
        self.logs: dict[tuple[str, str, str], LogBuffer] = {}
        self.hooks: dict[str, list[WriteHook]] = {}
        self.exec_handler: ExecHandler | None = None  # the default (Tekton)
        self.exec_handlers: dict[tuple[str, str], ExecHandler] = {}  # (namespace, pod) -> its kubelet's
        self.counts: list[tuple[str, str, str]] = []
        self._failures: list[tuple[str, str, int]] = []
        self._failure_messages: dict[int, str] = {}  # id of a failure entry -> its Status message
        self.validators: dict[str, Callable[[Obj], Awaitable[None]]] = {}
        for (group, version, plural), kind in CUSTOM.items():
            self.resources[f"{group}/{version}/{plural}"] = kmock.ResourceInfo(
                kind=kind, namespaced=True, subresources={"status"}
            )
        for plural, kind in CORE.items():
            self.resources[f"v1/{plural}"] = kmock.ResourceInfo(kind=kind, namespaced=plural != "namespaces")

    # ---- controller API ---------------------------------------------------------------------------

    def on_write(self, plural: str, hook: WriteHook) -> None:
        self.hooks.setdefault(plural, []).append(hook)

    def fail_next(self, method: str, path_part: str, status: int, times: int = 1, message: str = "") -> None:
        entries = [(method.upper(), path_part, status) for _ in range(times)]
        if message:
            for entry in entries:
                self._failure_messages[id(entry)] = message
        self._failures.extend(entries)

    def get(self, plural: str, namespace: str, name: str) -> Obj | None:
        obj = self.store.get((plural, namespace, name))
        return copy.deepcopy(obj) if obj is not None else None

    def objects_of(self, plural: str) -> list[Obj]:
        return [copy.deepcopy(o) for (p, _, _), o in self.store.items() if p == plural]

    def container_env(
        self, pod: Obj, container: Obj, base: dict[str, str], literal: Callable[[Any], str]
    ) -> dict[str, str]:
        """What a kubelet gives a container's process: `base`, then the container's env, values
        through `literal`, fieldRefs, ConfigMap and Secret keys resolved from the store."""
        env = dict(base)
        namespace = pod["metadata"]["namespace"]
        for var in container.get("env") or []:
            if "value" in var:
                env[var["name"]] = literal(var["value"])
                continue
            source = var.get("valueFrom") or {}
            if "fieldRef" in source:
                value = {
                    "metadata.name": pod["metadata"]["name"],
                    "metadata.namespace": namespace,
                    "spec.nodeName": pod["spec"].get("nodeName", ""),
                }.get(source["fieldRef"].get("fieldPath"))
                if value is not None:
                    env[var["name"]] = value
            for ref_key, plural in (("configMapKeyRef", "configmaps"), ("secretKeyRef", "secrets")):
                ref = source.get(ref_key)
                if ref:
                    obj = self.get(plural, namespace, ref["name"]) or {}
                    data = (obj.get("data") or {}).get(ref["key"])
                    if data is not None:
                        env[var["name"]] = str(data)
        return env

    async def put(self, plural: str, obj: Obj) -> Obj:
        meta = obj.setdefault("metadata", {})
        key = (plural, meta.get("namespace") or "default", meta["name"])
        old = self.store.get(key)
        meta.setdefault("namespace", key[1])
        if old is None:
            meta.setdefault("uid", f"uid-{random.getrandbits(48):012x}")
            meta.setdefault("creationTimestamp", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        await self._publish(plural, "ADDED" if old is None else "MODIFIED", obj, old)
        return copy.deepcopy(obj)

    async def patch_object(self, plural: str, namespace: str, name: str, patch: Any) -> Obj:
        old = self.store.get((plural, namespace, name))
        if old is None:
            raise ApiError(404, "NotFound", f'{plural} "{name}" not found')
        new = _json_patch(old, patch) if isinstance(patch, list) else _merge_patch(old, patch)
        new["metadata"]["name"], new["metadata"]["namespace"] = name, namespace
        await self._publish(plural, "MODIFIED", new, old)
        return copy.deepcopy(new)

    async def delete_object(self, plural: str, namespace: str, name: str) -> Obj:
        old = self.store.get((plural, namespace, name))
        if old is None:
            raise ApiError(404, "NotFound", f'{plural} "{name}" not found')
        await self._publish(plural, "DELETED", copy.deepcopy(old), old)
        return old

    async def _publish(self, plural: str, kind: str, obj: Obj, old: Obj | None) -> None:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        key = (plural, obj["metadata"]["namespace"], obj["metadata"]["name"])
        if kind == "DELETED":
            self.store.pop(key, None)
        else:
            self.store[key] = obj
        self.history.append((self.rv, plural, kind, copy.deepcopy(obj)))
        self.changed.set()
        self.changed = asyncio.Event()
        for hook in self.hooks.get(plural, []):
            await hook(kind, copy.deepcopy(obj), copy.deepcopy(old) if old is not None else None)

    def drop_watches(self) -> None:
        """End every open watch request, as an API server does now and then."""
        self.watch_generation += 1
        self.changed.set()
        self.changed = asyncio.Event()

    # ---- logs -----------------------------------------------------------------------------------

    def drop_logs(self) -> None:
        """End every open log follow now (a cut connection), whatever the containers do."""
        for buf in self.logs.values():
            buf.drops += 1
            buf.wake()

    def log_buffer(self, namespace: str, pod: str, container: str) -> LogBuffer:
        return self.logs.setdefault((namespace, pod, container), LogBuffer())

    def append_log(self, namespace: str, pod: str, container: str, data: bytes) -> None:
        buf = self.log_buffer(namespace, pod, container)
        buf.data.extend(data)
        buf.wake()

    def end_log(self, namespace: str, pod: str, container: str) -> None:
        buf = self.log_buffer(namespace, pod, container)
        buf.ended = True
        buf.wake()

    # ---- request handling -------------------------------------------------------------------------

    async def _handle(self, request: Any) -> aiohttp.web.StreamResponse:
        raw: aiohttp.web.BaseRequest | None = request._raw_request
        query = dict(request.params or {})
        path = str(request.url.path)
        method = str(request.method.value if hasattr(request.method, "value") else request.method).upper()
        self.counts.append((method, path, "&".join(f"{k}={v}" for k, v in sorted(query.items()))))
        for n, (m, part, status) in enumerate(self._failures):
            if m == method and part in path:
                message = self._failure_messages.pop(id(self._failures[n]), "")
                del self._failures[n]
                if message:
                    return self._error(ApiError(status, _REASONS.get(status, "BadRequest"), message))
                return self._error(ApiError(status, "ServiceUnavailable", f"injected failure {status}"))
        resource = request.resource
        plural = getattr(resource, "plural", None) if resource is not None else None
        known = plural in CORE or any(plural == p for (_, _, p) in CUSTOM)
        if not known or raw is None:
            return await super()._handle(request)  # type: ignore[no-any-return]
        try:
            return await self._serve(request, raw, method, str(plural), query)
        except ApiError as exc:
            return self._error(exc)

    @staticmethod
    def _error(exc: ApiError) -> aiohttp.web.Response:
        return aiohttp.web.json_response(exc.status(), status=exc.code)

    async def _serve(
        self, request: Any, raw: aiohttp.web.BaseRequest, method: str, plural: str, query: dict[str, str]
    ) -> aiohttp.web.StreamResponse:
        namespace = request.namespace or "default"
        name, sub = request.name, request.subresource
        if sub == "log" and method == "GET":
            return await self._serve_log(raw, namespace, str(name), query)
        if sub == "exec":
            return await self._serve_exec(raw, namespace, str(name), raw.query.getall("command", []), query)
        if method == "GET" and name is None:
            if query.get("watch") in ("true", "True", "1"):
                return await self._serve_watch_stream(raw, plural, request.namespace, query)
            items = [
                copy.deepcopy(o)
                for (p, ns, _), o in self.store.items()
                if p == plural and (request.namespace is None or ns == request.namespace) and self._match(o, query)
            ]
            return aiohttp.web.json_response(
                {"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": str(self.rv)}, "items": items}
            )
        if method == "GET":
            obj = self.get(plural, namespace, str(name))
            if obj is None:
                raise ApiError(404, "NotFound", f'{plural} "{name}" not found')
            return aiohttp.web.json_response(obj)
        if method == "POST" and name is None:
            body = await raw.json()
            meta = body.setdefault("metadata", {})
            meta["namespace"] = namespace
            if not meta.get("name"):
                if not meta.get("generateName"):
                    raise ApiError(422, "Invalid", "metadata.name or metadata.generateName is required")
                suffix = "".join(random.choices(string.ascii_lowercase + string.digits, k=5))
                meta["name"] = meta["generateName"] + suffix
            if (plural, namespace, meta["name"]) in self.store:
                raise ApiError(409, "AlreadyExists", f'{plural} "{meta["name"]}" already exists')
            validate = self.validators.get(plural)
            if validate is not None:
                await validate(body)
            return aiohttp.web.json_response(await self.put(plural, body), status=201)
        if method == "PATCH" and plural == "pods" and sub == "ephemeralcontainers":
            return aiohttp.web.json_response(await self._patch_ephemeral(raw, namespace, str(name), query))
        if method == "PATCH":
            return aiohttp.web.json_response(await self.patch_object(plural, namespace, str(name), await raw.json()))
        if method == "PUT":
            body = await raw.json()
            return aiohttp.web.json_response(await self.put(plural, body))
        if method == "DELETE":
            return aiohttp.web.json_response(await self.delete_object(plural, namespace, str(name)))
        raise ApiError(405, "MethodNotAllowed", f"{method} {plural} is not served")

    async def _patch_ephemeral(
        self, raw: aiohttp.web.BaseRequest, namespace: str, name: str, query: dict[str, str]
    ) -> Obj:
        """PATCH pods/<name>/ephemeralcontainers: only spec.ephemeralContainers changes (the API
        server's ephemeralContainersStrategy), validated as ValidatePodEphemeralContainersUpdate."""
        old = self.store.get(("pods", namespace, name))
        if old is None:
            raise ApiError(404, "NotFound", f'pods "{name}" not found')
        kind = raw.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if kind not in PATCH_TYPES:
            raise ApiError(415, "UnsupportedMediaType", _UNSUPPORTED_PATCH)
        text = await raw.text()
        try:
            patch = yaml.safe_load(text) if kind == APPLY_PATCH else json.loads(text)
        except (ValueError, yaml.YAMLError) as exc:
            raise ApiError(400, "BadRequest", f"error decoding patch: {exc}") from None
        if kind == APPLY_PATCH and not query.get("fieldManager"):
            raise ApiError(
                422,
                "Invalid",
                'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
            )
        current = list((old.get("spec") or {}).get("ephemeralContainers") or [])
        if kind == JSON_PATCH:
            if not isinstance(patch, list):
                raise ApiError(400, "BadRequest", "json: cannot unmarshal object into Go value of type jsonpatch.Patch")
            wanted = _json_patch(old, patch).get("spec", {}).get("ephemeralContainers") or []
        elif not isinstance(patch, dict):
            raise ApiError(400, "BadRequest", "the patch body must be an object")
        elif kind == MERGE_PATCH:
            wanted = _merge_patch(old, patch).get("spec", {}).get("ephemeralContainers") or []
        else:  # strategic merge and apply: the list merges on `name`
            wanted = copy.deepcopy(current)
            for item in (patch.get("spec") or {}).get("ephemeralContainers") or []:
                at = next((i for i, c in enumerate(wanted) if c.get("name") == item.get("name")), None)
                if at is None:
                    wanted.append(copy.deepcopy(item))
                else:
                    wanted[at] = _merge_patch(wanted[at], item)
        problems = _ephemeral_problems(old, current, list(wanted))
        if problems:
            raise ApiError(422, "Invalid", f'Pod "{name}" is invalid: {", ".join(problems)}')
        if wanted == current:
            return copy.deepcopy(old)
        return await self.patch_object("pods", namespace, name, {"spec": {"ephemeralContainers": wanted}})

    def _match(self, obj: Obj, query: dict[str, str]) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return _selector_ok(labels, query.get("labelSelector", "")) and _fields_ok(obj, query.get("fieldSelector", ""))

    async def _serve_watch_stream(
        self, raw: aiohttp.web.BaseRequest, plural: str, namespace: str | None, query: dict[str, str]
    ) -> aiohttp.web.StreamResponse:
        resp = aiohttp.web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(raw)
        timeout = float(query.get("timeoutSeconds") or 1800)
        deadline = time.monotonic() + timeout
        since_text = query.get("resourceVersion", "")
        since = int(since_text) if since_text.isdigit() else None

        def visible(o: Obj) -> bool:
            return (namespace is None or o["metadata"].get("namespace") == namespace) and self._match(o, query)

        async def send(kind: str, obj: Obj) -> None:
            await resp.write(json.dumps({"type": kind, "object": obj}).encode() + b"\n")

        if since is not None and since and since < self.compacted_before:
            gone = ApiError(410, "Expired", f"too old resource version: {since} ({self.compacted_before})")
            await send("ERROR", gone.status())
            return resp
        if since is None or since == 0:
            cursor = self.rv
            for (p, _, _), obj in list(self.store.items()):
                if p == plural and visible(obj):
                    await send("ADDED", copy.deepcopy(obj))
        else:
            cursor = since
        generation = self.watch_generation
        try:
            while generation == self.watch_generation:
                waiter = self.changed  # taken before sending: a write during a send wakes us
                for rv, p, kind, obj in [h for h in self.history if h[0] > cursor]:
                    cursor = rv
                    if p == plural and visible(obj):
                        await send(kind, obj)
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    await asyncio.wait_for(waiter.wait(), left)
                except TimeoutError:
                    break
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return resp

    async def _serve_log(
        self, raw: aiohttp.web.BaseRequest, namespace: str, pod: str, query: dict[str, str]
    ) -> aiohttp.web.StreamResponse:
        obj = self.get("pods", namespace, pod)
        if obj is None:
            raise ApiError(404, "NotFound", f'pods "{pod}" not found')
        containers = [c["name"] for c in obj.get("spec", {}).get("containers", [])]
        container = query.get("container") or (containers[0] if len(containers) == 1 else "")
        if container not in containers:
            raise ApiError(400, "BadRequest", f"a container name must be specified for pod {pod}")
        if (namespace, pod, container) not in self.logs:
            raise ApiError(400, "BadRequest", f'container "{container}" in pod "{pod}" is waiting to start')
        buf = self.log_buffer(namespace, pod, container)
        follow = query.get("follow") in ("true", "True", "1")
        resp = aiohttp.web.StreamResponse(headers={"Content-Type": "text/plain"})
        await resp.prepare(raw)
        sent = 0
        drops = buf.drops
        try:
            while buf.drops == drops:
                if len(buf.data) > sent:
                    chunk = bytes(buf.data[sent:])
                    sent += len(chunk)
                    await resp.write(chunk)
                    continue
                if not follow or buf.ended:
                    break
                await buf.changed.wait()
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return resp

    async def _serve_exec(
        self, raw: aiohttp.web.BaseRequest, namespace: str, pod: str, argv: list[str], query: dict[str, str]
    ) -> aiohttp.web.StreamResponse:
        obj = self.get("pods", namespace, pod)
        if obj is None:
            raise ApiError(404, "NotFound", f'pods "{pod}" not found')
        container = query.get("container", "")
        if raw.headers.get("Upgrade", "").lower() != "websocket":
            raise ApiError(400, "BadRequest", "exec needs a websocket upgrade")
        ws = aiohttp.web.WebSocketResponse(protocols=("v5.channel.k8s.io", "v4.channel.k8s.io"))
        await ws.prepare(raw)
        handler = self.exec_handlers.get((namespace, pod), self.exec_handler)
        if handler is None or not argv:
            code, out, err = 126, b"", b"exec is not available\n"
        else:
            try:
                code, out, err = await handler(namespace, pod, container, argv)
            except ExecStartError as exc:
                internal = {
                    "metadata": {},
                    "status": "Failure",
                    "message": f"Internal error occurred: {exc.message}",
                    "reason": "InternalError",
                    "details": {"causes": [{"message": exc.message}]},
                    "code": 500,
                }
                await ws.send_bytes(b"\x03" + json.dumps(internal).encode())
                await ws.close()
                return ws
            except ApiError as exc:
                code, out, err = 126, b"", exc.message.encode() + b"\n"
        if out:
            await ws.send_bytes(b"\x01" + out)
        if err:
            await ws.send_bytes(b"\x02" + err)
        if code == 0:
            status: Obj = {"metadata": {}, "status": "Success"}
        else:
            status = {
                "metadata": {},
                "status": "Failure",
                "message": f"command terminated with non-zero exit code: {code}",
                "reason": "NonZeroExitCode",
                "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
            }
        await ws.send_bytes(b"\x03" + json.dumps(status).encode())
        await ws.close()
        return ws
