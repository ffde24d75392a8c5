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
        raise NotImplementedError("step 05_event_loop: write read")

    def write(self) -> None:
        """Send as much pending output as the socket takes now; keep the rest."""
        raise NotImplementedError("step 05_event_loop: write write")

    def wanted_events(self) -> int:
        raise NotImplementedError("step 05_event_loop: write wanted_events")

    def finished(self) -> bool:
        raise NotImplementedError("step 05_event_loop: write finished")


class EventLoopServer:
    """The listening socket and every connection, driven by one selector."""

    def __init__(self, host: str, port: int, idle_timeout: float) -> None:
        raise NotImplementedError("step 05_event_loop: write __init__")

    @property
    def port(self) -> int:
        return int(self.listener.getsockname()[1])

    def serve_forever(self) -> None:
        raise NotImplementedError("step 05_event_loop: write serve_forever")

    def close(self) -> None:
        raise NotImplementedError("step 05_event_loop: write close")

    def _accept_waiting_clients(self) -> None:
        # A bounded batch: a flood of connections cannot keep us from the others.
        raise NotImplementedError("step 05_event_loop: write _accept_waiting_clients")

    def _service(self, conn: Connection, mask: int) -> None:
        raise NotImplementedError("step 05_event_loop: write _service")

    def _refuse(self, conn: Connection, reason: str) -> None:
        raise NotImplementedError("step 05_event_loop: write _refuse")

    def _close(self, conn: Connection) -> None:
        raise NotImplementedError("step 05_event_loop: write _close")

    def _seconds_to_next_timeout(self) -> float | None:
        raise NotImplementedError("step 05_event_loop: write _seconds_to_next_timeout")

    def _drop_idle_clients(self) -> None:
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
