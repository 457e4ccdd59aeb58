"""A tiny DAP server made of `dap_server.protocol` only, for testing that layer through real
pipes and sockets (the real session lives elsewhere).

    python tests/protocol/dummy_server.py [--tcp] [--verbose]

Only standard DAP commands, so every message can be schema-validated. `evaluate`
expressions drive the behaviours under test:

    print:TEXT        print TEXT from Python, from os.write(1) and from a child process
    raise             the handler raises ValueError (internal error)
    fail              the handler raises RequestError (id 4242, showUser)
    events:N          send N `output` events, then answer
    reverse           runInTerminal reverse request, awaited; answer with its response body
    reverse-callback  runInTerminal reverse request with a callback that sends an `output` event
    wait              never answers (until cancelled)
    close             answer, then close the connection from the server side
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

from dap_server.protocol.connection import Connection, RequestError
from dap_server.protocol.models import (
    Breakpoint,
    Capabilities,
    DisconnectArguments,
    EvaluateArguments,
    EvaluateResponseBody,
    OutputEventBody,
    RunInTerminalRequestArguments,
    SetBreakpointsArguments,
    SetBreakpointsResponseBody,
    Source,
    Thread,
    ThreadsResponseBody,
)
from dap_server.protocol.transport import Setup, serve_stdio, serve_tcp, setup_logging


@dataclass
class Stats:
    """Connections seen by this server process."""

    total: int = 0
    active: int = 0
    max_active: int = 0
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


def make_setup(stats: Stats) -> Setup:
    async def setup(conn: Connection) -> None:
        stats.total += 1
        stats.active += 1
        stats.max_active = max(stats.max_active, stats.active)
        number = stats.total

        @conn.command("initialize")
        async def initialize(args: dict[str, Any]) -> Capabilities:
            conn.after_reply(lambda: conn.send_event("initialized"))
            return Capabilities(supports_configuration_done_request=True, supports_cancel_request=True)

        @conn.command("threads")
        async def threads(args: dict[str, Any]) -> ThreadsResponseBody:
            name = f"connection {number}, max active {stats.max_active}"
            return ThreadsResponseBody(threads=[Thread(id=number, name=name)])

        @conn.command("setBreakpoints", SetBreakpointsArguments)
        async def set_breakpoints(args: SetBreakpointsArguments) -> SetBreakpointsResponseBody:
            source = Source(path=args.source.path, name=args.source.name)
            return SetBreakpointsResponseBody(
                breakpoints=[Breakpoint(verified=True, line=bp.line, source=source) for bp in args.breakpoints or []]
            )

        @conn.command("evaluate", EvaluateArguments)
        async def evaluate(args: EvaluateArguments) -> EvaluateResponseBody:
            return EvaluateResponseBody(result=await run_expression(conn, args.expression), variables_reference=0)

        @conn.command("disconnect", DisconnectArguments)
        async def disconnect(args: DisconnectArguments) -> None:
            conn.after_reply(close_soon(conn))

        async def on_close() -> None:
            stats.active -= 1
            print(f"on_close ran for connection {number}", file=sys.stderr, flush=True)

        conn.on_close(on_close)

        async def watch() -> None:
            await conn.closed()
            print(f"closed() resolved for connection {number}", file=sys.stderr, flush=True)

        task = asyncio.create_task(watch())
        stats.tasks.add(task)
        task.add_done_callback(stats.tasks.discard)

    return setup


def close_soon(conn: Connection) -> Any:
    async def close() -> None:
        conn.close()

    return close


async def run_expression(conn: Connection, expression: str) -> str:
    verb, _, rest = expression.partition(":")
    if verb == "print":
        print(rest, flush=True)
        os.write(1, f"{rest} via fd 1\n".encode())
        subprocess.run(["echo", f"{rest} via a child"], check=True)
        return "printed"
    if verb == "raise":
        raise ValueError("boom from the handler")
    if verb == "fail":
        raise RequestError("it failed on purpose", error_id=4242, show_user=True)
    if verb == "events":
        for i in range(int(rest)):
            await conn.send_event("output", OutputEventBody(category="stdout", output=f"line {i}\n"))
        return f"sent {rest} events"
    if verb == "reverse":
        response = await conn.request(
            "runInTerminal",
            RunInTerminalRequestArguments(cwd="/tmp", args=["sh", "-c", "true"], title="t"),
            timeout=10,
        )
        return json.dumps({"success": response["success"], "body": response.get("body")})
    if verb == "reverse-callback":

        async def callback(response: dict[str, Any]) -> None:
            text = f"callback got {json.dumps(response.get('body'))}\n"
            await conn.send_event("output", OutputEventBody(category="console", output=text))

        conn.request_callback("runInTerminal", RunInTerminalRequestArguments(cwd="/", args=["true"]), callback)
        return "sent"
    if verb == "wait":
        await asyncio.Event().wait()
        return "unreachable"
    if verb == "close":
        conn.after_reply(close_soon(conn))
        return "closing"
    raise RequestError(f"unknown expression {expression!r}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tcp", action="store_true")
    parser.add_argument("--verbose", action="store_true")
    options = parser.parse_args()
    setup_logging(None, options.verbose)
    setup = make_setup(Stats())
    if options.tcp:
        asyncio.run(serve_tcp(setup, port=0))
    else:
        asyncio.run(serve_stdio(setup))
    print("dummy server exiting", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
