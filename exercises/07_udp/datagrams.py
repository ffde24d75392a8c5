"""Requests and replies over UDP: an id, a space, the message.

    b"1234 hello"  ->  the server echoes it  ->  b"1234 hello"

A datagram arrives whole or not at all, so no framing is needed, but any
datagram can be lost, duplicated or late. The id lets the client match a
reply to its request: a late reply to an earlier request carries another id
and is not mistaken for the answer it waits for. No sockets here.
"""

MAX_DATAGRAM = 65507  # the most a UDP datagram over IPv4 can carry


def encode_request(request_id: int, message: str) -> bytes:
    """The bytes of one request: the id, a space, the message.

    1. Make the text f"{request_id} {message}".
    2. Return it .encode()d: b"1234 hello".
    """
    raise NotImplementedError("step 07_udp: write encode_request")


def parse_reply(data: bytes) -> tuple[int, str]:
    """(id, message) of a reply; ValueError if it has no id.

    1. text = data.decode(errors="replace"): a datagram may hold any bytes at all.
    2. head, _, message = text.partition(" ").
    3. If not head.isdigit(): raise ValueError(...): not a reply of this protocol.
    4. Return int(head), message.
    """
    raise NotImplementedError("step 07_udp: write parse_reply")
