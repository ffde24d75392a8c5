"""The reference event-loop server holds up the way its README promises.

Each test starts solutions/05_event_loop/server.py as a subprocess on 127.0.0.1,
any free port (through tests/event_loop_kit.py), and proves one behaviour.
"""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.event_loop_kit import (
    ACCEPT_BATCH,
    EVENT_READ,
    EVENT_WRITE,
    HIGH_WATER,
    LISTEN_BACKLOG,
    LOW_WATER,
    MAX_LINE,
    READ_SIZE,
    SHUTDOWN_GRACE,
    SMALL_SEND_BUFFERS,
    TICK_SECONDS,
    TRACE_IO,
    TRACE_MODIFY,
    WAIT,
    WRITE_SIZE,
    Kit,
    Server,
    echo,
    exchange,
    interest_changes,
    lines_of,
    receive_line,
    receive_until_closed,
    reset,
    send_until_dropped,
    send_until_stuck,
    turns,
    wait_until,
)


@pytest.fixture
def kit(tmp_path: Path) -> Iterator[Kit]:
    started = Kit(tmp_path)
    try:
        yield started
    finally:
        started.close()


# Accepting


def test_waiting_clients_are_accepted_in_bounded_batches_and_all_served(kit: Kit) -> None:
    server = kit.start(trace=TRACE_IO)
    server.process.send_signal(signal.SIGSTOP)  # so that 200 clients wait in the queue
    try:
        clients = [kit.connect(server) for _ in range(200)]
    finally:
        server.process.send_signal(signal.SIGCONT)
    for number, client in enumerate(clients):
        assert echo(client, b"%d" % number) == b"%d\n" % number
    accepts = [sum(words == ["accept"] for words in turn) for turn in turns(server)]
    assert max(accepts) == ACCEPT_BATCH, accepts


ACCEPT_FAILS_FOUR_TIMES = """
import errno
failures = [ConnectionAbortedError(), InterruptedError(), BlockingIOError(),
            OSError(errno.EPROTO, "a network error of the waiting client")]
real_accept = socket.socket.accept
def accept(self):
    if failures:
        failure = failures.pop(0)
        emit("accept_failed", type(failure).__name__)
        raise failure
    return real_accept(self)
socket.socket.accept = accept
"""


def test_accept_errors_that_are_not_the_servers_are_shrugged_off(kit: Kit) -> None:
    server = kit.start(trace=ACCEPT_FAILS_FOUR_TIMES)
    assert echo(kit.connect(server), b"still here") == b"still here\n"
    assert [words[0] for words in server.trace("accept_failed")] == [
        "ConnectionAbortedError", "InterruptedError", "BlockingIOError", "OSError"]
    assert "Traceback" not in server.stderr()


def fill_descriptors(kit: Kit, server: Server) -> list[socket.socket]:
    """Connect clients until one is turned away; the ones served."""
    served: list[socket.socket] = []
    for _ in range(40):
        client = kit.connect(server)
        reply = echo(client, b"hi")
        if reply != b"hi\n":
            assert reply.startswith(b"error: ") and b"file descriptors" in reply, reply
            return served
        served.append(client)
    raise AssertionError("40 clients served: the descriptor limit did not apply")


def test_out_of_descriptors_waiting_clients_get_an_error_and_accepting_resumes(kit: Kit) -> None:
    server = kit.start("--max-clients", "100", descriptors=20)
    served = fill_descriptors(kit, server)
    assert len(served) >= 3
    silent = kit.connect(server)  # sends nothing: nothing unread turns its close into a reset
    assert receive_until_closed(silent).startswith(b"error: ")  # a line, then a plain close
    assert server.running()
    before = server.open_sockets()
    for client in served[:3]:
        client.close()
    wait_until(lambda: server.open_sockets() <= before - 3, "the leavers to be closed")
    latecomer = kit.connect(server)
    assert echo(latecomer, b"room again") == b"room again\n"
    assert all(echo(client, b"still served") == b"still served\n" for client in served[3:])


TRACE_LISTENER = """
real_register = selectors.DefaultSelector.register
real_unregister = selectors.DefaultSelector.unregister
def is_listener(fileobj):
    return fileobj.family == socket.AF_INET and \\
        fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
def register(self, fileobj, events, data=None):
    if is_listener(fileobj):
        emit("listener_watched", time.monotonic())
    return real_register(self, fileobj, events, data)
def unregister(self, fileobj):
    if fileobj.fileno() != -1 and is_listener(fileobj):
        emit("listener_ignored", time.monotonic())
    return real_unregister(self, fileobj)
selectors.DefaultSelector.register, selectors.DefaultSelector.unregister = register, unregister
"""


