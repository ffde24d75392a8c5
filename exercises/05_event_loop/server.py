"""Step 05: many clients, one thread: a non-blocking server on `selectors`.

The loop is poll -> dispatch -> timers. Every socket is non-blocking and is
touched only when the selector says it is ready, so no client can make the
server wait. Each client is a `Connection` kept in `key.data`; its states
are written down in one place, connection.py.

Three kinds of socket wake the loop: the listener (data=None: clients to
accept), a client (its Connection: to read or write), and the wakeup socket
of StopSignals (SIGINT or SIGTERM: time to stop). The only timer is a tick
every TICK_SECONDS: it drops idle clients and resumes a paused accept, so no
turn of the loop costs time in proportion to the number of clients.

Given, to read rather than write (below the comment "Given"): shedding
clients when the process runs out of file descriptors, shutdown on SIGINT or
SIGTERM, and the net that keeps an error in one client's handling from
stopping the others.
"""

import argparse
import errno
import selectors
import socket
import sys
import time
import traceback

from connection import Connection, TooMuchOutput
from framing import LineTooLong, encode_line
from safeguards import SpareDescriptor, StopSignals, turn_away

LISTEN_BACKLOG = 511  # clients the kernel queues for us before accept() (nginx, redis)
ACCEPT_BATCH = 64  # connections accepted per readiness event at most
MAX_CLIENTS = 1000  # default of --max-clients
TICK_SECONDS = 1.0  # idle clients are swept, and a paused accept resumes, this often
SHUTDOWN_GRACE = 2.0  # seconds to send what is owed after SIGINT or SIGTERM
# accept() failing for want of descriptors (process, system) or kernel memory, as asyncio counts
SHORT_OF_RESOURCES = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
TOO_MANY_CLIENTS = b"error: too many clients\n"
NO_DESCRIPTOR_LEFT = b"error: the server is out of file descriptors, try again later\n"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Line echo server on an event loop.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=2000, help="port (0: any free port)")
    parser.add_argument("--idle-timeout", type=float, default=60.0,
                        help="seconds a client may stay silent before it is dropped")
    parser.add_argument("--max-clients", type=int, default=MAX_CLIENTS,
                        help="clients served at once; the next one is turned away")
    return parser.parse_args()


