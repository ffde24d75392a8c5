"""Step 04: many clients the simple way, one thread per client.

The main thread only accepts; each client gets its own thread running the
same line echo as step 03. A blocked `recv` now stalls one thread, not the
whole server.
"""

import argparse
import socket
import threading

from framing import LineBuffer, LineTooLong, encode_line

BUFFER_SIZE = 4096


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Line echo server, one thread per client.")
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
    raise NotImplementedError("step 04_threads: write echo_lines")


def serve_client(conn: socket.socket, idle_timeout: float) -> None:
    """Run one conversation in its own thread; whatever happens, close the socket.

    1. conn.settimeout(idle_timeout), then echo_lines(conn).
    2. except TimeoutError: the client stayed silent; print a note.
    3. except OSError (reset, broken pipe): print a note; only this thread ends.
    4. finally: conn.close(). Nothing may escape: it would kill the thread.
    """
    raise NotImplementedError("step 04_threads: write serve_client")


def serve_forever(host: str, port: int, idle_timeout: float) -> None:
    """Accept clients and hand each to a new thread, until interrupted.

    1. Make the listening socket (SO_REUSEADDR), bind((host, port)), listen(); print the port.
    2. Loop forever: conn, address = listener.accept().
    3. threading.Thread(target=serve_client, args=(conn, idle_timeout), daemon=True).start().
    4. Do not join() it: go straight back to accept().
    5. finally: listener.close().
    """
    raise NotImplementedError("step 04_threads: write serve_forever")


def main() -> None:
    args = parse_args()
    try:
        serve_forever(args.host, args.port, args.idle_timeout)
    except KeyboardInterrupt:
        print("server stopped", flush=True)


if __name__ == "__main__":
    main()
