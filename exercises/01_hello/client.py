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
    """Send one message to the server and return its reply.

    1. Make a TCP socket: socket.socket(socket.AF_INET, socket.SOCK_STREAM).
    2. connect((host, port)), then sendall(message.encode()).
    3. reply = recv(BUFFER_SIZE), once: that is the whole reply.
    4. close() the socket on every path (try/finally or a with block).
    5. Return the reply decoded to str.
    """
    raise NotImplementedError("step 01_hello: write ask_server")


def main() -> None:
    """Run the client from the command line.

    1. args = parse_args(); the message is " ".join(args.message).
    2. Call ask_server(args.host, args.port, message).
    3. On OSError (no server there): print one line to sys.stderr, sys.exit(1).
    4. Otherwise print the reply.
    """
    raise NotImplementedError("step 01_hello: write main")


if __name__ == "__main__":
    main()
