"""One file's index, kept up to date document by document.

A file is cut into its YAML documents at `---` (and after `...`) lines, which YAML
forbids inside any scalar, so each piece parses alone exactly as it does in the whole
file. Each piece goes through the debugger's own source map (`parse_text`) and then an
engine's indexer (`INDEXERS`: Tekton, Argo). After an
edit, only the pieces whose text changed are parsed again; pieces that merely moved
(lines inserted or removed above them) keep their index, shifted.

Beyond what `dap_server.sources` gives, the indexers add the spans of params, results and
workspaces declarations, of reference names and `$(...)` variables (see `tekton.py`).
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from dap_server.sources import Document, SourceError, TaskSpec, parse_text
from dap_server.sources.compose import Lines

from . import argo, tekton
from .model import DocIndex, DocRef, Problem, Resolution, Resolver, Rng, Severity

log = logging.getLogger(__name__)


class Indexer(Protocol):
    """What an engine provides to the language server."""

    engine: str
    marker: bytes  # bytes a file must contain to hold one of its documents

    def accepts(self, doc: Document) -> bool: ...

    def index(self, doc: Document, lines: Lines, offset: int) -> DocIndex:
        """The index of `doc`, parsed from a text whose line 0 is line `offset` of its file."""
        ...

    def check(self, ix: DocIndex, resolver: Resolver) -> list[Problem]:
        """The problems of `ix` that need other documents."""
        ...

    def kinds(self, ref: DocRef) -> list[str]:
        """The document kinds a reference may name, in order of preference."""
        ...

    def unresolvable(self, ref: DocRef) -> Resolution | None:
        """Why `ref` cannot be resolved from the workspace at all (a remote resolver...)."""
        ...


class TektonIndexer:
    engine = tekton.ENGINE
    marker = b"tekton.dev"

    def accepts(self, doc: Document) -> bool:
        return doc.api_version.partition("/")[0] == tekton.GROUP

    def index(self, doc: Document, lines: Lines, offset: int) -> DocIndex:
        return tekton.index_document(doc, lines, offset)

    def check(self, ix: DocIndex, resolver: Resolver) -> list[Problem]:
        return tekton.check(ix, resolver)

    def kinds(self, ref: DocRef) -> list[str]:
        return tekton.kinds_for(ref)

    def unresolvable(self, ref: DocRef) -> Resolution | None:
        return tekton.unresolvable(ref)


class ArgoIndexer:
    engine = argo.ENGINE
    marker = b"argoproj.io"

    def accepts(self, doc: Document) -> bool:
        return argo.accepts(doc)

    def index(self, doc: Document, lines: Lines, offset: int) -> DocIndex:
        return argo.index_document(doc, lines, offset)

    def check(self, ix: DocIndex, resolver: Resolver) -> list[Problem]:
        return argo.check(ix, resolver)

    def kinds(self, ref: DocRef) -> list[str]:
        return argo.kinds_for(ref)

    def unresolvable(self, ref: DocRef) -> Resolution | None:
        return argo.unresolvable(ref)


# One indexer per engine.
INDEXERS: tuple[Indexer, ...] = (TektonIndexer(), ArgoIndexer())
MARKERS: tuple[bytes, ...] = tuple(i.marker for i in INDEXERS)


def indexer_for(engine: str) -> Indexer | None:
    return next((i for i in INDEXERS if i.engine == engine), None)


# Line breaks other than \n (which editors and libyaml count differently from the
# source map's splitlines): files with them, or with directives, are parsed whole.
_ODD = ("\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


def split(text: str) -> list[tuple[int, int, int]]:
    """(first line, start offset, end offset) of each YAML document's text."""
    if text.startswith("%") or "\n%" in text or any(c in text for c in _ODD):
        return [(0, 0, len(text))]
    starts = [0]
    cuts: list[int] = []
    for marker, after in (("\n---", False), ("\n...", True)):
        at = text.find(marker)
        while at >= 0:
            end = at + 4
            if end == len(text) or text[end] in " \t\n":  # a marker, not `----` or `...x`
                if not after:
                    cuts.append(at + 1)
                else:
                    eol = text.find("\n", end)
                    if 0 <= eol < len(text) - 1:
                        cuts.append(eol + 1)
            at = text.find(marker, end)
    for cut in sorted(cuts):
        if cut > starts[-1]:
            starts.append(cut)
    out = []
    line = 0
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(text)
        out.append((line, start, end))
        line += text.count("\n", start, end)
    return out


class Cancelled(Exception):
    """Indexing a file was given up (see `FileIndex.update`)."""


