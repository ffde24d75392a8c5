"""Step 02: a server that never waits forever for a silent client.

It serves clients one after another, one message each. A client that sends
nothing within the idle timeout is dropped: its socket is closed and the
server goes back to `accept` for the next one.
"""

import argparse
import socket

BUFFER_SIZE = 1024


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Echo server with an idle timeout.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=2000, help="port (0: any free port)")
    parser.add_argument("--idle-timeout", type=float, default=10.0,
                        help="seconds a client may stay silent before it is dropped")
    return parser.parse_args()


def serve_client(conn: socket.socket, idle_timeout: float) -> None:
    """Echo one message back, or give up on a silent client; always close.

    1. conn.settimeout(idle_timeout).
    2. message = conn.recv(BUFFER_SIZE); if it is not b"", conn.sendall(message).
    3. except TimeoutError: the client stayed silent; print a note (it is dropped).
    4. except OSError: the connection broke; print a note; never crash the server.
    5. finally: conn.close().
    """
    raise NotImplementedError("step 02_timeouts: write serve_client")


def serve_forever(host: str, port: int, idle_timeout: float) -> None:
    """Serve clients one after another until interrupted.

    1. Make the listening socket (SO_REUSEADDR), bind((host, port)), listen().
    2. Print the port it listens on: listener.getsockname()[1] (flush=True).
    3. Loop forever: conn, address = listener.accept(); serve_client(conn, idle_timeout).
    4. finally: listener.close() (Ctrl-C ends the loop with KeyboardInterrupt).
    """
    raise NotImplementedError("step 02_timeouts: write serve_forever")


def main() -> None:
    args = parse_args()
    try:
        serve_forever(args.host, args.port, args.idle_timeout)
    except KeyboardInterrupt:
        print("server stopped", flush=True)


if __name__ == "__main__":
    main()
