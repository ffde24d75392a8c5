"""Step 07: UDP: datagrams keep their boundaries, get lost, and come late."""

from __future__ import annotations

import socket

from grader.checks.common import expect_client_finished, expect_client_printed, shorten
from grader.checks.udp_tools import (
    LOOPBACK,
    MAX_DATAGRAM,
    TO_SERVER,
    FakeUdpServer,
    LossyRelay,
    Policy,
    drop_all_requests,
    drop_every,
    drop_first_copy_of_each_request,
    hold_replies,
    pass_everything,
)
from grader.diagnosis import CheckFailed, Diagnosis
from grader.harness import ClientRun, Harness, Server
from grader.plugin import check
from grader.timing import CLIENT_RUN_SECONDS, REPLY_SECONDS

STEP = "07_udp"
# The basic exchanges: a check that needs one would hang where it hung.
SERVER_ECHOES = "server echoes a datagram"
CLIENT_PRINTS = "client prints each reply"
RETRY_HINT = ("after sending, wait for a reply only --timeout seconds (settimeout); on "
              "TimeoutError send the same request, same id, again, at most --retries more "
              "times")


def udp_socket(harness: Harness) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    harness.on_close(sock.close)
    return sock


def expect_datagrams_echoed(harness: Harness, server: Server, datagrams: list[bytes],
                            what: str) -> None:
    """Send these datagrams; each must come back whole, as its own datagram."""
    sock = udp_socket(harness)
    for datagram in datagrams:
        sock.sendto(datagram, (LOOPBACK, server.port))
    received: list[bytes] = []
    for _ in datagrams:
        sock.settimeout(REPLY_SECONDS)
        try:
            received.append(sock.recv(MAX_DATAGRAM))
        except (ConnectionRefusedError, ConnectionResetError):
            # A datagram to a closed port is reported on the next recv
            # (refused on Linux and macOS, reset on Windows).
            server.raise_if_stopped(f"after it was sent {what}")
            raise
        except TimeoutError:
            server.raise_if_stopped(f"after it was sent {what}")
            so_far = f" (it had sent back {received!r})" if received else ""
            raise harness.hung(server.program, f"the grader sent {what} and waited "
                                               f"{REPLY_SECONDS:g} s for reply number "
                                               f"{len(received) + 1}{so_far}",
                               expected="each datagram sent back to its sender",
                               hint="recvfrom() gives the data and the sender's address: "
                                    "sendto(data, address) answers it") from None
    if received != datagrams:
        raise CheckFailed(Diagnosis(
            happened=f"to {what}, your server answered with datagrams of "
                     f"{[len(d) for d in received]} bytes: "
                     f"{', '.join(shorten(d) for d in received)}",
            expected=f"the same datagrams back, one for one: {[len(d) for d in datagrams]} bytes",
            where=[server.program.shown],
            hint="UDP keeps boundaries: one recvfrom() is one whole datagram; send each "
                 "back as it is, with one sendto()"))


# -- the server --------------------------------------------------------------

@check(points=1, program="server", gate=True)
def check_server_binds_a_udp_port(harness: Harness) -> None:
    harness.start_server()


@check(points=1, program="server")
def check_server_echoes_a_datagram(harness: Harness) -> None:
    expect_datagrams_echoed(harness, harness.start_server(), [b"7 hello"], "b'7 hello'")


@check(points=2, program="server", needs=(SERVER_ECHOES,))
def check_server_keeps_datagram_boundaries(harness: Harness) -> None:
    # 9,002 bytes: more than one recvfrom(4096) takes, less than macOS's 9,216-byte cap.
    datagrams = [b"1 a", b"2 " + b"b" * 1000, b"3 " + b"c" * 9_000]
    expect_datagrams_echoed(harness, harness.start_server(), datagrams,
                            "3 datagrams of 3, 1,002 and 9,002 bytes, back to back")


@check(points=1, program="server", needs=(SERVER_ECHOES,))
def check_server_answers_each_client_at_its_own_address(harness: Harness) -> None:
    server = harness.start_server()
    clients = [udp_socket(harness) for _ in range(10)]
    for number, sock in enumerate(clients):
        sock.sendto(f"{number} from client {number}".encode(), (LOOPBACK, server.port))
    for number, sock in enumerate(clients):
        sock.settimeout(REPLY_SECONDS)
        try:
            reply = sock.recv(MAX_DATAGRAM)
        except TimeoutError:
            raise CheckFailed(Diagnosis(
                happened=f"of 10 clients on 10 ports, client {number} got no reply",
                expected="every client gets its reply at its own address",
                where=[server.program.shown],
                hint="answer the address recvfrom() gave with this datagram, not the "
                     "first client's")) from None
        expected = f"{number} from client {number}".encode()
        if reply != expected:
            raise CheckFailed(Diagnosis(
                happened=f"client {number} got {shorten(reply)}", expected=repr(expected),
                where=[server.program.shown], hint="echo each datagram to its sender"))


@check(points=1, program="server", needs=(SERVER_ECHOES,))
def check_server_survives_an_empty_datagram_and_garbage(harness: Harness) -> None:
    server = harness.start_server()
    try:
        expect_datagrams_echoed(harness, server, [b"", b"\xff\xfe not text", b"no-id-here"],
                                "an empty datagram and two odd ones")
    except CheckFailed as failure:
        if failure.hung:  # the README: an empty or odd datagram is echoed like any other
            failure.diagnosis.hint = ("b'' from recvfrom() is an empty datagram, not the end "
                                      "of anything: send it back like any other, and every "
                                      "datagram whatever its bytes")
        raise
    expect_datagrams_echoed(harness, server, [b"8 still there?"],
                            "b'8 still there?' after an empty datagram and two odd ones")


