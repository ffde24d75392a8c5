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
    """Accept one client, echo its one message back, close both sockets."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Lets the server restart at once on the same port, instead of waiting
    # for the old connection to leave the TIME_WAIT state. On Windows that option
    # would let a second server share the port: there, ask for the port alone.
    reuse = getattr(socket, "SO_EXCLUSIVEADDRUSE", socket.SO_REUSEADDR)
    listener.setsockopt(socket.SOL_SOCKET, reuse, 1)
    listener.bind((host, port))
    listener.listen(1)
    print(f"listening on {host}:{listener.getsockname()[1]}", flush=True)

    conn, address = listener.accept()
    print(f"client connected from {address[0]}:{address[1]}", flush=True)
    message = conn.recv(BUFFER_SIZE)
    print(f"client says: {message.decode(errors='replace')}", flush=True)
    conn.sendall(message)

    conn.close()
    listener.close()


def main() -> None:
    args = parse_args()
    serve_one_client(args.host, args.port)


if __name__ == "__main__":
    main()
