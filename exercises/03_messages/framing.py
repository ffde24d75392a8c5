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

    def has_partial_line(self) -> bool:
        """True while the start of a line waits for its end.

        1. Return True if self._pending holds any bytes, else False: bool(...).
        """
        raise NotImplementedError("step 03_messages: write has_partial_line")


def encode_line(message: bytes) -> bytes:
    """Frame one message for sending.

    1. Return the message with b"\\n" added at its end.
    """
    raise NotImplementedError("step 03_messages: write encode_line")