def test_out_of_descriptors_the_server_stops_watching_the_listener_for_a_tick(kit: Kit) -> None:
    server = kit.start("--max-clients", "100", trace=TRACE_LISTENER, descriptors=20)
    fill_descriptors(kit, server)
    before = server.cpu_seconds()
    latecomers = [kit.connect(server) for _ in range(10)]  # they wait while accepting pauses
    assert all(receive_line(client).startswith(b"error: ") for client in latecomers)
    assert server.cpu_seconds() - before < 0.3  # no busy loop
    paused = [float(words[0]) for words in server.trace("listener_ignored")]
    resumed = [float(words[0]) for words in server.trace("listener_watched")[1:]]
    assert resumed and resumed[0] - paused[0] >= 0.9 * TICK_SECONDS


# The cap on clients


def test_the_client_over_the_cap_gets_an_error_line_and_a_close(kit: Kit) -> None:
    server = kit.start("--max-clients", "3")
    first, *others = [kit.connect(server) for _ in range(3)]
    assert [echo(client, b"in") for client in (first, *others)] == [b"in\n"] * 3
    over = kit.connect(server)
    assert receive_line(over) == b"error: too many clients\n"
    assert over.recv(100) == b""
    first.close()

    def a_newcomer_is_served() -> bool:
        return echo(kit.connect(server), b"my turn") == b"my turn\n"

    wait_until(a_newcomer_is_served, "a place freed by a leaving client")


# Sending and the selector


def test_replies_are_sent_at_once_without_registering_for_write(kit: Kit) -> None:
    server = kit.start(trace=TRACE_MODIFY)
    client = kit.connect(server)
    message = b"x" * 1023
    for _ in range(200):
        assert echo(client, message) == message + b"\n"
    assert server.trace("modify") == []


def test_write_interest_is_registered_only_while_output_is_pending(kit: Kit) -> None:
    server = kit.start(trace=TRACE_MODIFY)
    payload = lines_of(3000, 1000)
    assert exchange(kit.connect(server, 4096), payload, stall=0.3) == payload
    changes = interest_changes(server)
    assert any(after & EVENT_WRITE for _, after, _ in changes)
    assert all(bool(after & EVENT_WRITE) == (pending > 0) for _, after, pending in changes)


def test_each_event_reads_and_sends_a_bounded_amount_with_send_never_sendall(kit: Kit) -> None:
    server = kit.start(trace=TRACE_IO)
    payload = lines_of(40, 100 * 1024)
    busy, other = kit.connect(server), kit.connect(server)
    assert exchange(busy, payload) == payload
    assert echo(other, b"me too") == b"me too\n"
    for turn in turns(server):
        for call in ("recv", "send"):
            descriptors = [words[1] for words in turn if words[0] == call]
            assert len(descriptors) == len(set(descriptors)), f"two {call}s in one turn: {turn}"
    recvs, sends = server.trace("recv"), server.trace("send")
    assert {int(words[1]) for words in recvs} == {READ_SIZE}
    assert max(int(words[2]) for words in recvs) == READ_SIZE  # more was there to read
    assert max(int(words[1]) for words in sends) == WRITE_SIZE  # more was there to send
    assert server.trace("sendall") == []


# Backpressure


def test_a_client_behind_on_its_replies_is_paused_at_high_water_until_below_low_water(
        kit: Kit) -> None:
    server = kit.start(trace=TRACE_MODIFY)
    payload = lines_of(12000, 1000)  # more than the kernel's buffers take for us
    assert exchange(kit.connect(server, 4096), payload, stall=0.3) == payload
    changes = interest_changes(server)
    pauses = [pending for before, after, pending in changes
              if before & EVENT_READ and not after & EVENT_READ]
    resumes = [pending for before, after, pending in changes
               if not before & EVENT_READ and after & EVENT_READ]
    assert LOW_WATER < HIGH_WATER
    assert pauses and all(pending >= HIGH_WATER for pending in pauses), pauses
    assert resumes and all(pending < LOW_WATER for pending in resumes), resumes


