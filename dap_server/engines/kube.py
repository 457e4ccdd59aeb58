"""The Kubernetes API through the official `kubernetes` client, for the cluster engines.

The client is synchronous: single calls run in a worker thread (`Kube.call`, retried with
backoff on transient errors), long-lived streams (watches, followed logs) each own a thread
that hands lines to the event loop. A stream is stopped by shutting its socket down, which
wakes the blocked read at once, so nothing waits for a server timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from dap_server.engines.base import EngineError

log = logging.getLogger(__name__)

TRANSIENT_STATUS = frozenset({0, 429, 500, 502, 503, 504})
RETRIES = 5
BACKOFF = 0.1  # seconds, doubled per attempt
BACKOFF_MAX = 2.0
WATCH_TIMEOUT = 1800  # seconds a watch request stays open (the server may end it earlier)
EXEC_TIMEOUT = 60.0
LOG_END_GRACE = 2.0  # seconds a log's clean end waits for its container's end to be seen (follow_log)
IN_CLUSTER_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


HANDSHAKE = re.compile(r"Handshake status (\d{3}) [^-]*(?:-\+-\+- .*? -\+-\+- (.*))?$", re.S)


def handshake(exc: BaseException) -> tuple[int, str] | None:
    """An exec's websocket refused at the handshake: (HTTP status, the server's message).
    kubernetes.stream reports it as ApiException(status=0) with the handshake text as reason."""
    match = HANDSHAKE.search(str(getattr(exc, "reason", "") or ""))
    if match is None:
        return None
    message = ""
    with contextlib.suppress(TypeError, ValueError):
        status = json.loads(match.group(2) or "")
        if isinstance(status, dict):
            message = str(status.get("message") or "")
    return int(match.group(1)), message


def is_transient(exc: BaseException) -> bool:
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    if isinstance(exc, ApiException):
        refused = handshake(exc)
        return (refused[0] if refused else int(exc.status or 0)) in TRANSIENT_STATUS
    return isinstance(exc, HTTPError | ConnectionError | TimeoutError)


def _unreachable(exc: BaseException) -> bool:
    """The API server did not answer at all (refused, no route, name not found, timed out)."""
    from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

    return isinstance(exc, MaxRetryError | NewConnectionError | ProtocolError | ConnectionError | TimeoutError)


def api_message(exc: BaseException) -> str:
    """The Status message of an API error, else the exception's text."""
    refused = handshake(exc)
    if refused is not None:
        code, message = refused
        text = message or f"the API server answered {code}"
        if code == 403:
            text += " (the permissions the adapter needs are in deploy/rbac.yaml of pipeline-dap)"
        return text
    body = getattr(exc, "body", None)
    if body:
        try:
            status = json.loads(body)
        except (TypeError, ValueError):
            status = None
        if isinstance(status, dict) and status.get("message"):
            text = str(status["message"])
            if getattr(exc, "status", None) == 403:
                text += " (the permissions the adapter needs are in deploy/rbac.yaml of pipeline-dap)"
            return text
    reason = getattr(exc, "reason", None)
    return f"{getattr(exc, 'status', '')} {reason}".strip() if reason else str(exc)


def _shutdown(resp: Any) -> None:
    """Wake a thread blocked reading `resp` (an urllib3 response)."""
    for holder in (getattr(resp, "connection", None), getattr(resp, "_connection", None)):
        sock = getattr(holder, "sock", None)
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            return
    with contextlib.suppress(Exception):
        resp.close()


