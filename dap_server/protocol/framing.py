"""Sans-IO framing of DAP messages: `Content-Length` headers, JSON bodies.

`FrameDecoder.feed(data)` takes whatever bytes arrived (part of a frame, several
frames) and returns the complete messages; `encode(message)` makes one frame.
No I/O happens here, so the same code serves stdio, TCP and the client.
"""

from __future__ import annotations

import json
from typing import Any

HEADER_END = b"\r\n\r\n"
MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 256 * 1024 * 1024


class FramingError(Exception):
    """A frame that cannot be decoded.

    The decoder has already skipped the bad frame (or header block), so decoding can
    go on with `feed(b"")`. `messages` holds what this `feed` call decoded before the
    error, so nothing that arrived intact is lost.
    """

    def __init__(self, message: str, messages: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.messages: list[dict[str, Any]] = messages or []


def encode(message: dict[str, Any]) -> bytes:
    """One frame: the `Content-Length` header and the UTF-8 JSON body."""
    body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class FrameDecoder:
    """Turns a byte stream into DAP messages (dicts)."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._body_length: int | None = None  # header parsed, waiting for this many body bytes

    @property
    def pending(self) -> int:
        """Bytes buffered that do not yet make a complete frame."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        """Add `data`; return every message completed by it, in order.

        Raises `FramingError` for a bad header, bad JSON or a body that is not a JSON
        object; the bad frame is dropped and the next `feed` continues after it.
        """
        self._buffer += data
        messages: list[dict[str, Any]] = []
        while True:
            try:
                message = self._next()
            except FramingError as error:
                error.messages = messages
                raise
            if message is None:
                return messages
            messages.append(message)

    def _next(self) -> dict[str, Any] | None:
        if self._body_length is None:
            end = self._buffer.find(HEADER_END)
            if end < 0:
                if len(self._buffer) > MAX_HEADER_BYTES:
                    size = len(self._buffer)
                    self._buffer.clear()
                    raise FramingError(f"no end of header (CRLF CRLF) in {size} bytes; input dropped")
                return None
            header = bytes(self._buffer[:end])
            del self._buffer[: end + len(HEADER_END)]
            self._body_length = _content_length(header)
        if len(self._buffer) < self._body_length:
            return None
        body = bytes(self._buffer[: self._body_length])
        del self._buffer[: self._body_length]
        self._body_length = None
        try:
            message = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise FramingError(f"frame body is not valid JSON ({error}): {_preview(body)}") from None
        if not isinstance(message, dict):
            raise FramingError(f"frame body is not a JSON object: {_preview(body)}")
        return message


def _content_length(header: bytes) -> int:
    """The Content-Length of a header block; other header fields are ignored."""
    try:
        text = header.decode("ascii")
    except UnicodeDecodeError:
        raise FramingError(f"header is not ASCII: {_preview(header)}") from None
    length: int | None = None
    for line in text.split("\r\n"):
        name, colon, value = line.partition(":")
        if not colon:
            raise FramingError(f"bad header line {line!r} (expected 'Name: value')")
        if name.strip().lower() == "content-length":
            value = value.strip()
            if not value.isdigit():
                raise FramingError(f"bad Content-Length {value!r}")
            length = int(value)
    if length is None:
        raise FramingError(f"header without Content-Length: {text!r}")
    if length > MAX_BODY_BYTES:
        raise FramingError(f"Content-Length {length} is larger than the limit of {MAX_BODY_BYTES} bytes")
    return length


def _preview(data: bytes, limit: int = 120) -> str:
    text = data[:limit].decode("utf-8", errors="replace")
    return repr(text) + ("..." if len(data) > limit else "")
