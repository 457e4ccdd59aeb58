"""The Debug Adapter Protocol layer: framing, models, connection, transports.

It knows nothing about pipelines.
"""

from dap_server.protocol.connection import Connection, ConnectionClosed, ErrorId, RequestError
from dap_server.protocol.framing import FrameDecoder, FramingError, encode
from dap_server.protocol.transport import serve_stdio, serve_tcp, setup_logging

__all__ = [
    "Connection",
    "ConnectionClosed",
    "ErrorId",
    "FrameDecoder",
    "FramingError",
    "RequestError",
    "encode",
    "serve_stdio",
    "serve_tcp",
    "setup_logging",
]
