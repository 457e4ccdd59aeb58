"""Benchmark: the language server (`python -m dap_server lsp`) through a real LSP client over stdio.

Measures, from the client's side (request sent -> answer or notification received):

- a generated file of 2,000 Tasks (5 steps with scripts, a param, a result) and a Pipeline
  of 2,000 tasks (each passing the previous task's result, runAfter chain): the first
  diagnostics after didOpen, then diagnostics after a one-line change inside a Task
  document, inside the Pipeline document, and after inserting a line at the top (every
  document moves), median and p99 over N changes each;
- hover on `$(params.x)` and on `$(tasks.t.results.r)` in that file, median and p99;
- a workspace of a few hundred pipeline files: time to the first diagnostics of a file
  (the workspace index is built first), and a one-line change there.

    .venv/bin/python bench/bench_lsp.py [--tasks 2000] [--changes 30] [--hovers 200] [--files 300] [--write]

--write replaces the `## Language server` section of BENCHMARKS.md (between
`<!-- bench:lsp -->` markers), keeping the other sections.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.report import BENCHMARKS, write_section  # noqa: E402

STEPS = 5


# ---- inputs ---------------------------------------------------------------------------------


def task_doc(name: str) -> str:
    steps = "".join(
        f"""    - name: step-{s}
      image: alpine:3.20
      env:
        - name: INDEX
          value: "{s}"
      script: |
        #!/bin/sh
        set -eu
        echo "{name} step {s} $(params.flavour)"
        # comment-like line inside the script
        echo {s} > $(results.out.path)
"""
        for s in range(STEPS)
    )
    return f"""apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: {name}
spec:
  params:
    - name: flavour
      type: string
      default: plain
    - name: input
      default: ""
  results:
    - name: out
      description: what this task produced
  steps:
{steps}"""


def pipeline_doc(name: str, tasks: list[str]) -> str:
    items = []
    for i, task in enumerate(tasks):
        after = f"\n      runAfter: [t{i - 1}]" if i else ""
        given = f"$(tasks.t{i - 1}.results.out)" if i else "start"
        items.append(
            f"""    - name: t{i}{after}
      taskRef:
        name: {task}
      params:
        - name: flavour
          value: $(params.flavour)
        - name: input
          value: {given}
"""
        )
    return f"""apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: {name}
