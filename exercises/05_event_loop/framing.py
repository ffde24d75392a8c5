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
        """Start with nothing pending.

        1. self._pending = bytearray(): received bytes that do not end a line yet.
        2. self._max_line = max_line: the longest line accepted.
        """
        raise NotImplementedError("step 03_messages: write __init__")

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return the lines they complete, without b"\\n".

        1. Append data to self._pending.
        2. Cut out every complete line: the bytes before each b"\\n" (use find()).
        3. Keep only what follows the last b"\\n": the start of the next line.
        4. If a line or the kept part is longer than self._max_line, raise LineTooLong.
        5. Return the complete lines, a list of bytes (maybe empty).
        """
        raise NotImplementedError("step 03_messages: write feed")

    def feed_whole_lines(self, data: bytes) -> bytes:
        """Add received bytes; return the lines they complete as one block of
        bytes, each line still ending in b"\n" (b"" if none is complete).

        Step 05's server uses it: an echo passes lines on unchanged, so cutting
        them apart only to join them again would copy every byte twice.

        1. end = data.rfind(b"\n") + 1: where the last complete line in data ends (0: none).
        2. No end: append data to self._pending; the block is b"".
        3. Otherwise the block is self._pending followed by data[:end]; then
           self._pending keeps only data[end:].
        4. If self._pending is longer than self._max_line, or the block is and
           _longest_line(block) is too, raise LineTooLong.
        5. Return the block.
        """
        raise NotImplementedError("step 03_messages: write feed_whole_lines")

    def has_partial_line(self) -> bool:
        """True while the start of a line waits for its end.

        1. Return True if self._pending holds any bytes, else False: bool(...).
        """
        raise NotImplementedError("step 03_messages: write has_partial_line")


def _longest_line(block: bytes) -> int:
    """Length of the longest line in a block of whole lines, without its b"\n"."""
    longest = start = 0
    while (newline := block.find(b"\n", start)) != -1:
        longest = max(longest, newline - start)
        start = newline + 1
    return longest


def encode_line(message: bytes) -> bytes:
    """Frame one message for sending.

    1. Return the message with b"\\n" added at its end.
    """
    raise NotImplementedError("step 03_messages: write encode_line")