def test_a_client_that_never_reads_is_paused_then_dropped_as_idle(kit: Kit) -> None:
    server = kit.start("--idle-timeout", "0.5")
    hog, other = kit.connect(server, 4096), kit.connect(server)
    send_until_stuck(hog, lines_of(20000, 1000))
    stuck = time.monotonic()
    assert echo(other, b"my turn") == b"my turn\n"
    assert send_until_dropped(hog, lines_of(64, 1024))
    assert time.monotonic() - stuck <= 0.5 + TICK_SECONDS + 1


BACKPRESSURE_OFF = """
import connection
connection.HIGH_WATER = connection.LOW_WATER = 1 << 62
"""


def test_the_output_cap_drops_a_client_that_never_reads_even_without_backpressure(
        kit: Kit) -> None:
    server = kit.start(trace=BACKPRESSURE_OFF)
    hog, other = kit.connect(server, 4096), kit.connect(server)
    assert send_until_dropped(hog, lines_of(64, 1024))
    assert echo(other, b"still served") == b"still served\n"
    assert "Traceback" not in server.stderr()


# The longest message


def test_a_line_of_the_maximum_size_is_echoed_whole(kit: Kit) -> None:
    server = kit.start()
    line = b"m" * MAX_LINE + b"\n"
    assert exchange(kit.connect(server), line) == line


def test_a_line_over_the_maximum_gets_an_error_line_and_a_close(kit: Kit) -> None:
    server = kit.start()
    client = kit.connect(server)
    client.sendall(b"m" * (MAX_LINE + 1))
    assert receive_until_closed(client) == b"error: a line is longer than %d bytes\n" % MAX_LINE


def test_an_endless_line_is_cut_off_before_it_is_buffered_whole(kit: Kit) -> None:
    server = kit.start(trace=TRACE_IO)
    assert send_until_dropped(kit.connect(server), b"m" * 65536)
    assert sum(int(words[2]) for words in server.trace("recv")) <= MAX_LINE + READ_SIZE


# Ends of connections


def test_a_client_that_shuts_down_its_sending_side_still_gets_every_reply(kit: Kit) -> None:
    server = kit.start(trace=SMALL_SEND_BUFFERS)
    client = kit.connect(server, 4096)
    payload = lines_of(200, 1000)  # read whole, most replies still owed when the end comes
    client.sendall(payload)
    client.shutdown(socket.SHUT_WR)
    time.sleep(0.2)
    assert receive_until_closed(client) == payload


def test_reset_clients_are_dropped_and_their_descriptors_freed_while_others_go_on(
        kit: Kit) -> None:
    server = kit.start()
    other = kit.connect(server)
    assert echo(other, b"before") == b"before\n"
    baseline = server.open_descriptors()
    for _ in range(3):
        client = kit.connect(server)
        client.sendall(b"half a li")
        wait_until(lambda: server.open_descriptors() > baseline, "the client to be accepted")
        reset(client)
    wait_until(lambda: server.open_descriptors() == baseline, "the reset clients to be closed")
    assert echo(other, b"after") == b"after\n"
    assert server.running() and "Traceback" not in server.stderr()


def test_a_client_gone_with_replies_pending_is_dropped_on_the_broken_pipe(kit: Kit) -> None:
    server = kit.start()
    baseline = server.open_descriptors()
    client = kit.connect(server, 4096)
    send_until_stuck(client, lines_of(20000, 1000))
    reset(client)
    wait_until(lambda: server.open_descriptors() == baseline, "the vanished client to be closed")
    assert echo(kit.connect(server), b"next") == b"next\n"
    assert "Traceback" not in server.stderr()


def test_a_silent_client_is_dropped_after_the_idle_timeout_and_a_talking_one_kept(
        kit: Kit) -> None:
    server = kit.start("--idle-timeout", "0.5")
    started = time.monotonic()  # before the server can accept: its idle clock starts later
    silent, talking = kit.connect(server), kit.connect(server)
    silent.setblocking(False)
    dropped_after = None
    while dropped_after is None and time.monotonic() - started < 0.5 + TICK_SECONDS + 1:
        assert echo(talking, b"here") == b"here\n"
        try:
            if silent.recv(100) == b"":
                dropped_after = time.monotonic() - started
        except BlockingIOError:
            pass
        time.sleep(0.1)
    assert dropped_after is not None and 0.45 <= dropped_after <= 0.5 + TICK_SECONDS + 0.3
    assert echo(talking, b"still here") == b"still here\n"  # it outlived the silent one


# Socket options


