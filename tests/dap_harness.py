"""Test harness: schema validation of every DAP message, a validating client, session start-up.

- `SchemaValidator` checks a message against the official schema
  (`../shared/dap/debugAdapterProtocol.json`, or `$DAP_SCHEMA`).
- `HarnessClient` is a `DapClient` whose traffic (both ways) is validated; problems
  collect in `schema_errors`, which the `dap` fixture asserts empty at teardown.
- `start_session` does the configuration handshake the way VS Code does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator, ValidationError

from dap_server.client import DapClient

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SCHEMA = REPO_ROOT.parent / "shared" / "dap" / "debugAdapterProtocol.json"


def schema_path() -> Path:
    return Path(os.environ.get("DAP_SCHEMA") or DEFAULT_SCHEMA)


def _cap(name: str) -> str:
    return name[:1].upper() + name[1:]


class SchemaValidator:
    """Validates DAP messages: request `foo` against `FooRequest`, its successful response
    against `FooResponse`, a failed one against `ErrorResponse`, event `bar` against `BarEvent`."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or schema_path()
        self.schema: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        self.definitions: dict[str, Any] = self.schema["definitions"]
        self._validators: dict[str, Draft4Validator] = {}

    @staticmethod
    def definition_for(message: Mapping[str, Any]) -> str:
        kind = message.get("type")
        if kind == "request":
            return _cap(str(message.get("command"))) + "Request"
        if kind == "event":
            return _cap(str(message.get("event"))) + "Event"
        if kind == "response":
            return _cap(str(message.get("command"))) + "Response" if message.get("success") else "ErrorResponse"
        return "ProtocolMessage"

    def validator(self, definition: str) -> Draft4Validator:
        validator = self._validators.get(definition)
        if validator is None:
            root = {"$schema": self.schema.get("$schema"), "definitions": self.definitions}
            validator = Draft4Validator({**root, "$ref": f"#/definitions/{definition}"})
            self._validators[definition] = validator
        return validator

    def errors(self, message: Mapping[str, Any], definition: str | None = None) -> list[str]:
        """Problems with `message` (empty when valid)."""
        definition = definition or self.definition_for(message)
        if definition not in self.definitions:
            return [f"no schema definition {definition!r} for this message"]
        return [
            f"{definition} {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in self.validator(definition).iter_errors(dict(message))
            if not _schema_quirk(e)
        ]


def _schema_quirk(error: ValidationError) -> bool:
    """Errors the schema itself causes. `RestartArguments.arguments` is `oneOf` Launch/Attach
    arguments, two definitions without required keys that every object matches: so every
    restart with arguments fails `oneOf` ("is valid under each of")."""
    return (
        error.validator == "oneOf"
        and list(error.absolute_path)[-1:] == ["arguments"]
        and ("is valid under each of" in error.message)
    )


@cache
def shared_validator() -> SchemaValidator:
    return SchemaValidator()


class SchemaRecorder:
    """An `on_message` hook: validates each message, records every problem."""

    def __init__(self, validator: SchemaValidator) -> None:
        self.validator = validator
        self.errors: list[str] = []
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self._skip_sent = 0

    def __call__(self, direction: str, message: dict[str, Any]) -> None:
        self.messages.append((direction, message))
        if direction == "send" and self._skip_sent:
            return
        for problem in self.validator.errors(message):
            who = "client -> adapter" if direction == "send" else "adapter -> client"
            self.errors.append(f"{who}: {problem}\n    in {json.dumps(message)[:600]}")

    @contextlib.contextmanager
    def sending_invalid(self) -> Iterator[None]:
        """Messages the test sends on purpose while this is active are not validated
        (their responses still are)."""
        self._skip_sent += 1
        try:
            yield
        finally:
            self._skip_sent -= 1


class HarnessClient(DapClient):
    """A DapClient with schema validation and the server's stderr file."""

    recorder: SchemaRecorder
    stderr_path: Path | None = None

    @property
    def schema_errors(self) -> list[str]:
        return self.recorder.errors

    def sending_invalid(self) -> contextlib.AbstractContextManager[None]:
        return self.recorder.sending_invalid()

    def stderr_text(self) -> str:
        if self.stderr_path is None or not self.stderr_path.exists():
            return ""
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")


async def spawn_validated(
    argv: Sequence[str],
    *,
    stderr_path: Path,
    cwd: Path = REPO_ROOT,
    env: Mapping[str, str] | None = None,
    validator: SchemaValidator | None = None,
) -> HarnessClient:
    """Start an adapter with validated traffic and stderr going to `stderr_path`."""
    recorder = SchemaRecorder(validator or shared_validator())
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), full_env.get("PYTHONPATH")]))
    full_env["PYTHONUNBUFFERED"] = "1"
    full_env.update(env or {})
    with open(stderr_path, "wb") as stderr:
        client = await HarnessClient.spawn(argv, env=full_env, cwd=str(cwd), stderr=stderr, on_message=recorder)
    client.recorder = recorder
    client.stderr_path = stderr_path
    return client


