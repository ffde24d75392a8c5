"""Step 01: one-shot server and client."""

import re
import time
from pathlib import Path

import pytest

from grader import native
from grader.checks.common import (
    BOTH_IN_RECV,
    ECHO_HINT,
    echo_upper,
    expect_clear_connection_error,
    expect_client_finished,
    expect_client_printed,
    expect_unclosed_none,
    run_client_against,
)
from grader.diagnosis import CheckFailed, Diagnosis, describe_blocked, where_blocked
from grader.harness import Harness, Server, last_line
from grader.plugin import check
from grader.process import NativeProgram
from grader.timing import CLIENT_RUN_SECONDS, REPLY_SECONDS, STARTUP_SECONDS

STEP = "01_hello"
# The basic exchanges: a check that needs one would hang where it hung. (A
# client that closes after its reply ends a server that echoes until the client
# closes: the checks with a real client do not need SERVER_ECHOES.)
SERVER_ECHOES = "server echoes one message then exits"
CLIENT_PRINTS = "client prints the reply"
MESSAGE = b"hello from the grader"


def serve_one_exchange(harness: Harness) -> Server:
    """Start the server, talk to it once, and see it end by itself."""
    server = harness.start_server(one_shot=True)
    peer = harness.connect(server)
    peer.send(MESSAGE)
    try:
        reply = peer.receive_until_closed(waiting_for=f"the reply to {MESSAGE!r}",
                                          hint=ECHO_HINT, expected=MESSAGE)
    except CheckFailed as failure:
        if failure.hung and peer.received_so_far == MESSAGE:
            # The tutorials' echo-until-the-client-closes: right bytes, wrong ending.
            raise harness.hung(
                server.program, f"your server sent back {MESSAGE!r}, then kept the "
                                f"connection open, waiting for more",
                expected="the reply, then the server closes the connection and exits",
                hint="a step 01 server answers one message: after sendall(), close the "
                     "client's socket and the listener and let the program end "
                     "(reading until the client leaves comes in step 03)") from None
        raise
    if reply != MESSAGE:
        raise CheckFailed(Diagnosis(
            happened=f"your server replied {reply!r}",
            expected=f"the message back, unchanged: {MESSAGE!r}",
            where=[server.program.shown], hint=ECHO_HINT))
    exited = server.program.wait(REPLY_SECONDS)
    if exited is None:
        raise harness.hung(server.program, "after replying to its one client, your server "
                           "was still running", expected="a one-shot server exits after "
                           "its one client", hint="after the reply, close both sockets and "
                           "let the program end")
    if not exited.ok:
        raise harness.ended_early(server.program, "with an error after replying",
                                  expected="exit status 0")
    return server


@check(points=1, program="server", gate=True)
def check_server_listens(harness: Harness) -> None:
    harness.start_server()


@check(points=3, program="server")
def check_server_echoes_one_message_then_exits(harness: Harness) -> None:
    serve_one_exchange(harness)


@check(points=2, program="server", needs=(SERVER_ECHOES,))
def check_server_closes_both_sockets(harness: Harness) -> None:
    expect_unclosed_none(harness, serve_one_exchange(harness), "server")


@check(points=2, program="client")
def check_client_prints_the_reply(harness: Harness) -> None:
    fake = harness.fake_server(echo_upper)
    run = run_client_against(harness, fake, "hello", "there")
    expect_client_finished(harness, run, "talking to the grader's server",
                           expected="it sends its message, prints the reply and exits",
                           hint="send the message before you wait for the reply")
    expect_client_printed(run, ["HELLO THERE"], "talking to the grader's server")


@check(points=1, program="client", needs=(CLIENT_PRINTS,))
def check_client_closes_its_socket(harness: Harness) -> None:
    fake = harness.fake_server(echo_upper)
    run = run_client_against(harness, fake, "hello")
    expect_client_finished(harness, run, "talking to the grader's server",
                           expected="it exits after printing the reply", hint="")
    expect_unclosed_none(harness, run, "client")


@check(points=1, program="client")
def check_client_without_server_prints_one_clear_error(harness: Harness) -> None:
    expect_clear_connection_error(harness)