spec:
  params:
    - name: flavour
      description: how to build
      default: turbo
  tasks:
{"".join(items)}"""


def big_file(tasks: int) -> str:
    names = [f"task-{t}" for t in range(tasks)]
    return "---\n".join([*(task_doc(n) for n in names), pipeline_doc("big", names)])


def write_workspace(folder: str, files: int) -> list[str]:
    """`files` files: two thirds Tasks (one each), one third Pipelines of 10 of them."""
    os.makedirs(os.path.join(folder, "tasks"))
    os.makedirs(os.path.join(folder, "pipelines"))
    task_files = files * 2 // 3
    names = [f"ws-task-{i}" for i in range(task_files)]
    for name in names:
        with open(os.path.join(folder, "tasks", f"{name}.yaml"), "w") as handle:
            handle.write(task_doc(name))
    pipelines = []
    for p in range(files - task_files):
        chosen = [names[(p * 10 + k) % len(names)] for k in range(10)]
        path = os.path.join(folder, "pipelines", f"pipeline-{p}.yaml")
        with open(path, "w") as handle:
            handle.write(pipeline_doc(f"pipeline-{p}", chosen))
        pipelines.append(path)
    return pipelines


# ---- a client that times what it receives ---------------------------------------------------


class Client(LanguageClient):
    def __init__(self) -> None:
        super().__init__("bench-lsp", "1")
        self.waiting: dict[tuple[str, int], asyncio.Future[float]] = {}
        self.versions: dict[str, int] = {}

        @self.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def published(params: types.PublishDiagnosticsParams) -> None:
            future = self.waiting.pop((params.uri, params.version or 0), None)
            if future is not None and not future.done():
                future.set_result(time.perf_counter())

        @self.feature(types.CLIENT_REGISTER_CAPABILITY)
        def register(params: types.RegistrationParams) -> None:
            return None

        @self.feature(types.WORKSPACE_CODE_LENS_REFRESH)
        def refresh(params: None) -> None:
            return None

    def expect(self, uri: str, version: int) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiting[(uri, version)] = future
        return future

    async def open(self, uri: str, text: str) -> float:
        self.versions[uri] = 1
        done = self.expect(uri, 1)
        start = time.perf_counter()
        self.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "yaml", 1, text)))
        return await asyncio.wait_for(done, 600) - start

    async def change(self, uri: str, line: int, col: int, end_line: int, end_col: int, text: str) -> float:
        version = self.versions[uri] = self.versions[uri] + 1
        done = self.expect(uri, version)
        change = types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(line, col), types.Position(end_line, end_col)), text=text
        )
        start = time.perf_counter()
        self.text_document_did_change(
            types.DidChangeTextDocumentParams(types.VersionedTextDocumentIdentifier(version, uri), [change])
        )
        return await asyncio.wait_for(done, 600) - start

    async def hover_time(self, uri: str, position: types.Position) -> float:
        start = time.perf_counter()
        found = await self.text_document_hover_async(
            types.HoverParams(text_document=types.TextDocumentIdentifier(uri), position=position)
        )
        elapsed = time.perf_counter() - start
        assert found is not None, "hover returned nothing"
        return elapsed


async def started(folder: str) -> Client:
    client = Client()
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    await client.start_io(sys.executable, "-m", "dap_server", "lsp", env=env)
    folder_uri = from_fs_path(folder) or folder
    capabilities = types.ClientCapabilities(
        workspace=types.WorkspaceClientCapabilities(
            did_change_watched_files=types.DidChangeWatchedFilesClientCapabilities(dynamic_registration=True)
        )
    )
    await client.initialize_async(
        types.InitializeParams(
            capabilities=capabilities,
            process_id=os.getpid(),
            workspace_folders=[types.WorkspaceFolder(folder_uri, "bench")],
        )
    )
    client.initialized(types.InitializedParams())
    return client


async def stopped(client: Client) -> None:
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()


# ---- measurements ---------------------------------------------------------------------------


def stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p99 * 1000


def find(lines: list[str], needle: str, start: int = 0) -> int:
    return next(i for i in range(start, len(lines)) if needle in lines[i])


async def alternate(client: Client, uri: str, line: int, col: int, values: tuple[str, str], runs: int) -> list[float]:
    """Change the text at (line, col) back and forth between two same-length values."""
    times = []
    for run in range(runs):
        old, new = values if run % 2 == 0 else values[::-1]
        times.append(await client.change(uri, line, col, line, col + len(old), new))
    return times


async def big_file_bench(args: argparse.Namespace, rows: list[tuple[str, str, str]], notes: list[str]) -> None:
    text = big_file(args.tasks)
    lines = text.split("\n")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "big.yaml")
        with open(path, "w") as handle:
            handle.write(text)
        client = await started(folder)
        try:
            uri = from_fs_path(path) or path
            first = await client.open(uri, text)
            rows.append(("first diagnostics after didOpen (whole file)", f"{first * 1000:.0f} ms", "1 run"))
            middle = find(lines, f"  name: task-{args.tasks // 2}")
            task_line = find(lines, "      default: plain", middle)
            col = lines[task_line].index("plain")
            times = await alternate(client, uri, task_line, col, ("plain", "fancy"), args.changes)
            rows.append(
                (
                    "one-line change in a Task document",
                    *fmt(stats(times)),
                )
            )
            pipe_line = find(lines, f"    - name: t{args.tasks // 2}")
            value_line = find(lines, "value: $(params.flavour)", pipe_line)
            col = lines[value_line].index("$(params.flavour)")
            times = await alternate(
                client, uri, value_line, col, ("$(params.flavour)", "$(params.flavuor)"), args.changes
            )
            rows.append((f"one-line change in the Pipeline document ({args.tasks} tasks)", *fmt(stats(times))))
            times = []
            for run in range(args.changes):
                if run % 2 == 0:
                    times.append(await client.change(uri, 0, 0, 0, 0, "# a new first line\n"))
                else:
                    times.append(await client.change(uri, 0, 0, 1, 0, ""))
            rows.append(("insert / delete a line at the top (every document moves)", *fmt(stats(times))))

            param = types.Position(value_line, lines[value_line].index("$(params.flavour)") + 10)
            times = [await client.hover_time(uri, param) for _ in range(args.hovers)]
            rows.append(("hover `$(params.flavour)` in the Pipeline", *fmt(stats(times))))
            result_line = find(lines, "results.out)", pipe_line)
            result = types.Position(result_line, lines[result_line].index("results.out)") + 9)
            times = [await client.hover_time(uri, result) for _ in range(args.hovers)]
            rows.append(("hover `$(tasks.t.results.out)` (resolves the Task)", *fmt(stats(times))))
        finally:
            await stopped(client)
    size = len(text.encode()) / (1024 * 1024)
    notes.append(
        f"Big file: {args.tasks:,} Tasks x {STEPS} steps + a Pipeline of {args.tasks:,} tasks, "
        f"{len(lines):,} lines, {size:.1f} MiB, {args.tasks + 1:,} YAML documents; "
        f"{args.changes} changes and {args.hovers} hovers per row."
    )


async def workspace_bench(args: argparse.Namespace, rows: list[tuple[str, str, str]], notes: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        pipelines = write_workspace(folder, args.files)
        start = time.perf_counter()
        client = await started(folder)
        try:
            path = pipelines[len(pipelines) // 2]
            uri = from_fs_path(path) or path
            with open(path) as handle:
                text = handle.read()
            await client.open(uri, text)
            first = time.perf_counter() - start
            rows.append(
                (f"workspace of {args.files} files: start, index, first diagnostics", f"{first * 1000:.0f} ms", "1 run")
            )
            lines = text.split("\n")
            value_line = find(lines, "value: $(params.flavour)")
            col = lines[value_line].index("$(params.flavour)")
            times = await alternate(
                client, uri, value_line, col, ("$(params.flavour)", "$(params.flavuor)"), args.changes
            )
            rows.append(("one-line change in one of its Pipelines", *fmt(stats(times))))
        finally:
            await stopped(client)
    notes.append(
        f"Workspace: {args.files} files ({args.files * 2 // 3} Tasks, {args.files - args.files * 2 // 3} "
        "Pipelines of 10 taskRefs), indexed in a worker thread after `initialized`."
    )


def in_process_bench(args: argparse.Namespace, rows: list[tuple[str, str, str]], notes: list[str]) -> list[str]:
    """The same one-line changes without LSP: re-index + all diagnostics of the file, to
    tell the server's own work from pygls' text sync and the JSON transport."""
    from dap_server.lsp.features import Features
    from dap_server.lsp.workspace import Workspace

    text = big_file(args.tasks)
    lines = text.split("\n")
    workspace = Workspace(["/bench"])
    features = Features(workspace)
    path = "/bench/big.yaml"
    workspace.open.add(path)
    workspace.set_text(path, text)
    features.diagnostics(path)
    middle = find(lines, f"  name: task-{args.tasks // 2}")
    task_line = find(lines, "      default: plain", middle)
    pipe_line = find(lines, f"    - name: t{args.tasks // 2}")
    value_line = find(lines, "value: $(params.flavour)", pipe_line)
    for label, line, old, new in (
        ("Task", task_line, "plain", "fancy"),
        ("Pipeline", value_line, "$(params.flavour)", "$(params.flavuor)"),
    ):
        times = []
        for run in range(args.changes):
            a, b = (old, new) if run % 2 == 0 else (new, old)
            lines[line] = lines[line].replace(a, b)
            changed = "\n".join(lines)
            start = time.perf_counter()
            workspace.set_text(path, changed)
            features.diagnostics(path)
            times.append(time.perf_counter() - start)
        if args.changes % 2:
            lines[line] = lines[line].replace(new, old)
        rows.append((f"in-process, no LSP: the same change in the {label} (index + all checks)", *fmt(stats(times))))
    from pygls.workspace.text_document import TextDocument

    buffer = TextDocument("file:///bench/big.yaml", text, sync_kind=types.TextDocumentSyncKind.Incremental)
    col = lines[task_line].index(":") + 2
    times = []
    for run in range(args.changes):
        word = "fancy" if run % 2 == 0 else "plain"
        change = types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(task_line, col), types.Position(task_line, col + 5)), text=word
        )
        start = time.perf_counter()
        buffer.apply_change(change)
        times.append(time.perf_counter() - start)
    rows.append(("pygls applying one incremental change to the big buffer", *fmt(stats(times))))
    pipeline_lines = len(lines) - find(lines, "kind: Pipeline")
    return [
        "First diagnostics wait for the startup scan of the workspace folder (worker thread; it gives up "
        "a file the editor opens meanwhile, so the big file is indexed once). The difference between "
        "an LSP row and its in-process row is pygls' text sync (re-joins every line of the buffer, row "
        "above), JSON and pipes. A Pipeline change re-parses that one document "
        f"({pipeline_lines:,} lines) and re-walks it; the other {args.tasks:,} documents keep their index "
        "(shifted when lines are inserted above them).",
    ]


def fmt(pair: tuple[float, float]) -> tuple[str, str]:
    return f"{pair[0]:.1f} ms", f"p99 {pair[1]:.1f} ms"


async def run(args: argparse.Namespace) -> str:
    rows: list[tuple[str, str, str]] = []
    notes: list[str] = []
    benches: list[Callable[..., Any]] = [big_file_bench, workspace_bench]
    for bench in benches:
        await bench(args, rows, notes)
    closing = in_process_bench(args, rows, notes)
    table = ["| what | median | spread |", "|---|---|---|", *(f"| {a} | {b} | {c} |" for a, b, c in rows)]
    return "\n".join(
        [
            "Latency seen by an LSP client over stdio (request or change sent -> answer or "
            "`publishDiagnostics` of that version received), server `python -m dap_server lsp`.",
            f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs.",
            "",
            *notes,
            "",
            *table,
            "",
            *closing,
            "",
            "Reproduce: `.venv/bin/python bench/bench_lsp.py --write`.",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--changes", type=int, default=30)
    parser.add_argument("--hovers", type=int, default=200)
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = parser.parse_args(argv)
    report = asyncio.run(run(args))
    print(report)
    if args.write:
        write_section("lsp", "Language server", report)
        print(f"\nwrote {BENCHMARKS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
