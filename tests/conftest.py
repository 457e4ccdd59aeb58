"""Shared fixtures: a schema-validated DAP client of the real server (`dap`), and a factory
for validated clients of any adapter command (`dap_spawn`). See tests/dap_harness.py."""

from __future__ import annotations

import sys
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path

import pytest
import pytest_asyncio

# The package is not installed: tests import `dap_server` and `tests.*` from the checkout.
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.dap_harness import (  # noqa: E402
    REPO_ROOT,
    HarnessClient,
    SchemaValidator,
    shared_validator,
    spawn_validated,
)

SERVER_ARGV = [sys.executable, "-m", "dap_server", "serve"]
EXIT_GRACE = 10.0  # seconds an adapter gets to exit after its stdin closes

SpawnAdapter = Callable[..., Awaitable[HarnessClient]]


@pytest.fixture(scope="session")
def dap_schema() -> SchemaValidator:
    """The official DAP schema validator (built once)."""
    return shared_validator()


@pytest_asyncio.fixture
async def dap_spawn(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SpawnAdapter]:
    """`await dap_spawn(argv, env=None, cwd=REPO_ROOT)`: a validated DapClient of a new adapter
    process. At teardown each one is closed; the test fails on any schema or framing
    error; an adapter that does not exit within EXIT_GRACE seconds of its stdin closing is
    killed and reported (warning); its stderr is attached to the report of a failed test."""
    clients: list[HarnessClient] = []

    async def spawn(
        argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path = REPO_ROOT
    ) -> HarnessClient:
        stderr_path = tmp_path / f"adapter-{len(clients) + 1}.stderr.log"
        client = await spawn_validated(argv, stderr_path=stderr_path, env=env, cwd=cwd)
        clients.append(client)
        return client

    yield spawn

    problems: list[str] = []
    for number, client in enumerate(clients, 1):
        code = await client.close(timeout=EXIT_GRACE)
        if code is None:
            await client.kill()
            message = f"adapter {number} did not exit within {EXIT_GRACE}s of its stdin closing: killed"
            warnings.warn(message, pytest.PytestWarning, stacklevel=1)
            request.node.add_report_section("teardown", f"adapter {number}", message)
        request.node.add_report_section("teardown", f"adapter {number} stderr", client.stderr_text())
        problems += client.schema_errors
        problems += [f"bad frame from the adapter: {e}" for e in client.framing_errors]
    assert not problems, "DAP schema/framing errors:\n" + "\n".join(problems)


@pytest_asyncio.fixture
async def dap(dap_spawn: SpawnAdapter) -> HarnessClient:
    """A schema-validated DapClient of `python -m dap_server serve` (cwd = repo root)."""
    return await dap_spawn(SERVER_ARGV)
