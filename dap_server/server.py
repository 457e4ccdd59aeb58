"""`pipeline-dap serve`: one Session per DAP connection, over stdio or TCP."""

from __future__ import annotations

import logging

from dap_server.protocol.connection import Connection
from dap_server.protocol.transport import serve_stdio, serve_tcp, setup_logging
from dap_server.session.session import Session

log = logging.getLogger(__name__)


async def attach_session(conn: Connection) -> None:
    """Give a connection its session; when the client goes away, nothing is left running."""
    session = Session(conn)
    session.register()

    async def client_gone() -> None:
        await session.shutdown()

    conn.on_close(client_gone)


async def run_server(
    port: int | None = None, host: str = "127.0.0.1", log_file: str | None = None, verbose: bool = False
) -> int:
    setup_logging(log_file, verbose)
    if port is None:
        await serve_stdio(attach_session)
    else:
        await serve_tcp(attach_session, host=host, port=port)
    return 0
