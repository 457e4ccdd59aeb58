"""Every pipeline file the server knows, and the cross-file index of documents by name.

Open buffers and the YAML files of the workspace folders are indexed the same way
(`FileIndex`); the (kind, name) index used to resolve `taskRef` / `pipelineRef` is
updated with the documents of the one file that changed, never rebuilt. Resolution
follows the debugger's `SourceSet`: the owner's own file first, then the other files
(in path order), a Task standing in for a ClusterTask and back; a file the source map
refuses is skipped, as the debugger skips it, and the message says so.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import logging
import os
from collections.abc import Callable, Iterable

from dap_server.sources import SourceError

from .index import MARKERS, Cancelled, FileIndex, indexer_for
from .model import DocIndex, DocRef, Problem, Resolution

log = logging.getLogger(__name__)

YAML_SUFFIXES = (".yaml", ".yml")
SKIP_DIRS = frozenset({"node_modules", "__pycache__", "venv"})
MAX_BYTES = 32 * 1024 * 1024


def _error_key(error: SourceError | None) -> tuple[int, str] | None:
    return (error.line, error.cause) if error is not None else None


def read_pipeline_file(path: str) -> str | None:
    """The text of `path` if it may hold documents the indexers know (else None)."""
    try:
        if os.path.getsize(path) > MAX_BYTES:
            return None
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    if not any(marker in data for marker in MARKERS):
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def yaml_files(folders: Iterable[str]) -> list[str]:
    """YAML files under `folders` (no dot-folders, no node_modules), sorted."""
    found: dict[str, None] = {}
    for root in folders:
        if os.path.isfile(root):
            found[os.path.abspath(root)] = None
            continue
        for folder, dirs, names in os.walk(root):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS)
            for name in sorted(names):
                if name.endswith(YAML_SUFFIXES):
                    found[os.path.abspath(os.path.join(folder, name))] = None
    return list(found)


def scan(folders: list[str], skip: Callable[[str], bool] | None = None) -> dict[str, FileIndex]:
    """Index every pipeline file under `folders` (run in a worker thread at startup);
    `skip(path)` says a file need not be read (it is open: its buffer is indexed)."""
    out: dict[str, FileIndex] = {}
    for path in yaml_files(folders):
        if skip is not None and skip(path):
            continue
        text = read_pipeline_file(path)
        if text is not None:
            try:
                out[path] = FileIndex(path, text, functools.partial(skip, path) if skip is not None else None)
            except Cancelled:  # opened meanwhile: its buffer is indexed instead
                continue
            except Exception:  # never let one odd file stop the scan
                log.exception("internal error indexing %s", path)
    return out


class Workspace:
    """Files by path, documents by (kind, name), and who depends on which names."""

    def __init__(self, folders: list[str]) -> None:
        self.folders = [os.path.abspath(f) for f in folders]
        self.files: dict[str, FileIndex] = {}
        self.open: set[str] = set()
        self.by_key: dict[tuple[str, str], list[DocIndex]] = {}
        self.deps: dict[str, set[tuple[str, str]]] = {}  # path -> keys its checks looked up
        self._recording: set[tuple[str, str]] | None = None
        self.epoch = 0  # bumped by every change of the documents by name
        self.key_epoch: dict[tuple[str, str], int] = {}  # key -> epoch of its last change

    # ---- keeping the index current -----------------------------------------------------

    def set_text(self, path: str, text: str) -> set[tuple[str, str]]:
        """Index the current text of `path`; returns the (kind, name) keys whose documents
        changed (the files depending on them need their diagnostics again)."""
        current = self.files.get(path)
        if current is None:
            current = FileIndex(path, "")
            self.files[path] = current
        if current.text == text and (current.chunks or not text):
            return set()
        before = _error_key(current.error())
        removed, added = current.update(text)
        changed = self._reindex(removed, added)
        if _error_key(current.error()) != before:  # whether (and why) the debugger skips the file
            changed |= self._bump({ix.key for ix in current.docs()})
        return changed

    def remove(self, path: str) -> set[tuple[str, str]]:
        current = self.files.pop(path, None)
        self.deps.pop(path, None)
        if current is None:
            return set()
        changed = self._reindex(list(current.docs()), [])
        current.release()
        return changed

    def add_scanned(self, found: dict[str, FileIndex]) -> set[tuple[str, str]]:
        """Merge the result of `scan` (open buffers keep their own text)."""
        changed: set[tuple[str, str]] = set()
        for path, index in found.items():
            if path in self.open:
                continue
            old = self.files.get(path)
            self.files[path] = index
            changed |= self._reindex(list(old.docs()) if old else [], list(index.docs()))
            if old is not None:
                old.release()
        return changed

    def reload(self, path: str) -> set[tuple[str, str]]:
        """A file changed on disk (or was closed): index what is on disk now, if it is in a
        workspace folder (a file opened from elsewhere is forgotten when closed)."""
        if path in self.open:
            return set()
        inside = any(path.startswith(folder + os.sep) for folder in self.folders)
        text = read_pipeline_file(path) if inside and os.path.isfile(path) else None
        if text is None:
            return self.remove(path)
        return self.set_text(path, text)

    def _reindex(self, removed: list[DocIndex], added: list[DocIndex]) -> set[tuple[str, str]]:
        changed: set[tuple[str, str]] = set()
        for ix in removed:
            entries = self.by_key.get(ix.key)
            if entries is not None:
                with contextlib.suppress(ValueError):
                    entries.remove(ix)
                if not entries:
                    del self.by_key[ix.key]
            changed.add(ix.key)
        for ix in added:
            self.by_key.setdefault(ix.key, []).append(ix)
            changed.add(ix.key)
        return self._bump(changed)

    def _bump(self, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
        if keys:
            self.epoch += 1
            for key in keys:
                self.key_epoch[key] = self.epoch
        return keys

    def dependents(self, keys: set[tuple[str, str]]) -> list[str]:
        """Open files whose last check looked up one of `keys`."""
        if not keys:
            return []
        return sorted(p for p in self.open if self.deps.get(p, set()) & keys)

    # ---- resolution --------------------------------------------------------------------

    def resolve(self, owner: DocIndex, ref: DocRef) -> Resolution:
        indexer = indexer_for(owner.engine)
        if indexer is None:
            return Resolution(None, f'{ref.key}: {ref.kind} "{ref.name}" cannot be resolved')
        refused = indexer.unresolvable(ref)
        if refused is not None:
            return refused
        kinds = indexer.kinds(ref)
        if self._recording is not None:
            self._recording.update((k, ref.name) for k in kinds)
        local = self.files.get(owner.path)
        if local is not None:
            for kind in kinds:
                found = local.find(kind, ref.name)
                if found is not None:
                    return Resolution(found)
        skipped: list[tuple[str, SourceError]] = []
        for kind in kinds:
            candidates = sorted(self.by_key.get((kind, ref.name), []), key=lambda d: d.path)
            for ix in candidates:
                if ix.path == owner.path:
                    continue
                index = self.files.get(ix.path)
                error = index.error() if index is not None else None
                if error is not None:
                    skipped.append((ix.path, error))
                    continue
                return Resolution(ix)
        return Resolution(None, self._not_found(owner, ref, kinds, skipped))

    def _not_found(self, owner: DocIndex, ref: DocRef, kinds: list[str], skipped: list[tuple[str, SourceError]]) -> str:
        if skipped:
            path, error = skipped[0]
            return (
                f'{ref.key}: {ref.kind} "{ref.name}" is in {self.short(path)}, but that file does not load '
                f"(line {error.line}: {error.cause}), so the debugger skips it"
            )
        names = sorted({name for (kind, name) in self.by_key if kind in kinds})
        close = difflib.get_close_matches(ref.name, names, n=3)
        files = [p for p, f in self.files.items() if p != owner.path and any(True for _ in f.docs())]
        where = ", ".join(self.folders) if self.folders else "no workspace folder"
        message = (
            f'{ref.key}: {ref.kind} "{ref.name}" not found: looked in this file and in {len(files)} other '
            f"pipeline file{'s' if len(files) != 1 else ''} of the workspace ({where})"
        )
        if close:
            message += "; did you mean " + " or ".join(f'"{c}"' for c in close) + "?"
        return message

    def short(self, path: str) -> str:
        for root in self.folders:
            if path.startswith(root + os.sep):
                return os.path.relpath(path, root)
        return path

    # ---- diagnostics -------------------------------------------------------------------

    def problems(self, path: str) -> list[Problem]:
        """Every problem of one file: its own, then those that need other documents."""
        index = self.files.get(path)
        if index is None:
            return []
        problems = index.local_problems()
        deps: set[tuple[str, str]] = set()
        if index.yaml_error() is None:
            for ix in index.docs():
                found, looked = self.check(ix)
                problems.extend(found)
                deps |= looked
        self.deps[path] = deps
        problems.sort(key=lambda p: (p.range.line, p.range.col))
        return problems

    def check(self, ix: DocIndex) -> tuple[list[Problem], frozenset[tuple[str, str]]]:
        """The problems of one document that need other documents, and the keys it looked
        up; reused while none of those keys changed (a big file re-checks only what an
        edit can affect). Unresolved references are always checked again: their message
        lists what the workspace holds now."""
        cached = ix.checked
        if cached is not None:
            epoch, found, looked = cached
            key_epoch = self.key_epoch
            if all(key_epoch.get(key, 0) <= epoch for key in looked) and not any(
                p.code == "unresolved-ref" for p in found
            ):
                return found, looked
        indexer = indexer_for(ix.engine)
        if indexer is None:
            return [], frozenset()
        recording: set[tuple[str, str]] = set()
        self._recording = recording
        try:
            found = indexer.check(ix, self)
        except Exception:  # an indexer bug: log it, keep the other diagnostics
            log.exception("internal error checking %s in %s", ix.key, ix.path)
            found = []
        finally:
            self._recording = None
        looked = frozenset(recording)
        ix.checked = (self.epoch, found, looked)
        return found, looked

    def search_paths(self, ix: DocIndex) -> list[str] | None:
        """`searchPaths` for a launch configuration of `ix`: None when every document it
        needs (references, and theirs) is under the program's folder, the debugger's
        default; else the program's folder and the workspace folders holding the others."""
        program_dir = os.path.dirname(ix.path)
        outside: list[str] = []
        seen: set[int] = {id(ix)}
        work = [ix]
        while work:
            current = work.pop()
            for ref in current.refs():
                target = self.resolve(current, ref).target
                if target is None or id(target) in seen:
                    continue
                seen.add(id(target))
                work.append(target)
                if target.path.startswith(program_dir + os.sep):
                    continue
                root = next(
                    (f for f in self.folders if target.path.startswith(f + os.sep)),
                    os.path.dirname(target.path),
                )
                if root not in outside and root != program_dir:
                    outside.append(root)
        return [program_dir, *outside] if outside else None
