"""Reading pipeline files: `parse_text` for a buffer, `load_file` from disk (cached)."""

from __future__ import annotations

import os

from . import argo, tekton
from .compose import Lines, compose
from .model import Document, SourceError

# realpath -> (mtime_ns, size, documents or the error the file gives)
_CACHE: dict[str, tuple[int, int, list[Document] | SourceError]] = {}

# Bytes a file must contain to hold a document this package maps (cheap pre-filter
# when indexing search paths full of unrelated YAML).
MARKERS = (b"tekton.dev", b"argoproj.io")


def parse(path: str, text: str) -> list[Document]:
    """Tekton and Argo documents of one file's text, in file order (others are skipped)."""
    if argo.GROUP not in text:
        return tekton.parse(path, text)
    roots = compose(path, text)
    lines = Lines(path, text)
    tekton_walker = tekton._Walker(path, lines)
    argo_walker = argo.ArgoWalker(path, lines)
    docs: list[Document] = []
    for index, root in enumerate(roots):
        doc: Document | None = argo_walker.document(index, root) or tekton_walker.document(index, root)
        if doc is not None:
            docs.append(doc)
    return docs


def parse_text(path: str, text: str) -> list[Document]:
    """The source map of one file's text (an unsaved buffer); `path` is used as given."""
    return parse(path, text)


def load_file(path: str) -> list[Document]:
    """The source map of a file on disk, cached by (realpath, mtime_ns, size).

    Spans carry the file's absolute real path. The documents are shared by every
    caller: treat them as read-only (SourceSet works on its own copies)."""
    result = _load(os.path.realpath(path), None)
    if isinstance(result, SourceError):  # a fresh exception: the cached one keeps no traceback
        raise SourceError(result.path, result.line, result.column, result.cause)
    return result


def _load(real: str, markers: tuple[bytes, ...] | None) -> list[Document] | SourceError:
    """Documents or the SourceError of `real`; with `markers`, a file containing none of
    them is not parsed (and not cached) and gives no documents."""
    try:
        stat = os.stat(real)
        cached = _CACHE.get(real)
        if cached is not None and cached[0] == stat.st_mtime_ns and cached[1] == stat.st_size:
            return cached[2]
        with open(real, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        return SourceError(real, 1, 1, f"cannot read the file: {exc.strerror or exc}")
    if markers is not None and not any(marker in data for marker in markers):
        return []
    result = _decode_and_parse(real, data)
    _CACHE[real] = (stat.st_mtime_ns, stat.st_size, result)
    return result


def _decode_and_parse(real: str, data: bytes) -> list[Document] | SourceError:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return SourceError(real, line, column, "the file is not UTF-8 text")
    try:
        return parse(real, text)
    except SourceError as exc:
        return exc
