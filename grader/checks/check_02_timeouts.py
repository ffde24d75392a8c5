"""Step 02: time limits on both sides; a silent client is dropped."""

from grader.checks.common import (
    ECHO_HINT,
    FullListener,
    echo_upper,
    expect_client_finished,
    expect_client_gives_up,
    expect_client_printed,
    expect_no_leak,
    line_exchange,
    never_reply,
    run_client_against,
)
from grader.checks.server_rules import IDLE, expect_silent_client_dropped
from grader.diagnosis import CheckFailed, Diagnosis
from grader.harness import Harness, Server
from grader.plugin import check

STEP = "02_timeouts"
# The basic exchanges: a check that needs one would hang where it hung.
SERVER_ECHOES = "server echoes one message per client"
DROPS_SILENT = "server drops a silent client and serves the next"  # as the leak check does
DROP_HINT = ("call settimeout() on the socket accept() gave you; when recv() raises "
             "TimeoutError, close that socket and go back to accept()")


def expect_echo_then_close(harness: Harness, server: Server, message: bytes) -> None:
    peer = harness.connect(server)
    peer.send(message)
    reply = peer.receive_until_closed(
        waiting_for=f"the reply to {message!r}, then the end of the connection",
        hint=f"{ECHO_HINT}, then close the socket accept() gave you", expected=message)
    if reply != message:
        server.raise_if_stopped(f"after it was sent {message!r}")
        raise CheckFailed(Diagnosis(
            happened=f"your server replied {reply!r} and closed the connection",
            expected=f"the message back, unchanged: {message!r}, then a close",
            where=[server.program.shown], hint=ECHO_HINT))
    harness.server_must_be_running(server, "after its first client")


@check(points=1, program="server", gate=True)
def check_server_listens(harness: Harness) -> None:
    harness.start_server(*IDLE)


@check(points=1, program="server")
def check_server_echoes_one_message_per_client(harness: Harness) -> None:
    server = harness.start_server(*IDLE)
    expect_echo_then_close(harness, server, b"first client")
    expect_echo_then_close(harness, server, b"second client")


@check(points=2, program="server", needs=(SERVER_ECHOES,))
def check_server_drops_a_silent_client_and_serves_the_next(harness: Harness) -> None:
    server = harness.start_server(*IDLE)
    expect_silent_client_dropped(harness, server, hint=DROP_HINT)
    expect_echo_then_close(harness, server, b"next client")


@check(points=2, program="server", needs=(SERVER_ECHOES, DROPS_SILENT))
def check_server_closes_every_client_socket(harness: Harness) -> None:
    server = harness.start_server(*IDLE)
    expect_silent_client_dropped(harness, server, hint=DROP_HINT)
    expect_no_leak(harness, server, connections=20, talk=line_exchange(b"ping\n"))


@check(points=1, program="client")
def check_client_prints_the_reply(harness: Harness) -> None:
    fake = harness.fake_server(echo_upper)
    run = run_client_against(harness, fake, "--timeout", "5", "hello", "there")
    expect_client_finished(harness, run, "talking to the grader's server",
                           expected="it sends its message, prints the reply and exits",
                           hint="send the message before you wait for the reply")
    expect_client_printed(run, ["HELLO THERE"], "talking to the grader's server")


@check(points=2, program="client")
def check_client_gives_up_when_the_server_never_replies(harness: Harness) -> None:
    fake = harness.fake_server(never_reply)
    expect_client_gives_up(harness, fake.port, "never replied")


@check(points=1, program="client")
def check_client_gives_up_when_the_server_never_accepts(harness: Harness) -> None:
    listener = FullListener()
    try:
        expect_client_gives_up(harness, listener.port, "never accepted the connection")
    finally:
        listener.close()
