"""The pygls wiring: documents in, diagnostics out, requests answered from the index.

The server object is made in `build_server` (called by `serve_lsp`), never at import.
Diagnostics are published from one task that drains a set of pending files: a burst of
changes is indexed once, and files that depend on a changed document by name (a
Pipeline open beside the Task it references) are checked again. The workspace folders
are indexed in a worker thread after `initialized`; diagnostics wait for that, so a
reference to a Task in a file not yet read is never reported as missing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from dap_server import __version__

from .features import Features
from .workspace import Workspace, scan

log = logging.getLogger(__name__)

NAME = "pipeline-dap"
WATCH_ID = "pipeline-dap-yaml-files"


def path_of(uri: str) -> str:
    """The file path of a `file:` URI; other URIs (unsaved buffers) stand for themselves."""
    if uri.startswith("file:"):
        path = to_fs_path(uri)
        if path:
            return os.path.normpath(path)
    return uri


class PipelineLanguageServer:
    """State and handlers of one language server session."""

    def __init__(self, server: LanguageServer) -> None:
        self.server = server
        self.workspace = Workspace([])
        self.features = Features(self.workspace, uri_of=self.uri_of)
        self.uris: dict[str, str] = {}
        self.versions: dict[str, int | None] = {}
        self.pending: set[str] = set()
        self.publisher: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()
        self.scanner: asyncio.Task[None] | None = None

    def uri_of(self, path: str) -> str:
        uri = self.uris.get(path)
        if uri is not None:
            return uri
        if ":" in path.split("/", 1)[0]:
            return path
        return from_fs_path(path) or path

    # ---- lifecycle -----------------------------------------------------------------------

    def initialize(self, params: types.InitializeParams) -> None:
        folders = [path_of(f.uri) for f in params.workspace_folders or []]
        if not folders and params.root_uri:
            folders = [path_of(params.root_uri)]
        elif not folders and params.root_path:
            folders = [params.root_path]
        self.workspace = Workspace([f for f in folders if os.path.isdir(f)])
        encoding = self.server.workspace.position_encoding or types.PositionEncodingKind.Utf16
        self.features = Features(self.workspace, str(encoding), uri_of=self.uri_of)

    async def initialized(self) -> None:
        self.watch_files()
        folders = list(self.workspace.folders)
        try:
            if folders:
                found = await asyncio.to_thread(scan, folders, self.workspace.open.__contains__)
                for path in self.workspace.open:
                    dropped = found.pop(path, None)
                    if dropped is not None:
                        dropped.release()
                changed = self.workspace.add_scanned(found)
                self.pending.update(self.workspace.dependents(changed))
        except Exception:
            log.exception("internal error indexing the workspace folders")
        finally:
            self.ready.set()
        self.pending.update(self.workspace.open)
        self.kick()
        capabilities = self.server.client_capabilities.workspace
        if capabilities is not None and capabilities.code_lens is not None and capabilities.code_lens.refresh_support:
            self.server.workspace_code_lens_refresh(None)

    def watch_files(self) -> None:
        """Ask the client to report changes of YAML files on disk (when it can)."""
        capabilities = self.server.client_capabilities.workspace
        watched = capabilities.did_change_watched_files if capabilities is not None else None
        if watched is None or not watched.dynamic_registration:
            return
        options = types.DidChangeWatchedFilesRegistrationOptions(
            watchers=[types.FileSystemWatcher(glob_pattern="**/*.{yaml,yml}")]
        )
        registration = types.Registration(
            id=WATCH_ID, method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES, register_options=options
        )
        self.server.client_register_capability(types.RegistrationParams(registrations=[registration]))

    # ---- documents -----------------------------------------------------------------------

    def opened(self, uri: str) -> None:
        path = path_of(uri)
        self.uris[path] = uri
        self.workspace.open.add(path)
        self.changed(uri)

    def changed(self, uri: str) -> None:
        self.pending.add(path_of(uri))
        self.kick()

    def closed(self, uri: str) -> None:
        path = path_of(uri)
        self.workspace.open.discard(path)
        self.versions.pop(path, None)
        self.pending.discard(path)
        self.server.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
        changed = self.workspace.reload(path)
        self.pending.update(self.workspace.dependents(changed))
        self.uris.pop(path, None)
        self.kick()

    def files_changed(self, params: types.DidChangeWatchedFilesParams) -> None:
        for event in params.changes:
            path = path_of(event.uri)
            if path in self.workspace.open or not path.endswith((".yaml", ".yml")):
                continue
            if event.type == types.FileChangeType.Deleted:
                changed = self.workspace.remove(path)
            else:
                changed = self.workspace.reload(path)
            self.pending.update(self.workspace.dependents(changed))
        self.kick()

    async def folders_changed(self, event: types.WorkspaceFoldersChangeEvent) -> None:
        """Index added workspace folders; forget the files of removed ones."""
        removed = [path_of(f.uri) for f in event.removed]
        added = [p for p in (path_of(f.uri) for f in event.added) if os.path.isdir(p)]
        ws = self.workspace
        ws.folders = [f for f in ws.folders if f not in removed] + [a for a in added if a not in ws.folders]
        changed: set[tuple[str, str]] = set()
        for path in list(ws.files):
            gone = any(path.startswith(r + os.sep) for r in removed)
            kept = any(path.startswith(f + os.sep) for f in ws.folders)
            if gone and not kept and path not in ws.open:
                changed |= ws.remove(path)
        if added:
            found = await asyncio.to_thread(scan, added, ws.open.__contains__)
            for path in ws.open:
                dropped = found.pop(path, None)
                if dropped is not None:
                    dropped.release()
            changed |= ws.add_scanned(found)
        self.pending.update(ws.dependents(changed))
        self.kick()

    def refresh(self, path: str) -> None:
        """Index the editor's current text of an open file, if it changed."""
        uri = self.uris.get(path)
        if uri is None or path not in self.workspace.open:
            return
        document = self.server.workspace.get_text_document(uri)
        if self.versions.get(path, -1) == document.version and path in self.workspace.files:
            return
        changed = self.workspace.set_text(path, document.source)
        self.versions[path] = document.version
        self.pending.update(p for p in self.workspace.dependents(changed) if p != path)

    # ---- diagnostics ---------------------------------------------------------------------

    def kick(self) -> None:
        if self.pending and (self.publisher is None or self.publisher.done()):
            self.publisher = asyncio.get_running_loop().create_task(self.publish())

    async def publish(self) -> None:
        await asyncio.sleep(0)  # let changes already received join this round
        await self.ready.wait()
        while self.pending:
            path = min(self.pending)
            self.pending.discard(path)
            if path not in self.workspace.open:
                continue
            try:
                self.refresh(path)
                diagnostics = self.features.diagnostics(path)
            except Exception:
                log.exception("internal error computing diagnostics of %s", path)
                continue
            self.server.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(
                    uri=self.uris[path], diagnostics=diagnostics, version=self.versions.get(path)
                )
            )
            await asyncio.sleep(0)  # stay responsive between files

    # ---- requests ------------------------------------------------------------------------

    async def current(self, uri: str) -> str:
        """The path of `uri`, indexed as the editor has it now."""
        await self.ready.wait()
        path = path_of(uri)
        if path in self.workspace.open:
            self.refresh(path)
            self.kick()
        return path


