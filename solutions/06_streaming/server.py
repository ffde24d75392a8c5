"""Step 06: large messages on the event loop, with a bounded memory.

The server of step 05, speaking frames instead of lines (see frames.py):

    ECHO payload  ->  DATA with the same payload
    GET name      ->  DATA with the contents of the file `name` in --root,
                      then DONE with the SHA-256 of those contents

A reply can be far larger than memory allows to hold for every client at
once, so nothing is ever held whole. An echoed payload is passed on piece by
piece as it arrives; a file is read from disk a chunk at a time, only when
the connection's outbox has drained below LOW_WATER. Reading from a client
stops while its outbox is above HIGH_WATER (backpressure: a client that does
not read its replies cannot make us buffer them). So each connection holds at
most about HIGH_WATER + READ_SIZE bytes, whatever the sizes of its messages.

A connection's life:

    reading   frames come in; replies are queued and sent as the socket allows
    sending   a file is on its way: no new request is read until it is done
    refusing  an ERROR frame is queued; once it is sent our side is shut and
              the client's bytes are read and dropped until it closes (or for
              LINGER_SECONDS), so no reset destroys the ERROR before it is read
    draining  the client closed its sending side: the replies owed are sent
    closed    unregistered from the selector, then closed
"""

import argparse
import hashlib
import os
import selectors
import socket
import time
from collections import deque
from pathlib import Path
from typing import BinaryIO

from frames import (
    DATA,
    DONE,
    ECHO,
    ERROR,
    GET,
    MAX_REQUEST,
    BadFrame,
    Event,
    FrameDecoder,
    FrameStart,
    FrameTooLarge,
    Payload,
    encode_frame,
    encode_header,
)

READ_SIZE = 64 * 1024
WRITE_SIZE = 256 * 1024  # per event: one busy client cannot starve the others
CHUNK_SIZE = 64 * 1024  # read from a file at a time
HIGH_WATER = 256 * 1024  # stop reading a client whose outbox is above this
LOW_WATER = 64 * 1024  # read the next file chunk once the outbox is below this
MAX_NAME = 255
ACCEPT_BATCH = 64
LINGER_SECONDS = 2.0  # how long a refused client's bytes are read and dropped


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Frame echo and file server on an event loop.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=2000, help="port (0: any free port)")
    parser.add_argument("--idle-timeout", type=float, default=60.0,
                        help="seconds a client may stay silent before it is dropped")
    parser.add_argument("--root", default=".", help="folder of the files clients may GET")
    return parser.parse_args()


class FileSender:
    """A file on its way out: read a chunk at a time, hashed as it goes."""

    def __init__(self, stream: BinaryIO, size: int) -> None:
        self.stream = stream
        self.remaining = size  # exactly what the DATA header announced
        self.digest = hashlib.sha256()

    def refill(self, outbox: bytearray) -> bool:
        """Append the next chunk (and DONE after the last); True once all is queued."""
        if self.remaining:
            chunk = self.stream.read(min(CHUNK_SIZE, self.remaining))
            if not chunk:
                # The file shrank after its size was announced: the frame cannot
                # be finished honestly, so the connection must end.
                raise OSError("the file changed while it was being sent")
            self.remaining -= len(chunk)
            self.digest.update(chunk)
            outbox += chunk
            return False
        outbox += encode_frame(DONE, self.digest.hexdigest().encode())
        self.stream.close()
        return True

    def close(self) -> None:
        self.stream.close()


