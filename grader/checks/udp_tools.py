"""The grader's UDP side for step 07: a stand-in server, a lossy relay, a client.

The relay sits between a client and a server on loopback and decides, for
each datagram, to pass it on, hold it back for a while, or drop it: the
grader's way to make loss, delay and late duplicates happen on purpose.
"""

from __future__ import annotations

import heapq
import itertools
import select
import socket
import threading
import time
from collections.abc import Callable

LOOPBACK = "127.0.0.1"
MAX_DATAGRAM = 65507
TO_SERVER, TO_CLIENT = "request", "reply"

# (direction, datagram, how many datagrams went that way before) -> seconds to
# hold it back, or None to drop it.
Policy = Callable[[str, bytes, int], float | None]


def pass_everything(_direction: str, _data: bytes, _count: int) -> float | None:
    return 0.0


class Background:
    """A daemon thread running `step` until stopped; for the grader's UDP helpers."""

    def __init__(self) -> None:
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self.step()

    def step(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=2)


class FakeUdpServer(Background):
    """Answers `b"ID message"` with `b"ID MESSAGE"`: capitals, so a client that
    prints its own message instead of the reply is caught."""

    def __init__(self) -> None:
        super().__init__()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOOPBACK, 0))
        self.sock.settimeout(0.05)
        self.port = int(self.sock.getsockname()[1])
        self.start()

    def step(self) -> None:
        try:
            data, sender = self.sock.recvfrom(MAX_DATAGRAM)
        except TimeoutError:
            return
        except OSError:
            return  # Windows: an earlier reply to a client gone, reported here
        head, _, message = data.partition(b" ")
        self.sock.sendto(head + b" " + message.upper(), sender)

    def close(self) -> None:
        self.stop()
        self.sock.close()


class LossyRelay(Background):
    """Clients talk to the relay's port; the relay talks to the server's port."""

    def __init__(self, server_port: int, policy: Policy = pass_everything) -> None:
        super().__init__()
        self.server_port = server_port
        self.policy = policy
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # faces clients
        self.front.bind((LOOPBACK, 0))
        self.port = int(self.front.getsockname()[1])
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # faces the server
        self.back.bind((LOOPBACK, 0))
        self.client: tuple[str, int] | None = None
        self.seen = {TO_SERVER: 0, TO_CLIENT: 0}
        self.dropped = {TO_SERVER: 0, TO_CLIENT: 0}
        self._held: list[tuple[float, int, str, bytes]] = []
        self._order = itertools.count()
        self.start()

    def step(self) -> None:
        wait = 0.05
        if self._held:
            wait = max(0.0, min(wait, self._held[0][0] - time.monotonic()))
        readable, _, _ = select.select([self.front, self.back], [], [], wait)
        for sock in readable:
            try:
                data, sender = sock.recvfrom(MAX_DATAGRAM)
            except OSError:
                continue  # e.g. the server's port answered "refused"
            direction = TO_SERVER if sock is self.front else TO_CLIENT
            if direction == TO_SERVER:
                self.client = sender
            delay = self.policy(direction, data, self.seen[direction])
            self.seen[direction] += 1
            if delay is None:
                self.dropped[direction] += 1
            else:
                heapq.heappush(self._held, (time.monotonic() + delay, next(self._order),
                                            direction, data))
        while self._held and self._held[0][0] <= time.monotonic():
            _, _, direction, data = heapq.heappop(self._held)
            self._forward(direction, data)

    def _forward(self, direction: str, data: bytes) -> None:
        try:
            if direction == TO_SERVER:
                self.back.sendto(data, (LOOPBACK, self.server_port))
            elif self.client is not None:
                self.front.sendto(data, self.client)
        except OSError:
            pass  # a datagram that cannot go on is lost, as on a network

    def close(self) -> None:
        self.stop()
        self.front.close()
        self.back.close()


def drop_every(nth: int) -> Policy:
    """Lose one datagram in `nth`, each way: 20% loss for nth=5."""
    def policy(_direction: str, _data: bytes, count: int) -> float | None:
        return None if count % nth == nth - 1 else 0.0
    return policy


def drop_first_copy_of_each_request() -> Policy:
    """The first time a request is seen it is lost; its retry goes through."""
    seen: set[bytes] = set()

    def policy(direction: str, data: bytes, _count: int) -> float | None:
        if direction == TO_SERVER and data not in seen:
            seen.add(data)
            return None
        return 0.0
    return policy


def drop_all_requests(direction: str, _data: bytes, _count: int) -> float | None:
    return None if direction == TO_SERVER else 0.0


def hold_replies(delays: list[float]) -> Policy:
    """Hold the Nth reply back delays[N] seconds (later replies pass at once)."""
    def policy(direction: str, _data: bytes, count: int) -> float | None:
        if direction == TO_CLIENT and count < len(delays):
            return delays[count]
        return 0.0
    return policy
