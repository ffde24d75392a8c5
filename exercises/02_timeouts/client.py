"""Step 02: a client that gives up instead of waiting forever.

A timeout on the socket bounds both `connect` and `recv`: when the server does
not accept or does not answer in time, the client says so and exits.
"""

import argparse
import socket
import sys

BUFFER_SIZE = 1024


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Echo client with a timeout.")
    parser.add_argument("--host", default="127.0.0.1", help="server address")
    parser.add_argument("--port", type=int, default=2000, help="server port")
    parser.add_argument("--timeout", type=float, default=5.0,
                        help="seconds to wait for the server before giving up")
    parser.add_argument("message", nargs="+", help="words of the message to send")
    return parser.parse_args()


def ask_server(host: str, port: int, message: str, timeout: float) -> str:
    """Send one message and return the reply; raise TimeoutError if none comes in time."""
    raise NotImplementedError("step 02_timeouts: write ask_server")


def main() -> None:
    raise NotImplementedError("step 02_timeouts: write main")


if __name__ == "__main__":
    main()
