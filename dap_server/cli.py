"""Command line: `pipeline-dap serve | debug | map | translate | lsp` (dap-mapping.md "Command line")."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from dap_server import __version__


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pipeline-dap",
        description="Debug Tekton and Argo pipeline YAML over the Debug Adapter Protocol.",
    )
    parser.add_argument("--version", action="version", version=f"pipeline-dap {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="DAP over stdin/stdout, or TCP with --port")
    serve.add_argument("--port", type=int, help="listen on TCP instead of stdio (0 picks a free port)")
    serve.add_argument("--host", default="127.0.0.1", help="TCP host (default 127.0.0.1)")
    serve.add_argument("--log-file", help="write diagnostics here instead of stderr")
    serve.add_argument("-v", "--verbose", action="store_true", help="log every DAP message")
    serve.set_defaults(func=cmd_serve)

    debug = sub.add_parser("debug", help="terminal debugger: run FILE with breakpoints and a prompt")
    from dap_server.debugger import add_debug_arguments

    add_debug_arguments(debug)
    debug.set_defaults(func=cmd_debug)

    smap = sub.add_parser("map", help="print the source map: runs, tasks and steps with line ranges")
    smap.add_argument("file")
    smap.add_argument("--json", action="store_true", help="machine-readable output")
    smap.add_argument("--search-path", action="append", default=[], help="where referenced documents live")
    smap.set_defaults(func=cmd_map)

    tr = sub.add_parser("translate", help="print the run object(s) a cluster engine would submit")
    tr.add_argument("file")
    tr.add_argument(
        "--break",
        dest="breaks",
        action="append",
        default=[],
        metavar="LOC",
        help="PATH:LINE, PATH:LINE:after or task/step (repeatable)",
    )
    tr.add_argument("--on-failure", action="store_true", help="stop when a step fails")
    tr.add_argument("--engine", default="tekton", choices=["tekton", "argo"])
    tr.add_argument("--object", help="Kind/name of the document when the file holds several")
    tr.add_argument("--param", action="append", default=[], metavar="K=V")
    tr.add_argument("--search-path", action="append", default=[])
    tr.set_defaults(func=cmd_translate)

    lsp = sub.add_parser("lsp", help="the language server for pipeline YAML (stdio)")
    lsp.add_argument("--port", type=int)
    lsp.add_argument("--host", default="127.0.0.1")
    lsp.set_defaults(func=cmd_lsp)
    return parser


def cmd_serve(args: argparse.Namespace) -> int:
    from dap_server.server import run_server

    return asyncio.run(run_server(port=args.port, host=args.host, log_file=args.log_file, verbose=args.verbose))


def cmd_debug(args: argparse.Namespace) -> int:
    from dap_server.debugger import main_from_args

    return main_from_args(args)


def cmd_map(args: argparse.Namespace) -> int:
    from dap_server.sources import SourceSet, render_map
    from dap_server.sources.model import SourceError

    path = os.path.realpath(args.file)
    if not os.path.isfile(path):
        print(f"pipeline-dap map: {args.file}: no such file", file=sys.stderr)
        return 2
    sources = SourceSet(args.search_path or [os.path.dirname(path)])
    try:
        docs = sources.documents(path)
    except SourceError as exc:
        print(f"pipeline-dap map: {exc}", file=sys.stderr)
        return 1
    problems = []
    for doc in docs:
        try:
            sources.resolve(doc)
        except SourceError as exc:
            problems.append(str(exc))
    sys.stdout.write(render_map(docs, as_json=args.json))
    for problem in problems:
        print(f"pipeline-dap map: {problem}", file=sys.stderr)
    return 1 if problems else 0


def cmd_translate(args: argparse.Namespace) -> int:
    from dap_server.sources.model import SourceError
    from dap_server.translate import translate

    if not os.path.isfile(args.file):
        print(f"pipeline-dap translate: {args.file}: no such file", file=sys.stderr)
        return 2
    try:
        params = dict(_key_value(p) for p in args.param)
        text = translate(
            args.file,
            args.breaks,
            on_failure=args.on_failure,
            obj=args.object,
            search_paths=[os.path.realpath(p) for p in args.search_path] or None,
            engine=args.engine,
            params=params,
        )
    except (SourceError, ValueError) as exc:
        print(f"pipeline-dap translate: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0


def cmd_lsp(args: argparse.Namespace) -> int:
    try:
        from dap_server.lsp import serve_lsp
    except ImportError:
        print("pipeline-dap lsp: the language server is not part of this build yet", file=sys.stderr)
        return 2
    return serve_lsp(port=args.port, host=args.host)


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ValueError(f"--param {text!r}: use NAME=VALUE")
    return key, value


if __name__ == "__main__":
    raise SystemExit(main())
