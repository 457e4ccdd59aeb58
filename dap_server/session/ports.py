"""Loopback ports for child debug sessions (stepIn into a Python step under debugpy)."""

from __future__ import annotations

import asyncio
import socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def is_listening(port: int) -> bool:
    """Whether something listens on 127.0.0.1:`port`, read from /proc/net/tcp without
    connecting (debugpy takes a connection as its one client)."""
    try:
        with open("/proc/net/tcp") as table:
            rows = table.read().splitlines()[1:]
    except OSError:
        return False
    wanted = f"0100007F:{port:04X}"
    return any(fields[1] == wanted and fields[3] == "0A" for fields in (row.split() for row in rows))


async def listening(port: int, timeout: float) -> bool:
    """Wait until `port` listens (the step's Python has started debugpy), up to `timeout` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if is_listening(port):
            return True
        await asyncio.sleep(0.02)
    return False