class Kube:
    """One API connection: clients, namespace, retries, streams."""

    def __init__(self, kubeconfig: str | None, context: str | None) -> None:
        self._kubeconfig = kubeconfig
        self._context = context
        self.api_client: Any = None
        self.core: Any = None
        self.custom: Any = None
        self.default_namespace = "default"
        self.config_file: str | None = None  # the kubeconfig file in use (None: in-cluster)
        self._streams: set[Stream] = set()

    async def connect(self) -> None:
        await asyncio.to_thread(self._connect)

    def _connect(self) -> None:
        from kubernetes import client
        from kubernetes import config as kube_config
        from kubernetes.config.config_exception import ConfigException

        config: Any = kube_config  # partly typed: its loaders are not

        path = self._kubeconfig or os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or None
        if path is None and os.path.exists(os.path.expanduser("~/.kube/config")):
            path = os.path.expanduser("~/.kube/config")
        try:
            if path is not None:
                path = os.path.expanduser(path)
                self.api_client = config.new_client_from_config(config_file=path, context=self._context)
                self.config_file = path
                contexts, active = config.list_kube_config_contexts(config_file=path)
                chosen = next((c for c in contexts if c.get("name") == self._context), active)
                self.default_namespace = str((chosen or {}).get("context", {}).get("namespace") or "default")
            else:
                configuration = client.Configuration()
                config.load_incluster_config(client_configuration=configuration)
                self.api_client = client.ApiClient(configuration)
                with contextlib.suppress(OSError), open(IN_CLUSTER_NAMESPACE) as f:
                    self.default_namespace = f.read().strip() or "default"
        except (ConfigException, OSError, ValueError) as exc:
            where = path or "in-cluster configuration"
            raise EngineError(f"cannot load the Kubernetes configuration ({where}): {exc}") from None
        self.core = client.CoreV1Api(self.api_client)
        self.custom = client.CustomObjectsApi(self.api_client)

    async def call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`fn(*args, **kwargs)` in a thread; transient errors retried with backoff. Raises the
        API exception of a definite failure (the caller words it)."""
        delay = BACKOFF
        for attempt in range(RETRIES + 1):
            try:
                return await asyncio.to_thread(fn, *args, **kwargs)
            except Exception as exc:
                if attempt == RETRIES and _unreachable(exc):
                    raise EngineError(self._unreachable_message(exc)) from None
                if attempt == RETRIES or not is_transient(exc):
                    raise
                log.info("%s: transient error (%s), retrying in %.1fs", what, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
        raise AssertionError("unreachable")

    def _unreachable_message(self, exc: BaseException) -> str:
        host = getattr(getattr(self.api_client, "configuration", None), "host", "?")
        where = f"kubeconfig {self.config_file}" if self.config_file else "in-cluster configuration"
        if self._context:
            where += f", context {self._context}"
        reason = getattr(exc, "reason", None) or exc
        text = str(reason)
        if "] " in text:  # "...: [Errno 111] Connection refused" -> "Connection refused"
            text = text.rsplit("] ", 1)[1].rstrip("')\"")
        return f"cannot reach the Kubernetes API at {host} ({where}): {text}"

    # ---- streams ---------------------------------------------------------------------------

    def watch(
        self,
        name: str,
        list_fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        on_event: Callable[[str, dict[str, Any]], None],
    ) -> Stream:
        """Watch a list call (`list_fn(*args, watch=True, ...)`) for ever: events go to
        `on_event(type, object)` on the loop. Reconnects from the last resourceVersion when the
        server ends the request; after 410 Gone, starts afresh (the server sends the current
        objects as ADDED); transient errors are retried with backoff."""
        loop = asyncio.get_running_loop()
        stream = Stream(name)

        def run() -> None:
            version: str | None = None
            delay = BACKOFF
            while not stream.stopped:
                call_kwargs = dict(kwargs, watch=True, _preload_content=False, timeout_seconds=WATCH_TIMEOUT)
                call_kwargs["allow_watch_bookmarks"] = True
                if version:
                    call_kwargs["resource_version"] = version
                try:
                    resp = list_fn(*args, **call_kwargs)
                    stream.attach(resp)
                    _check(resp)
                    for line in _lines(resp):
                        if stream.stopped:
                            return
                        if not line.strip():
                            continue
                        event = json.loads(line)
                        obj = event.get("object") or {}
                        if event.get("type") == "ERROR":
                            if obj.get("code") == 410:
                                version = None  # too old: start again from the current state
                                break
                            raise EngineError(f"watch {name}: {obj.get('message', obj)}")
                        version = str((obj.get("metadata") or {}).get("resourceVersion") or version or "")
                        if event.get("type") != "BOOKMARK":
                            loop.call_soon_threadsafe(on_event, str(event.get("type")), obj)
                        delay = BACKOFF
                except Exception as exc:
                    if stream.stopped:
                        return
                    if isinstance(exc, EngineError) or not is_transient(exc):
                        log.warning("watch %s: %s", name, exc)
                    time.sleep(delay)
                    delay = min(delay * 2, BACKOFF_MAX)
                finally:
                    stream.detach()

        stream.start(run)
        self._streams.add(stream)
        return stream

    def follow_log(
        self,
        namespace: str,
        pod: str,
        container: str,
        on_line: Callable[[str | None], None],
        skip: int = 0,
        ended: threading.Event | None = None,
    ) -> Stream:
        """Follow a container's log: every line (newline included) to `on_line` on the loop,
        then None at its end. A container not started yet (400) is retried with backoff. The
        first `skip` bytes (already read with `read_log`) are left out: a log only grows.

        With `ended` (set by the caller once it knows the container terminated), a stream that
        ends while the container still runs (a dropped connection, a server timeout) is followed
        again, leaving out the bytes already handed over: no line is lost or repeated, and only
        the container's end ends the log."""
        loop = asyncio.get_running_loop()
        stream = Stream(f"log {pod}/{container}")

        def run() -> None:
            delay = BACKOFF
            delivered = skip  # bytes of the log handed over (or left out) so far, whole lines
            failures = 0
            try:
                while not stream.stopped:
                    try:
                        resp = self.core.read_namespaced_pod_log(
                            pod, namespace, container=container, follow=True, _preload_content=False
                        )
                        stream.attach(resp)
                        _check(resp)
                    except Exception as exc:
                        stream.detach()
                        failures += 1
                        if stream.stopped or getattr(exc, "status", None) == 404 or failures >= RETRIES * 3:
                            return
                        time.sleep(delay)
                        delay = min(delay * 2, BACKOFF_MAX)
                        continue
                    failures, delay = 0, BACKOFF
                    pending = b""
                    position = 0
                    broken = False
                    try:
                        for chunk in resp.stream(None, decode_content=False):
                            if position < delivered:
                                dropped = min(delivered - position, len(chunk))
                                chunk, position = chunk[dropped:], position + dropped
                            position += len(chunk)
                            pending += chunk
                            *done, pending = pending.split(b"\n")
                            for raw in done:
                                delivered += len(raw) + 1
                                loop.call_soon_threadsafe(on_line, raw.decode(errors="replace") + "\n")
                    except Exception as exc:
                        broken = True
                        if not stream.stopped:
                            log.info("log %s/%s cut: %s", pod, container, exc)
                    stream.detach()
                    if stream.stopped:
                        return
                    if ended is not None and (broken or not ended.wait(LOG_END_GRACE)):
                        log.info("log %s/%s ended before the container: following again", pod, container)
                        continue  # the partial last line, if any, comes again
                    if pending:
                        loop.call_soon_threadsafe(on_line, pending.decode(errors="replace") + "\n")
                    return
            finally:
                stream.detach()
                loop.call_soon_threadsafe(on_line, None)

        stream.start(run)
        self._streams.add(stream)
        return stream

    async def exec(self, namespace: str, pod: str, container: str, argv: list[str]) -> tuple[int, str]:
        """Run argv in a container (websocket exec); (exit code, stdout + stderr)."""

        def run() -> tuple[int, str]:
            from kubernetes import client
            from kubernetes.stream import stream

            # `stream` swaps the ApiClient's call_api for a websocket call while it runs: on the
            # shared client, every other thread's request (watches, log follows, patches) would
            # go out as a websocket handshake meanwhile. A client of its own per exec.
            own: Any = client.ApiClient(self.api_client.configuration)
            try:
                resp = stream(
                    client.CoreV1Api(own).connect_get_namespaced_pod_exec,
                    pod,
                    namespace,
                    container=container,
                    command=argv,
                    stderr=True,
                    stdin=False,
                    stdout=True,
                    tty=False,
                    _preload_content=False,
                )
            finally:
                own.close()
            try:
                resp.run_forever(timeout=EXEC_TIMEOUT)
                if resp.is_open():
                    raise EngineError(f"exec in {pod}/{container} did not end within {EXEC_TIMEOUT:g}s")
                output = resp.read_stdout() + resp.read_stderr()
                code, message = exec_status(resp.read_channel(ERROR_CHANNEL))
            finally:
                resp.close()
            return code, output + message

        result: tuple[int, str] = await self.call(f"exec in {pod}/{container}", run)
        return result

    async def read_log(self, namespace: str, pod: str, container: str) -> bytes:
        """A container's log so far (not followed), as bytes."""

        def run() -> bytes:
            resp = self.core.read_namespaced_pod_log(pod, namespace, container=container, _preload_content=False)
            try:
                return bytes(resp.data)
            finally:
                resp.release_conn()

        data: bytes = await self.call(f"log {pod}/{container}", run)
        return data

    async def close(self) -> None:
        for stream in list(self._streams):
            stream.stop()
        self._streams.clear()
        if self.api_client is not None:
            client, self.api_client = self.api_client, None
            await asyncio.to_thread(client.close)


