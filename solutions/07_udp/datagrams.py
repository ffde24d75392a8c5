"""Requests and replies over UDP: an id, a space, the message.

    b"1234 hello"  ->  the server echoes it  ->  b"1234 hello"

A datagram arrives whole or not at all, so no framing is needed, but any
datagram can be lost, duplicated or late. The id lets the client match a
reply to its request: a late reply to an earlier request carries another id
and is not mistaken for the answer it waits for. No sockets here.
"""

MAX_DATAGRAM = 65507  # the most a UDP datagram over IPv4 can carry


def encode_request(request_id: int, message: str) -> bytes:
    return f"{request_id} {message}".encode()


def parse_reply(data: bytes) -> tuple[int, str]:
    """(id, message) of a reply; ValueError if it has no id."""
    head, _, message = data.decode(errors="replace").partition(" ")
    if not head.isdigit():
        raise ValueError(f"a datagram without an id: {data[:40]!r}")
    return int(head), message
