"""Line framing: one message per line, ended by b"\\n".

TCP delivers a stream of bytes, not messages: one `recv` may return half a
line, or three lines and a half. `LineBuffer` turns those pieces back into
whole lines. It touches no socket, so it can be tested with plain bytes.
"""

MAX_LINE = 1024 * 1024


class LineTooLong(ValueError):
    """A line grew past the limit before its end arrived."""


class LineBuffer:
    """Collects received bytes and hands out complete lines."""

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self._pending = bytearray()
        self._max_line = max_line

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return the lines they complete, without b"\\n"."""
        # Only the new bytes can hold a new newline: searching from there keeps
        # a long line arriving in small pieces from costing quadratic time.
        search_from = len(self._pending)
        self._pending += data
        lines = []
        start = 0
        while (newline := self._pending.find(b"\n", search_from)) != -1:
            lines.append(bytes(self._pending[start:newline]))
            start = search_from = newline + 1
        del self._pending[:start]
        if len(self._pending) > self._max_line or any(len(line) > self._max_line for line in lines):
            raise LineTooLong(f"a line is longer than {self._max_line} bytes")
        return lines

    def feed_whole_lines(self, data: bytes) -> bytes:
        """Add received bytes; return the lines they complete as one block of
        bytes, each line still ending in b"\n" (b"" if none is complete).

        For a program that passes lines on unchanged, such as an echo server:
        cutting the lines apart only to join them again would copy every byte
        twice for nothing (it shows with long lines)."""
        end = data.rfind(b"\n") + 1
        if not end:
            self._pending += data
            block = b""
        elif self._pending:
            block = b"".join((self._pending, memoryview(data)[:end]))
            self._pending[:] = data[end:]
        else:
            block = data[:end]  # the whole of data when it ends a line: no copy
            self._pending += data[end:]
        if len(self._pending) > self._max_line or (
                len(block) > self._max_line and _longest_line(block) > self._max_line):
            raise LineTooLong(f"a line is longer than {self._max_line} bytes")
        return block

    def has_partial_line(self) -> bool:
        """True while the start of a line waits for its end."""
        return bool(self._pending)


def _longest_line(block: bytes) -> int:
    """Length of the longest line in a block of whole lines, without its b"\n"."""
    longest = start = 0
    while (newline := block.find(b"\n", start)) != -1:
        longest = max(longest, newline - start)
        start = newline + 1
    return longest


def encode_line(message: bytes) -> bytes:
    """Frame one message for sending."""
    return message + b"\n"
