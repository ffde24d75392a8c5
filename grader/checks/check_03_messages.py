"""Step 03: many lines over one connection, whatever pieces TCP cuts them into."""

from grader.checks.code_reading import expect_no_ignored_send
from grader.checks.common import (
    ECHO_HINT,
    expect_clear_connection_error,
    expect_client_finished,
    expect_client_gives_up,
    expect_client_printed,
    expect_line_echo,
    expect_no_leak,
    expect_unclosed_none,
    line_exchange,
    never_reply,
    run_client_against,
    upper_lines_in_pieces,
)
from grader.checks.server_rules import (
    IDLE,
    expect_long_line_refused,
    expect_silent_client_dropped,
)
from grader.diagnosis import CheckFailed, Diagnosis
from grader.harness import Harness
from grader.plugin import check

STEP = "03_messages"
IDLE_HINT = ("call settimeout(idle_timeout) on each client's socket; when recv() raises "
             "TimeoutError, close that socket: a silent client must not hold a place forever")
# The basic exchanges: a check that needs one would hang where it hung.
SERVER_ECHOES = "server echoes lines one by one"
CLOSES_WHEN_DONE = "server replies then closes when the client is done"  # each leak test talk
FRAMING_HINT = ("TCP is a stream, not messages: keep the bytes recv() gave you in a buffer "
                "and reply once per complete line (up to b'\\n'), however the bytes arrive")
LONG_LINE = b"x" * 50_000


@check(points=1, program="server", gate=True)
def check_server_listens(harness: Harness) -> None:
    harness.start_server()


@check(points=1, program="both", name="server and client never ignore what send() returns")
def check_no_ignored_send(harness: Harness) -> None:
    expect_no_ignored_send(harness, "server.py", "client.py")


@check(points=1, program="server")
def check_server_echoes_lines_one_by_one(harness: Harness) -> None:
    peer = harness.connect(harness.start_server())
    for line in (b"one", b"two", b"three"):
        expect_line_echo(peer, [line + b"\n"], [line])


@check(points=2, program="server", needs=(SERVER_ECHOES,))
def check_server_joins_a_line_split_across_recv_calls(harness: Harness) -> None:
    peer = harness.connect(harness.start_server())
    expect_line_echo(peer, [b"hel", b"lo wor", b"ld\n"], [b"hello world"], hint=FRAMING_HINT,
                     how="sent in 3 pieces, 50 ms apart")


@check(points=2, program="server", needs=(SERVER_ECHOES,))
def check_server_answers_every_line_that_came_in_one_recv(harness: Harness) -> None:
    peer = harness.connect(harness.start_server())
    expect_line_echo(peer, [b"one\ntwo\nthree\n"], [b"one", b"two", b"three"],
                     hint=FRAMING_HINT, how="all sent at once")


@check(points=1, program="server", needs=(SERVER_ECHOES,))
def check_server_echoes_a_long_line(harness: Harness) -> None:
    peer = harness.connect(harness.start_server())
    expect_line_echo(peer, [LONG_LINE + b"\n"], [LONG_LINE], how="50,000 bytes long",
                     hint="one recv() returns at most its size argument, and send() may send "
                          "only part: collect until the newline, and reply with sendall()")


@check(points=2, program="server", needs=(SERVER_ECHOES,))
def check_server_replies_then_closes_when_the_client_is_done(harness: Harness) -> None:
    server = harness.start_server()
    peer = harness.connect(server)
    peer.send(b"last\nwords\n")
    peer.shutdown_sending()
    received = peer.receive_until_closed(
        waiting_for="the replies to b'last\\nwords\\n' and then the end of the connection "
                    "(the grader had closed its sending side)",
        hint="recv() returning b'' means the client has finished sending: reply to what "
             "you have, then close its socket and return to accept()",
        expected=b"last\nwords\n")
    if received != b"last\nwords\n":
        raise CheckFailed(Diagnosis(
            happened=f"your server sent {received[:200]!r} before closing",
            expected="b'last\\nwords\\n', then a close", where=[server.program.shown],
            hint=ECHO_HINT))
    harness.server_must_be_running(server, "after a client closed its connection")


@check(points=2, program="server", needs=(SERVER_ECHOES, CLOSES_WHEN_DONE))
def check_server_closes_every_client_socket(harness: Harness) -> None:
    expect_no_leak(harness, harness.start_server(), connections=20,
                   talk=line_exchange(b"a\nb\n", reply_lines=2))


@check(points=1, program="server", needs=(SERVER_ECHOES,))
def check_server_drops_a_silent_client(harness: Harness) -> None:
    expect_silent_client_dropped(harness, harness.start_server(*IDLE), hint=IDLE_HINT)


@check(points=1, program="server", name="server refuses a line over 1 MiB with an error",
       needs=(SERVER_ECHOES,))
def check_server_refuses_a_line_over_1_mib_with_an_error(harness: Harness) -> None:
    expect_long_line_refused(harness, harness.start_server())


@check(points=2, program="client")
def check_client_sends_lines_and_prints_each_reply(harness: Harness) -> None:
    fake = harness.fake_server(upper_lines_in_pieces)
    run = run_client_against(harness, fake, "one", "two words", "three")
    expect_client_finished(harness, run, "talking to the grader's server",
                           expected="it sends each message as a line, prints each reply, exits",
                           hint="end every message with b'\\n': the server replies only "
                                "to whole lines")
    expect_client_printed(run, ["ONE", "TWO WORDS", "THREE"],
                          "talking to a server that sends each reply in two pieces")
    expect_unclosed_none(harness, run, "client")


@check(points=1, program="client")
def check_client_gives_up_when_the_server_never_replies(harness: Harness) -> None:
    fake = harness.fake_server(never_reply)
    expect_client_gives_up(harness, fake.port, "never replied")


@check(points=1, program="client")
def check_client_without_server_prints_one_clear_error(harness: Harness) -> None:
    expect_clear_connection_error(harness)
