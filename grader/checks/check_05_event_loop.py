"""Step 05: one thread, non-blocking sockets, selectors."""

import time

from grader.checks.code_reading import expect_unregister_before_close
from grader.checks.common import (
    expect_every_byte_to_a_slow_reader,
    expect_no_leak,
    line_exchange,
)
from grader.checks.many_clients import (
    expect_clients_kept_apart,
    expect_echo_of_split_and_joined_lines,
    expect_not_stalled_by_a_client_that_never_reads,
    expect_served_while_another_is_silent,
    expect_survives_reset,
)
from grader.checks.server_rules import (
    IDLE,
    expect_clean_stop_on_sigterm,
    expect_client_over_the_cap_turned_away,
    expect_long_line_refused,
    expect_silent_client_dropped,
)
from grader.diagnosis import CheckFailed, Diagnosis
from grader.harness import Harness
from grader.plugin import check

STEP = "05_event_loop"
IDLE_HINT = ("note when each client last sent something, and once a second (the tick) "
             "close those silent for longer than --idle-timeout")
TICK_SECONDS = 1.0  # the step 05 README: idle clients are swept once a second
# The basic exchanges: a check that needs one would hang where it hung.
SERVER_ECHOES = "server echoes lines"
IDLE_MEASURE_SECONDS = 0.5
IDLE_CPU_LIMIT = 0.1  # a sleeping loop uses ~0; a busy one ~IDLE_MEASURE_SECONDS


@check(points=1, program="server", gate=True)
def check_server_listens(harness: Harness) -> None:
    harness.start_server()


@check(points=1, program="server")
def check_server_unregisters_each_socket_before_closing_it(harness: Harness) -> None:
    expect_unregister_before_close(harness, "server.py")


@check(points=1, program="server")
def check_server_echoes_lines(harness: Harness) -> None:
    expect_echo_of_split_and_joined_lines(harness, harness.start_server())


@check(points=2, program="server", needs=(SERVER_ECHOES,))
def check_server_answers_a_client_while_another_is_silent(harness: Harness) -> None:
    expect_served_while_another_is_silent(harness, harness.start_server())


@check(points=2, program="server", needs=(SERVER_ECHOES,))
def check_server_keeps_many_clients_apart(harness: Harness) -> None:
    expect_clients_kept_apart(harness, harness.start_server())


@check(points=1, program="server", needs=(SERVER_ECHOES,))
def check_server_runs_on_one_thread(harness: Harness) -> None:
    server = harness.start_server()
    peers = [harness.connect(server) for _ in range(5)]
    for peer in peers:
        peer.send(b"hi\n")
        peer.receive_lines(1, waiting_for="the reply to b'hi\\n'", hint="")
    threads = harness.facts(server.program, "with 5 clients connected").thread_count
    if threads != 1:
        raise CheckFailed(Diagnosis(
            happened=f"with 5 clients connected, your server runs {threads} threads",
            expected="one thread: the event loop alone serves every client",
            where=[server.program.shown],
            hint="register every socket with one selector and serve them all from its "
                 "select() loop; start no threads"))


@check(points=1, program="server", needs=(SERVER_ECHOES,))
def check_server_sleeps_while_nothing_happens(harness: Harness) -> None:
    server = harness.start_server()
    peer = harness.connect(server)
    peer.send(b"hi\n")
    peer.receive_lines(1, waiting_for="the reply to b'hi\\n'", hint="")
    before = harness.facts(server.program, "while a quiet client was connected").cpu_seconds
    time.sleep(IDLE_MEASURE_SECONDS)
    used = harness.facts(server.program, "while a quiet client was connected").cpu_seconds \
        - before
    if used > IDLE_CPU_LIMIT:
        raise CheckFailed(Diagnosis(
            happened=f"with one quiet client connected, your server used {used:.2f} s of "
                     f"CPU in {IDLE_MEASURE_SECONDS} s: a busy loop",
            expected="close to 0 s: select() should sleep until something happens",
            where=[server.program.shown],
            hint="register EVENT_WRITE only while a client has output waiting, and never "
                 "call select() with timeout=0 in a loop"))


@check(points=2, program="server", needs=(SERVER_ECHOES,))
def check_server_survives_a_client_that_resets(harness: Harness) -> None:
    expect_survives_reset(harness, harness.start_server())


@check(points=1, program="server", needs=(SERVER_ECHOES,))
def check_server_is_not_stalled_by_a_client_that_never_reads(harness: Harness) -> None:
    expect_not_stalled_by_a_client_that_never_reads(harness, harness.start_server())


@check(points=1, program="server", needs=(SERVER_ECHOES,))
def check_server_sends_all_it_owes_after_the_client_stops_sending(harness: Harness) -> None:
    # 10 MB: more than the kernel's buffers toward a slow reader (4 MiB at most
    # on Linux) and the outbox together, so the server must stop reading before
    # the end of the stream and reads it with replies still in its outbox.
    lines = [f"{number:05} ".encode() + b"w" * 1000 for number in range(10_000)]
    expect_every_byte_to_a_slow_reader(
        harness, harness.start_server(), lines, then_stop_sending=True,
        hint="recv() returning b'' ends the client's sending, not its reading: stop "
             "reading, send every reply still in its outbox, then unregister and close")


@check(points=2, program="server", needs=(SERVER_ECHOES,))
def check_server_closes_every_client_socket(harness: Harness) -> None:
    expect_no_leak(harness, harness.start_server(), connections=30, talk=line_exchange(b"a\n"))


@check(points=1, program="server", needs=(SERVER_ECHOES,))
def check_server_drops_a_silent_client(harness: Harness) -> None:
    expect_silent_client_dropped(harness, harness.start_server(*IDLE), hint=IDLE_HINT,
                                 sweep_seconds=TICK_SECONDS)


@check(points=1, program="server", name="server refuses a line over 1 MiB with an error",
       needs=(SERVER_ECHOES,))
def check_server_refuses_a_line_over_1_mib_with_an_error(harness: Harness) -> None:
    expect_long_line_refused(harness, harness.start_server())


@check(points=1, program="server", needs=(SERVER_ECHOES,))
def check_server_turns_away_the_client_over_max_clients(harness: Harness) -> None:
    expect_client_over_the_cap_turned_away(harness)


@check(points=1, program="server", name="server stops cleanly on SIGTERM",
       needs=(SERVER_ECHOES,))
def check_server_stops_cleanly_on_sigterm(harness: Harness) -> None:
    expect_clean_stop_on_sigterm(harness)
