"""Step 05: many clients, one thread: a non-blocking server on `selectors`.

The loop is poll -> dispatch -> timers. Every socket is non-blocking and is
touched only when the selector says it is ready, so no client can make the
server wait. Each connection is a `Connection` kept in `key.data`.

A connection's life, written down in one place:

    reading   lines come in, replies are queued and sent as the socket allows
    draining  the client closed its sending side (recv gave b""): nothing more
              is read, the replies still owed are sent
    closed    unregistered from the selector, then closed (in that order: a
              closed descriptor left in the selector confuses the next socket
              that gets the same number)

Interest follows the state: EVENT_READ while reading and while the output
is below HIGH_WATER (so a client that never reads cannot make us buffer
without end), EVENT_WRITE only while output is pending (registered all the
time it would wake the loop for nothing, a busy loop).
"""

import argparse
import selectors
import socket
import time

from framing import LineBuffer, LineTooLong, encode_line

READ_SIZE = 64 * 1024
WRITE_SIZE = 64 * 1024  # per event: one busy client cannot starve the others
HIGH_WATER = 256 * 1024  # pending output above which we stop reading a client
ACCEPT_BATCH = 64  # connections accepted per readiness event at most


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Line echo server on an event loop.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=2000, help="port (0: any free port)")
    parser.add_argument("--idle-timeout", type=float, default=60.0,
                        help="seconds a client may stay silent before it is dropped")
    return parser.parse_args()


class Connection:
    """One client: its socket, what it sent that is not yet a line, what we owe it."""

    def __init__(self, sock: socket.socket, address: tuple[str, int]) -> None:
        self.sock = sock
        self.address = address
        self.lines = LineBuffer()
        self.outbox = bytearray()
        self.draining = False
        self.events = selectors.EVENT_READ
        self.last_active = time.monotonic()

    def read(self) -> None:
        """Read what is there; queue a reply for every complete line."""
        try:
            data = self.sock.recv(READ_SIZE)
        except BlockingIOError:
            return  # a readiness report can be stale: nothing to read after all
        self.last_active = time.monotonic()
        if not data:
            self.draining = True
            return
        for line in self.lines.feed(data):
            self.outbox += encode_line(line)

    def write(self) -> None:
        """Send as much pending output as the socket takes now; keep the rest."""
        if not self.outbox:
            return
        try:
            sent = self.sock.send(self.outbox[:WRITE_SIZE])
        except BlockingIOError:
            return  # the socket's buffer is full: EVENT_WRITE will say when to go on
        del self.outbox[:sent]
        self.last_active = time.monotonic()  # a client taking its replies is not idle

    def wanted_events(self) -> int:
        events = 0
        if not self.draining and len(self.outbox) < HIGH_WATER:
            events |= selectors.EVENT_READ
        if self.outbox:
            events |= selectors.EVENT_WRITE
        return events

    def finished(self) -> bool:
        return self.draining and not self.outbox


class EventLoopServer:
    """The listening socket and every connection, driven by one selector."""

    def __init__(self, host: str, port: int, idle_timeout: float) -> None:
        self.idle_timeout = idle_timeout
        self.selector = selectors.DefaultSelector()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, port))
        self.listener.listen(128)
        self.listener.setblocking(False)
        # data=None marks the listener; every other key carries a Connection.
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
        # A bounded batch: a flood of connections cannot keep us from the others.
        for _ in range(ACCEPT_BATCH):
            try:
                sock, address = self.listener.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return
            sock.setblocking(False)
            conn = Connection(sock, address)
            self.connections.add(conn)
            self.selector.register(sock, conn.events, data=conn)

    def _service(self, conn: Connection, mask: int) -> None:
        try:
            if mask & selectors.EVENT_READ:
                conn.read()
            # Send at once rather than wait for the next EVENT_WRITE: most
            # replies fit in the socket buffer and never need the selector.
            conn.write()
        except LineTooLong as error:
            self._refuse(conn, f"error: {error}")
            return
        except OSError:
            # Reset, broken pipe, or any other failure of this one client:
            # drop it; the loop and the other clients go on.
            self._close(conn)
            return
        if conn.finished():
            self._close(conn)
            return
        wanted = conn.wanted_events()
        if wanted != conn.events:
            conn.events = wanted
            self.selector.modify(conn.sock, wanted, data=conn)

    def _refuse(self, conn: Connection, reason: str) -> None:
        try:
            conn.sock.send(encode_line(reason.encode()))
        except OSError:
            pass  # best effort: the connection is being closed anyway
        self._close(conn)

    def _close(self, conn: Connection) -> None:
        self.selector.unregister(conn.sock)
        conn.sock.close()
        self.connections.discard(conn)

    def _seconds_to_next_timeout(self) -> float | None:
        if not self.connections:
            return None
        oldest = min(conn.last_active for conn in self.connections)
        return max(0.0, oldest + self.idle_timeout - time.monotonic())

    def _drop_idle_clients(self) -> None:
        deadline = time.monotonic() - self.idle_timeout
        for conn in [c for c in self.connections if c.last_active <= deadline]:
            self._close(conn)


def main() -> None:
    args = parse_args()
    server = EventLoopServer(args.host, args.port, args.idle_timeout)
    print(f"listening on {args.host}:{server.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("server stopped", flush=True)
    finally:
        server.close()


if __name__ == "__main__":
    main()
