"""Checks and expectations that several steps share, written once.

Each function takes a `Harness` and raises `CheckFailed` with a diagnosis;
the step modules pick the ones that fit, with their own points.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable

from grader.diagnosis import CheckFailed, Diagnosis, Location, location_from_event, shown_path
from grader.harness import ClientRun, Harness, Server, last_line, unclosed_sockets
from grader.peers import FakeConnection, FakeServer, Peer
from grader.timing import (
    CLIENT_RUN_SECONDS,
    CLIENT_TIMEOUT_FLAG,
    REFUSED_CONNECT_SECONDS,
    REPLY_SECONDS,
    SETTLE_SECONDS,
)

ECHO_HINT = "the server must send back exactly the bytes it received"


def expect_unclosed_none(harness: Harness, run: ClientRun | Server, role: str) -> None:
    """Every socket the program created was closed by the program itself."""
    if not run.program.events("socket_created"):
        # Nothing to close is not the same as closing it.
        raise CheckFailed(Diagnosis(
            happened=f"your {role} never created a socket, so it could not be seen closing one",
            expected="it creates its socket(s), uses them, and closes every one",
            where=[run.program.shown],
            hint="make the program work first; then check that each socket is closed"))
    places = unclosed_sockets(run.program)
    if not places:
        return
    raise CheckFailed(Diagnosis(
        happened=f"your {role} left {len(places)} socket(s) open: Python closed "
                 f"{'it' if len(places) == 1 else 'them'} for you when the program "
                 f"dropped {'it' if len(places) == 1 else 'them'} or exited",
        expected="every socket is closed with close() (or a with block) once it is done",
        where=_created_at(places),
        hint="each socket() and each accept() gives a socket that needs its own close()"))


def _created_at(places: list[Location | None]) -> list[str]:
    """'3 sockets created at server.py:12: ...', one line per place."""
    counts: dict[str, int] = {}
    for place in places:
        text = f"created at {place.describe()}" if place else "created outside your code"
        counts[text] = counts.get(text, 0) + 1
    return [f"{count} socket{'s' if count > 1 else ''} {text}" for text, count in counts.items()]


def line_exchange(message: bytes, reply_lines: int = 1) -> Callable[[Peer], None]:
    """One short conversation in lines: send `message`, read the replies."""
    def talk(peer: Peer) -> None:
        peer.send(message)
        peer.receive_lines(reply_lines, waiting_for=f"the reply to {message!r}", hint=ECHO_HINT)
    return talk


def expect_no_leak(harness: Harness, server: Server, connections: int,
                   talk: Callable[[Peer], None]) -> None:
    """Many short connections leave the server with as many open sockets as before."""
    def open_sockets() -> list[dict[str, object]]:
        return harness.facts(server.program, "about its open sockets").sockets

    def one_client() -> None:
        peer = harness.connect(server)
        talk(peer)
        peer.close()

    # Counted once the first client is served: by then the server has made all
    # the sockets it keeps for itself (a listener, a wakeup pair...).
    one_client()
    opened_before = open_sockets()
    before = len(opened_before)
    for _ in range(connections - 1):
        one_client()
    deadline = time.monotonic() + SETTLE_SECONDS
    still_open = open_sockets()
    while len(still_open) - before > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
        still_open = open_sockets()
    extra = len(still_open) - before
    if extra > 1:
        places = [location_from_event(event.get("origin"))  # type: ignore[arg-type]
                  for event in _new_since(opened_before, still_open)
                  if event.get("kind") != "listening"]
        raise CheckFailed(Diagnosis(
            happened=f"after {connections} clients came and went, your server holds "
                     f"{extra} more open sockets than before: they pile up",
            expected="the server closes each client's socket when that client is done",
            where=_created_at(places) or [shown_path(server.program.shown)],
            hint="close the socket accept() gave you when the conversation ends, on every "
                 "path: normal end, error and timeout (try/finally or a with block)"))
    expect_unclosed_none(harness, server, "server")


def _new_since(before: list[dict[str, object]],
               now: list[dict[str, object]]) -> list[dict[str, object]]:
    """The sockets in `now` beyond those `before` (matched by kind and creation line)."""
    remaining = Counter(json.dumps(entry, sort_keys=True) for entry in before)
    new = []
    for entry in now:
        key = json.dumps(entry, sort_keys=True)
        if remaining[key]:
            remaining[key] -= 1
        else:
            new.append(entry)
    return new


def echo_upper(connection: FakeConnection) -> None:
    """The grader's stand-in server: one message in, the same in capitals out."""
    data = connection.recv(4096)
    if data:
        connection.sendall(data.upper())
        connection.wait_until_stopped()


