"""Length-prefixed binary frames: a fixed 5-byte header, then the payload.

    +------+----------------+------------------------+
    | kind | length         | payload: length bytes  |
    | 1 B  | 4 B, big-endian|                        |
    +------+----------------+------------------------+

Unlike a line, a frame can carry any bytes, newlines included, and its size
is known before it arrives. `FrameDecoder` turns received bytes into events:
a frame starts (kind and length), a piece of its payload, the frame ends. The
payload is handed out piece by piece as it arrives, so a frame of many
megabytes never has to sit whole in memory. A header may itself arrive split.
No sockets here: it is tested with plain bytes.
"""

import struct
from dataclasses import dataclass

HEADER = struct.Struct("!BI")

ECHO = 1  # client -> server: send this payload back
GET = 2  # client -> server: send me the file named in the payload
DATA = 3  # server -> client: a reply payload (an echo, or a file's contents)
DONE = 4  # server -> client: after a file's DATA, its SHA-256 as hex
ERROR = 5  # server -> client: what went wrong, as text; the server then closes

MAX_REQUEST = 16 * 1024 * 1024  # the largest payload a server accepts


class FrameTooLarge(ValueError):
    """A header announced more than the limit: refused before any payload is read."""


class BadFrame(ValueError):
    """A header carried a kind this protocol does not know."""


@dataclass(frozen=True)
class FrameStart:
    kind: int
    length: int


@dataclass(frozen=True)
class Payload:
    data: bytes


@dataclass(frozen=True)
class FrameEnd:
    kind: int


Event = FrameStart | Payload | FrameEnd


def encode_header(kind: int, length: int) -> bytes:
    """The 5-byte header of a frame of this kind and payload length.

    1. Pack it with HEADER.pack(kind, length): HEADER is struct.Struct("!BI"),
       one byte of kind, then four bytes of length, big-endian ("!").
    2. Return those 5 bytes.
    """
    raise NotImplementedError("step 06_streaming: write encode_header")


def encode_frame(kind: int, payload: bytes) -> bytes:
    """A whole frame: its header, then its payload.

    1. header = HEADER.pack(kind, len(payload)): the length is the payload's.
    2. Return header + payload.
    """
    raise NotImplementedError("step 06_streaming: write encode_frame")


class FrameDecoder:
    """Bytes in, frame events out; at most a header's worth of bytes kept between calls."""

    def __init__(self, max_length: int = MAX_REQUEST) -> None:
        self._max_length = max_length
        self._header = bytearray()
        self._kind = 0
        self._remaining = -1  # payload bytes still to come; -1 while reading a header

    def feed(self, data: bytes) -> list[Event]:
        """Take the next received bytes; return the events they complete, in order.

        1. events = []; view = memoryview(data) (slicing a memoryview copies nothing).
        2. While view is not empty: if self._remaining < 0 (a header is being read),
           view = self._read_header(view, events).
        3. Otherwise piece = view[:self._remaining]; view = view[len(piece):];
           self._remaining -= len(piece); events.append(Payload(bytes(piece))).
        4. Each time self._remaining is 0 (also right after a header of length 0):
           events.append(FrameEnd(self._kind)); self._remaining = -1.
        5. Return events (maybe empty: half a header gives no event yet).
        """
        raise NotImplementedError("step 06_streaming: write feed")

    def _read_header(self, view: memoryview, events: list[Event]) -> memoryview:
        """Take header bytes from the front of `view`; return what is left of it.

        1. needed = HEADER.size - len(self._header); self._header += view[:needed].
        2. Still fewer than HEADER.size bytes? Return view[needed:] (empty): wait for more.
        3. kind, length = HEADER.unpack(self._header); self._header.clear().
        4. kind not in (ECHO, GET, DATA, DONE, ERROR): raise BadFrame(...);
           length > self._max_length: raise FrameTooLarge(...), before any payload.
        5. self._kind, self._remaining = kind, length; events.append(FrameStart(kind, length)).
        6. Return view[needed:]: the bytes after the header.
        """
        raise NotImplementedError("step 06_streaming: write _read_header")
