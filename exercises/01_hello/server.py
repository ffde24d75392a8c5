"""Step 01: a one-shot TCP server, the lesson's first program in Python.

It waits for one client, receives one message, sends it back, and closes
both sockets: the listening one and the one `accept` gave for the client.
"""

import argparse
import socket

BUFFER_SIZE = 1024


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="One-shot echo server.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=2000, help="port (0: any free port)")
    return parser.parse_args()


def serve_one_client(host: str, port: int) -> None:
    """Accept one client, echo its one message back, close both sockets.

    1. listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM); set SO_REUSEADDR
       (on Windows SO_EXCLUSIVEADDRUSE: see the README).
    2. listener.bind((host, port)), listener.listen(1); print the port it got:
       listener.getsockname()[1] (flush=True).
    3. conn, address = listener.accept(): waits for one client.
    4. message = conn.recv(BUFFER_SIZE), then conn.sendall(message), unchanged.
    5. conn.close() and listener.close(): two sockets, two close() calls.
    """
    raise NotImplementedError("step 01_hello: write serve_one_client")


def main() -> None:
    args = parse_args()
    serve_one_client(args.host, args.port)


if __name__ == "__main__":
    main()
