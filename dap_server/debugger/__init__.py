"""`pipeline-dap debug FILE`: a terminal debugger, a DAP client of our own server.

It starts `python -m dap_server serve` and talks DAP to it over the same protocol path
an IDE uses, so what it shows is what VS Code would show.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import IO

from dap_server.debugger.app import Debugger, Options
from dap_server.sources.locations import BreakLocation, LocationError, SourceMap, parse_location

__all__ = [
    "BreakLocation",
    "LocationError",
    "SourceMap",
    "add_debug_arguments",
    "main_from_args",
    "parse_location",
    "run_debugger",
]


def add_debug_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `pipeline-dap debug` (the CLI calls this on its subparser)."""
    parser.add_argument("file", help="the pipeline YAML to run")
    parser.add_argument(
        "--break",
        dest="breaks",
        action="append",
        default=[],
        metavar="LOC",
        help="PATH:LINE, PATH:LINE:after, TASK/STEP or STEP, optionally :after (repeatable)",
    )
    parser.add_argument("--on-failure", action="store_true", help="stop when a step fails")
    parser.add_argument("--param", action="append", default=[], metavar="K=V", help="run parameter (repeatable)")
    parser.add_argument("--stop-on-entry", action="store_true", help="stop before the first step")
    parser.add_argument("--engine", default="local", choices=["local", "tekton", "argo"])
    parser.add_argument(
        "--search-path", action="append", default=[], metavar="PATH", help="where referenced documents live"
    )
    parser.add_argument(
        "--attach",
        metavar="RUN",
        help="tekton/argo: follow a run already on the cluster (taskrun/NAME or workflow/NAME) instead of "
        "starting one; FILE gives its source lines",
    )
    parser.add_argument("--namespace", help="tekton/argo: the namespace of the run (default: the context's)")
    parser.add_argument("--kubeconfig", help="tekton/argo: the kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")
    parser.add_argument("--context", dest="kube_context", help="tekton/argo: the kubeconfig context")


async def run_debugger(
    file: str,
    breaks: list[str],
    on_failure: bool,
    params: dict[str, str],
    stop_on_entry: bool,
    engine: str,
    search_paths: list[str],
    out: IO[str] | None = None,
    kube: dict[str, str] | None = None,
    inp: IO[str] | None = None,
) -> int:
    """Run FILE under the debugger; the run's exit code (0 succeeded, 1 failed; 2 when it
    could not start). `out`/`inp` default to sys.stdout/sys.stdin (looked up per call)."""
    options = Options(
        file=file,
        breaks=list(breaks),
        on_failure=on_failure,
        params=dict(params),
        stop_on_entry=stop_on_entry,
        engine=engine,
        search_paths=list(search_paths),
        kube=dict(kube or {}),
    )
    return await Debugger(options, out or sys.stdout, inp or sys.stdin).run()


def main_from_args(args: argparse.Namespace) -> int:
    """`pipeline-dap debug` with parsed arguments (see add_debug_arguments)."""
    params: dict[str, str] = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep or not key:
            print(f"pipeline-dap debug: --param {item!r}: use NAME=VALUE", file=sys.stderr)
            return 2
        params[key] = value
    if args.attach and args.engine == "local":
        print("pipeline-dap debug: --attach follows a run on a cluster: add --engine tekton or argo", file=sys.stderr)
        return 2
    kube = {
        key: value
        for key, value in (
            ("run", args.attach),
            ("namespace", args.namespace),
            ("kubeconfig", os.path.realpath(args.kubeconfig) if args.kubeconfig else None),
            ("kubeContext", args.kube_context),
        )
        if value
    }
    return asyncio.run(
        run_debugger(
            args.file,
            args.breaks,
            args.on_failure,
            params,
            args.stop_on_entry,
            args.engine,
            args.search_path,
            kube=kube,
        )
    )
