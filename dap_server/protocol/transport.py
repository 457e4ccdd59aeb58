"""Where connections come from: stdio (what an IDE starts) or TCP, plus logging set-up.

`setup(conn)` registers the handlers (and `on_close` clean-up) of a fresh
`Connection`; the transport then serves it until the peer leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
import sys
import threading
from collections.abc import Awaitable, Callable

from dap_server.protocol.connection import Connection

log = logging.getLogger(__name__)

Setup = Callable[[Connection], Awaitable[None]]


def setup_logging(log_file: str | None, verbose: bool) -> None:
    """Log to `log_file` (appending) or to stderr; DEBUG (every frame) when verbose, else INFO.

    Never to stdout: in stdio mode that is the protocol stream.
    """
    handler: logging.Handler = (
        logging.FileHandler(log_file, encoding="utf-8") if log_file else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)


# ---------------------------------------------------------------------------- stdio


def _take_stdio() -> tuple[int, int]:
    """Keep private copies of fds 0 and 1 for the protocol; point fd 0 at /dev/null and fd 1
    at stderr, so neither stray prints nor child processes can touch the DAP stream."""
    sys.stdout.flush()
    in_fd = os.dup(0)
    out_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    os.set_inheritable(in_fd, False)
    os.set_inheritable(out_fd, False)
    return in_fd, out_fd


def _is_pipe_like(fd: int) -> bool:
    mode = os.fstat(fd).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)


class _ThreadWriter:
    """Blocking writes in a worker thread: for stdout redirected to a regular file."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        self._pending.append(bytes(data))

    async def drain(self) -> None:
        data, self._pending = b"".join(self._pending), []
        if data:
            await asyncio.to_thread(self._write_all, data)

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


def _thread_reader(fd: int, reader: asyncio.StreamReader, loop: asyncio.AbstractEventLoop) -> None:
    """Blocking reads in a daemon thread: for stdin redirected from a regular file."""

    def run() -> None:
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if not data:
                loop.call_soon_threadsafe(reader.feed_eof)
                return
            loop.call_soon_threadsafe(reader.feed_data, data)

    threading.Thread(target=run, name="dap-stdin", daemon=True).start()


async def open_fd_streams(in_fd: int, out_fd: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter | _ThreadWriter]:
    """asyncio streams over two file descriptors (pipes, sockets, ttys, or regular files)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**31)
    if _is_pipe_like(in_fd):
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(in_fd, "rb", buffering=0, closefd=True)
        )
    else:
        _thread_reader(in_fd, reader, loop)
    writer: asyncio.StreamWriter | _ThreadWriter
    if _is_pipe_like(out_fd):
        transport, protocol = await loop.connect_write_pipe(
            asyncio.streams.FlowControlMixin, os.fdopen(out_fd, "wb", buffering=0, closefd=True)
        )
        writer = asyncio.StreamWriter(transport, protocol, None, loop)
    else:
        writer = _ThreadWriter(out_fd)
    return reader, writer


async def serve_stdio(setup: Setup) -> None:
    """Serve one DAP client on stdin/stdout until it closes stdin.

    From here on fd 1 is stderr and fd 0 is /dev/null: only DAP frames reach the
    real stdout.
    """
    in_fd, out_fd = _take_stdio()
    reader, writer = await open_fd_streams(in_fd, out_fd)
    connection = Connection(reader, writer, name="stdio")
    await setup(connection)
    log.info("serving DAP on stdio")
    await connection.serve()


# ---------------------------------------------------------------------------- TCP


async def serve_tcp(
    setup: Setup,
    host: str = "127.0.0.1",
    port: int = 4711,
    *,
    on_listening: Callable[[str, int], None] | None = None,
) -> None:
    """Serve DAP clients over TCP, one at a time (a client that connects while another is
    served waits its turn). Prints `listening on HOST:PORT` to stderr (port 0 picks a free
    port; the real one is printed). Runs until cancelled."""
    turn = asyncio.Lock()
    count = 0

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal count
        peer = writer.get_extra_info("peername")
        async with turn:
            count += 1
            name = f"tcp#{count}"
            log.info("%s: client %s connected", name, peer)
            connection = Connection(reader, writer, name=name)
            try:
                await setup(connection)
                await connection.serve()
            except Exception:
                log.exception("%s: session failed", name)
            finally:
                writer.close()
                with contextlib.suppress(ConnectionError, OSError):
                    await writer.wait_closed()
            log.info("%s: client %s left", name, peer)

    server = await asyncio.start_server(client, host, port)
    sockname = server.sockets[0].getsockname()
    real_host, real_port = str(sockname[0]), int(sockname[1])
    print(f"listening on {real_host}:{real_port}", file=sys.stderr, flush=True)
    if on_listening is not None:
        on_listening(real_host, real_port)
    async with server:
        await server.serve_forever()