TRACE_OPTIONS = """
real_listen, real_register = socket.socket.listen, selectors.DefaultSelector.register
def listen(self, *backlog):
    emit("listen", *backlog)
    return real_listen(self, *backlog)
def register(self, fileobj, events, data=None):
    if hasattr(data, "outbox"):
        emit("nodelay", fileobj.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
    return real_register(self, fileobj, events, data)
socket.socket.listen, selectors.DefaultSelector.register = listen, register
"""


def test_clients_get_tcp_nodelay_and_the_listener_an_explicit_backlog(kit: Kit) -> None:
    server = kit.start(trace=TRACE_OPTIONS)
    for client in [kit.connect(server) for _ in range(3)]:
        assert echo(client, b"hi") == b"hi\n"
    assert server.trace("listen") == [[str(LISTEN_BACKLOG)]]
    assert [int(words[0]) != 0 for words in server.trace("nodelay")] == [True] * 3


# Stopping


TRACE_RECV = """
real_recv = socket.socket.recv
def recv(self, size, *flags):
    data = real_recv(self, size, *flags)
    emit("recv", self.fileno(), size, len(data))
    return data
socket.socket.recv = recv
"""


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_closes_the_door_sends_what_is_owed_and_exits_0(
        kit: Kit, stop: signal.Signals) -> None:
    server = kit.start(trace=SMALL_SEND_BUFFERS + TRACE_RECV)
    idle, behind = kit.connect(server), kit.connect(server, 4096)
    assert echo(idle, b"hi") == b"hi\n"
    payload = lines_of(200, 1000)  # read whole by the server, most of it still in its outbox
    behind.sendall(payload)
    # Once stopping, the server reads nothing more: all of it must be in first.
    wait_until(lambda: sum(int(words[2]) for words in server.trace("recv")) >= len(payload) + 3,
               "the server to read the whole payload")  # and idle's b"hi\n"
    signalled = time.monotonic()
    server.process.send_signal(stop)
    assert idle.recv(100) == b""

    def refused() -> bool:
        try:
            kit.connect(server)
        except ConnectionRefusedError:
            return True
        return False

    wait_until(refused, "the listener to close")
    assert time.monotonic() - signalled < SHUTDOWN_GRACE / 2  # not at the end of the grace
    assert receive_until_closed(behind) == payload
    assert server.process.wait(WAIT) == 0
    assert time.monotonic() - signalled < SHUTDOWN_GRACE  # done once nothing was owed
    assert server.stdout_lines()[1:] == ["server stopped"]


def test_a_stop_signal_drops_a_client_that_never_reads_after_the_grace(kit: Kit) -> None:
    server = kit.start()
    send_until_stuck(kit.connect(server, 4096), lines_of(20000, 1000))
    stopped = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(WAIT) == 0
    assert SHUTDOWN_GRACE - 0.2 <= time.monotonic() - stopped <= SHUTDOWN_GRACE + 1.5
    assert server.stdout_lines()[1:] == ["server stopped"]


# Errors in our own code


FAILS_ON_BOOM = """
import framing
real_feed_whole_lines = framing.LineBuffer.feed_whole_lines
def feed_whole_lines(self, data):
    if data == b"boom\\n":
        raise RuntimeError("a bug met while answering boom")
    return real_feed_whole_lines(self, data)
framing.LineBuffer.feed_whole_lines = feed_whole_lines
"""


def test_an_error_in_one_clients_handling_drops_that_client_only(kit: Kit) -> None:
    server = kit.start(trace=FAILS_ON_BOOM)
    victim, other = kit.connect(server), kit.connect(server)
    victim.sendall(b"boom\n")
    assert receive_until_closed(victim) == b""
    assert echo(other, b"fine") == b"fine\n"
    assert server.running()
    assert "RuntimeError: a bug met while answering boom" in server.stderr()


# Cost


def test_idle_clients_add_no_work_to_each_turn_of_the_loop(kit: Kit) -> None:
    server = kit.start("--max-clients", "2000")
    active = kit.connect(server)

    def cpu_for_round_trips() -> float:
        before = server.cpu_seconds()
        for _ in range(3000):
            active.sendall(b"ping\n")
            assert active.recv(100) == b"ping\n"
        return server.cpu_seconds() - before

    alone = cpu_for_round_trips()
    idle = [kit.connect(server) for _ in range(1000)]
    assert echo(idle[-1], b"here") == b"here\n"
    assert cpu_for_round_trips() < 2 * alone + 0.05
