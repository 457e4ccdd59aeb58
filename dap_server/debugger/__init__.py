"""`pipeline-dap debug FILE`: a terminal debugger, a DAP client of our own server."""

from __future__ import annotations

import argparse
import asyncio
import sys


def add_debug_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `pipeline-dap debug` (the CLI calls this on its subparser)."""
    parser.add_argument("file", help="the pipeline YAML to run")
    parser.add_argument(
        "--break",
        dest="breaks",
        action="append",
        default=[],
        metavar="LOC",
        help="PATH:LINE, PATH:LINE:after, TASK/STEP or STEP (repeatable)",
    )
    parser.add_argument("--on-failure", action="store_true", help="stop when a step fails")
    parser.add_argument(
        "--param", action="append", default=[], metavar="K=V", help="run parameter (repeatable)"
    )
    parser.add_argument("--stop-on-entry", action="store_true", help="stop before the first step")
    parser.add_argument("--engine", default="local", choices=["local", "tekton", "argo"])
    parser.add_argument(
        "--search-path", action="append", default=[], metavar="PATH", help="where referenced documents live"
    )


def main_from_args(args: argparse.Namespace) -> int:
    """Run the debugger with parsed `pipeline-dap debug` arguments; the run's exit code."""
    print("pipeline-dap debug: not available yet", file=sys.stderr)
    return asyncio.run(_unavailable())


async def _unavailable() -> int:
    return 2
