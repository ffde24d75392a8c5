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
    """The reply to this request, or None if it does not come in time.

    1. deadline = time.monotonic() + timeout: one deadline for all the recv() calls.
    2. While time is left: sock.settimeout(deadline - time.monotonic());
       data = sock.recv(MAX_DATAGRAM); except TimeoutError: return None.
    3. reply_id, message = parse_reply(data); on ValueError skip it (continue).
    4. reply_id == request_id: return message. Any other id is a late reply to an
       earlier request: skip it and keep waiting.
    5. Return None once the deadline has passed.
    """
    raise NotImplementedError("step 07_udp: write wait_for_reply")


def ask(sock: socket.socket, request_id: int, message: str, timeout: float,
        retries: int) -> str:
    """Send one request until it is answered; NoReply after 1 + retries attempts.

    1. request = encode_request(request_id, message), once: every attempt sends
       the same bytes, with the same id.
    2. For attempt in range(1 + retries): from the second on, print a note to
       sys.stderr (flush=True); sock.send(request);
       reply = wait_for_reply(sock, request_id, timeout); not None: return it.
    3. After the loop: raise NoReply(f"no reply to {message!r} after ... attempts").
    """
    raise NotImplementedError("step 07_udp: write ask")


def converse(host: str, port: int, messages: list[str], timeout: float, retries: int) -> None:
    """Ask each message in turn and print its reply.

    1. sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM);
       sock.connect((host, port)): it sends nothing, it only fixes the peer.
    2. first_id = random.randrange(1, 2**31); message number n gets id first_id + n.
    3. For each message: print(ask(sock, its id, message, timeout, retries), flush=True).
    4. Put 1-3 in try/finally: sock.close() in any case (main() reports the errors).
    """
    raise NotImplementedError("step 07_udp: write converse")


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
