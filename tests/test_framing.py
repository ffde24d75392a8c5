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
