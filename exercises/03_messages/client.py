"""Step 03: a client that sends many messages over one connection.

Each message goes out as one line; the client waits for its reply line,
prints it, then sends the next.
"""

import argparse
import socket
import sys

from framing import LineBuffer, encode_line

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
    raise NotImplementedError("step 03_messages: write receive_line")


def converse(host: str, port: int, messages: list[str], timeout: float) -> None:
    """Send each message as a line and print each reply as it arrives."""
    raise NotImplementedError("step 03_messages: write converse")


def main() -> None:
    raise NotImplementedError("step 03_messages: write main")


if __name__ == "__main__":
    main()
