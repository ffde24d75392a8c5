"""Step 06: a client for large messages.

Each MESSAGE goes out as an ECHO frame and its reply is printed. With --get
NAME the client downloads that file from the server, writing it to disk as it
arrives (never whole in memory), showing progress on stderr, and checks its
size and SHA-256 against what the server announced.
"""

import argparse
import hashlib
import os
import socket
import sys
from pathlib import Path

from frames import (
    DATA,
    DONE,
    ECHO,
    ERROR,
    GET,
    FrameDecoder,
    FrameEnd,
    FrameStart,
    Payload,
    encode_frame,
)

BUFFER_SIZE = 64 * 1024
NO_LIMIT = 2**32 - 1  # a reply may be as large as a frame can say
PROGRESS_FROM = 1024 * 1024  # show progress for replies larger than this


class TransferError(Exception):
    """The server's reply is not what the protocol promised."""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Frame echo and file client.")
    parser.add_argument("--host", default="127.0.0.1", help="server address")
    parser.add_argument("--port", type=int, default=2000, help="server port")
    parser.add_argument("--timeout", type=float, default=5.0,
                        help="seconds to wait for the server before giving up")
    parser.add_argument("--get", metavar="NAME", help="download this file from the server")
    parser.add_argument("--out", metavar="PATH", help="where to save it (default: NAME here)")
    parser.add_argument("message", nargs="*", help="messages to send, one frame each")
    return parser.parse_args()


class FrameReceiver:
    """Reads a socket and hands out frame events one at a time."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.decoder = FrameDecoder(NO_LIMIT)
        self.events: list[FrameStart | Payload | FrameEnd] = []
        self.position = 0

    def next_event(self) -> FrameStart | Payload | FrameEnd:
        """The next frame event from the server, reading the socket when none is left.

        1. While self.position == len(self.events) (all handed out already):
           data = self.sock.recv(BUFFER_SIZE).
        2. If data is b"": raise TransferError(...): the server closed in mid-reply.
        3. self.events = self.decoder.feed(data); self.position = 0 (it may give none).
        4. event = self.events[self.position]; self.position += 1; return event.
        """
        raise NotImplementedError("step 06_streaming: write next_event")

    def next_frame_start(self) -> FrameStart:
        event = self.next_event()
        if not isinstance(event, FrameStart):
            raise TransferError("the server's reply does not start with a frame header")
        return event

    def payload_of(self, start: FrameStart) -> bytes:
        """The whole payload of a (small) frame."""
        parts = []
        while not isinstance(event := self.next_event(), FrameEnd):
            assert isinstance(event, Payload)
            parts.append(event.data)
        payload = b"".join(parts)
        if start.kind == ERROR:
            raise TransferError(f"the server says: {payload.decode(errors='replace')}")
        return payload


def echo(receiver: FrameReceiver, message: str) -> str:
    """Send one message as an ECHO frame; return the reply.

    1. receiver.sock.sendall(encode_frame(ECHO, message.encode())).
    2. start = receiver.next_frame_start(); payload = receiver.payload_of(start)
       (payload_of raises TransferError with the text of an ERROR frame).
    3. If start.kind != DATA: raise TransferError(...).
    4. Return payload.decode(errors="replace").
    """
    raise NotImplementedError("step 06_streaming: write echo")


def download(receiver: FrameReceiver, name: str, out: Path) -> int:
    """Fetch a file into `out`, checking its SHA-256; return its size.

    1. receiver.sock.sendall(encode_frame(GET, name.encode()));
       start = receiver.next_frame_start().
    2. Not DATA? receiver.payload_of(start) raises with the ERROR text; else raise
       TransferError.
    3. partial = out.with_name(out.name + ".part"); try:
       digest = receive_into(receiver, start, partial); then
       done = receiver.next_frame_start(); expected = receiver.payload_of(done).decode();
       done.kind != DONE or expected != digest: raise TransferError("... damaged ...").
    4. except BaseException: partial.unlink(missing_ok=True); raise (no half file left).
    5. os.replace(partial, out); return start.length.
    """
    raise NotImplementedError("step 06_streaming: write download")


def receive_into(receiver: FrameReceiver, start: FrameStart, path: Path) -> str:
    """Write a DATA frame's payload to `path` as it arrives; its SHA-256 in hex.

    1. digest = hashlib.sha256(); open(path, "wb").
    2. Until receiver.next_event() is a FrameEnd: write each Payload's data to the
       file, digest.update() it, count it; past PROGRESS_FROM, print every 10% to stderr.
    3. Return digest.hexdigest().
    """
    raise NotImplementedError("step 06_streaming: write receive_into")


def run(args: argparse.Namespace) -> None:
    """Connect, echo each message, then download --get if asked.

    1. sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM);
       sock.settimeout(args.timeout) before connect((args.host, args.port)).
    2. receiver = FrameReceiver(sock); for each m in args.message:
       print(echo(receiver, m), flush=True).
    3. If args.get: out = Path(args.out or Path(args.get).name);
       size = download(receiver, args.get, out); print that out was saved.
    4. Put 1-3 in try/finally: sock.close() in any case (main() reports the errors).
    """
    raise NotImplementedError("step 06_streaming: write run")


def main() -> None:
    args = parse_args()
    try:
        run(args)
    except TimeoutError:
        print(f"error: no answer from {args.host}:{args.port} within {args.timeout} s",
              file=sys.stderr)
        sys.exit(1)
    except (OSError, TransferError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
