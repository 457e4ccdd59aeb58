"""The terminal debugger: drives `pipeline-dap serve` over DAP, like an IDE would.

It shows a prompt only while a thread is stopped; commands are read one per line, from
a terminal or a script (echoed then). EOF at the prompt quits, so it never hangs on
input; the run's end ends it, with the run's exit code.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import dap_server
from dap_server.client import DapClient, DapError, ServerClosed
from dap_server.sources.locations import BreakLocation, LocationError, SourceMap, parse_location

PROMPT = "(pipeline) "
TRACE_ENV = "PIPELINE_DAP_DEBUG_TRACE"  # JSON lines of every DAP message, for tests and bug reports
END_WAIT = 15.0  # seconds to wait for `exited` after `terminated`, and for the server to go

HELP = """\
Commands (while a thread is stopped):
  c, continue        let every stopped thread go on
  n, next            run this step; stop before the next one of this task (after the last: after it)
  s, step            like next (steps into Python code where the engine can)
  o, out             run the rest of this task; stop after its last step
  w, where           the stack of the current thread
  threads            every thread (task instance); * marks stopped ones, > the current one
  thread N           make stopped thread N the current one
  env [NAME]         the step's environment (or one variable)
  params             the task's parameters
  results            results written so far
  workspaces         workspace paths
  info               the step: image, command, state, exit code...
  p EXPR, print EXPR evaluate EXPR (e.g. params.flavour == "turbo", $(params.x))
  ! CMD              run CMD in the paused step and show its output
  b LOC              add a breakpoint: PATH:LINE, PATH:LINE:after, TASK/STEP, STEP
  l, list            the source around the stop
  q, quit            cancel the run and leave
  help               this text
"""


class LineReader:
    """Lines of a (blocking) text stream, read in a daemon thread; None at EOF."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._started = False

    def _run(self) -> None:
        while True:
            try:
                line: str | None = self._stream.readline()
            except (OSError, ValueError):
                line = ""
            if not line:
                line = None
            self._loop.call_soon_threadsafe(self._queue.put_nowait, line)
            if line is None:
                return

    async def readline(self) -> str | None:
        if not self._started:
            self._started = True
            threading.Thread(target=self._run, name="pipeline-dap-stdin", daemon=True).start()
        line = await self._queue.get()
        if line is None:
            self._queue.put_nowait(None)  # EOF stays EOF
        return line


@dataclass
class Stop:
    thread_id: int
    body: dict[str, Any]
    order: int
    frames: list[dict[str, Any]] | None = None


@dataclass
class Options:
    file: str
    breaks: list[str] = field(default_factory=list)
    on_failure: bool = False
    params: dict[str, str] = field(default_factory=dict)
    stop_on_entry: bool = False
    engine: str = "local"
    search_paths: list[str] = field(default_factory=list)
    kube: dict[str, str] = field(default_factory=dict)  # run (attach), namespace, kubeconfig, kubeContext


class Quit(Exception):
    """Leave the prompt loop (quit command, EOF, server gone)."""


