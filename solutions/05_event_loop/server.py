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
        self.idle_timeout = idle_timeout
        self.max_clients = max_clients
        self.selector = selectors.DefaultSelector()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # SO_REUSEADDR (SO_EXCLUSIVEADDRUSE on Windows): as in step 01.
        self.listener.setsockopt(socket.SOL_SOCKET,
                                 getattr(socket, "SO_EXCLUSIVEADDRUSE", socket.SO_REUSEADDR), 1)
        self.listener.bind((host, port))
        self.listener.listen(LISTEN_BACKLOG)
        self.listener.setblocking(False)
        self.selector.register(self.listener, selectors.EVENT_READ, data=None)
        self.accepting = True
        self.connections: set[Connection] = set()
        self.next_tick = time.monotonic() + TICK_SECONDS
        self.spare = SpareDescriptor()
        self.stop = StopSignals(self.selector)

    @property
    def port(self) -> int:
        return int(self.listener.getsockname()[1])

    def serve_forever(self) -> None:
        """Serve until SIGINT or SIGTERM, then shut down within SHUTDOWN_GRACE."""
        while not self.stop.requested:
            self._serve_ready_sockets(self._seconds_to_next_tick())
            self._tick_when_due()
        self._shut_down()

    def close(self) -> None:
        for conn in list(self.connections):
            self._close(conn)
        if self.accepting:
            self.selector.unregister(self.listener)
            self.accepting = False
        self.listener.close()
        self.stop.close()
        self.spare.release()
        self.selector.close()

    def _serve_ready_sockets(self, timeout: float | None) -> None:
        """One turn of the loop: wait up to timeout, then serve every ready socket."""
        for key, mask in self.selector.select(timeout):
            if key.data is None:
                self._accept_waiting_clients()
            elif key.data is self.stop:
                self.stop.clear_wakeup()
            else:
                self._service_isolated(key.data, mask)

    def _accept_waiting_clients(self) -> None:
        # A bounded batch: a flood of connections cannot keep us from the others.
        for _ in range(ACCEPT_BATCH):
            try:
                sock, address = self.listener.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return  # nobody waiting after all, or a client who left before we came
            except OSError as error:
                if error.errno in SHORT_OF_RESOURCES:
                    self._shed_waiting_clients()
                    return
                continue  # Linux reports a waiting client's network error here: skip that one
            if len(self.connections) >= self.max_clients:
                turn_away(sock, TOO_MANY_CLIENTS)
                continue
            sock.setblocking(False)
            # Replies are small and go out at once: no waiting to fill a packet (Nagle).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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
        except (OSError, TooMuchOutput):
            # Reset, broken pipe, a client that does not read its replies: drop
            # that one client; the loop and the other clients go on.
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

    def _seconds_to_next_tick(self) -> float | None:
        if self.accepting and not self.connections:
            return None  # nobody to time out, nothing to resume: sleep until something happens
        return max(0.0, self.next_tick - time.monotonic())

    def _tick_when_due(self) -> None:
        """Once every TICK_SECONDS: sweep out idle clients, resume a paused accept."""
        now = time.monotonic()
        if now < self.next_tick:
            return
        self.next_tick = now + TICK_SECONDS
        self._drop_idle_clients(now)
        if not self.accepting:
            self._resume_accepting()

    def _drop_idle_clients(self, now: float) -> None:
        deadline = now - self.idle_timeout
        for conn in [c for c in self.connections if c.last_active <= deadline]:
            self._close(conn)

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
