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
        while self.position == len(self.events):
            data = self.sock.recv(BUFFER_SIZE)
            if not data:
                raise TransferError("the server closed the connection in the middle of a reply")
            self.events = self.decoder.feed(data)
            self.position = 0
        event = self.events[self.position]
        self.position += 1
        return event

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
    """Send one message as an ECHO frame; return the reply."""
    receiver.sock.sendall(encode_frame(ECHO, message.encode()))
    start = receiver.next_frame_start()
    payload = receiver.payload_of(start)
    if start.kind != DATA:
        raise TransferError(f"expected a DATA frame, got kind {start.kind}")
    return payload.decode(errors="replace")


def download(receiver: FrameReceiver, name: str, out: Path) -> int:
    """Fetch a file into `out`, checking its SHA-256; return its size.

    The size needs no check of its own: the frame ends after exactly the length
    its header announced, or the connection breaks first (TransferError)."""
    receiver.sock.sendall(encode_frame(GET, name.encode()))
    start = receiver.next_frame_start()
    if start.kind != DATA:
        receiver.payload_of(start)  # raises with the server's ERROR text
        raise TransferError(f"expected a DATA frame, got kind {start.kind}")
    # Written under another name, renamed only once checked: a failed download
    # never leaves a file that looks complete.
    partial = out.with_name(out.name + ".part")
    try:
        digest = receive_into(receiver, start, partial)
        done = receiver.next_frame_start()
        expected = receiver.payload_of(done).decode()
        if done.kind != DONE or expected != digest:
            raise TransferError(f"the file arrived damaged: SHA-256 {digest}, the server "
                                f"announced {expected}")
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, out)
    return start.length


def receive_into(receiver: FrameReceiver, start: FrameStart, path: Path) -> str:
    """Write a DATA frame's payload to `path` as it arrives; its SHA-256 in hex."""
    digest = hashlib.sha256()
    received = 0
    shown = 0
    with open(path, "wb") as stream:
        while not isinstance(event := receiver.next_event(), FrameEnd):
            assert isinstance(event, Payload)
            stream.write(event.data)
            digest.update(event.data)
            received += len(event.data)
            tenth = received * 10 // max(start.length, 1)
            if start.length > PROGRESS_FROM and tenth > shown:
                shown = tenth
                print(f"received {tenth * 10}% ({received / 1e6:.1f} of "
                      f"{start.length / 1e6:.1f} MB)", file=sys.stderr, flush=True)
    return digest.hexdigest()


def run(args: argparse.Namespace) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(args.timeout)
    try:
        sock.connect((args.host, args.port))
        receiver = FrameReceiver(sock)
        for message in args.message:
            print(echo(receiver, message), flush=True)
        if args.get:
            out = Path(args.out or Path(args.get).name)
            size = download(receiver, args.get, out)
            print(f"saved {out}: {size} bytes, SHA-256 checked", flush=True)
    finally:
        sock.close()


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