def build_server() -> LanguageServer:
    server = LanguageServer(NAME, __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
    state = PipelineLanguageServer(server)

    @server.feature(types.INITIALIZE)
    def initialize(params: types.InitializeParams) -> None:
        state.initialize(params)

    @server.feature(types.INITIALIZED)
    async def initialized(params: types.InitializedParams) -> None:
        await state.initialized()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        state.opened(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: types.DidChangeTextDocumentParams) -> None:
        state.changed(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(params: types.DidSaveTextDocumentParams) -> None:
        state.changed(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: types.DidCloseTextDocumentParams) -> None:
        state.closed(params.text_document.uri)

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(params: types.DidChangeWatchedFilesParams) -> None:
        state.files_changed(params)

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    async def did_change_workspace_folders(params: types.DidChangeWorkspaceFoldersParams) -> None:
        await state.folders_changed(params.event)

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    async def document_symbol(params: types.DocumentSymbolParams) -> list[types.DocumentSymbol]:
        return state.features.symbols(await state.current(params.text_document.uri))

    @server.feature(types.TEXT_DOCUMENT_CODE_LENS, types.CodeLensOptions(resolve_provider=False))
    async def code_lens(params: types.CodeLensParams) -> list[types.CodeLens]:
        return state.features.lenses(await state.current(params.text_document.uri))

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def hover(params: types.HoverParams) -> types.Hover | None:
        return state.features.hover(await state.current(params.text_document.uri), params.position)

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    async def definition(params: types.DefinitionParams) -> list[types.Location]:
        return state.features.definition(await state.current(params.text_document.uri), params.position)

    @server.feature(types.TEXT_DOCUMENT_REFERENCES)
    async def references(params: types.ReferenceParams) -> list[types.Location]:
        path = await state.current(params.text_document.uri)
        return state.features.references(path, params.position, params.context.include_declaration)

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(trigger_characters=[".", "("], resolve_provider=False),
    )
    async def completion(params: types.CompletionParams) -> types.CompletionList:
        path = await state.current(params.text_document.uri)
        return types.CompletionList(is_incomplete=False, items=state.features.completion(path, params.position))

    return server


def serve_lsp(port: int | None = None, host: str = "127.0.0.1") -> int:
    """Serve LSP over stdio, or over TCP on `host:port` (one client)."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="pipeline-dap lsp: %(levelname)s %(message)s")
    server = build_server()
    if port is None:
        server.start_io()
    else:
        logging.getLogger("pygls.server").setLevel(logging.INFO)  # it logs the address it serves on
        server.start_tcp(host, port)
    return 0
