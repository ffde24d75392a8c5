"""Line framing: one message per line, ended by b"\\n".

TCP delivers a stream of bytes, not messages: one `recv` may return half a
line, or three lines and a half. `LineBuffer` turns those pieces back into
whole lines. It touches no socket, so it can be tested with plain bytes.
"""

MAX_LINE = 64 * 1024


class LineTooLong(ValueError):
    """A line grew past the limit before its end arrived."""


class LineBuffer:
    """Collects received bytes and hands out complete lines."""

    def __init__(self, max_line: int = MAX_LINE) -> None:
        raise NotImplementedError("step 03_messages: write __init__")

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return the lines they complete, without b"\\n"."""
        raise NotImplementedError("step 03_messages: write feed")

    def has_partial_line(self) -> bool:
        """True while the start of a line waits for its end."""
        raise NotImplementedError("step 03_messages: write has_partial_line")


def encode_line(message: bytes) -> bytes:
    """Frame one message for sending."""
    raise NotImplementedError("step 03_messages: write encode_line")
