"""The language server of pipeline-dap (`pipeline-dap lsp`): outline, code lenses that
start a debug session, diagnostics, hover, go to definition, references and completion
for pipeline YAML, from the debugger's own source map (`dap_server.sources`).

`serve_lsp(port=None, host="127.0.0.1") -> int` serves LSP over stdio, or TCP with a port.
"""

from __future__ import annotations

from .server import build_server, serve_lsp

__all__ = ["build_server", "serve_lsp"]