ERROR_CHANNEL = 3  # the exec stream's status channel


def exec_status(raw: str) -> tuple[int, str]:
    """(exit code, message) from an exec's status channel. Success is 0; a NonZeroExitCode
    Failure carries the code in its ExitCode cause; any other Failure (the runtime could not
    start the command: no such executable, ...) is 126 with the status message, which the
    official client's `returncode` would fail to parse."""
    if not raw.strip():
        return 0, ""
    try:
        status = json.loads(raw)
    except ValueError:
        return 126, raw.strip() + "\n"
    if not isinstance(status, dict) or status.get("status") == "Success":
        return 0, ""
    for cause in (status.get("details") or {}).get("causes") or []:
        if isinstance(cause, dict) and cause.get("reason") == "ExitCode" and str(cause.get("message")).isdigit():
            return int(str(cause["message"])), ""
    return 126, f"{status.get('message') or status.get('reason') or 'exec failed'}\n"


def _lines(resp: Any) -> Any:
    from kubernetes.watch import watch as kube_watch

    module: Any = kube_watch
    return module.iter_resp_lines(resp)


def _check(resp: Any) -> None:
    status = getattr(resp, "status", 200)
    if isinstance(status, int) and not 200 <= status <= 299:
        from kubernetes.client.exceptions import ApiException

        raise ApiException(http_resp=_Preloaded(resp))


class _Preloaded:
    """What ApiException reads from a response it is built from (status, reason, body)."""

    def __init__(self, resp: Any) -> None:
        self.status = resp.status
        self.reason = resp.reason
        self.data = resp.data

    def getheaders(self) -> dict[str, str]:
        return {}


class Stream:
    """One streaming request's thread; `stop()` shuts its socket down."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.stopped = False
        self._resp: Any = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self, target: Callable[[], None]) -> None:
        self._thread = threading.Thread(target=target, name=f"pipeline-dap {self.name}", daemon=True)
        self._thread.start()

    def attach(self, resp: Any) -> None:
        with self._lock:
            self._resp = resp
            stopped = self.stopped
        if stopped:
            _shutdown(resp)

    def detach(self) -> None:
        with self._lock:
            resp, self._resp = self._resp, None
        if resp is not None:
            with contextlib.suppress(Exception):
                resp.release_conn()

    def stop(self) -> None:
        with self._lock:
            self.stopped = True
            resp = self._resp
        if resp is not None:
            _shutdown(resp)
