"""Step 07: a UDP client that retries, and matches replies to requests.

Each MESSAGE is sent with a fresh id. If no reply with that id comes within
--timeout, the same request is sent again, up to --retries more times; then
the client gives up with a clear error. Replies with another id (a late
answer to an earlier request) are skipped.
"""

import argparse
import random
import socket
import sys
import time

from datagrams import MAX_DATAGRAM, encode_request, parse_reply


class NoReply(Exception):
    """Every attempt went unanswered."""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="UDP echo client with retries.")
    parser.add_argument("--host", default="127.0.0.1", help="server address")
    parser.add_argument("--port", type=int, default=2000, help="server port")
    parser.add_argument("--timeout", type=float, default=1.0,
                        help="seconds to wait for a reply before sending again")
    parser.add_argument("--retries", type=int, default=3,
                        help="how many times to send a request again before giving up")
    parser.add_argument("message", nargs="+", help="messages to send, one datagram each")
    return parser.parse_args()


def wait_for_reply(sock: socket.socket, request_id: int, timeout: float) -> str | None:
    """The reply to this request, or None if it does not come in time."""
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        sock.settimeout(remaining)
        try:
            data = sock.recv(MAX_DATAGRAM)
        except TimeoutError:
            return None
        try:
            reply_id, message = parse_reply(data)
        except ValueError:
            continue  # not a reply of this protocol
        if reply_id == request_id:
            return message
        # Another id: a late or duplicated reply to an earlier request. Skip it.
    return None


def ask(sock: socket.socket, request_id: int, message: str, timeout: float,
        retries: int) -> str:
    """Send one request until it is answered; NoReply after 1 + retries attempts."""
    request = encode_request(request_id, message)
    for attempt in range(1 + retries):
        if attempt:
            print(f"no reply to request {request_id} within {timeout} s: sending it again "
                  f"({attempt} of {retries})", file=sys.stderr, flush=True)
        sock.send(request)
        reply = wait_for_reply(sock, request_id, timeout)
        if reply is not None:
            return reply
    raise NoReply(f"no reply to {message!r} after {1 + retries} attempts")


def converse(host: str, port: int, messages: list[str], timeout: float, retries: int) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        # connect() on UDP sends nothing: it fixes the peer, so send() needs no
        # address and the kernel drops datagrams from anyone else.
        sock.connect((host, port))
        first_id = random.randrange(1, 2**31)
        for number, message in enumerate(messages):
            print(ask(sock, first_id + number, message, timeout, retries), flush=True)
    finally:
        sock.close()


def main() -> None:
    args = parse_args()
    try:
        converse(args.host, args.port, args.message, args.timeout, args.retries)
    except NoReply as error:
        print(f"error: {args.host}:{args.port}: {error}", file=sys.stderr)
        sys.exit(1)
    except OSError as error:
        # On loopback, a datagram to a port where nothing listens comes back as
        # "connection refused" on the next recv.
        print(f"error: cannot talk to {args.host}:{args.port}: {error.strerror or error}",
              file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
