"""serve_tcp through a real socket: port 0 reporting, one client at a time, next client after."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.dap_harness import REPO_ROOT, HarnessClient, TcpServer, connect_validated

DUMMY = [sys.executable, str(Path(__file__).with_name("dummy_server.py")), "--tcp"]


@pytest.fixture
async def tcp_server() -> AsyncIterator[TcpServer]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = await asyncio.create_subprocess_exec(
        *DUMMY, cwd=str(REPO_ROOT), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    server = TcpServer(process)  # also imported from here by other test folders
    try:
        await server.start()
        yield server
    finally:
        await server.stop()


async def thread_name(client: HarnessClient) -> str:
    response = await client.request_ok("threads")
    name: str = response["body"]["threads"][0]["name"]
    return name


async def test_port_zero_reports_the_real_port(tcp_server: TcpServer) -> None:
    assert tcp_server.host == "127.0.0.1"
    assert tcp_server.port > 0
    client = await connect_validated(tcp_server.host, tcp_server.port)
    await client.request_ok("initialize", {"adapterID": "dummy"})
    await client.wait_event("initialized")
    assert await thread_name(client) == "connection 1, max active 1"
    await client.close()
    assert client.schema_errors == []


async def test_one_client_at_a_time_then_the_next(tcp_server: TcpServer) -> None:
    first = await connect_validated(tcp_server.host, tcp_server.port)
    assert await thread_name(first) == "connection 1, max active 1"

    second = await connect_validated(tcp_server.host, tcp_server.port)
    waiting = asyncio.create_task(thread_name(second))
    # the first client is still served while the second one waits
    assert await thread_name(first) == "connection 1, max active 1"
    assert not waiting.done()
    await first.close()
    # once the first has left, the second is served: never two at once
    assert await asyncio.wait_for(waiting, 30) == "connection 2, max active 1"
    await second.close()

    third = await connect_validated(tcp_server.host, tcp_server.port)
    assert await thread_name(third) == "connection 3, max active 1"
    await third.close()
    for client in (first, second, third):
        assert client.schema_errors == []
        assert client.framing_errors == []
    # the server noticed each departure (closed() and on_close)
    await wait_for_line(tcp_server, "on_close ran for connection 3")
    text = "".join(tcp_server.stderr_lines)
    for number in (1, 2):
        assert f"closed() resolved for connection {number}" in text
        assert f"on_close ran for connection {number}" in text


async def wait_for_line(server: TcpServer, text: str) -> None:
    async def look() -> None:
        while not any(text in line for line in server.stderr_lines):
            await asyncio.sleep(0.05)

    await asyncio.wait_for(look(), 30)
