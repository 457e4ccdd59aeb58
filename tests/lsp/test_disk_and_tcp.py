"""Files changing on disk (workspace/didChangeWatchedFiles), and LSP over TCP."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from lsprotocol import types

from dap_server.sources import SourceError, load_file
from tests.lsp.conftest import REPO, Client, make_client, start, uri

PIPELINE = """apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: p
spec:
  tasks:
    - name: one
      taskRef:
        name: later
"""

LATER = """apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: later
spec:
  steps:
    - {name: s, image: alpine, script: echo}
"""


def env() -> dict[str, str]:
    out = dict(os.environ)
    out["PYTHONPATH"] = str(REPO) + os.pathsep + out.get("PYTHONPATH", "")
    return out


@pytest_asyncio.fixture
async def fresh(tmp_path: Path) -> AsyncIterator[tuple[Client, Path]]:
    """A server of its own, on an empty workspace folder of this test."""
    folder = tmp_path / "ws"
    folder.mkdir()
    client = make_client()
    await client.start_io(sys.executable, "-m", "dap_server", "lsp", env=env())
    await start(client, folder)
    yield client, folder
    await client.shutdown_session()
    await client.stop()


def notify(client: Client, path: Path, kind: types.FileChangeType) -> None:
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(changes=[types.FileEvent(uri=uri(path), type=kind)])
    )


async def test_tasks_created_changed_and_deleted_on_disk(fresh: tuple[Client, Path]) -> None:
    client, folder = fresh
    pipeline = folder / "pipeline.yaml"
    pipeline.write_text(PIPELINE)
    u = uri(pipeline)
    client.open(u, PIPELINE)
    [d] = await client.diagnostics_for(u)
    assert 'Task "later" not found' in d.message
    # the server asked to be told about YAML files on disk
    assert [r.method for r in client.registrations] == [types.WORKSPACE_DID_CHANGE_WATCHED_FILES]

    later = folder / "tasks" / "later.yaml"
    later.parent.mkdir()
    later.write_text(LATER)
    mark = len(client.published)
    notify(client, later, types.FileChangeType.Created)
    assert await client.diagnostics_for(u, after=mark, any_version=True) == []

    later.write_text(LATER.replace("name: later", "name: laterr"))
    mark = len(client.published)
    notify(client, later, types.FileChangeType.Changed)
    [d] = await client.diagnostics_for(u, after=mark, any_version=True)
    assert 'did you mean "laterr"?' in d.message

    later.write_text(LATER.replace("steps:", "steps: [oops"))  # the file does not load now
    mark = len(client.published)
    notify(client, later, types.FileChangeType.Changed)
    later.write_text(LATER)
    notify(client, later, types.FileChangeType.Changed)
    assert await client.diagnostics_for(u, after=mark, any_version=True) == []

    later.unlink()
    mark = len(client.published)
    notify(client, later, types.FileChangeType.Deleted)
    [d] = await client.diagnostics_for(u, after=mark, any_version=True)
    assert 'Task "later" not found' in d.message
    client.close(u)


async def test_a_task_in_a_file_that_does_not_load_is_reported_as_skipped(fresh: tuple[Client, Path]) -> None:
    client, folder = fresh
    broken = folder / "later.yaml"
    broken.write_text(LATER + "---\napiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: x}\nspec: {}\n")
    mark = len(client.published)
    notify(client, broken, types.FileChangeType.Created)
    u = uri(folder / "pipeline.yaml")
    client.open(u, PIPELINE)
    [d] = await client.diagnostics_for(u)
    with pytest.raises(SourceError) as raised:
        load_file(str(broken))
    assert d.message == (
        f'taskRef: Task "later" is in later.yaml, but that file does not load (line {raised.value.line}: '
        f"{raised.value.cause}), so the debugger skips it"
    )
    assert mark >= 0
    client.close(u)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_lsp_over_tcp() -> None:
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dap_server", "lsp", "--port", str(port), env=env(), stderr=asyncio.subprocess.PIPE
    )
    try:
        client = make_client()
        for _ in range(100):
            try:
                await client.start_tcp("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.05)
        else:
            raise AssertionError("the server does not listen")
        result = await client.initialize_session(types.InitializeParams(capabilities=types.ClientCapabilities()))
        assert result.capabilities.hover_provider
        assert result.capabilities.code_lens_provider is not None
        u = "untitled:tcp"
        client.open(u, "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec:\n  steps: [{name: s}]\n")
        [d] = await client.diagnostics_for(u)
        assert d.message == 'step "s" has no image (give one, or a stepTemplate image)'
        await client.shutdown_session()
        await client.stop()
        assert await asyncio.wait_for(server.wait(), 10) == 0
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()


async def test_workspace_folders_added_and_removed(fresh: tuple[Client, Path], tmp_path: Path) -> None:
    client, folder = fresh
    other = tmp_path / "other"
    other.mkdir()
    (other / "later.yaml").write_text(LATER)
    u = uri(folder / "pipeline.yaml")
    client.open(u, PIPELINE)
    [d] = await client.diagnostics_for(u)
    assert 'Task "later" not found' in d.message

    def folders(added: list[Path], removed: list[Path]) -> None:
        client.workspace_did_change_workspace_folders(
            types.DidChangeWorkspaceFoldersParams(
                event=types.WorkspaceFoldersChangeEvent(
                    added=[types.WorkspaceFolder(uri(p), p.name) for p in added],
                    removed=[types.WorkspaceFolder(uri(p), p.name) for p in removed],
                )
            )
        )

    mark = len(client.published)
    folders([other], [])
    assert await client.diagnostics_for(u, after=mark, any_version=True) == []
    mark = len(client.published)
    folders([], [other])
    [d] = await client.diagnostics_for(u, after=mark, any_version=True)
    assert 'Task "later" not found' in d.message
    client.close(u)


async def test_a_file_opened_from_outside_the_workspace_is_forgotten_when_closed(
    fresh: tuple[Client, Path], tmp_path: Path
) -> None:
    client, folder = fresh
    outside = tmp_path / "outside" / "later.yaml"
    outside.parent.mkdir()
    outside.write_text(LATER)
    o = uri(outside)
    client.open(o, LATER)
    u = uri(folder / "pipeline.yaml")
    client.open(u, PIPELINE)
    assert await client.diagnostics_for(u) == []
    mark = len(client.published)
    client.close(o)
    [d] = await client.diagnostics_for(u, after=mark, any_version=True)
    assert 'Task "later" not found' in d.message
    client.close(u)
