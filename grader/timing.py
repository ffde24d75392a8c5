"""Every time limit the grader uses, in one place.

How they were chosen: a correct program on loopback answers in milliseconds
and Python starts in about 50 ms, so each limit is tens to hundreds of times
what a correct program needs. `nox -s stability` checks that this holds on
a loaded machine: the reference solutions, graded with every core kept busy
by another process, must score the same every time. The limits are still
small enough that a hang is caught in seconds; a hang stops only the checks
built on the one that hung (their `needs`), so one hang costs one check and a
few seconds.
`GRADER_TIME_SCALE` (a number, default 1) stretches them all on a slow machine.
"""

import os


def _scale() -> float:
    try:
        value = float(os.environ.get("GRADER_TIME_SCALE", "1"))
    except ValueError:
        return 1.0
    return value if value > 0 else 1.0


SCALE = _scale()
STARTUP_SECONDS = 5.0 * SCALE  # from launch to listen(): Python starts in ~50 ms
REPLY_SECONDS = 2.0 * SCALE  # for one reply on loopback
CLIENT_RUN_SECONDS = 3.0 * SCALE  # for a whole run of the student's client
CLIENT_TIMEOUT_FLAG = 0.5  # the --timeout the grader gives a client it tests for timeouts
IDLE_TIMEOUT_FLAG = 0.5  # the --idle-timeout the grader gives a server it tests for that
# For a running program's launcher to answer the grader (its thread runs even while
# the program waits in a call, and between the steps of a busy loop).
ANSWER_SECONDS = 1.0 * SCALE
# Windows takes about 2 s to report a refused connect to loopback (it retries
# the SYN); a client told of a refused connection may need that much longer.
REFUSED_CONNECT_SECONDS = 2.5 * SCALE
SETTLE_SECONDS = 1.0 * SCALE  # for a server to notice a closed client and free its socket
# From a program's sockets closing to its exit status, when it dies: a moment,
# longer on a busy machine. Waited only when something already went wrong.
EXIT_NOTICE_SECONDS = 1.0 * SCALE
CHECK_SECONDS = 60  # pytest-timeout's last line of defence, per check
