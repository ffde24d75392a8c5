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
    """Send one message and return the reply; raise TimeoutError if none comes in time.

    1. Make a TCP socket and call settimeout(timeout) on it BEFORE connect().
    2. connect((host, port)), sendall(message.encode()), recv(BUFFER_SIZE) once.
    3. Let TimeoutError (or any OSError) go up to main(): do not catch it here.
    4. close() the socket on every path (try/finally); return the reply decoded.
    """
    raise NotImplementedError("step 02_timeouts: write ask_server")


def main() -> None:
    """Run the client from the command line.

    1. args = parse_args(); call ask_server() with " ".join(args.message) and args.timeout.
    2. except TimeoutError: print "error: no answer ..." to sys.stderr, sys.exit(1).
    3. except OSError (no server, refused): one line to sys.stderr, sys.exit(1).
       TimeoutError is an OSError: catch it first.
    4. Otherwise print the reply.
    """
    raise NotImplementedError("step 02_timeouts: write main")


if __name__ == "__main__":
    main()
