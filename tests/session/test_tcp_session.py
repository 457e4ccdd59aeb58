"""`pipeline-dap serve --port 0`: the real server over TCP, one client after another."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator

import pytest

from tests.dap_harness import REPO_ROOT, TcpServer, connect_validated, start_session
from tests.session.helpers import frames_of, run_to_end, stopped

SINGLE = REPO_ROOT / "fixtures/tekton/single-task.yaml"


@pytest.fixture
async def server() -> AsyncIterator[TcpServer]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dap_server",
        "serve",
        "--port",
        "0",
        cwd=str(REPO_ROOT),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    tcp = TcpServer(process)
    try:
        await tcp.start()
        yield tcp
    finally:
        await tcp.stop()


async def test_two_clients_in_turn_each_debug_a_run(server: TcpServer) -> None:
    assert server.host == "127.0.0.1"
    for _ in range(2):
        client = await connect_validated(server.host, server.port)
        await start_session(client, {"program": str(SINGLE)}, breakpoints={SINGLE: [34]})
        stop = await stopped(client, "breakpoint")
        frames = await frames_of(client, stop["body"]["threadId"])
        assert frames[0]["name"] == "count"
        assert await run_to_end(client) == 0
        await client.request_ok("disconnect", {})
        await client.close()
        assert not client.schema_errors, client.schema_errors
    assert server.process.returncode is None  # still serving
