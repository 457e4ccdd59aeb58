"""Shared bits of the Argo tests."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "argo"


def fixture(name: str) -> str:
    return str(FIXTURES / name)