class Connection:
    """One client: its decoder, the requests waiting, what we owe it."""

    def __init__(self, sock: socket.socket, address: tuple[str, int], root: Path) -> None:
        self.sock = sock
        self.address = address
        self.root = root
        self.decoder = FrameDecoder(MAX_REQUEST)
        # Events decoded but not handled yet: what came in the same recv() as a
        # GET waits until that file is sent, so replies never interleave.
        self.pending: deque[Event] = deque()
        self.request_kind = 0
        self.file_name = bytearray()
        self.outbox = bytearray()
        self.file: FileSender | None = None
        self.refusing = False
        self.lingering_since: float | None = None
        self.draining = False
        self.events = selectors.EVENT_READ
        self.last_active = time.monotonic()

    def read(self) -> None:
        try:
            data = self.sock.recv(READ_SIZE)
        except BlockingIOError:
            return
        self.last_active = time.monotonic()
        if not data:
            self.draining = True
        elif not self.refusing:  # a refused client's bytes are read and thrown away
            try:
                self.pending.extend(self.decoder.feed(data))
            except (FrameTooLarge, BadFrame) as error:
                self.refuse(str(error))
        self.handle_pending()

    def handle_pending(self) -> None:
        """Handle decoded requests in order, pausing while a file is on its way."""
        while self.pending and self.file is None and not self.refusing:
            try:
                self._handle(self.pending.popleft())
            except BadFrame as error:
                self.refuse(str(error))

    def _handle(self, event: Event) -> None:
        if isinstance(event, FrameStart):
            self.request_kind = event.kind
            if event.kind == ECHO:
                self.outbox += encode_header(DATA, event.length)
            elif event.kind == GET and event.length <= MAX_NAME:
                self.file_name.clear()
            else:
                raise BadFrame("a client sends ECHO frames, or GET frames with a short file name")
        elif isinstance(event, Payload):
            if self.request_kind == ECHO:
                self.outbox += event.data  # passed on at once: never a whole frame in memory
            else:
                self.file_name += event.data
        elif event.kind == GET:
            self._start_file(self.file_name.decode(errors="replace"))

    def _start_file(self, name: str) -> None:
        path = self.root / name
        # A plain name only: "../secret" or "/etc/passwd" must not leave --root.
        if not name or Path(name).name != name or not path.is_file():
            self.refuse(f"no file named {name!r}")
            return
        stream = open(path, "rb")  # noqa: SIM115 - closed by FileSender when sent or dropped
        size = os.fstat(stream.fileno()).st_size
        self.outbox += encode_header(DATA, size)
        self.file = FileSender(stream, size)

    def refuse(self, reason: str) -> None:
        """Queue an ERROR frame; nothing more is answered, and the connection ends."""
        self.outbox += encode_frame(ERROR, reason.encode())
        self.refusing = True
        self.pending.clear()

    def write(self) -> None:
        if self.file is not None and len(self.outbox) < LOW_WATER and self.file.refill(self.outbox):
            self.file = None
            self.handle_pending()
        if self.outbox:
            try:
                sent = self.sock.send(self.outbox[:WRITE_SIZE])
            except BlockingIOError:
                return
            del self.outbox[:sent]
            self.last_active = time.monotonic()
        if self.refusing and not self.outbox and self.lingering_since is None:
            # The ERROR is out. Closing now, with the client's bytes still
            # arriving, would send a reset that can destroy the ERROR before the
            # client reads it: end our side, read and drop theirs for a while.
            self.sock.shutdown(socket.SHUT_WR)
            self.lingering_since = time.monotonic()

    def wanted_events(self) -> int:
        events = 0
        busy = self.file is not None or bool(self.pending)
        if not self.draining and not busy and len(self.outbox) < HIGH_WATER:
            events |= selectors.EVENT_READ
        if self.outbox or self.file is not None:
            events |= selectors.EVENT_WRITE
        return events

    def finished(self) -> bool:
        if self.lingering_since is not None:
            return self.draining
        return self.draining and not self.outbox and self.file is None and not self.pending

    def deadline(self, idle_timeout: float) -> float:
        """When the server closes this connection if nothing else happens first."""
        if self.lingering_since is not None:
            return min(self.lingering_since + LINGER_SECONDS, self.last_active + idle_timeout)
        return self.last_active + idle_timeout

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
        self.sock.close()


class StreamingServer:
    """The listening socket and every connection, driven by one selector."""

    def __init__(self, host: str, port: int, idle_timeout: float, root: Path) -> None:
        self.idle_timeout = idle_timeout
        self.root = root
        self.selector = selectors.DefaultSelector()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # SO_REUSEADDR (SO_EXCLUSIVEADDRUSE on Windows): as in step 01.
        self.listener.setsockopt(socket.SOL_SOCKET,
                                 getattr(socket, "SO_EXCLUSIVEADDRUSE", socket.SO_REUSEADDR), 1)
        self.listener.bind((host, port))
        self.listener.listen(128)
        self.listener.setblocking(False)
        self.selector.register(self.listener, selectors.EVENT_READ, data=None)
        self.connections: set[Connection] = set()

    @property
    def port(self) -> int:
        return int(self.listener.getsockname()[1])

    def serve_forever(self) -> None:
        while True:
            for key, mask in self.selector.select(timeout=self._seconds_to_next_timeout()):
                if key.data is None:
                    self._accept_waiting_clients()
                else:
                    self._service(key.data, mask)
            self._drop_idle_clients()

    def close(self) -> None:
        for conn in list(self.connections):
            self._close(conn)
        self.selector.unregister(self.listener)
        self.listener.close()
        self.selector.close()

    def _accept_waiting_clients(self) -> None:
        for _ in range(ACCEPT_BATCH):
            try:
                sock, address = self.listener.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return
            sock.setblocking(False)
            conn = Connection(sock, address, self.root)
            self.connections.add(conn)
            self.selector.register(sock, conn.events, data=conn)

    def _service(self, conn: Connection, mask: int) -> None:
        try:
            if mask & selectors.EVENT_READ:
                conn.read()
            conn.write()
        except OSError:
            self._close(conn)
            return
        if conn.finished():
            self._close(conn)
            return
        wanted = conn.wanted_events()
        if wanted != conn.events:
            conn.events = wanted
            self.selector.modify(conn.sock, wanted, data=conn)

    def _close(self, conn: Connection) -> None:
        self.selector.unregister(conn.sock)
        conn.close()
        self.connections.discard(conn)

    def _seconds_to_next_timeout(self) -> float | None:
        if not self.connections:
            return None
        soonest = min(conn.deadline(self.idle_timeout) for conn in self.connections)
        return max(0.0, soonest - time.monotonic())

    def _drop_idle_clients(self) -> None:
        now = time.monotonic()
        for conn in [c for c in self.connections if c.deadline(self.idle_timeout) <= now]:
            self._close(conn)


def main() -> None:
    args = parse_args()
    server = StreamingServer(args.host, args.port, args.idle_timeout, Path(args.root))
    print(f"listening on {args.host}:{server.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("server stopped", flush=True)
    finally:
        server.close()


if __name__ == "__main__":
    main()
