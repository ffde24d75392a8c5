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
        """Append the next chunk (and DONE after the last); True once all is queued.

        1. While self.remaining > 0: chunk = self.stream.read(min(CHUNK_SIZE, self.remaining)).
           If chunk is b"" the file shrank: raise OSError (the connection must end).
        2. Otherwise: self.remaining -= len(chunk); self.digest.update(chunk);
           outbox += chunk; return False.
        3. Once nothing remains: outbox += encode_frame(DONE, self.digest.hexdigest().encode()).
        4. self.stream.close(); return True.
        """
        raise NotImplementedError("step 06_streaming: write refill")

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
        """Read what is there; handle every frame event it completes.

        1. data = self.sock.recv(READ_SIZE); on BlockingIOError just return.
        2. self.last_active = time.monotonic().
        3. If data is b"": the client is done sending: self.draining = True.
        4. Else, unless self.refusing (then the bytes are dropped): add the events of
           self.decoder.feed(data) to self.pending; on (FrameTooLarge, BadFrame) as
           error: self.refuse(str(error)).
        5. self.handle_pending().
        """
        raise NotImplementedError("step 06_streaming: write read")

    def handle_pending(self) -> None:
        """Handle decoded requests in order, pausing while a file is on its way.

        1. While self.pending, self.file is None and not self.refusing:
           self._handle(self.pending.popleft()).
        2. On BadFrame as error: self.refuse(str(error)).
        """
        raise NotImplementedError("step 06_streaming: write handle_pending")

    def _handle(self, event: Event) -> None:
        """Act on one frame event from the client.

        1. FrameStart: self.request_kind = event.kind. ECHO: self.outbox +=
           encode_header(DATA, event.length) at once. GET with event.length <= MAX_NAME:
           self.file_name.clear(). Any other frame: raise BadFrame("...").
        2. Payload: for an ECHO, self.outbox += event.data (passed on, never collected);
           for a GET, self.file_name += event.data.
        3. FrameEnd of a GET: self._start_file(self.file_name.decode(errors="replace")).
        """
        raise NotImplementedError("step 06_streaming: write _handle")

    def _start_file(self, name: str) -> None:
        """Start sending the file `name` from self.root, or refuse.

        1. path = self.root / name.
        2. If name is empty, Path(name).name != name ("../x", "/etc/passwd") or not
           path.is_file(): self.refuse(f"no file named {name!r}"); return.
        3. stream = open(path, "rb"); size = path.stat().st_size.
        4. self.outbox += encode_header(DATA, size): only the header for now.
        5. self.file = FileSender(stream, size): write() reads the chunks later.
        """
        raise NotImplementedError("step 06_streaming: write _start_file")

    def refuse(self, reason: str) -> None:
        """Queue an ERROR frame; nothing more is answered, and the connection ends.

        1. self.outbox += encode_frame(ERROR, reason.encode()).
        2. self.refusing = True; self.pending.clear(): no request is answered after it.
        """
        raise NotImplementedError("step 06_streaming: write refuse")

    def write(self) -> None:
        """Top up the outbox from the file if it is low; send what the socket takes.

        1. If self.file is not None and len(self.outbox) < LOW_WATER: if
           self.file.refill(self.outbox) is True (DONE queued): self.file = None, then
           self.handle_pending() (requests that waited behind the file).
        2. If self.outbox holds bytes: sent = self.sock.send(self.outbox[:WRITE_SIZE])
           (on BlockingIOError return); del self.outbox[:sent]; update self.last_active.
        3. If self.refusing, the outbox is empty and self.lingering_since is None: the
           ERROR is out: self.sock.shutdown(socket.SHUT_WR) and
           self.lingering_since = time.monotonic().
        """
        raise NotImplementedError("step 06_streaming: write write")

    def wanted_events(self) -> int:
        """The selector events this connection needs now.

        1. Start from events = 0.
        2. Add selectors.EVENT_READ only if not draining, no self.file on its way, no
           self.pending, and len(self.outbox) < HIGH_WATER (backpressure).
        3. Add selectors.EVENT_WRITE only if self.outbox is not empty or self.file is set.
        4. Return events.
        """
        raise NotImplementedError("step 06_streaming: write wanted_events")

    def finished(self) -> bool:
        """True when this connection can be closed.

        1. Lingering after a refusal: finished once the client closed (self.draining).
        2. Otherwise: self.draining, and nothing owed: no outbox, no file, no pending.
        """
        raise NotImplementedError("step 06_streaming: write finished")

    def deadline(self, idle_timeout: float) -> float:
        """When the server closes this connection if nothing else happens first."""
        if self.lingering_since is not None:
            return min(self.lingering_since + LINGER_SECONDS, self.last_active + idle_timeout)
        return self.last_active + idle_timeout

    def close(self) -> None:
        """Close the file being sent, if any, then the socket.

        1. If self.file is not None: self.file.close().
        2. self.sock.close().
        """
        raise NotImplementedError("step 06_streaming: write close")


class StreamingServer:
    """The listening socket and every connection, driven by one selector."""

    def __init__(self, host: str, port: int, idle_timeout: float, root: Path) -> None:
        """Make the listening socket and the selector, as in step 05.

        1. Keep idle_timeout and root; self.selector = selectors.DefaultSelector().
        2. self.listener: a TCP socket, SO_REUSEADDR, bind((host, port)), listen(128).
        3. self.listener.setblocking(False).
        4. self.selector.register(self.listener, selectors.EVENT_READ, data=None).
        5. self.connections = set(): every open Connection.
        """
        raise NotImplementedError("step 06_streaming: write __init__")

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
        """Serve one ready client.

        1. If mask & selectors.EVENT_READ: conn.read(); then conn.write() in any case.
        2. except OSError (reset, broken pipe): self._close(conn); return.
        3. If conn.finished(): self._close(conn); return.
        4. wanted = conn.wanted_events(); if it differs from conn.events, set
           conn.events = wanted and self.selector.modify(conn.sock, wanted, data=conn).
        """
        raise NotImplementedError("step 06_streaming: write _service")

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
