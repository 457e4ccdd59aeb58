"""A DAP client: drives a debug adapter over a subprocess's stdio or a socket.

Used by the terminal debugger and by the tests.

    client = await DapClient.spawn([sys.executable, "-m", "dap_server", "serve"])
    await client.request_ok("initialize", {"adapterID": "pipeline"})
    stopped = await client.wait_event("stopped")

Events are queued as they arrive, so `wait_event` never misses one that came before
the call; each `wait_event` consumes the event it returns. `on_message(direction,
message)` sees every message: direction "send" (to the adapter) or "recv".
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import IO, Any, Self

from dap_server.protocol.framing import FrameDecoder, FramingError, encode

log = logging.getLogger(__name__)

MessageHook = Callable[[str, dict[str, Any]], None]
ReverseHandler = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None] | dict[str, Any] | None]


class DapError(Exception):
    """A request failed (`success: false`); `response` is the whole response message."""

    def __init__(self, response: dict[str, Any]) -> None:
        error = (response.get("body") or {}).get("error") or {}
        text = error.get("format") or response.get("message") or "request failed"
        super().__init__(f"{response.get('command')}: {text}")
        self.response = response
        self.text = str(text)


class ServerClosed(ConnectionError):
    """The adapter closed its output (or the client was closed) while something was awaited."""


class DapClient:
    """See the module docstring. Create with `spawn`, `connect_tcp` or from a stream pair."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        process: asyncio.subprocess.Process | None = None,
        on_message: MessageHook | None = None,
        name: str = "client",
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.process = process
        self.on_message = on_message
        self.name = name
        self.framing_errors: list[str] = []
        self._seq = 1
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._events: list[dict[str, Any]] = []
        self._consumed: set[int] = set()
        self._changed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._reverse: dict[str, ReverseHandler] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._eof = False
        self._write_lock = asyncio.Lock()
        self._reader_task = asyncio.create_task(self._read_loop(), name=f"{name}-reader")

    # ------------------------------------------------------------------ construction

    @classmethod
    async def spawn(
        cls,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        stderr: int | IO[Any] | None = None,
        on_message: MessageHook | None = None,
        start_new_session: bool = False,
    ) -> Self:
        """Start the adapter `argv` and talk DAP over its stdin/stdout.
        `stderr` is passed to the subprocess (default: inherited); `start_new_session`
        keeps the terminal's Ctrl-C away from it."""
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            limit=2**31,
            start_new_session=start_new_session,
        )
        assert process.stdin is not None and process.stdout is not None
        # StreamWriter over the child's stdin: what the subprocess API hands out
        return cls(process.stdout, process.stdin, process=process, on_message=on_message, name=argv[-1])

    @classmethod
    async def connect_tcp(cls, host: str, port: int, *, on_message: MessageHook | None = None) -> Self:
        reader, writer = await asyncio.open_connection(host, port, limit=2**31)
        return cls(reader, writer, on_message=on_message, name=f"{host}:{port}")

    # ------------------------------------------------------------------ requests

    def next_seq(self) -> int:
        """Take a `seq` for a message built by hand (see `send_bytes`)."""
        seq = self._seq
        self._seq += 1
        return seq

    def expect_response(self, request: dict[str, Any]) -> asyncio.Future[dict[str, Any]]:
        """Register `request` (with its `seq`, from `next_seq`) as sent by hand; the future
        resolves with its response. `on_message` sees it as sent."""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[int(request["seq"])] = future
        self._hook("send", request)
        return future

    async def send_bytes(self, data: bytes) -> None:
        """Write raw bytes (partial frames, bad headers...) to the adapter."""
        async with self._write_lock:
            self.writer.write(data)
            await self.writer.drain()

    async def request(
        self, command: str, arguments: Mapping[str, Any] | None = None, *, timeout: float | None = 30
    ) -> dict[str, Any]:
        """Send a request; return its response message (`success` may be false)."""
        if self._eof:
            raise ServerClosed(f"{self.name}: the adapter has closed the connection; cannot send {command!r}")
        message: dict[str, Any] = {"type": "request", "command": command}
        if arguments is not None:
            message["arguments"] = dict(arguments)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        async with self._write_lock:
            message = {"seq": self.next_seq(), **message}
            self._pending[message["seq"]] = future
            self._hook("send", message)
            try:
                self.writer.write(encode(message))
                await self.writer.drain()
            except (ConnectionError, OSError, RuntimeError) as error:
                self._pending.pop(message["seq"], None)
                raise ServerClosed(f"{self.name}: cannot send {command!r}: {error}") from error
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise TimeoutError(f"{self.name}: no response to {command!r} within {timeout}s") from None
        finally:
            self._pending.pop(message["seq"], None)

    async def request_ok(
        self, command: str, arguments: Mapping[str, Any] | None = None, *, timeout: float | None = 30
    ) -> dict[str, Any]:
        """Like `request`, but raise `DapError` when `success` is false."""
        response = await self.request(command, arguments, timeout=timeout)
        if not response.get("success"):
            raise DapError(response)
        return response

    def on_request(self, command: str, handler: ReverseHandler) -> None:
        """Answer reverse requests `command` with `handler(arguments)` -> body (sync or async);
        an exception from the handler becomes an error response."""
        self._reverse[command] = handler

    # ------------------------------------------------------------------ events

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        """Every event received so far (of `name`), consumed or not."""
        return [e for e in self._events if name is None or e.get("event") == name]

    async def wait_event(
        self,
        event: str,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float | None = 30,
    ) -> dict[str, Any]:
        """The oldest event `event` not returned before (and matching `predicate`),
        waiting for it if needed."""

        async def find() -> dict[str, Any]:
            start = 0
            while True:
                for index in range(start, len(self._events)):
                    message = self._events[index]
                    if index in self._consumed or message.get("event") != event:
                        continue
                    if predicate is None or predicate(message):
                        self._consumed.add(index)
                        return message
                start = len(self._events)
                if self._eof:
                    raise ServerClosed(f"{self.name}: the adapter closed the connection; no {event!r} event")
                await asyncio.shield(self._changed)

        try:
            return await asyncio.wait_for(find(), timeout)
        except TimeoutError:
            seen = [e.get("event") for e in self._events]
            raise TimeoutError(f"{self.name}: no {event!r} event within {timeout}s; events seen: {seen}") from None

    # ------------------------------------------------------------------ closing

    @property
    def at_eof(self) -> bool:
        """The adapter has closed its output."""
        return self._eof

    async def wait_eof(self, timeout: float | None = 30) -> None:
        """Wait until the adapter closes its output."""
        await asyncio.wait_for(asyncio.shield(self._reader_task), timeout)

    async def close(self, timeout: float = 10.0) -> int | None:
        """Close our end (the adapter sees EOF) and wait for the subprocess to exit;
        return its exit code, or None if it did not exit within `timeout` (see `kill`)."""
        with contextlib.suppress(ConnectionError, OSError, RuntimeError):
            self.writer.close()
        code: int | None = None
        if self.process is not None:
            try:
                code = await asyncio.wait_for(self.process.wait(), timeout)
            except TimeoutError:
                code = None
        if code is not None or self.process is None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._reader_task), timeout)
        return code

    async def kill(self) -> int | None:
        """Kill the subprocess (if any) and reap it."""
        if self.process is None:
            return None
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        code = await self.process.wait()
        self._reader_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader_task
        return code

    # ------------------------------------------------------------------ internals

    def _hook(self, direction: str, message: dict[str, Any]) -> None:
        if self.on_message is not None:
            self.on_message(direction, message)

    def _notify(self) -> None:
        if not self._changed.done():
            self._changed.set_result(None)
        self._changed = asyncio.get_running_loop().create_future()

    async def _read_loop(self) -> None:
        decoder = FrameDecoder()
        try:
            while True:
                try:
                    data = await self.reader.read(65536)
                except (ConnectionError, OSError):
                    data = b""
                if not data:
                    return
                chunk = data
                while True:
                    try:
                        messages = decoder.feed(chunk)
                    except FramingError as error:
                        self.framing_errors.append(str(error))
                        log.error("%s: bad frame from the adapter: %s", self.name, error)
                        messages, chunk = error.messages, b""
                        for message in messages:
                            self._receive(message)
                        continue
                    for message in messages:
                        self._receive(message)
                    break
        finally:
            self._eof = True
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ServerClosed(f"{self.name}: the adapter closed the connection"))
            self._notify()

    def _receive(self, message: dict[str, Any]) -> None:
        self._hook("recv", message)
        kind = message.get("type")
        if kind == "response":
            future = self._pending.get(message.get("request_seq", -1))
            if future is not None and not future.done():
                future.set_result(message)
            else:
                log.warning("%s: unexpected response %s", self.name, message)
        elif kind == "event":
            self._events.append(message)
            self._notify()
        elif kind == "request":
            task = asyncio.create_task(self._answer(message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            log.warning("%s: message of unknown type: %s", self.name, message)

    async def _answer(self, request: dict[str, Any]) -> None:
        command = str(request.get("command"))
        reply: dict[str, Any] = {"type": "response", "request_seq": request.get("seq"), "command": command}
        handler = self._reverse.get(command)
        try:
            if handler is None:
                raise LookupError(f'unknown request "{command}"')
            result = handler(request.get("arguments") or {})
            body = await result if inspect.isawaitable(result) else result
            reply["success"] = True
            if body is not None:
                reply["body"] = body
        except Exception as error:
            reply.update(success=False, message=str(error), body={"error": {"id": 1, "format": str(error)}})
        async with self._write_lock:
            reply = {"seq": self.next_seq(), **reply}
            self._hook("send", reply)
            with contextlib.suppress(ConnectionError, OSError, RuntimeError):
                self.writer.write(encode(reply))
                await self.writer.drain()