@dataclass(eq=False)
class Chunk:
    """One YAML document's text and what it gave."""

    start: int  # 0-based first line in the file
    text: str
    docs: list[DocIndex] = field(default_factory=list)
    error: Problem | None = None  # the source map refused it (YAML or Tekton mistake)
    yaml_error: bool = False  # the error is a YAML syntax error
    cause: SourceError | None = None
    stale: list[DocIndex] = field(default_factory=list)  # last good indexes, while it does not parse
    lines: list[str] | None = None  # its text by line, once asked for


def error_range(lines: list[str], line: int, column: int, cause: str) -> Rng:
    """A precise range for a SourceError at 0-based (line, column): the quoted name the
    message is about when it is on that line, else the rest of the line's content."""
    if not lines:
        return Rng(0, 0, 0, 0)
    line = min(max(line, 0), len(lines) - 1)
    text = lines[line]
    column = min(max(column, 0), len(text))
    for name in re.findall(r'"([^"]+)"', cause):
        # the name as a whole word (`- name: a` is about `a`, not the a of `name`)
        word = re.compile(r"(?<![\w-])" + re.escape(name) + r"(?![\w-])")
        found = word.search(text, column) or word.search(text)
        if found is not None:
            return Rng(line, found.start(), line, found.end())
    end = len(text.rstrip())
    if end <= column:
        return Rng(line, max(column - 1, 0), line, max(column, 1) if text else 0)
    return Rng(line, column, line, end)


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Parsing makes hundreds of thousands of objects that live until it ends: with the
    collector on, each parse of a big document pays for several full passes over
    everything the server holds (the index of the whole workspace). They are freed by
    reference counting (see `_release`); what cycles remain is collected afterwards."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def parse_chunk(path: str, start: int, text: str) -> Chunk:
    """Parse and index one YAML document's text, whose first line is `start` in the file."""
    with _no_gc():
        return _parse_chunk(path, start, text)


def _parse_chunk(path: str, start: int, text: str) -> Chunk:
    chunk = Chunk(start, text)
    try:
        docs = parse_text(path, text)
    except SourceError as exc:
        lines = text.splitlines()
        rng = error_range(lines, exc.line - 1, exc.column - 1, exc.cause)
        rng.line += start
        rng.end_line += start
        chunk.error = Problem(rng, Severity.ERROR, exc.cause, "yaml" if _is_yaml(exc) else "source")
        chunk.yaml_error = _is_yaml(exc)
        chunk.cause = SourceError(path, exc.line + start, exc.column, exc.cause)
        return chunk
    if not docs:
        return chunk
    lines_ = Lines(path, text)
    for doc in docs:
        indexer = next((i for i in INDEXERS if i.accepts(doc)), None)
        if indexer is None:
            continue
        try:
            chunk.docs.append(indexer.index(doc, lines_, start))
        except Exception:  # an indexer bug must not take the server down: log it, index the rest
            log.exception("internal error indexing %s/%s in %s", doc.kind, doc.name, path)
    for doc in docs:
        _release(doc)
    return chunk


def _release(doc: Document) -> None:
    """Break the back-links of a parsed document (step -> spec -> document, task ->
    pipeline) that nothing uses any more, so reference counting frees it and its YAML
    nodes at once instead of leaving a large cycle to the garbage collector (whose full
    passes over a big workspace cost more than parsing)."""
    specs = [doc.task, doc.pipeline]
    if doc.pipeline is not None:
        for task in doc.pipeline.all_tasks():
            task.pipeline = None
            specs.append(task.task)
    for spec in specs:
        if spec is None:
            continue
        spec.document = None
        if isinstance(spec, TaskSpec):
            for step in spec.steps:
                step.spec = None


def _is_yaml(exc: SourceError) -> bool:
    return exc.cause.startswith("invalid YAML")


