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
    """Return the next whole line, reading from the socket until one is complete.

    1. While `ready` is empty: data = sock.recv(BUFFER_SIZE).
    2. If data is b"", the server closed: raise ConnectionError("...").
    3. Otherwise ready.extend(lines.feed(data)): keep every complete line.
    4. Return ready.pop(0), the oldest line (the others wait for the next call).
    """
    raise NotImplementedError("step 03_messages: write receive_line")


def converse(host: str, port: int, messages: list[str], timeout: float) -> None:
    """Send each message as a line and print each reply as it arrives.

    1. Make a TCP socket, settimeout(timeout), connect((host, port)).
    2. Make ONE LineBuffer and ONE empty list `ready` for the whole conversation.
    3. For each message: sendall(encode_line(message.encode())), then print the
       decoded receive_line(sock, lines, ready), with flush=True.
    4. close() the socket on every path (try/finally).
    """
    raise NotImplementedError("step 03_messages: write converse")


def main() -> None:
    """Run the client from the command line.

    1. args = parse_args(); call converse(args.host, args.port, args.message, args.timeout).
    2. except TimeoutError: print "error: no answer ..." to sys.stderr, sys.exit(1).
    3. except OSError (no server, server gone): one line to sys.stderr, sys.exit(1).
    """
    raise NotImplementedError("step 03_messages: write main")


if __name__ == "__main__":
    main()