BOTH_IN_RECV = ("both sides are waiting in recv(): the server waits for your client to "
                "speak and your client waits for the server, so nothing ever happens "
                "(the lesson's deadlock)")


def run_client_against(harness: Harness, fake: FakeServer, *args: str) -> ClientRun:
    """Run the client; if it hangs, note whether the grader's server was waiting for it."""
    return harness.run_client(fake.port, *args, timeout=CLIENT_RUN_SECONDS,
                              while_hung=fake.waiting_in_recv.is_set)


def expect_client_finished(harness: Harness, run: ClientRun, doing: str, expected: str,
                           hint: str) -> None:
    if not run.hung:
        return
    failure = harness.hung(run.program, f"your client was still running after "
                                        f"{run.timeout:g} s while {doing}",
                           expected=expected, hint=hint, stacks=run.stacks)
    if run.other_side is True and "waiting in recv()" in failure.diagnosis.happened:
        failure.diagnosis.happened = f"{BOTH_IN_RECV}; {failure.diagnosis.happened}"
    raise failure


def expect_client_printed(run: ClientRun, expected_lines: list[str], what: str,
                          hint: str = "run it yourself against your server and read what "
                                      "it prints") -> None:
    printed = run.printed_lines
    if run.exited is not None and not run.exited.ok:
        detail = last_line(run.program.stderr()) or f"exit status {run.exited.code}"
        raise CheckFailed(Diagnosis(
            happened=f"your client failed while {what}: {detail}",
            expected=f"it prints {expected_lines!r} and exits with status 0",
            where=[run.program.shown], hint=hint))
    if printed[-len(expected_lines):] != expected_lines:
        raise CheckFailed(Diagnosis(
            happened=f"your client printed {printed!r}",
            expected=f"its last lines are the server's replies, exactly: {expected_lines!r}",
            where=[run.program.shown],
            hint="print the bytes the server sent back (decoded), one reply per line; the "
                 "grader's server answers in capitals, so print the reply, not your message"))


def free_port_with_nothing_listening() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = int(probe.getsockname()[1])
    probe.close()
    return port


def expect_clear_connection_error(harness: Harness) -> None:
    """No server there: one clear line on stderr and exit 1, no traceback."""
    port = free_port_with_nothing_listening()
    # Nothing listens there; Windows takes seconds to say so.
    run = harness.run_client(port, "hello", timeout=CLIENT_RUN_SECONDS + REFUSED_CONNECT_SECONDS)
    expect_client_finished(harness, run, "no server was running", "it gives up at once",
                           "connect() to a port where nothing listens fails at once")
    assert run.exited is not None
    if not run.ended_with_one_clear_error(status=1):
        raise CheckFailed(Diagnosis(
            happened=f"with no server running, your client exited with status "
                     f"{run.exited.code} and printed {run.stderr_shown} on stderr",
            expected="one clear line on stderr (e.g. 'error: cannot talk to 127.0.0.1:2000: "
                     "Connection refused') "
                     "and exit status 1",
            where=[run.program.shown],
            hint="catch OSError around connect(), print a message to sys.stderr, then sys.exit(1)"))


def never_reply(connection: FakeConnection) -> None:
    """The grader's stand-in server that reads and never answers."""
    connection.recv(4096)
    connection.wait_until_stopped()


