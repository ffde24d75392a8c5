"""Step 01: a one-shot TCP client.

It connects, sends one message, prints the one reply, and closes its socket.
"""

import argparse
import socket
import sys

BUFFER_SIZE = 1024


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="One-shot echo client.")
    parser.add_argument("--host", default="127.0.0.1", help="server address")
    parser.add_argument("--port", type=int, default=2000, help="server port")
    parser.add_argument("message", nargs="+", help="words of the message to send")
    return parser.parse_args()


def ask_server(host: str, port: int, message: str) -> str:
    """Send one message to the server and return its reply."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.connect((host, port))
        sock.sendall(message.encode())
        reply = sock.recv(BUFFER_SIZE)
    finally:
        sock.close()
    return reply.decode(errors="replace")


def main() -> None:
    args = parse_args()
    try:
        reply = ask_server(args.host, args.port, " ".join(args.message))
    except OSError as error:
        # A beginner-friendly line instead of a traceback: the usual cause is
        # that no server is running at that address and port.
        print(f"error: cannot talk to {args.host}:{args.port}: {error.strerror or error}",
              file=sys.stderr)
        sys.exit(1)
    print(reply)


if __name__ == "__main__":
    main()
