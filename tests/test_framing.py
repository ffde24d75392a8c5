"""The reference line framing, byte by byte: split, coalesced, too long."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest

from tests.grading import SOLUTIONS


def load_framing() -> ModuleType:
    path = SOLUTIONS / "03_messages" / "framing.py"
    spec = importlib.util.spec_from_file_location("framing", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


framing = load_framing()


def test_a_line_split_over_many_pieces_comes_out_once_whole() -> None:
    buffer = framing.LineBuffer()
    assert buffer.feed(b"hel") == []
    assert buffer.has_partial_line()
    assert buffer.feed(b"lo wor") == []
    assert buffer.feed(b"ld\n") == [b"hello world"]
    assert not buffer.has_partial_line()


def test_many_lines_in_one_piece_come_out_in_order() -> None:
    buffer = framing.LineBuffer()
    assert buffer.feed(b"one\ntwo\nthree\nfo") == [b"one", b"two", b"three"]
    assert buffer.feed(b"ur\n") == [b"four"]


def test_every_byte_fed_alone_gives_the_same_lines() -> None:
    buffer = framing.LineBuffer()
    lines = []
    for byte in b"a\n\nbc\n":
        lines += buffer.feed(bytes([byte]))
    assert lines == [b"a", b"", b"bc"]


def test_a_line_longer_than_the_limit_is_refused_before_its_end_arrives() -> None:
    buffer = framing.LineBuffer(max_line=10)
    with pytest.raises(framing.LineTooLong):
        buffer.feed(b"x" * 11)


def test_a_complete_line_longer_than_the_limit_is_refused() -> None:
    buffer = framing.LineBuffer(max_line=10)
    with pytest.raises(framing.LineTooLong):
        buffer.feed(b"x" * 11 + b"\n")


def test_encode_line_ends_a_message_with_newline() -> None:
    assert framing.encode_line(b"hi") == b"hi\n"


@pytest.mark.parametrize("pieces", [
    [b"one\ntwo\nthree\nfo", b"ur\n"],
    [bytes([byte]) for byte in b"one\ntwo\nthree\nfour\n"],
    [b"one\ntwo\nthree\nfour\n"],
    [b"o", b"ne\ntwo\nth", b"", b"ree\nfour\n"],
])
def test_whole_lines_come_out_as_blocks_holding_the_same_bytes(pieces: list[bytes]) -> None:
    buffer = framing.LineBuffer()
    blocks = [buffer.feed_whole_lines(piece) for piece in pieces]
    assert b"".join(blocks) == b"one\ntwo\nthree\nfour\n"
    assert all(block.endswith(b"\n") for block in blocks if block)
    assert not buffer.has_partial_line()


def test_whole_lines_hold_back_the_unfinished_one() -> None:
    buffer = framing.LineBuffer()
    assert buffer.feed_whole_lines(b"ab\ncd") == b"ab\n"
    assert buffer.has_partial_line()
    assert buffer.feed_whole_lines(b"ef") == b""
    assert buffer.feed_whole_lines(b"\ngh\n") == b"cdef\ngh\n"


@pytest.mark.parametrize("pieces", [
    [b"x" * 11],  # the unfinished line alone is too long
    [b"x" * 11 + b"\n"],  # a complete line is too long
    [b"ok\n" * 5 + b"x" * 11 + b"\nok\n"],  # a long line hidden among short ones
    [b"x" * 6, b"x" * 5 + b"\n"],  # too long only once its pieces are joined
])
def test_whole_lines_refuse_a_line_over_the_limit(pieces: list[bytes]) -> None:
    buffer = framing.LineBuffer(max_line=10)
    with pytest.raises(framing.LineTooLong):
        for piece in pieces:
            buffer.feed_whole_lines(piece)


def test_a_line_of_exactly_the_limit_passes_whole() -> None:
    buffer = framing.LineBuffer(max_line=10)
    assert buffer.feed_whole_lines(b"x" * 10 + b"\n" + b"y" * 10) == b"x" * 10 + b"\n"
