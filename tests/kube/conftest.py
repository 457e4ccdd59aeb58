"""Fixtures of the Kubernetes tests: a test API with Tekton on loopback (`cluster`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from tests.kube.cluster import Cluster, running_cluster


@pytest_asyncio.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    async with running_cluster(str(tmp_path)) as running:
        yield running