async def connect_validated(host: str, port: int, validator: SchemaValidator | None = None) -> HarnessClient:
    """A validated client over TCP."""
    recorder = SchemaRecorder(validator or shared_validator())
    client = await HarnessClient.connect_tcp(host, port, on_message=recorder)
    client.recorder = recorder
    return client


# ---------------------------------------------------------------------------- session start

INITIALIZE_ARGUMENTS: dict[str, Any] = {
    "clientID": "pytest",
    "clientName": "pytest",
    "adapterID": "pipeline",
    "locale": "en",
    "linesStartAt1": True,
    "columnsStartAt1": True,
    "pathFormat": "path",
    "supportsVariableType": True,
    "supportsVariablePaging": True,
    "supportsRunInTerminalRequest": True,
    "supportsProgressReporting": True,
    "supportsInvalidatedEvent": True,
    "supportsStartDebuggingRequest": True,
    "supportsArgsCanBeInterpretedByShell": True,
}


@dataclass
class SessionStart:
    """Responses of the start-up handshake. If the launch failed before `initialized`,
    only `initialize` and `launch` are set."""

    initialize: dict[str, Any]
    launch: dict[str, Any]
    set_breakpoints: dict[str, dict[str, Any]] = field(default_factory=dict)
    set_exception_breakpoints: dict[str, Any] | None = None
    configuration_done: dict[str, Any] | None = None

    @property
    def capabilities(self) -> dict[str, Any]:
        body: dict[str, Any] = self.initialize.get("body") or {}
        return body

    def breakpoints(self, path: str | Path) -> list[dict[str, Any]]:
        """The `breakpoints` of the setBreakpoints response for `path`."""
        response = self.set_breakpoints[str(source_path(path))]
        result: list[dict[str, Any]] = response["body"]["breakpoints"]
        return result


def source_path(path: str | Path) -> Path:
    """Absolute path; relative ones are taken from the repository root (the server's cwd)."""
    p = Path(path)
    return p if p.is_absolute() else (REPO_ROOT / p).resolve()


def _source_breakpoint(item: int | Mapping[str, Any]) -> dict[str, Any]:
    return {"line": item} if isinstance(item, int) else dict(item)


async def start_session(
    dap: DapClient,
    launch_args: Mapping[str, Any],
    breakpoints: Mapping[str | Path, Sequence[int | Mapping[str, Any]]] | None = None,
    exception_filters: Sequence[str] = (),
    *,
    request: str = "launch",
    initialize_args: Mapping[str, Any] | None = None,
    timeout: float = 60,
) -> SessionStart:
    """initialize → launch (answer awaited last, as VS Code allows) → `initialized` event →
    setBreakpoints per file → setExceptionBreakpoints → configurationDone → launch response.

    `breakpoints` maps a file (relative to the repo root, or absolute) to lines or
    SourceBreakpoint dicts (e.g. `{"line": 12, "mode": "after"}`).
    """
    initialize = await dap.request_ok("initialize", {**INITIALIZE_ARGUMENTS, **(initialize_args or {})})
    launch_task = asyncio.create_task(dap.request(request, launch_args, timeout=timeout))
    initialized = asyncio.create_task(dap.wait_event("initialized", timeout=timeout))
    done, _ = await asyncio.wait({launch_task, initialized}, return_when=asyncio.FIRST_COMPLETED)
    if launch_task in done and not initialized.done() and not launch_task.result().get("success"):
        initialized.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await initialized
        return SessionStart(initialize=initialize, launch=launch_task.result())
    try:
        await initialized
    except BaseException:
        launch_task.cancel()
        raise
    start = SessionStart(initialize=initialize, launch={})
    for path, items in (breakpoints or {}).items():
        absolute = source_path(path)
        start.set_breakpoints[str(absolute)] = await dap.request_ok(
            "setBreakpoints",
            {
                "source": {"path": str(absolute), "name": absolute.name},
                "breakpoints": [_source_breakpoint(item) for item in items],
            },
        )
    start.set_exception_breakpoints = await dap.request_ok(
        "setExceptionBreakpoints", {"filters": list(exception_filters)}
    )
    start.configuration_done = await dap.request_ok("configurationDone")
    start.launch = await launch_task
    return start


# ---------------------------------------------------------------------------- TCP adapters


class TcpServer:
    """An adapter subprocess serving TCP: `start()` reads its stderr up to `listening on
    HOST:PORT` (then keeps collecting it in `stderr_lines`); `stop()` terminates it."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.stderr_lines: list[str] = []
        self.port = 0
        self.host = ""
        self._drain: asyncio.Task[None] | None = None

    async def start(self) -> None:
        assert self.process.stderr is not None
        while True:
            line = (await asyncio.wait_for(self.process.stderr.readline(), 30)).decode()
            assert line, "server exited before listening:\n" + "".join(self.stderr_lines)
            self.stderr_lines.append(line)
            found = re.fullmatch(r"listening on (\S+):(\d+)\n", line)
            if found:
                self.host, self.port = found.group(1), int(found.group(2))
                break
        self._drain = asyncio.create_task(self._keep_reading())

    async def _keep_reading(self) -> None:
        assert self.process.stderr is not None
        while line := await self.process.stderr.readline():
            self.stderr_lines.append(line.decode())

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
        await self.process.wait()
        if self._drain is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._drain
