"""FrameDecoder / encode: the sans-IO framing, bytes in, messages out."""

from __future__ import annotations

import json

import pytest

from dap_server.protocol.framing import FrameDecoder, FramingError, encode


def frame(body: bytes, extra_headers: bytes = b"") -> bytes:
    return b"Content-Length: %d\r\n" % len(body) + extra_headers + b"\r\n" + body


def test_encode_counts_bytes_not_characters() -> None:
    message = {"seq": 1, "type": "event", "event": "output", "body": {"output": "naïve \u2013 ✓\n"}}
    data = encode(message)
    header, _, body = data.partition(b"\r\n\r\n")
    assert header == b"Content-Length: %d" % len(body)
    assert len(body) > len(json.dumps(message, ensure_ascii=False, separators=(",", ":")))  # multi-byte chars
    assert json.loads(body) == message


def test_roundtrip_of_several_frames_in_one_chunk() -> None:
    messages = [{"seq": i, "type": "request", "command": f"c{i}"} for i in range(1, 4)]
    decoder = FrameDecoder()
    assert decoder.feed(b"".join(encode(m) for m in messages)) == messages
    assert decoder.pending == 0


def test_partial_frames_byte_by_byte() -> None:
    messages = [
        {"seq": 1, "type": "request", "command": "threads"},
        {"seq": 2, "type": "event", "event": "x"},
    ]
    data = b"".join(encode(m) for m in messages)
    decoder = FrameDecoder()
    out = []
    for i in range(len(data)):
        got = decoder.feed(data[i : i + 1])
        # a message appears exactly when its last byte arrives
        if got:
            assert i + 1 in (len(encode(messages[0])), len(data))
        out += got
    assert out == messages
    assert decoder.pending == 0


def test_split_inside_header_and_inside_body() -> None:
    data = encode({"seq": 7, "type": "request", "command": "next", "arguments": {"threadId": 3}})
    decoder = FrameDecoder()
    assert decoder.feed(data[:5]) == []  # "Conte"
    assert decoder.feed(data[5:25]) == []  # header done, body started
    assert decoder.pending > 0
    assert decoder.feed(data[25:]) == [{"seq": 7, "type": "request", "command": "next", "arguments": {"threadId": 3}}]


def test_other_headers_and_header_case_are_ignored() -> None:
    body = b'{"seq":1,"type":"request","command":"threads"}'
    data = b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\ncontent-length:  %d \r\n\r\n" % len(body)
    assert FrameDecoder().feed(data + body) == [{"seq": 1, "type": "request", "command": "threads"}]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"Content-Length: abc\r\n\r\n", "bad Content-Length 'abc'"),
        (b"Content-Length: -5\r\n\r\n", "bad Content-Length '-5'"),
        (b"Content-Type: x\r\n\r\n", "header without Content-Length"),
        (b"garbage\r\n\r\n", "bad header line 'garbage'"),
    ],
)
def test_bad_header_is_reported_and_skipped(header: bytes, expected: str) -> None:
    good = {"seq": 2, "type": "request", "command": "threads"}
    decoder = FrameDecoder()
    with pytest.raises(FramingError) as caught:
        decoder.feed(header + encode(good))
    assert expected in str(caught.value)
    assert caught.value.messages == []
    # decoding goes on after the bad header block
    assert decoder.feed(b"") == [good]


def test_messages_before_an_error_are_kept() -> None:
    first = {"seq": 1, "type": "request", "command": "a"}
    decoder = FrameDecoder()
    with pytest.raises(FramingError) as caught:
        decoder.feed(encode(first) + frame(b"{not json}") + encode({"seq": 3, "type": "event", "event": "e"}))
    assert "not valid JSON" in str(caught.value)
    assert caught.value.messages == [first]
    assert decoder.feed(b"") == [{"seq": 3, "type": "event", "event": "e"}]


@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"42", b"null"])
def test_body_that_is_not_an_object(body: bytes) -> None:
    decoder = FrameDecoder()
    with pytest.raises(FramingError, match="not a JSON object"):
        decoder.feed(frame(body))
    assert decoder.feed(b"") == []
    assert decoder.pending == 0


def test_invalid_utf8_body() -> None:
    with pytest.raises(FramingError, match="not valid JSON"):
        FrameDecoder().feed(frame(b'{"a": "\xff"}'))


def test_header_without_end_is_bounded() -> None:
    decoder = FrameDecoder()
    decoder.feed(b"Content-Length: 10\r\n")
    with pytest.raises(FramingError, match="no end of header"):
        decoder.feed(b"X" * (70 * 1024))
    assert decoder.pending == 0


def test_huge_content_length_is_refused() -> None:
    with pytest.raises(FramingError, match="larger than the limit"):
        FrameDecoder().feed(b"Content-Length: 999999999999\r\n\r\n")
