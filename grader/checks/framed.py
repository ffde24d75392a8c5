"""The grader's own side of step 06's frame protocol, written apart from any
submission: a 5-byte header (kind: 1 byte, length: 4 bytes big-endian), then
the payload."""

from __future__ import annotations

import struct

from grader.peers import FakeConnection, Peer

HEADER = struct.Struct("!BI")
ECHO, GET, DATA, DONE, ERROR = 1, 2, 3, 4, 5
KIND_NAMES = {ECHO: "ECHO", GET: "GET", DATA: "DATA", DONE: "DONE", ERROR: "ERROR"}
FRAME_HINT = ("read exactly 5 header bytes first (they may come in several recv() calls), "
              "then exactly the number of payload bytes the header announces")


def frame(kind: int, payload: bytes) -> bytes:
    return HEADER.pack(kind, len(payload)) + payload


def kind_name(kind: int) -> str:
    return KIND_NAMES.get(kind, f"unknown kind {kind}")


def receive_frame(peer: Peer, waiting_for: str, timeout: float | None = None) -> tuple[int, bytes]:
    """The next whole frame from the server: (kind, payload)."""
    extra = {} if timeout is None else {"timeout": timeout}
    kind, length = HEADER.unpack(peer.receive_exactly(
        HEADER.size, waiting_for=f"the header of {waiting_for}", hint=FRAME_HINT, **extra))
    payload = peer.receive_exactly(length, waiting_for=f"the {length:,} payload bytes of "
                                                       f"{waiting_for}", hint=FRAME_HINT,
                                   **extra)
    return kind, payload


def read_frame_from_client(connection: FakeConnection) -> tuple[int, bytes] | None:
    """The next frame a student's client sends to the grader's stand-in server."""
    received = bytearray()
    while len(received) < HEADER.size or len(received) < HEADER.size + HEADER.unpack(
            received[:HEADER.size])[1]:
        data = connection.recv(65536)
        if not data:
            return None
        received += data
    kind, length = HEADER.unpack(received[:HEADER.size])
    return kind, bytes(received[HEADER.size:HEADER.size + length])