@check(points=1, program="server", needs=(SERVER_ECHOES,))
def check_server_keeps_serving_after_a_client_has_gone(harness: Harness) -> None:
    server = harness.start_server()
    gone = udp_socket(harness)
    gone.sendto(b"9 anyone there?", (LOOPBACK, server.port))
    # Its reply meets a closed port. Linux and macOS say nothing of it to an
    # unconnected socket; Windows raises ConnectionResetError from the server's
    # next recvfrom, and a server that does not catch it is gone.
    gone.close()
    expect_datagrams_echoed(harness, server, [b"10 still there?"],
                            "b'10 still there?' after a client went away before its reply")


# -- the client --------------------------------------------------------------

def run_through_relay(harness: Harness, policy: Policy, *args: str) -> tuple[ClientRun,
                                                                             LossyRelay]:
    fake = FakeUdpServer()
    harness.on_close(fake.close)
    relay = LossyRelay(fake.port, policy)
    harness.on_close(relay.close)
    run = harness.run_client(relay.port, *args, timeout=CLIENT_RUN_SECONDS)
    return run, relay


@check(points=1, program="client")
def check_client_prints_each_reply(harness: Harness) -> None:
    run, _ = run_through_relay(harness, pass_everything, "one", "two words")
    expect_client_finished(harness, run, "talking to the grader's UDP server",
                           expected="it sends each message, prints each reply, exits",
                           hint=RETRY_HINT)
    expect_client_printed(run, ["ONE", "TWO WORDS"], "talking to the grader's UDP server")


@check(points=2, program="client", needs=(CLIENT_PRINTS,))
def check_client_sends_a_lost_request_again(harness: Harness) -> None:
    run, relay = run_through_relay(harness, drop_first_copy_of_each_request(),
                                   "--timeout", "0.2", "--retries", "3", "one", "two")
    expect_client_finished(harness, run, "the grader's relay lost the first copy of each "
                                         "request", expected="it sends each request again "
                                                             "after 0.2 s", hint=RETRY_HINT)
    expect_client_printed(run, ["ONE", "TWO"], "the first copy of each request was lost",
                          hint=RETRY_HINT)
    if relay.seen[TO_SERVER] < 4:
        raise CheckFailed(Diagnosis(
            happened=f"your client sent {relay.seen[TO_SERVER]} datagrams for 2 messages",
            expected="4: each request once, lost, then once more",
            where=[run.program.shown], hint=RETRY_HINT))


@check(points=2, program="client")
def check_client_gives_up_after_its_retries(harness: Harness) -> None:
    run, relay = run_through_relay(harness, drop_all_requests,
                                   "--timeout", "0.2", "--retries", "2", "hello")
    expect_client_finished(harness, run, "every request was lost (--timeout 0.2, "
                                         "--retries 2)",
                           expected="it gives up after 3 attempts, about 0.6 s",
                           hint=RETRY_HINT)
    assert run.exited is not None
    sent = relay.seen[TO_SERVER]
    if not run.ended_with_one_clear_error() or sent != 3:
        raise CheckFailed(Diagnosis(
            happened=f"with every request lost, your client sent {sent} datagram(s), exited "
                     f"with status {run.exited.code} and printed {run.stderr_shown} on stderr",
            expected="3 datagrams (1 + --retries 2), then one clear error line on stderr "
                     "and a non-zero exit status",
            where=[run.program.shown], hint=RETRY_HINT))


@check(points=2, program="client", needs=(CLIENT_PRINTS,))
def check_client_skips_a_late_reply_to_an_earlier_request(harness: Harness) -> None:
    # The reply to the first copy of "one" is held back 0.45 s: the client
    # (--timeout 0.3) sends "one" again and gets that reply at once, moves on to
    # "two", and is waiting for it (held 0.3 s) when the late "ONE" arrives.
    run, _ = run_through_relay(harness, hold_replies([0.45, 0.0, 0.3]),
                               "--timeout", "0.3", "--retries", "3", "one", "two")
    expect_client_finished(harness, run, "a late duplicate reply arrived",
                           expected="it prints each reply once and exits", hint=RETRY_HINT)
    late_hint = ("put an id in each request; the server echoes it; skip replies whose id "
                 "is not the one you wait for")
    if run.exited is not None and not run.exited.ok:
        expect_client_printed(run, ["ONE", "TWO"], "a late reply arrived", hint=late_hint)
    printed = run.printed_lines
    if printed[-2:] != ["ONE", "TWO"]:
        raise CheckFailed(Diagnosis(
            happened=f"when a late reply to 'one' arrived while your client waited for "
                     f"'two', it printed {printed!r}",
            expected="['ONE', 'TWO']: the late reply is not the answer to 'two'",
            where=[run.program.shown], hint=late_hint))


@check(points=1, program="both", needs=(SERVER_ECHOES, CLIENT_PRINTS))
def check_your_client_and_server_cope_with_20_percent_loss(harness: Harness) -> None:
    server = harness.start_server()
    relay = LossyRelay(server.port, drop_every(5))
    harness.on_close(relay.close)
    messages = [f"message {number}" for number in range(10)]
    run = harness.run_client(relay.port, "--timeout", "0.2", "--retries", "5", *messages,
                             timeout=CLIENT_RUN_SECONDS)
    expect_client_finished(harness, run, "one datagram in 5 was lost, each way",
                           expected="every message answered, thanks to retries",
                           hint=RETRY_HINT)
    expect_client_printed(run, messages, "one datagram in 5 was lost, each way",
                          hint=RETRY_HINT)
