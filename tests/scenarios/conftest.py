"""`target`: each scenario runs on the local engine and on a cluster engine (tests/scenarios/targets.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.scenarios.targets import Target, target_for


@pytest_asyncio.fixture
async def target(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Target]:
    async with target_for(str(request.param), str(tmp_path)) as chosen:
        yield chosen
