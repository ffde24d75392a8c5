"""Step 03: a client that sends many messages over one connection.

Each message goes out as one line; the client waits for its reply line,
prints it, then sends the next.
"""

import argparse
import socket
import sys

from framing import LineBuffer, LineTooLong, encode_line

BUFFER_SIZE = 4096


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Line echo client.")
    parser.add_argument("--host", default="127.0.0.1", help="server address")
    parser.add_argument("--port", type=int, default=2000, help="server port")
    parser.add_argument("--timeout", type=float, default=5.0,
                        help="seconds to wait for the server before giving up")
    parser.add_argument("message", nargs="+", help="messages to send, one line each")
    return parser.parse_args()


def receive_line(sock: socket.socket, lines: LineBuffer, ready: list[bytes]) -> bytes:
    """Return the next whole line, reading from the socket until one is complete."""
    while not ready:
        data = sock.recv(BUFFER_SIZE)
        if not data:
            raise ConnectionError("the server closed the connection before replying")
        ready.extend(lines.feed(data))
    return ready.pop(0)


def converse(host: str, port: int, messages: list[str], timeout: float) -> None:
    """Send each message as a line and print each reply as it arrives."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((host, port))
        lines = LineBuffer()
        ready: list[bytes] = []
        for message in messages:
            sock.sendall(encode_line(message.encode()))
            print(receive_line(sock, lines, ready).decode(errors="replace"), flush=True)
    finally:
        sock.close()


def main() -> None:
    args = parse_args()
    try:
        converse(args.host, args.port, args.message, args.timeout)
    except TimeoutError:
        print(f"error: no answer from {args.host}:{args.port} within {args.timeout} s",
              file=sys.stderr)
        sys.exit(1)
    except OSError as error:
        print(f"error: cannot talk to {args.host}:{args.port}: {error.strerror or error}",
              file=sys.stderr)
        sys.exit(1)
    except LineTooLong as error:
        print(f"error: the server's reply is too long: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