@check(points=1, program="both", needs=(CLIENT_PRINTS,))
def check_your_client_talks_to_your_server(harness: Harness) -> None:
    server = harness.start_server(one_shot=True)
    run = harness.run_client(server.port, "ping", timeout=CLIENT_RUN_SECONDS,
                             while_hung=server.program.dump_stacks)
    if run.hung:
        server_stacks = run.other_side if isinstance(run.other_side, list) else []
        server_places = where_blocked(server_stacks, harness.step_dir)
        failure = harness.hung(run.program, "your client never finished",
                               expected="your client prints your server's reply",
                               hint="one side must send before the other waits in recv()",
                               stacks=run.stacks)
        server_state = describe_blocked("server", server_places)
        if "recv()" in failure.diagnosis.happened and server_state.endswith("recv()"):
            failure.diagnosis.happened = BOTH_IN_RECV
        elif "recv()" in failure.diagnosis.happened and server_places:
            # The client waits for a reply; the news is what the server does instead.
            failure.diagnosis.happened += f", and {server_state}"
            failure.diagnosis.hint = ("your client is right to wait: your server never "
                                      "replies (its own checks above say more)")
        failure.diagnosis.where += [place.describe() for place in server_places]
        raise failure
    if run.exited is not None and (not run.exited.ok or run.printed_lines[-1:] != ["ping"]):
        # Whether a crashed server's close reaches the client as a reset or as a
        # plain end depends on timing: the server's crash is the news either way.
        server.raise_if_stopped("while your client talked to it")
    expect_client_printed(run, ["ping"], "talking to your server")


# -- the lesson's C programs (exploration 7: C and Python talk over TCP) ------

@pytest.fixture(scope="module")
def c_programs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    try:
        return native.build(tmp_path_factory.mktemp("c-programs"))
    except native.NoCompiler as reason:
        pytest.skip(str(reason))


@check(points=1, program="server",
       name="the lesson's C client talks to your server")
def check_the_lessons_c_client_talks_to_your_server(harness: Harness,
                                                     c_programs: dict[str, Path]) -> None:
    server = harness.start_server(one_shot=True)
    client = harness.native(c_programs["client"], "127.0.0.1", str(server.port), "hello from C")
    exited = client.wait(CLIENT_RUN_SECONDS)
    if exited is None:
        server.raise_if_stopped("while the C client talked to it")
        raise harness.hung(server.program, "the lesson's C client got no reply from your "
                                           "server", expected="your server echoes the C "
                                                              "client's message",
                           hint=ECHO_HINT)
    printed = client.stdout().strip()
    if printed != "hello from C":
        server.raise_if_stopped("while the C client talked to it")
        raise CheckFailed(Diagnosis(
            happened=f"the lesson's C client printed {printed!r} "
                     f"({last_line(client.stderr()) or 'nothing on stderr'})",
            expected="'hello from C': your server's echo of its message",
            where=[server.program.shown],
            hint="C and Python speak the same TCP: the bytes you send are the bytes it gets"))


@check(points=1, program="client",
       name="your client talks to the lesson's C server", needs=(CLIENT_PRINTS,))
def check_your_client_talks_to_the_lessons_c_server(harness: Harness,
                                                    c_programs: dict[str, Path]) -> None:
    c_server = harness.native(c_programs["server"], "0", "127.0.0.1")
    port = wait_for_port(c_server)
    run = harness.run_client(port, "hello", "C", timeout=CLIENT_RUN_SECONDS)
    expect_client_finished(harness, run, "talking to the lesson's C server",
                           expected="it prints the C server's reply and exits",
                           hint="send the message before you wait for the reply")
    expect_client_printed(run, ["hello C"], "talking to the lesson's C server")


def wait_for_port(program: NativeProgram) -> int:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        match = re.search(r"listening on [\d.]+:(\d+)", program.stdout())
        if match:
            return int(match.group(1))
        time.sleep(0.01)
    raise CheckFailed(Diagnosis(
        happened="the lesson's C server did not start", expected="it prints its port",
        where=[program.shown], hint="this is the kit's problem, not yours: tell your "
                                          "instructor"))