class FileIndex:
    """The index of one file's current text."""

    def __init__(self, path: str, text: str = "", cancel: Callable[[], bool] | None = None) -> None:
        self.path = path
        self.text = ""
        self.chunks: list[Chunk] = []
        self.parsed = 0  # chunks parsed by the last update (for tests and the benchmark)
        self._keys: dict[tuple[str, str], DocIndex] | None = None
        self._starts: list[int] | None = None
        self._error: tuple[SourceError | None] | None = None
        self.update(text, cancel)

    def line(self, number: int) -> str | None:
        """The text of 0-based line `number` (None past the end), from the lines of its
        document only: converting a few columns must not split a big file every edit."""
        if self._starts is None:
            self._starts = [c.start for c in self.chunks]
        k = bisect.bisect_right(self._starts, number) - 1
        if k < 0:
            return None
        chunk = self.chunks[k]
        if chunk.lines is None:
            chunk.lines = chunk.text.split("\n")
        offset = number - chunk.start
        if offset >= len(chunk.lines) or (offset == len(chunk.lines) - 1 and k + 1 < len(self.chunks)):
            return None  # the empty piece after the document's last newline belongs to the next one
        return chunk.lines[offset]

    def update(self, text: str, cancel: Callable[[], bool] | None = None) -> tuple[list[DocIndex], list[DocIndex]]:
        """Index `text` (the whole new content); returns (removed, added) document indexes.
        `cancel()` is asked between documents; when true, `Cancelled` is raised and this
        index must be dropped."""
        pieces = split(text)
        new = [(line, text[s:e]) for line, s, e in pieces]
        old = self.chunks
        prefix = 0
        limit = min(len(old), len(new))
        while prefix < limit and old[prefix].text == new[prefix][1] and old[prefix].start == new[prefix][0]:
            prefix += 1
        suffix = 0
        while suffix < limit - prefix and old[len(old) - 1 - suffix].text == new[len(new) - 1 - suffix][1]:
            suffix += 1
        gone = old[prefix : len(old) - suffix]
        fresh: list[Chunk] = []
        for k, (line, piece) in enumerate(new[prefix : len(new) - suffix]):
            if cancel is not None and cancel():
                raise Cancelled(self.path)
            chunk = parse_chunk(self.path, line, piece)
            if chunk.error is not None and len(gone) == len(new) - prefix - suffix:
                before = gone[k]
                chunk.stale = before.docs or before.stale
                delta = line - before.start
                for ix in chunk.stale:
                    ix.shift(delta)
            fresh.append(chunk)
        kept = old[len(old) - suffix :] if suffix else []
        moved_errors = 0
        for k, (chunk, (line, piece)) in enumerate(zip(kept, new[len(new) - suffix :], strict=True)):
            if chunk.start == line:
                continue
            delta = line - chunk.start
            if chunk.error is not None:  # its message may name lines: parse it again (it is small)
                again = parse_chunk(self.path, line, piece)
                again.stale = chunk.stale
                kept[k] = chunk = again
                moved_errors += 1
            else:
                chunk.start = line
                for ix in chunk.docs:
                    ix.shift(delta)
            for ix in chunk.stale:
                ix.shift(delta)
        self.chunks = [*old[:prefix], *fresh, *kept]
        self.text = text
        self._keys = None
        self._starts = None
        self._error = None
        self.parsed = len(fresh) + moved_errors
        removed = [ix for chunk in gone for ix in chunk.docs]
        added = [ix for chunk in fresh for ix in chunk.docs]
        carried = {id(ix) for chunk in (*fresh, *kept) for ix in chunk.stale}
        for chunk in gone:
            for ix in (*chunk.docs, *chunk.stale):
                if id(ix) not in carried:
                    ix.release()
        return removed, added

    def release(self) -> None:
        """Free every index of this file (it is dropped)."""
        for chunk in self.chunks:
            for ix in (*chunk.docs, *chunk.stale):
                ix.release()

    # ---- what the file holds -----------------------------------------------------------

    def docs(self) -> Iterator[DocIndex]:
        for chunk in self.chunks:
            yield from chunk.docs

    def find(self, kind: str, name: str) -> DocIndex | None:
        """The first document `kind/name` of this file."""
        if self._keys is None:
            keys: dict[tuple[str, str], DocIndex] = {}
            for ix in self.docs():
                keys.setdefault(ix.key, ix)
            self._keys = keys
        return self._keys.get((kind, name))

    def error(self) -> SourceError | None:
        """The first error the source map reports in this file (the debugger refuses a
        file with one, and skips it when it looks for referenced documents)."""
        if self._error is None:
            self._error = (next((c.cause for c in self.chunks if c.cause is not None), None),)
        return self._error[0]

    def yaml_error(self) -> Problem | None:
        return next((c.error for c in self.chunks if c.yaml_error and c.error is not None), None)

    def local_problems(self) -> list[Problem]:
        """Problems found inside this file's documents; a YAML syntax error hides the rest."""
        syntax = self.yaml_error()
        if syntax is not None:
            return [syntax]
        out: list[Problem] = []
        for chunk in self.chunks:
            if chunk.error is not None:
                out.append(chunk.error)
            for ix in chunk.docs:
                out.extend(ix.problems)
        return out

    def doc_at(self, line: int, *, stale: bool = False) -> DocIndex | None:
        """The document whose lines contain `line`; with `stale`, the last good index of a
        document that does not parse right now (for completion while typing)."""
        if self._starts is None:
            self._starts = [c.start for c in self.chunks]
        k = bisect.bisect_right(self._starts, line) - 1
        if k < 0:
            return None
        chunk = self.chunks[k]
        for ix in chunk.docs or (chunk.stale if stale else []):
            if ix.range.line <= line <= ix.range.end_line:
                return ix
        if stale:  # between documents, or in the part of a document not yet typed
            for before in reversed(self.chunks[: k + 1]):
                candidates = [ix for ix in before.docs or before.stale if ix.range.line <= line]
                if candidates:
                    return candidates[-1]
        return None