class Debugger:
    def __init__(self, options: Options, out: IO[str], inp: IO[str]) -> None:
        self.options = options
        self.out = out
        self.inp = inp
        self.interactive = _isatty(inp)
        self.program = os.path.realpath(options.file)
        self.source_map = SourceMap(self.program, options.search_paths)
        self.labels: dict[tuple[str, int], str] | None = None
        self.client: DapClient | None = None
        self.reader: LineReader | None = None
        self.breakpoints: dict[str, list[BreakLocation]] = {}
        self.stops: dict[int, Stop] = {}
        self.thread_names: dict[int, str] = {}
        self.current: int | None = None
        self.order = itertools.count()
        self.attention = asyncio.Event()
        self.terminated = False
        self.exit_code: int | None = None
        self.exited = asyncio.Event()
        self.server_gone = False
        self.disconnected = False  # we said disconnect: the server closing after it is expected
        self.trace: IO[str] | None = None
        self.log_path: str | None = None
        self._file_lines: dict[str, list[str]] = {}
        self._interrupts = 0
        self._main: asyncio.Task[Any] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self.interrupted = False

    # ------------------------------------------------------------------ output

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def shown_path(self, path: str) -> str:
        try:
            relative = os.path.relpath(path)
        except ValueError:
            return path
        return relative if not relative.startswith("..") else path

    # ------------------------------------------------------------------ main

    async def run(self) -> int:
        self._main = asyncio.current_task()
        try:
            return await self._run()
        except asyncio.CancelledError:
            if not self.interrupted:
                raise
            return 130
        except ServerClosed as error:
            self.say(f"pipeline-dap debug: the server went away: {error}")
            return 1

    async def _run(self) -> int:
        try:
            locations = [parse_location(text, self.source_map) for text in self.options.breaks]
        except LocationError as error:
            self.say(f"pipeline-dap debug: --break {error}")
            return 2
        for location in locations:
            self.breakpoints.setdefault(location.path, []).append(location)
        trace_path = os.environ.get(TRACE_ENV)
        if trace_path:
            self.trace = open(trace_path, "a", encoding="utf-8")  # noqa: SIM115 - closed in finally
        try:
            return await self._session()
        finally:
            if self.trace is not None:
                self.trace.close()

    async def _session(self) -> int:
        log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - the server writes it; kept on trouble
            prefix="pipeline-dap-debug-", suffix=".log", delete=False
        )
        self.log_path = log.name
        env = dict(os.environ)
        package_root = str(Path(dap_server.__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        try:
            client = await DapClient.spawn(
                [sys.executable, "-m", "dap_server", "serve"],
                env=env,
                stderr=log,
                on_message=self._on_message,
                start_new_session=True,  # Ctrl-C is ours (pause), not the server's
            )
        finally:
            log.close()
        self.client = client
        self.reader = LineReader(self.inp)
        watcher = asyncio.create_task(self._watch_server(client))
        uninstall = self._install_interrupt()
        clean = False
        try:
            code = await self._start(client)
            if code is None:
                code = await self._loop()
            clean = not self.server_gone or self.disconnected
            return code
        finally:
            uninstall()
            watcher.cancel()
            await self._shutdown(client)
            if clean and self.log_path:
                with contextlib.suppress(OSError):
                    os.unlink(self.log_path)
            elif self.log_path:
                self.say(f"(server log: {self.log_path})")

    async def _watch_server(self, client: DapClient) -> None:
        await client.wait_eof(timeout=None)
        self.server_gone = True
        self.attention.set()

    async def _start(self, client: DapClient) -> int | None:
        """The configuration handshake; an exit code if the run could not start."""
        await client.request_ok(
            "initialize",
            {
                "clientID": "pipeline-dap-debug",
                "clientName": "pipeline-dap debug",
                "adapterID": "pipeline",
                "linesStartAt1": True,
                "columnsStartAt1": True,
                "pathFormat": "path",
                "supportsVariableType": True,
            },
        )
        attach = "run" in self.options.kube  # --attach: follow a run already on the cluster
        arguments: dict[str, Any] = {
            "name": "pipeline-dap debug",
            "type": "pipeline",
            "request": "attach" if attach else "launch",
            "program": self.program,
            "engine": self.options.engine,
            "stopOnEntry": self.options.stop_on_entry,
            "cwd": os.getcwd(),
            **self.options.kube,
        }
        if not attach:
            arguments["params"] = dict(self.options.params)
        if self.options.search_paths:
            arguments["searchPaths"] = [os.path.realpath(p) for p in self.options.search_paths]
        request = "attach" if attach else "launch"
        launch = asyncio.create_task(client.request(request, arguments, timeout=None))
        initialized = asyncio.create_task(client.wait_event("initialized", timeout=None))
        await asyncio.wait({launch, initialized}, return_when=asyncio.FIRST_COMPLETED)
        if launch.done() and not initialized.done() and not launch.result().get("success"):
            initialized.cancel()
            self.say(f"pipeline-dap debug: cannot start: {DapError(launch.result()).text}")
            return 2
        await initialized
        for path in self.breakpoints:
            await self._send_breakpoints(path, announce=True)
        filters = ["onFailure"] if self.options.on_failure else []
        response = await client.request_ok("setExceptionBreakpoints", {"filters": filters})
        for item in (response.get("body") or {}).get("breakpoints") or []:
            if not item.get("verified", True):
                self.say(f"exception filter not set: {item.get('message')}")
        await client.request_ok("configurationDone")
        result = await launch
        if not result.get("success"):
            self.say(f"pipeline-dap debug: cannot start: {DapError(result).text}")
            return 2
        return None

    async def _send_breakpoints(self, path: str, announce: bool) -> list[dict[str, Any]]:
        assert self.client is not None
        locations = self.breakpoints[path]
        response = await self.client.request_ok(
            "setBreakpoints",
            {
                "source": {"path": path, "name": os.path.basename(path)},
                "breakpoints": [location.source_breakpoint() for location in locations],
            },
        )
        answers: list[dict[str, Any]] = response["body"]["breakpoints"]
        if announce:
            for location, answer in zip(locations, answers, strict=False):
                self._announce_breakpoint(location, answer)
        return answers

    def _announce_breakpoint(self, location: BreakLocation, answer: dict[str, Any]) -> None:
        if answer.get("verified"):
            where = f"{self.shown_path(location.path)}:{answer.get('line', location.line)}"
            label = f" ({location.label})" if location.label else ""
            mode = " after the step" if location.after else ""
            self.say(f"Breakpoint {answer.get('id', '')} at {where}{label}{mode}".replace("  ", " "))
        else:
            self.say(f"Breakpoint at {location.describe()} not set: {answer.get('message', 'not verified')}")

    async def _loop(self) -> int:
        """Serve stops until the run ends (or the user quits); the exit code."""
        try:
            while True:
                if self.server_gone and not self.stops:
                    break
                if not self.stops:
                    if self.terminated:
                        break
                    self.attention.clear()
                    await self.attention.wait()
                    continue
                thread_id = self._pick()
                await self._show_stop(thread_id)
                await self._prompt(thread_id)
        except Quit:
            return await self._quit()
        return await self._finish()

    def _pick(self) -> int:
        if self.current in self.stops:
            return self.current
        self.current = min(self.stops.values(), key=lambda s: s.order).thread_id
        return self.current

    async def _finish(self) -> int:
        if not self.exited.is_set() and not self.server_gone:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.exited.wait(), END_WAIT)
        code = self.exit_code
        if code is None:
            self.say("The run ended without an exit code (the server went away).")
            return 1
        self.say(f"Run {'succeeded' if code == 0 else 'failed'} (exit code {code}).")
        return code

    async def _quit(self) -> int:
        assert self.client is not None
        if not self.terminated and not self.server_gone:
            self.say("Cancelling the run.")
            with contextlib.suppress(DapError, ServerClosed, TimeoutError):
                self.disconnected = True
                await self.client.request("disconnect", {"terminateDebuggee": True}, timeout=END_WAIT)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.exited.wait(), 2)
        code = self.exit_code if self.exit_code is not None else 1
        self.say(f"Quit (exit code {code}).")
        return code

    async def _shutdown(self, client: DapClient) -> None:
        if not client.at_eof:
            with contextlib.suppress(DapError, ServerClosed, TimeoutError, ConnectionError):
                self.disconnected = True
                await client.request("disconnect", {"terminateDebuggee": True}, timeout=END_WAIT)
        if await client.close(timeout=END_WAIT) is None:
            await client.kill()

    # ------------------------------------------------------------------ events

    def _on_message(self, direction: str, message: dict[str, Any]) -> None:
        if self.trace is not None:
            self.trace.write(json.dumps({"direction": direction, "message": message}) + "\n")
            self.trace.flush()
        if direction == "recv" and message.get("type") == "event":
            self._on_event(str(message.get("event")), message.get("body") or {})

    def _on_event(self, event: str, body: dict[str, Any]) -> None:
        if event == "output":
            self._print_output(body)
        elif event == "stopped":
            thread_id = body.get("threadId")
            if isinstance(thread_id, int):
                self.stops[thread_id] = Stop(thread_id, body, next(self.order))
                if self.current is not None and self.current != thread_id and self.current in self.stops:
                    self.say(f"[thread {thread_id} stopped: {body.get('description') or body.get('reason')}]")
                self.attention.set()
        elif event == "continued":
            thread_id = body.get("threadId")
            if body.get("allThreadsContinued"):
                self.stops.clear()
            elif isinstance(thread_id, int):
                self.stops.pop(thread_id, None)
        elif event == "thread":
            if body.get("reason") == "exited":
                self.stops.pop(int(body.get("threadId", -1)), None)
        elif event == "terminated":
            self.terminated = True
            self.stops.clear()
            self.attention.set()
        elif event == "exited":
            self.exit_code = int(body.get("exitCode", 1))
            self.exited.set()
            self.attention.set()

    def _print_output(self, body: dict[str, Any]) -> None:
        text = str(body.get("output", ""))
        if body.get("category") == "telemetry" or not text:
            return
        source = body.get("source") or {}
        prefix = ""
        if source.get("path") and body.get("line"):
            if self.labels is None:
                self.labels = self.source_map.step_labels()
            path = os.path.realpath(str(source["path"]))
            label = self.labels.get((path, int(body["line"])))
            prefix = f"[{label or os.path.basename(path) + ':' + str(body['line'])}] "
        for line in text.splitlines():
            self.out.write(prefix + line + "\n")
        self.out.flush()

    # ------------------------------------------------------------------ stops

    async def _frames(self, stop: Stop) -> list[dict[str, Any]]:
        assert self.client is not None
        if stop.frames is None:
            response = await self.client.request_ok("stackTrace", {"threadId": stop.thread_id})
            stop.frames = list(response["body"]["stackFrames"])
        return stop.frames

    async def _thread_name(self, thread_id: int) -> str:
        assert self.client is not None
        if thread_id not in self.thread_names:
            response = await self.client.request_ok("threads")
            for thread in response["body"]["threads"]:
                self.thread_names[int(thread["id"])] = str(thread["name"])
        return self.thread_names.get(thread_id, f"thread {thread_id}")

    async def _show_stop(self, thread_id: int) -> None:
        stop = self.stops[thread_id]
        try:
            frames = await self._frames(stop)
            name = await self._thread_name(thread_id)
        except (DapError, ServerClosed) as error:
            self.say(f"Stopped in thread {thread_id}, but its frames are not available: {error}")
            return
        reason = stop.body.get("reason", "stopped")
        step = frames[0] if frames else {"name": "?"}
        self.say()
        self.say(f"Stopped ({reason}) in thread {thread_id} ({name}): {name} \u203a {step.get('name')}")
        if stop.body.get("description"):
            self.say(f"  {stop.body['description']}")
        if reason == "exception":
            await self._show_exception(thread_id)
        self._show_source(step, context=1, limit=10)

    async def _show_exception(self, thread_id: int) -> None:
        assert self.client is not None
        try:
            info = (await self.client.request_ok("exceptionInfo", {"threadId": thread_id}))["body"]
        except (DapError, ServerClosed) as error:
            self.say(f"  (no failure details: {error})")
            return
        self.say(f"  {info.get('exceptionId')}: {info.get('description', '')}")
        trace = (info.get("details") or {}).get("stackTrace")
        if trace:
            self.say("  last log lines:")
            for line in str(trace).splitlines():
                self.say(f"    {line}")

    def _lines_of(self, path: str) -> list[str]:
        if path not in self._file_lines:
            try:
                self._file_lines[path] = Path(path).read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError):
                self._file_lines[path] = []
        return self._file_lines[path]

    def _show_source(self, frame: dict[str, Any], context: int, limit: int) -> None:
        path = (frame.get("source") or {}).get("path")
        line = int(frame.get("line") or 0)
        if not path or line < 1:
            self.say("  (no source for this frame)")
            return
        lines = self._lines_of(str(path))
        end = int(frame.get("endLine") or line)
        first = max(1, line - context)
        last = min(len(lines), max(end, line), line + limit - 1)
        self.say(f"  {self.shown_path(str(path))}:{line}")
        for number in range(first, last + 1):
            marker = "->" if number == line else "  "
            self.say(f"{number:5} {marker} {lines[number - 1]}")
        if last < end:
            self.say(f"        ... (to line {end})")

    # ------------------------------------------------------------------ the prompt

    async def _read_command(self) -> str:
        assert self.reader is not None
        self.out.write(PROMPT)
        self.out.flush()
        line = await self.reader.readline()
        if line is None:
            self.say("" if self.interactive else "<EOF>")
            raise Quit
        command = line.strip()
        if not self.interactive:
            self.say(command)
        return command

    async def _prompt(self, thread_id: int) -> None:
        """Read commands for stopped thread `thread_id` until one resumes it (or switches)."""
        while thread_id in self.stops and self.current == thread_id:
            command = await self._read_command()
            if not command:
                continue
            try:
                await self._command(command, thread_id)
            except Quit:
                raise
            except DapError as error:
                self.say(f"*** {error.text}")
            except ServerClosed:
                self.say("*** the server went away")
                raise Quit from None

    async def _command(self, command: str, thread_id: int) -> None:
        if command.startswith("!"):
            await self._evaluate(command[1:].strip(), thread_id, "repl")
            return
        verb, _, rest = command.partition(" ")
        rest = rest.strip()
        handler = self._commands().get(verb)
        if handler is None:
            self.say(f"*** unknown command {verb!r}; type help")
            return
        await handler(rest, thread_id)

    def _commands(self) -> dict[str, Callable[[str, int], Awaitable[None]]]:
        return {
            "c": self._continue,
            "continue": self._continue,
            "n": self._next,
            "next": self._next,
            "s": self._step_in,
            "step": self._step_in,
            "o": self._step_out,
            "out": self._step_out,
            "w": self._where,
            "where": self._where,
            "bt": self._where,
            "threads": self._threads,
            "thread": self._switch_thread,
            "env": self._scope_command("Environment"),
            "params": self._scope_command("Parameters"),
            "results": self._scope_command("Results"),
            "workspaces": self._scope_command("Workspaces"),
            "info": self._scope_command("Step"),
            "p": self._print,
            "print": self._print,
            "b": self._break,
            "break": self._break,
            "l": self._list,
            "list": self._list,
            "q": self._quit_command,
            "quit": self._quit_command,
            "exit": self._quit_command,
            "help": self._help,
            "h": self._help,
            "?": self._help,
        }

    # resuming ------------------------------------------------------------

    async def _resume(self, command: str, thread_id: int, *, single: bool) -> None:
        assert self.client is not None
        known = {tid: stop.order for tid, stop in self.stops.items()}
        arguments: dict[str, Any] = {"threadId": thread_id}
        if single:
            arguments["singleThread"] = True
        response = await self.client.request_ok(command, arguments)
        released = [thread_id]
        if not single and (response.get("body") or {}).get("allThreadsContinued", True):
            released = list(known)
        for tid in released:
            stop = self.stops.get(tid)
            # a stop that arrived after the request was sent is a new one: keep it
            if stop is not None and tid in known and stop.order == known[tid]:
                del self.stops[tid]

    async def _continue(self, rest: str, thread_id: int) -> None:
        await self._resume("continue", thread_id, single=False)

    async def _next(self, rest: str, thread_id: int) -> None:
        await self._resume("next", thread_id, single=True)

    async def _step_in(self, rest: str, thread_id: int) -> None:
        await self._resume("stepIn", thread_id, single=True)

    async def _step_out(self, rest: str, thread_id: int) -> None:
        await self._resume("stepOut", thread_id, single=True)

    async def _quit_command(self, rest: str, thread_id: int) -> None:
        raise Quit

    # inspecting ----------------------------------------------------------

    async def _where(self, rest: str, thread_id: int) -> None:
        frames = await self._frames(self.stops[thread_id])
        for index, frame in enumerate(frames):
            marker = "->" if index == 0 else "  "
            path = (frame.get("source") or {}).get("path")
            where = f"{self.shown_path(str(path))}:{frame.get('line')}" if path else "(no source)"
            self.say(f"{marker} #{index} {frame.get('name')}  {where}")

    async def _threads(self, rest: str, thread_id: int) -> None:
        assert self.client is not None
        response = await self.client.request_ok("threads")
        threads = response["body"]["threads"]
        if not threads:
            self.say("no threads")
        for thread in threads:
            tid = int(thread["id"])
            self.thread_names[tid] = str(thread["name"])
            marker = ">" if tid == thread_id else " "
            state = "stopped" if tid in self.stops else "running"
            star = "*" if tid in self.stops else " "
            self.say(f"{marker}{star} {tid:3}  {thread['name']}  ({state})")

    async def _switch_thread(self, rest: str, thread_id: int) -> None:
        if not rest.isdigit():
            self.say("*** usage: thread N (see threads)")
            return
        target = int(rest)
        if target not in self.stops:
            self.say(f"*** thread {target} is not stopped")
            return
        self.current = target  # the prompt loop moves to it

    def _scope_command(self, scope: str) -> Callable[[str, int], Awaitable[None]]:
        async def show(rest: str, thread_id: int) -> None:
            variables = await self._scope_variables(thread_id, scope)
            if variables is None:
                self.say(f"*** no {scope} here")
                return
            if rest:
                chosen = [v for v in variables if v.get("name") == rest]
                if not chosen:
                    self.say(f"*** {rest} is not in {scope}")
                    return
                variables = chosen
            if not variables:
                self.say(f"({scope}: none)")
            for variable in variables:
                name = str(variable.get("name"))
                value = str(variable.get("value")).rstrip("\n").replace("\n", "\n" + " " * (len(name) + 1))
                self.say(f"{name}={value}")

        return show

    async def _scope_variables(self, thread_id: int, scope: str) -> list[dict[str, Any]] | None:
        assert self.client is not None
        frames = await self._frames(self.stops[thread_id])
        if not frames:
            return None
        scopes = (await self.client.request_ok("scopes", {"frameId": frames[0]["id"]}))["body"]["scopes"]
        found = next((s for s in scopes if s.get("name") == scope), None)
        if found is None:
            return None
        response = await self.client.request_ok("variables", {"variablesReference": found["variablesReference"]})
        variables: list[dict[str, Any]] = response["body"]["variables"]
        return variables

    async def _print(self, rest: str, thread_id: int) -> None:
        if not rest:
            self.say("*** usage: p EXPR")
            return
        await self._evaluate(rest, thread_id, "watch")

    async def _evaluate(self, expression: str, thread_id: int, context: str) -> None:
        assert self.client is not None
        if not expression:
            self.say("*** usage: ! CMD")
            return
        frames = await self._frames(self.stops[thread_id])
        arguments: dict[str, Any] = {"expression": expression, "context": context}
        if context == "repl":
            arguments["expression"] = "!" + expression  # always a command, never an expression
        if frames:
            arguments["frameId"] = frames[0]["id"]
        response = await self.client.request_ok("evaluate", arguments)
        self.say(str(response["body"].get("result", "")))

    async def _break(self, rest: str, thread_id: int) -> None:
        if not rest:
            for locations in self.breakpoints.values():
                for location in locations:
                    self.say(f"  {location.describe()}")
            if not self.breakpoints:
                self.say("no breakpoints")
            return
        try:
            location = parse_location(rest, self.source_map)
        except LocationError as error:
            self.say(f"*** {error}")
            return
        self.breakpoints.setdefault(location.path, []).append(location)
        answers = await self._send_breakpoints(location.path, announce=False)
        if len(answers) == len(self.breakpoints[location.path]):
            self._announce_breakpoint(location, answers[-1])

    async def _list(self, rest: str, thread_id: int) -> None:
        frames = await self._frames(self.stops[thread_id])
        if frames:
            self._show_source(frames[0], context=3, limit=20)

    async def _help(self, rest: str, thread_id: int) -> None:
        self.out.write(HELP)
        self.out.flush()

    # ------------------------------------------------------------------ Ctrl-C

    def _install_interrupt(self) -> Callable[[], None]:
        """First Ctrl-C pauses every running thread; the next one quits."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGINT, self._on_interrupt)
        except (NotImplementedError, RuntimeError, ValueError):
            return lambda: None

        def uninstall() -> None:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signal.SIGINT)

        return uninstall

    def _on_interrupt(self) -> None:
        self._interrupts += 1
        if self._interrupts > 1 or self.stops or self._main is None:
            self.say("\nInterrupted.")
            self.interrupted = True
            if self._main is not None:
                self._main.cancel()
            return
        self.say("\nPausing (Ctrl-C again to leave)...")
        task = asyncio.ensure_future(self._pause_all())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _pause_all(self) -> None:
        assert self.client is not None
        with contextlib.suppress(DapError, ServerClosed, TimeoutError):
            threads = (await self.client.request_ok("threads"))["body"]["threads"]
            for thread in threads:
                await self.client.request("pause", {"threadId": thread["id"]})
        self._interrupts = 0


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
