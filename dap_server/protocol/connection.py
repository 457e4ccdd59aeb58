"""An asyncio DAP connection: requests in, responses and events out, reverse requests.

    conn = Connection(reader, writer)

    @conn.command("setBreakpoints", SetBreakpointsArguments)
    async def set_breakpoints(args: SetBreakpointsArguments) -> SetBreakpointsResponseBody:
        ...

    await conn.serve()          # until the peer closes its end (or conn.close())

- Each request runs in its own task, tasks started in arrival order: a handler that
  must act in order does so before its first `await`.
- A handler returns the response body (a pydantic model) or None (no body). Raising
  `RequestError` gives an error response with a `Message`; any other exception gives
  an error response too, and its traceback goes to the log. The connection carries on.
- `send_event`, `request` (reverse requests: `runInTerminal`, `startDebugging`) and
  responses share one writer lock, so frames never interleave and `seq` (from 1)
  follows the order on the wire.
- `closed()` resolves when the peer goes away; `on_close` callbacks run before
  `serve()` returns, so cleanup can never be skipped by the process exiting.
"""

from __future__ import annotations

import asyncio
import contextvars
import enum
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, overload

from pydantic import BaseModel, ValidationError

from dap_server.protocol.framing import FrameDecoder, FramingError, encode
from dap_server.protocol.models import (
    CancelArguments,
    DapModel,
    ErrorResponseBody,
    Message,
    OutputEventBody,
    Request,
    Response,
)

log = logging.getLogger(__name__)

READ_CHUNK = 64 * 1024

A = TypeVar("A", bound=BaseModel)
R = TypeVar("R", bound=BaseModel | None)
Handler = Callable[[Any], Awaitable[BaseModel | None]]
ResponseCallback = Callable[[dict[str, Any]], Awaitable[None] | None]
CloseCallback = Callable[[], Awaitable[None]]


class ErrorId(enum.IntEnum):
    """`Message.id` of the error responses this layer produces."""

    REQUEST_FAILED = 1000  # RequestError without an explicit id
    UNKNOWN_REQUEST = 1001
    INVALID_ARGUMENTS = 1002
    INTERNAL_ERROR = 1003
    CANCELLED = 1004


