"""The rules a step README states for its server, sent as the README states them:
a silent client is dropped after --idle-timeout, a line over MAX_LINE gets one
error line and a close, the client over --max-clients is turned away, SIGTERM
stops the server cleanly. Each function takes a `Harness` and raises
`CheckFailed`; the step modules give them their points."""

from __future__ import annotations

import os
import signal
import time

import pytest

from grader.diagnosis import CheckFailed, Diagnosis
from grader.harness import Harness, Server
from grader.peers import Peer
from grader.timing import EXIT_NOTICE_SECONDS, IDLE_TIMEOUT_FLAG, REPLY_SECONDS

IDLE = ("--idle-timeout", str(IDLE_TIMEOUT_FLAG))
MAX_LINE = 1024 * 1024  # the steps' framing.py: the longest line a server accepts
LINE_LIMIT_HINT = ("count the bytes of the line still waiting for its b'\\n': once they pass "
                   "MAX_LINE, send one line b'error: ...\\n' and close, without waiting for the "
                   "end of the line (a client could send gigabytes)")
SHUTDOWN_GRACE = 2.0  # the step 05 README: replies owed are sent for at most 2 s


def expect_silent_client_dropped(harness: Harness, server: Server, hint: str,
                                 sweep_seconds: float = 0.0) -> None:
    """A client that sends nothing is closed after --idle-timeout (plus the server's
    sweep interval, where it sweeps), with nothing sent to it, and the server goes on."""
    silent = harness.connect(server)
    leftover = silent.receive_until_closed(
        waiting_for=f"your server to drop a client that sent nothing for "
                    f"{IDLE_TIMEOUT_FLAG} s (--idle-timeout {IDLE_TIMEOUT_FLAG})",
        hint=hint, timeout=IDLE_TIMEOUT_FLAG + sweep_seconds + REPLY_SECONDS)
    if leftover:
        raise CheckFailed(Diagnosis(
            happened=f"your server sent {leftover[:100]!r} to a client that said nothing",
            expected="it closes the connection without a reply",
            where=[server.program.shown], hint=hint))
    harness.server_must_be_running(server, "after dropping a silent client")


def expect_long_line_refused(harness: Harness, server: Server) -> None:
    """A line past MAX_LINE, with no end in sight, gets one error line and a close."""
    peer = harness.connect(server)
    # One byte past the limit and no b"\n": a server that waits for the end of
    # the line would buffer without bound. All of it is read before the server
    # answers, so its close is a clean one (no reset eats the error line).
    peer.send(b"x" * (MAX_LINE + 1))
    told = f"a line of {MAX_LINE + 1:,} bytes, still without its b'\\n'"
    reply = peer.receive_until_closed(
        waiting_for=f"one line b'error: ...\\n', then the end of the connection, after {told}",
        hint=LINE_LIMIT_HINT)
    if not (reply.startswith(b"error") and reply.endswith(b"\n") and reply.count(b"\n") == 1):
        raise CheckFailed(Diagnosis(
            happened=f"after {told}, your server sent {reply[:100]!r} and closed the connection",
            expected="one line starting with b'error', then a close",
            where=[server.program.shown], hint=LINE_LIMIT_HINT))
    harness.server_must_be_running(server, "after refusing a line that was too long")
    expect_served(harness.connect(server), b"after the long line")


def expect_served(peer: Peer, line: bytes) -> None:
    """A reply line comes (what it says is other checks' business)."""
    sent = line + b"\n"
    peer.send(sent)
    peer.receive_lines(1, waiting_for=f"the reply to {sent!r}",
                       hint="the server must send back exactly the bytes it received")


def expect_client_over_the_cap_turned_away(harness: Harness) -> None:
    """With --max-clients 2, a third client gets one error line and a close at once;
    the two are still served, and once one leaves a new client is served again."""
    hint = ("when accept() would make one client too many, send that client one line "
            "b'error: too many clients\\n' and close it at once; count a client out when "
            "its socket is closed")
    server = harness.start_server("--max-clients", "2")
    first, second = harness.connect(server), harness.connect(server)
    expect_served(first, b"first")
    expect_served(second, b"second")
    third = harness.connect(server)
    answer = third.receive_until_closed(
        waiting_for="one line b'error: ...\\n' and a close for a third client "
                    "(--max-clients 2)", hint=hint)
    if not answer.startswith(b"error"):
        raise CheckFailed(Diagnosis(
            happened=f"with 2 clients connected and --max-clients 2, a third client got "
                     f"{answer[:100]!r} and a close",
            expected="one line starting with b'error', then a close",
            where=[server.program.shown], hint=hint))
    expect_served(first, b"still served")
    first.close()
    # The server frees the place once it has seen the close: wait for that state.
    deadline = time.monotonic() + REPLY_SECONDS
    while True:
        newcomer = harness.connect(server)
        newcomer.send(b"newcomer\n")
        got = newcomer.receive_some(waiting_for="the reply to b'newcomer\\n', from a client "
                                                "that came after one of the two left",
                                    hint=hint, deadline=deadline)
        newcomer.close()
        if got.startswith(b"newcomer"):
            return
        if time.monotonic() >= deadline:
            raise CheckFailed(Diagnosis(
                happened=f"after one of the two clients left, a new client was still turned "
                         f"away ({got[:60]!r}) for {REPLY_SECONDS:g} s",
                expected="a place is free again once a client's socket is closed",
                where=[server.program.shown], hint=hint))
        time.sleep(0.05)


def expect_clean_stop_on_sigterm(harness: Harness) -> None:
    """SIGTERM (`kill`): the server closes its clients, prints `server stopped` and
    exits with status 0 within its grace period."""
    if os.name == "nt":
        pytest.skip("Windows has no SIGTERM to send: there, a program is ended outright")
    hint = ("turn SIGTERM into a clean stop, as Ctrl-C is (signal.signal(signal.SIGTERM, "
            "...)): stop reading, send what is owed, close every socket, print "
            "'server stopped' and return from main")
    server = harness.start_server()
    client = harness.connect(server)
    expect_served(client, b"before the stop")
    server.program.send_signal(signal.SIGTERM)
    exited = server.program.wait(SHUTDOWN_GRACE + EXIT_NOTICE_SECONDS + REPLY_SECONDS)
    if exited is None:
        raise harness.hung(server.program, f"your server was still running "
                           f"{SHUTDOWN_GRACE + EXIT_NOTICE_SECONDS + REPLY_SECONDS:g} s after "
                           f"SIGTERM", expected="it stops within its 2 s grace", hint=hint)
    printed = server.program.stdout()
    if not exited.ok or "server stopped" not in printed:
        how = (f"was killed by {exited.signal_name}" if exited.signal_name
               else f"exited with status {exited.code}")
        raise CheckFailed(Diagnosis(
            happened=f"on SIGTERM, your server {how}"
                     f"{'' if 'server stopped' in printed else ' without printing server stopped'}",
            expected="'server stopped' printed, then exit status 0",
            where=[server.program.shown], hint=hint))
    left = client.receive_some(waiting_for="the end of a client's connection after SIGTERM",
                               hint=hint, deadline=time.monotonic() + REPLY_SECONDS)
    if left:
        raise CheckFailed(Diagnosis(
            happened=f"after SIGTERM your server sent {left[:60]!r} to an idle client",
            expected="nothing more: the connection closed", where=[server.program.shown],
            hint=hint))
