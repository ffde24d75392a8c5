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
    raise NotImplementedError("step 01_hello: write ask_server")


def main() -> None:
    raise NotImplementedError("step 01_hello: write main")


if __name__ == "__main__":
    main()