class RequestError(Exception):
    """Raised by a handler: the request fails with this message.

    `short` is the response's machine-readable `message` (e.g. "cancelled",
    "notStopped"); the text goes to `body.error.format`, which clients show.
    """

    def __init__(
        self,
        message: str,
        *,
        error_id: int = ErrorId.REQUEST_FAILED,
        show_user: bool | None = None,
        short: str | None = None,
        url: str | None = None,
        url_label: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_id = int(error_id)
        self.show_user = show_user
        self.short = short
        self.url = url
        self.url_label = url_label


class ConnectionClosed(ConnectionError):
    """The peer has gone (or the connection was closed): nothing can be sent or awaited."""


class FrameWriter(Protocol):
    """The writing half the connection needs (asyncio.StreamWriter fits)."""

    def write(self, data: bytes) -> None: ...

    async def drain(self) -> None: ...

    def close(self) -> None: ...


@dataclass
class _Route:
    handler: Handler
    args_model: type[BaseModel] | None


@dataclass
class _RequestContext:
    request: dict[str, Any]
    after_reply: list[CloseCallback] = field(default_factory=list)


_current: contextvars.ContextVar[_RequestContext] = contextvars.ContextVar("dap_current_request")


def dump_model(model: BaseModel) -> dict[str, Any]:
    """Wire form of any pydantic model: aliases, `None` left out."""
    if isinstance(model, DapModel):
        return model.to_dict()
    return model.model_dump(by_alias=True, exclude_none=True, mode="json")


def describe_validation_error(error: ValidationError) -> str:
    """`field.path: problem; ...`, with the wire (camelCase) names the client sent."""
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "arguments"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


class Connection:
    """One DAP peer over a reader/writer pair. See the module docstring."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: FrameWriter,
        *,
        name: str = "dap",
        close_grace: float = 5.0,
    ) -> None:
        self.name = name
        self.close_grace = close_grace
        self._reader = reader
        self._writer = writer
        self._routes: dict[str, _Route] = {}
        self._write_lock = asyncio.Lock()
        self._next_seq = 1
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}  # in-flight requests by seq
        self._cancelled: set[int] = set()
        self._background: set[asyncio.Task[Any]] = set()
        self._close_callbacks: list[CloseCallback] = []
        self._closed = asyncio.Event()
        self._close_requested = False
        self._read_task: asyncio.Task[bytes] | None = None
        self._broken = False
        self._served = False

    # ------------------------------------------------------------------ registration

    @overload
    def register(
        self, command: str, handler: Callable[[A], Awaitable[BaseModel | None]], args_model: type[A]
    ) -> None: ...

    @overload
    def register(
        self,
        command: str,
        handler: Callable[[dict[str, Any]], Awaitable[BaseModel | None]],
        args_model: None = None,
    ) -> None: ...

    def register(self, command: str, handler: Handler, args_model: type[BaseModel] | None = None) -> None:
        """Handle `command` with `handler(args)`.

        `args` is `args_model` validated from the request's `arguments` (a failure is
        an error response naming the field), or the raw `arguments` dict (`{}` when
        absent) without a model. Registering a command again replaces the handler.
        """
        self._routes[command] = _Route(handler, args_model)

    @overload
    def command(
        self, command: str, args_model: type[A]
    ) -> Callable[[Callable[[A], Awaitable[R]]], Callable[[A], Awaitable[R]]]: ...

    @overload
    def command(
        self, command: str, args_model: None = None
    ) -> Callable[[Callable[[dict[str, Any]], Awaitable[R]]], Callable[[dict[str, Any]], Awaitable[R]]]: ...

    def command(self, command: str, args_model: type[BaseModel] | None = None) -> Callable[[Any], Any]:
        """Decorator form of `register`."""

        def decorate(handler: Any) -> Any:
            self._routes[command] = _Route(handler, args_model)
            return handler

        return decorate

    def on_close(self, callback: CloseCallback) -> None:
        """Run `await callback()` once the connection has closed, before `serve()` returns."""
        self._close_callbacks.append(callback)

    def after_reply(self, callback: CloseCallback) -> None:
        """From inside a handler: run `await callback()` right after its successful response
        is written (e.g. the `initialized` event after the `initialize` response)."""
        try:
            context = _current.get()
        except LookupError:
            raise RuntimeError("after_reply() called outside a request handler") from None
        context.after_reply.append(callback)

    @staticmethod
    def current_request() -> dict[str, Any]:
        """From inside a handler: the request message being handled."""
        try:
            return _current.get().request
        except LookupError:
            raise RuntimeError("current_request() called outside a request handler") from None

    # ------------------------------------------------------------------ state

    @property
    def is_closed(self) -> bool:
        return self._closed.is_set()

    async def closed(self) -> None:
        """Resolves when the peer has closed its end (or `close()` was called)."""
        await self._closed.wait()

    def close(self) -> None:
        """Stop reading; `serve()` then winds down as if the peer had left."""
        self._close_requested = True
        if self._read_task is not None:
            self._read_task.cancel()
        elif not self._served:
            self._mark_closed()

    # ------------------------------------------------------------------ main loop

    async def serve(self) -> None:
        """Read and dispatch messages until the peer closes; then run the close callbacks,
        let in-flight handlers finish (up to `close_grace` seconds) and close the writer."""
        if self._served:
            raise RuntimeError("Connection.serve() can only run once")
        self._served = True
        decoder = FrameDecoder()
        try:
            while not self._close_requested:
                self._read_task = asyncio.ensure_future(self._reader.read(READ_CHUNK))
                try:
                    data = await self._read_task
                except asyncio.CancelledError:
                    if self._close_requested:
                        break
                    raise
                except (ConnectionError, OSError) as error:
                    log.info("%s: read failed (%s): peer gone", self.name, error)
                    break
                finally:
                    self._read_task = None
                if not data:
                    log.info("%s: peer closed the connection", self.name)
                    break
                self._receive(decoder, data)
            if decoder.pending:
                log.warning("%s: %d bytes of an incomplete frame dropped at close", self.name, decoder.pending)
        finally:
            self._mark_closed()
            await self._shutdown()

    def _receive(self, decoder: FrameDecoder, data: bytes) -> None:
        chunk = data
        while True:
            try:
                messages = decoder.feed(chunk)
            except FramingError as error:
                for message in error.messages:
                    self._dispatch(message)
                log.error("%s: bad frame dropped: %s", self.name, error)
                self._spawn(self._report_framing_error(str(error)))
                chunk = b""
                continue
            for message in messages:
                self._dispatch(message)
            return

    async def _report_framing_error(self, text: str) -> None:
        body = OutputEventBody(category="console", output=f"pipeline-dap: bad frame from the client dropped: {text}\n")
        await self.send_event("output", body)

    def _dispatch(self, message: dict[str, Any]) -> None:
        log.debug("%s <-- %s", self.name, _LazyJson(message))
        kind = message.get("type")
        if kind == "request":
            try:
                request = Request.model_validate(message)
            except ValidationError as error:
                log.error("%s: malformed request dropped (%s): %s", self.name, error, message)
                return
            task = asyncio.create_task(self._handle(request, message), name=f"dap-{request.command}-{request.seq}")
            self._tasks[request.seq] = task
            task.add_done_callback(self._forget_task)
        elif kind == "response":
            try:
                response = Response.model_validate(message)
            except ValidationError as error:
                log.error("%s: malformed response dropped (%s): %s", self.name, error, message)
                return
            future = self._pending.pop(response.request_seq, None)
            if future is None:
                log.warning("%s: response to unknown or timed-out request %d dropped", self.name, response.request_seq)
            elif not future.done():
                future.set_result(message)
        elif kind == "event":
            log.warning("%s: event %r from the client ignored", self.name, message.get("event"))
        else:
            log.error("%s: message of unknown type %r dropped", self.name, kind)

    # ------------------------------------------------------------------ requests

    def _forget_task(self, task: asyncio.Task[None]) -> None:
        for seq, known in list(self._tasks.items()):
            if known is task:
                del self._tasks[seq]

    async def _handle(self, request: Request, message: dict[str, Any]) -> None:
        context = _RequestContext(message)
        _current.set(context)
        try:
            body = await self._run_handler(request)
        except RequestError as error:
            await self._reply_error(request, error)
            return
        except asyncio.CancelledError:
            if request.seq in self._cancelled:
                self._cancelled.discard(request.seq)
                await self._reply_error(
                    request,
                    RequestError("the request was cancelled", error_id=ErrorId.CANCELLED, short="cancelled"),
                )
                return
            raise
        except Exception as error:
            log.exception("%s: request %r (seq %d) failed", self.name, request.command, request.seq)
            await self._reply_error(
                request,
                RequestError(
                    f"internal error in {request.command!r}: {type(error).__name__}: {error}",
                    error_id=ErrorId.INTERNAL_ERROR,
                    show_user=True,
                ),
            )
            return
        reply: dict[str, Any] = {
            "type": "response",
            "request_seq": request.seq,
            "success": True,
            "command": request.command,
        }
        if body is not None:
            reply["body"] = dump_model(body)
        if await self._send_quietly(reply):
            for callback in context.after_reply:
                try:
                    await callback()
                except Exception:
                    log.exception("%s: after-reply callback of %r failed", self.name, request.command)

    async def _run_handler(self, request: Request) -> BaseModel | None:
        route = self._routes.get(request.command)
        if route is None:
            if request.command == "cancel":
                self._builtin_cancel(request)
                return None
            raise RequestError(f'unknown request "{request.command}"', error_id=ErrorId.UNKNOWN_REQUEST)
        arguments = request.arguments if request.arguments is not None else {}
        if route.args_model is None:
            if not isinstance(arguments, dict):
                raise RequestError(
                    f'invalid arguments for "{request.command}": expected an object',
                    error_id=ErrorId.INVALID_ARGUMENTS,
                )
            return await route.handler(arguments)
        try:
            args = route.args_model.model_validate(arguments)
        except ValidationError as error:
            raise RequestError(
                f'invalid arguments for "{request.command}": {describe_validation_error(error)}',
                error_id=ErrorId.INVALID_ARGUMENTS,
            ) from None
        return await route.handler(args)

    def _builtin_cancel(self, request: Request) -> None:
        try:
            args = CancelArguments.model_validate(request.arguments or {})
        except ValidationError as error:
            raise RequestError(
                f'invalid arguments for "cancel": {describe_validation_error(error)}',
                error_id=ErrorId.INVALID_ARGUMENTS,
            ) from None
        if args.request_id is not None:
            task = self._tasks.get(args.request_id)
            if task is not None and not task.done() and args.request_id != request.seq:
                self._cancelled.add(args.request_id)
                task.cancel()

    async def _reply_error(self, request: Request, error: RequestError) -> None:
        body = ErrorResponseBody(
            error=Message(
                id=error.error_id,
                format=error.message,
                show_user=error.show_user,
                url=error.url,
                url_label=error.url_label,
            )
        )
        await self._send_quietly(
            {
                "type": "response",
                "request_seq": request.seq,
                "success": False,
                "command": request.command,
                "message": error.short or error.message,
                "body": body.to_dict(),
            }
        )

    # ------------------------------------------------------------------ sending

    async def send_event(self, event: str, body: BaseModel | None = None) -> None:
        """Send an event. Once the peer has gone this does nothing (logged at debug)."""
        message: dict[str, Any] = {"type": "event", "event": event}
        if body is not None:
            message["body"] = dump_model(body)
        await self._send_quietly(message)

    async def request(
        self,
        command: str,
        arguments: BaseModel | Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Send a reverse request and return the peer's response message (check `success`).

        Raises `ConnectionClosed` if the peer is or goes away first, `TimeoutError`
        after `timeout` seconds (a late response is then dropped).
        """
        if self.is_closed:
            raise ConnectionClosed(f"{self.name}: connection closed; cannot send {command!r}")
        message: dict[str, Any] = {"type": "request", "command": command}
        if isinstance(arguments, BaseModel):
            message["arguments"] = dump_model(arguments)
        elif arguments is not None:
            message["arguments"] = dict(arguments)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        registered: list[int] = []

        def register(seq: int) -> None:
            registered.append(seq)
            self._pending[seq] = future

        try:
            await self._send(message, on_seq=register)
            return await asyncio.wait_for(future, timeout)
        finally:
            if registered:
                self._pending.pop(registered[0], None)

    def request_callback(
        self,
        command: str,
        arguments: BaseModel | Mapping[str, Any] | None,
        callback: ResponseCallback,
        *,
        timeout: float | None = None,
    ) -> asyncio.Task[None]:
        """Send a reverse request without waiting; `callback(response)` (sync or async)
        runs when the response arrives. Failures (peer gone, timeout) are logged."""

        async def run() -> None:
            try:
                response = await self.request(command, arguments, timeout=timeout)
            except (ConnectionClosed, TimeoutError) as error:
                log.warning("%s: reverse request %r got no response: %r", self.name, command, error)
                return
            result = callback(response)
            if result is not None:
                await result

        return self._spawn(run())

    async def _send_quietly(self, message: dict[str, Any]) -> bool:
        try:
            await self._send(message)
        except ConnectionClosed as error:
            log.debug("%s: not sent (%s): %s", self.name, error, _LazyJson(message))
            return False
        return True

    async def _send(self, message: dict[str, Any], on_seq: Callable[[int], None] | None = None) -> int:
        async with self._write_lock:
            if self._broken:
                raise ConnectionClosed(f"{self.name}: the connection's output is closed")
            seq = self._next_seq
            self._next_seq += 1
            framed = {"seq": seq, **message}
            if on_seq is not None:
                on_seq(seq)
            log.debug("%s --> %s", self.name, _LazyJson(framed))
            try:
                self._writer.write(encode(framed))
                await self._writer.drain()
            except (ConnectionError, OSError, RuntimeError) as error:
                self._broken = True
                raise ConnectionClosed(f"{self.name}: write failed: {error}") from error
            return seq

    # ------------------------------------------------------------------ closing

    def _mark_closed(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        for seq, future in list(self._pending.items()):
            if not future.done():
                future.set_exception(ConnectionClosed(f"{self.name}: connection closed before the response"))
            self._pending.pop(seq, None)

    async def _shutdown(self) -> None:
        for callback in self._close_callbacks:
            try:
                await callback()
            except Exception:
                log.exception("%s: close callback failed", self.name)
        tasks = [t for t in [*self._tasks.values(), *self._background] if not t.done()]
        if tasks:
            _done, still_running = await asyncio.wait(tasks, timeout=self.close_grace)
            for task in still_running:
                log.warning(
                    "%s: %s still running %.1fs after close: cancelled",
                    self.name,
                    task.get_name(),
                    self.close_grace,
                )
                task.cancel()
            if still_running:
                await asyncio.wait(still_running)
        async with self._write_lock:
            self._broken = True
            try:
                self._writer.close()
            except (ConnectionError, OSError, RuntimeError) as error:
                log.debug("%s: closing the writer: %s", self.name, error)

    def _spawn(self, coroutine: Awaitable[None]) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task


class _LazyJson:
    """Formats a message only if the log record is emitted."""

    def __init__(self, message: Mapping[str, Any]) -> None:
        self.message = message

    def __str__(self) -> str:
        return json.dumps(self.message, ensure_ascii=False)
