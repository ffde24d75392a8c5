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
    """Echo one message back, or give up on a silent client; always close."""
    conn.settimeout(idle_timeout)
    try:
        message = conn.recv(BUFFER_SIZE)
        if message:
            conn.sendall(message)
    except TimeoutError:
        print(f"client silent for {idle_timeout} s: dropped", flush=True)
    except OSError as error:
        # One client's broken connection must not stop the server.
        print(f"client connection failed: {error}", flush=True)
    finally:
        conn.close()


def serve_forever(host: str, port: int, idle_timeout: float) -> None:
    """Serve clients one after another until interrupted."""
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
            serve_client(conn, idle_timeout)
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
