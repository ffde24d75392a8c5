"""Step 03: many messages over one connection.

Clients are served one after another. Each sends lines; each line is echoed
back as a line. The conversation ends when the client closes its side
(`recv` returns b""), after a silent spell, or on a line that is too long.
"""

import argparse
import socket

from framing import LineBuffer, LineTooLong, encode_line

BUFFER_SIZE = 4096


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Line echo server, one client at a time.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=2000, help="port (0: any free port)")
    parser.add_argument("--idle-timeout", type=float, default=60.0,
                        help="seconds a client may stay silent before it is dropped")
    return parser.parse_args()


def echo_lines(conn: socket.socket) -> None:
    """Echo every line until the client closes its sending side.

    1. Make one LineBuffer for this client.
    2. Loop: data = conn.recv(BUFFER_SIZE); if data is b"", return (the client is done).
    3. For every line lines.feed(data) returns: conn.sendall(encode_line(line)).
    4. If feed() raises LineTooLong: sendall an "error: ..." line and return.
    """
    raise NotImplementedError("step 03_messages: write echo_lines")


def serve_client(conn: socket.socket, idle_timeout: float) -> None:
    """Run one conversation; whatever happens, close the socket.

    1. conn.settimeout(idle_timeout), then echo_lines(conn).
    2. except TimeoutError: the client stayed silent; print a note.
    3. except OSError (reset, broken pipe): print a note; the server goes on.
    4. finally: conn.close().
    """
    raise NotImplementedError("step 03_messages: write serve_client")


def serve_forever(host: str, port: int, idle_timeout: float) -> None:
    """Serve clients one after another until interrupted.

    1. Make the listening socket (SO_REUSEADDR), bind((host, port)), listen().
    2. Print the port it listens on: listener.getsockname()[1] (flush=True).
    3. Loop forever: conn, address = listener.accept(); serve_client(conn, idle_timeout).
    4. finally: listener.close().
    """
    raise NotImplementedError("step 03_messages: write serve_forever")


def main() -> None:
    args = parse_args()
    try:
        serve_forever(args.host, args.port, args.idle_timeout)
    except KeyboardInterrupt:
        print("server stopped", flush=True)


if __name__ == "__main__":
    main()
