"""BENCHMARKS.md: each benchmark owns one section between `<!-- bench:KEY -->` markers."""

from __future__ import annotations

import datetime
import platform
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"
HEADER = "# Benchmarks\n\nEach section is rewritten by its script with `--write`; figures are from one run of it.\n"


def write_section(key: str, title: str, body: str, path: Path = BENCHMARKS) -> None:
    """Replace (or append) the section `key`, stamped with today's date and the machine."""
    mark = f"<!-- bench:{key} -->"
    machine = f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}"
    stamp = f"_{datetime.date.today().isoformat()}, {machine}_"
    section = f"{mark}\n## {title}\n\n{stamp}\n\n{body.rstrip()}\n{mark}"
    text = path.read_text() if path.exists() else HEADER
    if mark in text:
        before, _, rest = text.partition(mark)
        _, _, after = rest.partition(mark)
        text = before + section + after
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)
