"""Checks and expectations that several steps share, written once.

Each function takes a `Harness` and raises `CheckFailed` with a diagnosis;
the step modules pick the ones that fit, with their own points.
"""

from __future__ import annotations

import socket
import time

from grader.diagnosis import CheckFailed, Diagnosis, Location, shown_path
from grader.harness import (
    ClientRun,
    FakeConnection,
    FakeServer,
    Harness,
    Server,
    last_line,
    unclosed_sockets,
)
from grader.timing import CLIENT_RUN_SECONDS, SETTLE_SECONDS

ECHO_HINT = "the server must send back exactly the bytes it received"


def expect_server_starts(harness: Harness, *args: str) -> Server:
    return harness.start_server(*args)


def expect_unclosed_none(harness: Harness, run: ClientRun | Server, role: str) -> None:
    """Every socket the program created was closed by the program itself."""
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
    shown = []
    for place in places:
        text = f"socket created at {place.describe()}" if place else "socket created outside your code"
        if text not in shown:
            shown.append(text)
    return shown


def expect_no_leak(harness: Harness, server: Server, connections: int, exchange: bytes,
                   reply_lines: int = 1) -> None:
    """Many short connections leave the server with as many descriptors as before."""
    before = server.program.open_descriptors()
    for _ in range(connections):
        peer = harness.connect(server)
        peer.send(exchange)
        peer.receive_lines(reply_lines, waiting_for=f"the reply to {exchange!r}", hint=ECHO_HINT)
        peer.close()
    deadline = time.monotonic() + SETTLE_SECONDS
    extra = server.program.open_descriptors() - before
    while extra > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
        extra = server.program.open_descriptors() - before
    if extra > 1:
        places = unclosed_sockets(server.program)
        raise CheckFailed(Diagnosis(
            happened=f"after {connections} clients came and went, your server holds "
                     f"{extra} more open sockets than before: they pile up",
            expected="the server closes each client's socket when that client is done",
            where=_created_at(places) or [f"the accept() in {shown_path(str(server.program.script))}"],
            hint="close the socket accept() gave you when the conversation ends, on every "
                 "path: normal end, error and timeout (try/finally or a with block)"))
    expect_unclosed_none(harness, server, "server")


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
                                        f"{CLIENT_RUN_SECONDS:g} s while {doing}",
                           expected=expected, hint=hint, stacks=run.stacks)
    if run.other_side is True and "waiting in recv()" in failure.diagnosis.happened:
        failure.diagnosis.happened = f"{BOTH_IN_RECV}; {failure.diagnosis.happened}"
    raise failure


def expect_client_printed(run: ClientRun, expected_lines: list[str], what: str) -> None:
    printed = run.printed_lines
    if run.exited is not None and not run.exited.ok:
        detail = last_line(run.program.stderr()) or f"exit status {run.exited.code}"
        raise CheckFailed(Diagnosis(
            happened=f"your client failed while {what}: {detail}",
            expected=f"it prints {expected_lines!r} and exits with status 0",
            where=[str(run.program.script)],
            hint="run it yourself against your server and read what it prints"))
    if printed[-len(expected_lines):] != expected_lines:
        raise CheckFailed(Diagnosis(
            happened=f"your client printed {printed!r}",
            expected=f"its last lines are the server's replies, exactly: {expected_lines!r}",
            where=[str(run.program.script)],
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
    run = harness.run_client(port, "hello", timeout=CLIENT_RUN_SECONDS)  # nothing listens
    expect_client_finished(harness, run, "no server was running", "it gives up at once",
                       "connect() to a port where nothing listens fails at once")
    assert run.exited is not None
    stderr = run.program.stderr().strip()
    if run.traceback_shown or run.exited.code != 1 or not stderr:
        shown = "a traceback" if run.traceback_shown else (last_line(stderr) or "nothing")
        raise CheckFailed(Diagnosis(
            happened=f"with no server running, your client exited with status "
                     f"{run.exited.code} and printed {shown} on stderr",
            expected="one clear line on stderr (e.g. 'error: cannot connect to 127.0.0.1:2000') "
                     "and exit status 1",
            where=[str(run.program.script)],
            hint="catch OSError around connect(), print a message to sys.stderr, then sys.exit(1)"))
