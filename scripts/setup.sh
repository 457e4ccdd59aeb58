#!/usr/bin/env bash
# Create .venv (if needed) and install pipeline-dap with the given extras, e.g. `scripts/setup.sh test`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
extras="${1:-}"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
if [ -n "$extras" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[${extras}]"
else
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
fi
