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
    return HEADER.pack(kind, length)


def encode_frame(kind: int, payload: bytes) -> bytes:
    return HEADER.pack(kind, len(payload)) + payload


class FrameDecoder:
    """Bytes in, frame events out; at most a header's worth of bytes kept between calls."""

    def __init__(self, max_length: int = MAX_REQUEST) -> None:
        self._max_length = max_length
        self._header = bytearray()
        self._kind = 0
        self._remaining = -1  # payload bytes still to come; -1 while reading a header

    def feed(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        view = memoryview(data)
        while view:
            if self._remaining < 0:
                view = self._read_header(view, events)
            else:
                piece = view[:self._remaining]
                view = view[len(piece):]
                self._remaining -= len(piece)
                events.append(Payload(bytes(piece)))
            if self._remaining == 0:
                events.append(FrameEnd(self._kind))
                self._remaining = -1
        return events

    def _read_header(self, view: memoryview, events: list[Event]) -> memoryview:
        needed = HEADER.size - len(self._header)
        self._header += view[:needed]
        view = view[needed:]
        if len(self._header) == HEADER.size:
            kind, length = HEADER.unpack(self._header)
            self._header.clear()
            if kind not in (ECHO, GET, DATA, DONE, ERROR):
                raise BadFrame(f"unknown frame kind {kind}")
            if length > self._max_length:
                raise FrameTooLarge(f"a frame of {length} bytes is over the limit of "
                                    f"{self._max_length} bytes")
            self._kind, self._remaining = kind, length
            events.append(FrameStart(kind, length))
        return view