class EventLoopServer:
    """The listening socket and every connection, driven by one selector."""

    def __init__(self, host: str, port: int, idle_timeout: float, max_clients: int) -> None:
        """Make the listening socket, the selector and the safeguards.

        1. Keep idle_timeout and max_clients; self.selector = selectors.DefaultSelector().
        2. self.listener: a TCP socket, SO_REUSEADDR, bind((host, port)),
           listen(LISTEN_BACKLOG), then setblocking(False).
        3. self.selector.register(self.listener, selectors.EVENT_READ, data=None).
        4. self.accepting = True; self.connections = set(): every open Connection.
        5. self.next_tick = time.monotonic() + TICK_SECONDS.
        6. self.spare = SpareDescriptor(); self.stop = StopSignals(self.selector) (given).
        """
        raise NotImplementedError("step 05_event_loop: write __init__")

    @property
    def port(self) -> int:
        return int(self.listener.getsockname()[1])

    def serve_forever(self) -> None:
        """Serve until SIGINT or SIGTERM, then shut down within SHUTDOWN_GRACE.

        1. While not self.stop.requested:
           self._serve_ready_sockets(self._seconds_to_next_tick()), then self._tick_when_due().
        2. Then self._shut_down() (given).
        """
        raise NotImplementedError("step 05_event_loop: write serve_forever")

    def close(self) -> None:
        """Close every connection, the listener, the safeguards and the selector.

        1. self._close() each connection (loop over list(self.connections)).
        2. If self.accepting: unregister the listener and set self.accepting = False.
        3. self.listener.close(); self.stop.close(); self.spare.release().
        4. self.selector.close().
        """
        raise NotImplementedError("step 05_event_loop: write close")

    def _serve_ready_sockets(self, timeout: float | None) -> None:
        """One turn of the loop: wait up to timeout, then serve every ready socket.

        1. For each (key, mask) in self.selector.select(timeout):
        2. if key.data is None (the listener): self._accept_waiting_clients();
        3. elif key.data is self.stop (a signal woke us): self.stop.clear_wakeup();
        4. else: self._service_isolated(key.data, mask): key.data is that client's Connection.
        """
        raise NotImplementedError("step 05_event_loop: write _serve_ready_sockets")

    def _accept_waiting_clients(self) -> None:
        """Accept the clients waiting in the listener's queue.

        1. Up to ACCEPT_BATCH times: sock, address = self.listener.accept().
        2. On BlockingIOError (none left), InterruptedError or ConnectionAbortedError: return.
        3. On another OSError: if its errno is in SHORT_OF_RESOURCES,
           self._shed_waiting_clients() (given) and return; otherwise continue
           (on Linux, a waiting client's network error shows up here: skip it).
        4. If len(self.connections) >= self.max_clients:
           turn_away(sock, TOO_MANY_CLIENTS) and continue with the next one.
        5. sock.setblocking(False); sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1).
        6. conn = Connection(sock, address); add it to self.connections;
           self.selector.register(sock, conn.events, data=conn).
        """
        # A bounded batch: a flood of connections cannot keep us from the others.
        raise NotImplementedError("step 05_event_loop: write _accept_waiting_clients")

    def _service(self, conn: Connection, mask: int) -> None:
        """Serve one ready client.

        1. If mask & selectors.EVENT_READ: conn.read(); then conn.write() in any case.
        2. except LineTooLong as error: self._refuse(conn, f"error: {error}"); return.
        3. except (OSError, TooMuchOutput) (reset, broken pipe, not reading):
           self._close(conn); return.
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

    def _seconds_to_next_tick(self) -> float | None:
        """How long select() may sleep before the next tick is due.

        1. If self.accepting and there are no connections, return None: nothing can
           time out, so sleep until something happens.
        2. Otherwise return self.next_tick - time.monotonic(), but never below 0.0.
        """
        raise NotImplementedError("step 05_event_loop: write _seconds_to_next_tick")

    def _tick_when_due(self) -> None:
        """Once every TICK_SECONDS: sweep idle clients, resume a paused accept.

        1. now = time.monotonic(); if now < self.next_tick, return: not yet.
        2. self.next_tick = now + TICK_SECONDS.
        3. self._drop_idle_clients(now).
        4. If not self.accepting: self._resume_accepting() (given).
        """
        raise NotImplementedError("step 05_event_loop: write _tick_when_due")

    def _drop_idle_clients(self, now: float) -> None:
        """Close the clients silent for idle_timeout or more.

        1. deadline = now - self.idle_timeout.
        2. self._close() every connection whose last_active <= deadline
           (loop over a copy: closing changes the set).
        """
        raise NotImplementedError("step 05_event_loop: write _drop_idle_clients")

    # Given: read these, you do not write them.

    def _service_isolated(self, conn: Connection, mask: int) -> None:
        """_service, with a net: an error in one client's handling drops that client only."""
        try:
            self._service(conn, mask)
        except Exception:
            print(f"dropped client {conn.address} after an error in its handling:",
                  file=sys.stderr, flush=True)
            traceback.print_exc()
            self._forget(conn)

    def _forget(self, conn: Connection) -> None:
        """Close a connection in whatever state an error left it."""
        try:
            self.selector.unregister(conn.sock)
        except (KeyError, ValueError):
            pass  # the error came after it was unregistered
        conn.sock.close()
        self.connections.discard(conn)

    def _shed_waiting_clients(self) -> None:
        """Out of file descriptors: turn the waiting clients away, then pause accepting.

        The spare descriptor, released, is the one each waiting client is
        accepted with, told why, and closed. Then the listener leaves the
        selector for a whole tick: while no descriptor is free, it would only
        wake us for nothing.
        """
        self.spare.release()
        try:
            for _ in range(ACCEPT_BATCH):
                sock, _address = self.listener.accept()
                turn_away(sock, NO_DESCRIPTOR_LEFT)
        except OSError:
            pass  # nobody left waiting, or still no descriptor free
        finally:
            self.spare.reserve()
        self._pause_accepting()

    def _pause_accepting(self) -> None:
        if self.accepting:
            self.selector.unregister(self.listener)
            self.accepting = False
            self.next_tick = time.monotonic() + TICK_SECONDS  # a whole tick before we retry

    def _resume_accepting(self) -> None:
        self.selector.register(self.listener, selectors.EVENT_READ, data=None)
        self.accepting = True

    def _shut_down(self) -> None:
        """Stop accepting and reading; send what is owed, for SHUTDOWN_GRACE at most."""
        self._pause_accepting()
        self.listener.close()  # a new client is refused now rather than left in the queue
        for conn in list(self.connections):
            conn.draining = True
            # As if ready to write: sends what it can now, closes it if nothing
            # is owed, or else leaves it registered for EVENT_WRITE alone.
            self._service_isolated(conn, selectors.EVENT_WRITE)
        deadline = time.monotonic() + SHUTDOWN_GRACE
        while self.connections and (left := deadline - time.monotonic()) > 0:
            self._serve_ready_sockets(left)
        # close() drops whatever is still owed after the grace.


def main() -> None:
    args = parse_args()
    server = EventLoopServer(args.host, args.port, args.idle_timeout, args.max_clients)
    print(f"listening on {args.host}:{server.port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.close()
    print("server stopped", flush=True)


if __name__ == "__main__":
    main()
