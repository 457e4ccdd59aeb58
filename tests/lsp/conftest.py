"""A real LSP client (pytest-lsp) of `python -m dap_server lsp` over stdio.

The server's workspace folder is a copy of some fixtures (fixtures/tekton: build-pipeline,
single-task, multi-doc, bad), so what it finds on disk is exactly what these tests expect.
Tests open fixture files and inline documents as buffers (unsaved text) and wait for the
diagnostics of the version they sent.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.protocol import default_converter
from pygls.uris import from_fs_path
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures" / "tekton"
SERVER = [sys.executable, "-m", "dap_server", "lsp"]
COPIED = ("build-pipeline", "single-task.yaml", "multi-doc.yaml", "bad")


class Client(LanguageClient):
    """pytest-lsp's client, keeping every publishDiagnostics (with its version)."""

    def __init__(self) -> None:
        super().__init__(converter_factory=default_converter)
        self.published: list[types.PublishDiagnosticsParams] = []
        self.versions: dict[str, int] = {}
        self.registrations: list[types.Registration] = []
        self.lens_refreshes = 0
        self.sent_at: dict[str, int] = {}  # uri -> publications received when it last changed

    # ---- documents ------------------------------------------------------------------------

    def open(self, uri: str, text: str) -> int:
        self.sent_at[uri] = len(self.published)
        self.versions[uri] = 1
        self.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "yaml", 1, text)))
        return 1

    def replace(self, uri: str, text: str) -> int:
        """Send the whole new text (a full-content change)."""
        self.sent_at[uri] = len(self.published)
        version = self.versions[uri] = self.versions[uri] + 1
        self.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(version, uri),
                [types.TextDocumentContentChangeWholeDocument(text)],
            )
        )
        return version

    def edit(self, uri: str, line: int, col: int, end_line: int, end_col: int, text: str) -> int:
        """Send an incremental change (0-based positions)."""
        self.sent_at[uri] = len(self.published)
        version = self.versions[uri] = self.versions[uri] + 1
        change = types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(line, col), types.Position(end_line, end_col)), text=text
        )
        self.text_document_did_change(
            types.DidChangeTextDocumentParams(types.VersionedTextDocumentIdentifier(version, uri), [change])
        )
        return version

    def close(self, uri: str) -> None:
        self.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri)))

    async def diagnostics_for(
        self,
        uri: str,
        *,
        after: int | None = None,
        any_version: bool = False,
        timeout: float = 15.0,
        until: Callable[[Sequence[types.Diagnostic]], bool] | None = None,
    ) -> list[types.Diagnostic]:
        """The diagnostics the server publishes for the version of `uri` last sent (or any
        version), among the publications after `after` (default: since `uri` last changed),
        the first that satisfy `until`."""
        start = self.sent_at.get(uri, 0) if after is None else after
        version = None if any_version else self.versions.get(uri)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for params in self.published[start:]:
                if params.uri != uri or (version is not None and params.version != version):
                    continue
                if until is None or until(params.diagnostics):
                    return list(params.diagnostics)
            if asyncio.get_running_loop().time() > deadline:
                seen = [(p.uri.rsplit("/", 1)[-1], p.version, len(p.diagnostics)) for p in self.published[start:]]
                raise AssertionError(f"no diagnostics for {uri} version {version}; published: {seen}")
            await asyncio.sleep(0.01)

    # ---- requests -------------------------------------------------------------------------

    async def symbols(self, uri: str) -> list[types.DocumentSymbol]:
        found = await self.text_document_document_symbol_async(
            types.DocumentSymbolParams(types.TextDocumentIdentifier(uri))
        )
        assert found is not None
        return [s for s in found if isinstance(s, types.DocumentSymbol)]

    async def lenses(self, uri: str) -> list[types.CodeLens]:
        found = await self.text_document_code_lens_async(types.CodeLensParams(types.TextDocumentIdentifier(uri)))
        return list(found or [])

    async def hover(self, uri: str, position: types.Position) -> types.Hover | None:
        return await self.text_document_hover_async(
            types.HoverParams(text_document=types.TextDocumentIdentifier(uri), position=position)
        )

    async def definition(self, uri: str, position: types.Position) -> list[types.Location]:
        found = await self.text_document_definition_async(
            types.DefinitionParams(text_document=types.TextDocumentIdentifier(uri), position=position)
        )
        if found is None:
            return []
        if isinstance(found, types.Location):
            return [found]
        return [f for f in found if isinstance(f, types.Location)]

    async def references(self, uri: str, position: types.Position, declaration: bool) -> list[types.Location]:
        found = await self.text_document_references_async(
            types.ReferenceParams(
                text_document=types.TextDocumentIdentifier(uri),
                position=position,
                context=types.ReferenceContext(include_declaration=declaration),
            )
        )
        return list(found or [])

    async def complete(self, uri: str, position: types.Position) -> list[types.CompletionItem]:
        found = await self.text_document_completion_async(
            types.CompletionParams(text_document=types.TextDocumentIdentifier(uri), position=position)
        )
        if found is None:
            return []
        return list(found.items if isinstance(found, types.CompletionList) else found)


