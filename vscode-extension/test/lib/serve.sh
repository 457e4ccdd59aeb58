#!/bin/sh
# DebugClient spawns `runtime executable` with one argument: this wrapper starts the server on stdio.
exec "${PIPELINE_DAP_PYTHON:?set PIPELINE_DAP_PYTHON}" -m dap_server serve
