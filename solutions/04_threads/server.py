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
    """Echo every line until the client closes its sending side."""
    lines = LineBuffer()
    while True:
        data = conn.recv(BUFFER_SIZE)
        if not data:
            return
        try:
            complete = lines.feed(data)
        except LineTooLong as error:
            conn.sendall(encode_line(f"error: {error}".encode()))
            return
        for line in complete:
            conn.sendall(encode_line(line))


def serve_client(conn: socket.socket, idle_timeout: float) -> None:
    """Run one conversation in its own thread; whatever happens, close the socket."""
    conn.settimeout(idle_timeout)
    try:
        echo_lines(conn)
    except TimeoutError:
        print(f"client silent for {idle_timeout} s: dropped", flush=True)
    except OSError as error:
        # A reset or broken pipe ends this client's thread, and only it.
        print(f"client connection failed: {error}", flush=True)
    finally:
        conn.close()


def serve_forever(host: str, port: int, idle_timeout: float) -> None:
    """Accept clients and hand each to a new thread, until interrupted."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # SO_REUSEADDR (SO_EXCLUSIVEADDRUSE on Windows): as in step 01.
    listener.setsockopt(socket.SOL_SOCKET,
                        getattr(socket, "SO_EXCLUSIVEADDRUSE", socket.SO_REUSEADDR), 1)
    try:
        listener.bind((host, port))
        listener.listen()
        print(f"listening on {host}:{listener.getsockname()[1]}", flush=True)
        while True:
            conn, address = listener.accept()
            print(f"client connected from {address[0]}:{address[1]}", flush=True)
            # daemon: a thread stuck on a silent client must not keep the
            # process alive after Ctrl-C.
            worker = threading.Thread(target=serve_client, args=(conn, idle_timeout), daemon=True)
            worker.start()
    finally:
        listener.close()


def main() -> None:
    args = parse_args()
    try:
        serve_forever(args.host, args.port, args.idle_timeout)
    except KeyboardInterrupt:
        print("server stopped", flush=True)


if __name__ == "__main__":
    main()
