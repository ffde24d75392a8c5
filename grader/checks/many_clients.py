"""Expectations for servers that serve many clients at once (steps 04 and 05)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

from grader.checks.common import ECHO_HINT, expect_line_echo, shorten
from grader.diagnosis import CheckFailed, Diagnosis, location_from_event
from grader.harness import Harness, Server
from grader.timing import REPLY_SECONDS, SETTLE_SECONDS

CONCURRENT_CLIENTS = 20
BLOCKING_HINT = ("a server that waits in recv() for one client cannot serve another: give "
                 "each client its own thread (step 04), or wait for all of them at once "
                 "with selectors (step 05)")


@contextmanager
def busy_with_another_client(prefix: str = "") -> Iterator[None]:
    """A server that does not answer one client while it serves another is busy,
    not stuck for good: once that client leaves it answers again, so unlike a
    hang this does not stop the server's other checks from running."""
    try:
        yield
    except CheckFailed as failure:
        failure.diagnosis.happened = prefix + failure.diagnosis.happened
        failure.hung = None
        raise


def expect_served_while_another_is_silent(harness: Harness, server: Server) -> None:
    """A client that says nothing, or stops in mid-line, must not stop another being served."""
    harness.connect(server)  # says nothing at all
    stuck = harness.connect(server)
    stuck.send(b"the start of a line that never en")
    time.sleep(0.1)
    other = harness.connect(server)
    with busy_with_another_client("one client blocks all the others: "):
        expect_line_echo(other, [b"hello\n"], [b"hello"], hint=BLOCKING_HINT,
                         how="by a third client, while the first sat silent and the "
                             "second in mid-line")


def expect_clients_kept_apart(harness: Harness, server: Server) -> None:
    """Many clients at once, each sending its own lines, each gets only its own replies."""
    with busy_with_another_client():
        _exchange_with_many_clients(harness, server)


def _exchange_with_many_clients(harness: Harness, server: Server) -> None:
    peers = [harness.connect(server) for _ in range(CONCURRENT_CLIENTS)]
    for round_number in range(3):
        for number, peer in enumerate(peers):
            # Half a line now and half later: replies stay correct only if each
            # client's unfinished line is kept apart from the others'.
            peer.send(f"client {number} line".encode())
        for peer in peers:
            peer.send(f" {round_number}\n".encode())
        for number, peer in enumerate(peers):
            expected = f"client {number} line {round_number}".encode()
            replies = peer.receive_lines(
                1, waiting_for=f"the reply to client {number}'s line {round_number} "
                               f"({CONCURRENT_CLIENTS} clients connected at once)",
                hint=BLOCKING_HINT)
            if replies != [expected]:
                raise CheckFailed(Diagnosis(
                    happened=f"with {CONCURRENT_CLIENTS} clients connected, client {number} "
                             f"got {shorten(replies[0])} back",
                    expected=f"its own line: {expected!r}",
                    where=[server.program.shown],
                    hint="keep each client's buffer with that client (a local variable of "
                         "its thread, or its own Connection object), never in a global"))


def expect_survives_reset(harness: Harness, server: Server) -> None:
    """Clients that reset or vanish mid-line cost the server nothing but themselves."""
    for leave in ("reset", "reset", "close"):
        crasher = harness.connect(server)
        crasher.send(b"half a li")
        time.sleep(0.05)
        if leave == "reset":
            crasher.reset()
        else:
            crasher.close()
    time.sleep(0.1)
    harness.server_must_be_running(server, "after a client reset its connection")
    expect_line_echo(harness.connect(server), [b"still there?\n"], [b"still there?"],
                     how="by a new client after 2 clients reset their connections and "
                         "1 vanished, each in the middle of a line",
                     hint="catch ConnectionResetError (an OSError) where you talk to one "
                          "client, close that client's socket, and go on")
    crashes = server.program.events("thread_exception") + server.program.events("exception")
    if crashes:
        location = location_from_event(crashes[0].get("origin"))
        raise CheckFailed(Diagnosis(
            happened=f"when a client reset its connection, code in your server crashed "
                     f"with {crashes[0]['type']}: {crashes[0]['message']}",
            expected="the error is caught, the client's socket closed, and nothing crashes",
            where=[location.describe()] if location else [server.program.shown],
            hint="wrap the conversation with one client in try/except OSError/finally close"))


def expect_not_stalled_by_a_client_that_never_reads(harness: Harness, server: Server) -> None:
    """A client that sends and never reads its replies must not stall the others."""
    hog = socket.create_connection(("127.0.0.1", server.port), timeout=REPLY_SECONDS)
    harness.on_close(hog.close)
    hog.setblocking(False)
    chunk = b"never read this reply\n" * 3000
    deadline = time.monotonic() + SETTLE_SECONDS
    sent = 0
    while time.monotonic() < deadline and sent < 32 * 1024 * 1024:
        try:
            sent += hog.send(chunk)
        except BlockingIOError:
            time.sleep(0.01)
        except OSError:
            break  # the server dropped the hog: allowed
    expect_line_echo(harness.connect(server), [b"my turn\n"], [b"my turn"],
                     how=f"by a client, while another had sent {sent:,} bytes and read "
                         f"none of the replies",
                     hint="never wait for one client's socket: send only what send() takes "
                          "now, keep the rest in that client's buffer, and stop reading a "
                          "client whose buffer is full")


def expect_echo_of_split_and_joined_lines(harness: Harness, server: Server) -> None:
    peer = harness.connect(server)
    expect_line_echo(peer, [b"one\ntw", b"o\n"], [b"one", b"two"], hint=ECHO_HINT,
                     how="a line and a half, then the other half")
