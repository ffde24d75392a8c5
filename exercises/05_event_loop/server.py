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
        """Read what is there; queue a reply for every complete line.

        1. data = self.sock.recv(READ_SIZE); on BlockingIOError just return.
        2. self.last_active = time.monotonic().
        3. If data is b"": the client is done sending: self.draining = True; return.
        4. For every line self.lines.feed(data) returns: self.outbox += encode_line(line).
        """
        raise NotImplementedError("step 05_event_loop: write read")

    def write(self) -> None:
        """Send as much pending output as the socket takes now; keep the rest.

        1. If self.outbox is empty, return.
        2. sent = self.sock.send(self.outbox[:WRITE_SIZE]): send(), never sendall().
        3. On BlockingIOError return: the socket is full, EVENT_WRITE will come.
        4. del self.outbox[:sent]: keep only what was not sent.
        """
        raise NotImplementedError("step 05_event_loop: write write")

    def wanted_events(self) -> int:
        """The selector events this connection needs now.

        1. Start from events = 0.
        2. Add selectors.EVENT_READ if not draining and len(self.outbox) < HIGH_WATER.
        3. Add selectors.EVENT_WRITE only if self.outbox is not empty.
        4. Return events.
        """
        raise NotImplementedError("step 05_event_loop: write wanted_events")

    def finished(self) -> bool:
        """True when this connection can be closed.

        1. Return True if self.draining and nothing is left in self.outbox.
        """
        raise NotImplementedError("step 05_event_loop: write finished")


class EventLoopServer:
    """The listening socket and every connection, driven by one selector."""

    def __init__(self, host: str, port: int, idle_timeout: float) -> None:
        """Make the listening socket and the selector.

        1. Keep idle_timeout; self.selector = selectors.DefaultSelector().
        2. self.listener: a TCP socket, SO_REUSEADDR, bind((host, port)), listen(128).
        3. self.listener.setblocking(False).
        4. self.selector.register(self.listener, selectors.EVENT_READ, data=None).
        5. self.connections = set(): every open Connection.
        """
        raise NotImplementedError("step 05_event_loop: write __init__")

    @property
    def port(self) -> int:
        return int(self.listener.getsockname()[1])

    def serve_forever(self) -> None:
        """The event loop: poll, dispatch, timers, forever.

        1. Loop: self.selector.select(timeout=self._seconds_to_next_timeout()).
        2. For each (key, mask): if key.data is None, self._accept_waiting_clients().
        3. Otherwise self._service(key.data, mask): key.data is that client's Connection.
        4. After each round: self._drop_idle_clients().
        """
        raise NotImplementedError("step 05_event_loop: write serve_forever")

    def close(self) -> None:
        """Close every connection, the listener and the selector.

        1. self._close() each connection (loop over list(self.connections)).
        2. Unregister the listener from the selector, then close() it.
        3. self.selector.close().
        """
        raise NotImplementedError("step 05_event_loop: write close")

    def _accept_waiting_clients(self) -> None:
        """Accept the clients waiting in the listener's queue.

        1. Up to ACCEPT_BATCH times: sock, address = self.listener.accept().
        2. On BlockingIOError (none left), InterruptedError or ConnectionAbortedError: return.
        3. sock.setblocking(False); conn = Connection(sock, address);
           add conn to self.connections.
        4. self.selector.register(sock, conn.events, data=conn).
        """
        # A bounded batch: a flood of connections cannot keep us from the others.
        raise NotImplementedError("step 05_event_loop: write _accept_waiting_clients")

    def _service(self, conn: Connection, mask: int) -> None:
        """Serve one ready client.

        1. If mask & selectors.EVENT_READ: conn.read(); then conn.write() in any case.
        2. except LineTooLong as error: self._refuse(conn, f"error: {error}"); return.
        3. except OSError (reset, broken pipe): self._close(conn); return.
        4. If conn.finished(): self._close(conn); return.
        5. wanted = conn.wanted_events(); if it differs from conn.events, set
           conn.events = wanted and self.selector.modify(conn.sock, wanted, data=conn).
        """
        raise NotImplementedError("step 05_event_loop: write _service")

    def _refuse(self, conn: Connection, reason: str) -> None:
        """Tell the client why, then close it.

        1. Try conn.sock.send(encode_line(reason.encode())) once; ignore OSError.
        2. self._close(conn).
        """
        raise NotImplementedError("step 05_event_loop: write _refuse")

    def _close(self, conn: Connection) -> None:
        """Forget one client, in this order.

        1. self.selector.unregister(conn.sock) first,
        2. then conn.sock.close(),
        3. then self.connections.discard(conn).
        """
        raise NotImplementedError("step 05_event_loop: write _close")

    def _seconds_to_next_timeout(self) -> float | None:
        """How long select() may sleep before a client is due to be dropped.

        1. With no connections, return None: sleep until something happens.
        2. Find the oldest last_active among self.connections.
        3. Return oldest + self.idle_timeout - time.monotonic(), but never below 0.0.
        """
        raise NotImplementedError("step 05_event_loop: write _seconds_to_next_timeout")

    def _drop_idle_clients(self) -> None:
        """Close the clients silent for idle_timeout or more.

        1. deadline = time.monotonic() - self.idle_timeout.
        2. self._close() every connection whose last_active <= deadline
           (loop over a copy: closing changes the set).
        """
        raise NotImplementedError("step 05_event_loop: write _drop_idle_clients")


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