class FullListener:
    """A listening socket that never accepts, its queue already full: a new
    connect() to it waits, as with a server that is stuck elsewhere."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.port = int(self.listener.getsockname()[1])
        self.fillers = []
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", self.port))
            self.fillers.append(filler)

    def close(self) -> None:
        for sock in [*self.fillers, self.listener]:
            sock.close()


def expect_client_gives_up(harness: Harness, port: int, waits_for: str,
                           while_hung: Callable[[], object] = lambda: None) -> None:
    """With --timeout 0.5 the client ends soon, says why on stderr, exits non-zero."""
    run = harness.run_client(port, "--timeout", str(CLIENT_TIMEOUT_FLAG), "hello",
                             timeout=CLIENT_RUN_SECONDS, while_hung=while_hung)
    hint = ("give the socket a time limit with settimeout() before connect(), and catch "
            "TimeoutError (socket.timeout) to print a message")
    expect_client_finished(
        harness, run, f"the grader's server {waits_for} (it was given --timeout "
                      f"{CLIENT_TIMEOUT_FLAG})",
        expected=f"your client gives up after about {CLIENT_TIMEOUT_FLAG} s", hint=hint)
    assert run.exited is not None
    if run.traceback_shown:
        crash = run.program.crash()
        raise CheckFailed(Diagnosis(
            happened=f"your client gave up, but with a traceback"
                     f"{': ' + crash['type'] if crash else ''}",
            expected="one clear line on stderr, such as 'error: no answer within 0.5 s', "
                     "and exit status 1",
            where=[run.program.crash_place() or run.program.shown],
            hint="catch TimeoutError around the code that waits, print to sys.stderr, "
                 "then sys.exit(1)"))
    if not run.ended_with_one_clear_error():
        raise CheckFailed(Diagnosis(
            happened=f"when the server {waits_for}, your client exited with status "
                     f"{run.exited.code} and printed {run.stderr_shown} on stderr",
            expected="a clear message on stderr and a non-zero exit status",
            where=[run.program.shown], hint=hint))


def upper_lines_in_pieces(connection: FakeConnection) -> None:
    """The grader's stand-in line server: each line back in capitals, cut in two
    pieces sent apart, so a client must put a reply together from several recv()."""
    pending = b""
    while True:
        data = connection.recv(4096)
        if not data:
            return
        pending += data
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            reply = line.upper() + b"\n"
            middle = max(1, len(reply) // 2)
            connection.sendall(reply[:middle])
            time.sleep(0.05)
            connection.sendall(reply[middle:])


def shorten(data: bytes, keep: int = 40) -> str:
    if len(data) <= keep:
        return repr(data)
    return f"{data[:keep]!r}... ({len(data):,} bytes)"


def as_lines(lines: list[bytes]) -> str:
    return ", ".join(shorten(line + b"\n") for line in lines)


def expect_line_echo(peer: Peer, pieces: list[bytes], expected: list[bytes], *,
                     hint: str = ECHO_HINT, how: str = "") -> None:
    """Send these pieces; the server must answer with exactly these lines."""
    sent = b"".join(pieces)
    described = shorten(sent) + (f" ({how})" if how else "")
    if len(pieces) > 1:
        peer.send_in_pieces(pieces)
    else:
        peer.send(sent)
    replies = peer.receive_lines(len(expected), waiting_for=f"the reply to {described}",
                                 hint=hint)
    if replies != expected:
        peer.server.raise_if_stopped(f"after it was sent {described}")
        raise CheckFailed(Diagnosis(
            happened=f"to {described}, your server replied {as_lines(replies)}",
            expected=as_lines(expected),
            where=[peer.server.program.shown], hint=hint))


SLOW_READER_BUFFER = 4096
# A slow reader pauses before each recv(): the server's replies pile up in its
# outbox once the kernel's buffers (MBs on loopback) are full.
SLOW_READ_PAUSE = 0.0005


def expect_every_byte_to_a_slow_reader(harness: Harness, server: Server, lines: list[bytes],
                                       *, then_stop_sending: bool, hint: str) -> None:
    """A client that reads slowly through a small buffer gets every reply whole,
    and, if it stops sending (shutdown), still gets all it is owed, then a close."""
    peer = harness.connect(server, receive_buffer=SLOW_READER_BUFFER)
    request = b"".join(line + b"\n" for line in lines)

    def send_all() -> None:
        try:
            peer.sock.sendall(request)
            if then_stop_sending:
                peer.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # what the server did is told by what it sent back

    sender = threading.Thread(target=send_all, daemon=True)
    sender.start()
    what = (f"{len(lines)} lines ({len(request) / 2**20:.1f} MB) sent at once"
            + (", then the end of its sending side" if then_stop_sending else "")
            + ", to a client that reads slowly")
    received = bytearray()
    deadline = time.monotonic() + REPLY_SECONDS * 10
    while len(received) < len(request) and time.monotonic() < deadline:
        time.sleep(SLOW_READ_PAUSE)
        chunk = peer.receive_some(waiting_for=f"the replies to {what}", hint=hint,
                                  deadline=deadline)
        if not chunk:
            break
        received += chunk
    if then_stop_sending and received == request:
        received += peer.receive_until_closed(waiting_for=f"the end of the connection "
                                                          f"after the replies to {what}",
                                              hint=hint)
    sender.join(timeout=REPLY_SECONDS)
    if bytes(received) != request:
        server.raise_if_stopped(f"after it was sent {what}")
        first_bad = next((i for i, (a, b) in enumerate(zip(received, request, strict=False))
                          if a != b),
                         min(len(received), len(request)))
        raise CheckFailed(Diagnosis(
            happened=f"to {what}, your server sent back {len(received):,} bytes, differing "
                     f"from what it was sent from byte {first_bad:,} on",
            expected=f"the same {len(request):,} bytes back, then "
                     + ("a close" if then_stop_sending else "more"),
            where=[server.program.shown], hint=hint))
