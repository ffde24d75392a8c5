"""Step 04: a thread per client."""

from grader.checks.common import expect_no_leak, line_exchange
from grader.checks.many_clients import (
    expect_clients_kept_apart,
    expect_echo_of_split_and_joined_lines,
    expect_served_while_another_is_silent,
    expect_survives_reset,
)
from grader.checks.server_rules import (
    IDLE,
    expect_long_line_refused,
    expect_silent_client_dropped,
)
from grader.harness import Harness
from grader.plugin import check

STEP = "04_threads"
IDLE_HINT = ("call settimeout(idle_timeout) on each client's socket; when recv() raises "
             "TimeoutError, close that socket: a silent client must not hold a place forever")
# The basic exchanges: a check that needs one would hang where it hung.
SERVER_ECHOES = "server echoes lines"


@check(points=1, program="server", gate=True)
def check_server_listens(harness: Harness) -> None:
    harness.start_server()


@check(points=1, program="server")
def check_server_echoes_lines(harness: Harness) -> None:
    expect_echo_of_split_and_joined_lines(harness, harness.start_server())


@check(points=2, program="server", needs=(SERVER_ECHOES,))
def check_server_answers_a_client_while_another_is_silent(harness: Harness) -> None:
    expect_served_while_another_is_silent(harness, harness.start_server())


@check(points=2, program="server", needs=(SERVER_ECHOES,))
def check_server_keeps_many_clients_apart(harness: Harness) -> None:
    expect_clients_kept_apart(harness, harness.start_server())


@check(points=2, program="server", needs=(SERVER_ECHOES,))
def check_server_survives_a_client_that_resets(harness: Harness) -> None:
    expect_survives_reset(harness, harness.start_server())


@check(points=2, program="server", needs=(SERVER_ECHOES,))
def check_server_closes_every_client_socket(harness: Harness) -> None:
    expect_no_leak(harness, harness.start_server(), connections=30, talk=line_exchange(b"a\n"))


@check(points=1, program="server", needs=(SERVER_ECHOES,))
def check_server_drops_a_silent_client(harness: Harness) -> None:
    expect_silent_client_dropped(harness, harness.start_server(*IDLE), hint=IDLE_HINT)


@check(points=1, program="server", name="server refuses a line over 1 MiB with an error",
       needs=(SERVER_ECHOES,))
def check_server_refuses_a_line_over_1_mib_with_an_error(harness: Harness) -> None:
    expect_long_line_refused(harness, harness.start_server())