def _on_publish(client: Client, params: types.PublishDiagnosticsParams) -> None:
    client.published.append(params)
    client.diagnostics[params.uri] = params.diagnostics


def _on_register(client: Client, params: types.RegistrationParams) -> None:
    client.registrations.extend(params.registrations)


def _on_lens_refresh(client: Client, params: None) -> None:
    client.lens_refreshes += 1


def make_client() -> Client:
    client = Client()
    features = dict(DEFAULT_CLIENT_FEATURES)
    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = _on_publish
    features[types.CLIENT_REGISTER_CAPABILITY] = _on_register
    features[types.WORKSPACE_CODE_LENS_REFRESH] = _on_lens_refresh
    register_lsp_features(client, features)
    return client


def server_config() -> ClientServerConfig:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return ClientServerConfig(server_command=SERVER, client_factory=make_client, server_env=env)


def copy_fixtures(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        source = FIXTURES / name
        if source.is_dir():
            shutil.copytree(source, target / name)
        else:
            shutil.copy2(source, target / name)
    return target


def uri(path: Path | str) -> str:
    found = from_fs_path(str(path))
    assert found is not None
    return found


async def start(client: Client, folder: Path) -> None:
    params = types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        workspace_folders=[types.WorkspaceFolder(uri(folder), folder.name)],
        root_uri=uri(folder),
    )
    await client.initialize_session(params)


@pytest.fixture(scope="session")
def workspace_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_fixtures(tmp_path_factory.mktemp("lsp") / "ws")


def at(text: str, needle: str, occurrence: int = 1, offset: int = 0) -> types.Position:
    """The position of the `occurrence`-th `needle` in `text` (plus `offset` characters)."""
    index = -1
    for _ in range(occurrence):
        index = text.index(needle, index + 1)
    index += offset
    line = text.count("\n", 0, index)
    return types.Position(line, index - (text.rfind("\n", 0, index) + 1))


def span(text: str, needle: str, occurrence: int = 1, word: str | None = None) -> types.Range:
    """The range of `word` (default: all of `needle`; its last place in it) inside the
    `occurrence`-th `needle`."""
    word = needle if word is None else word
    start = at(text, needle, occurrence, needle.rindex(word))
    return types.Range(start, types.Position(start.line, start.character + len(word)))


def lines_of(symbol: types.DocumentSymbol) -> tuple[int, int]:
    """1-based first and last line of a symbol's range."""
    return symbol.range.start.line + 1, symbol.range.end.line + 1


def child(symbol: types.DocumentSymbol, *names: str) -> types.DocumentSymbol:
    for name in names:
        found = [c for c in symbol.children or [] if c.name == name]
        assert found, f"{symbol.name} has no child {name}: {[c.name for c in symbol.children or []]}"
        symbol = found[0]
    return symbol


@pytest_lsp.fixture(config=server_config(), scope="module")
async def client(lsp_client: Client, workspace_dir: Path) -> AsyncIterator[None]:
    """One server per test module (tests open and close their own buffers)."""
    await start(lsp_client, workspace_dir)
    yield
    await lsp_client.shutdown_session()
