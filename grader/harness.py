"""What a check works with: the student's programs and the grader's own sockets.

A `Harness` belongs to one check. It starts the student's programs, opens
the grader's connections to them, and turns every way they can go wrong
(crash, hang, exit, not started) into a `CheckFailed` that explains it.
When the check ends, `close()` kills and reaps every program and closes
every socket, whatever happened.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

from grader.containment import end_adopted_orphans
from grader.diagnosis import (
    PRINT_LOOP_HINT,
    CheckFailed,
    Diagnosis,
    Location,
    NotStarted,
    ThreadStack,
    describe_blocked,
    describe_flood,
    hint_for_blocked,
    location_from_event,
    repeated_line,
    shown_path,
    where_blocked,
)
from grader.peers import LOOPBACK, FakeConnection, FakeServer, Peer
from grader.process import (
    OUTPUT_LIMIT_BYTES,
    PRINT_LOOP_BYTES,
    Exited,
    NativeProgram,
    Report,
    StudentProgram,
)
from grader.timing import EXIT_NOTICE_SECONDS, REPLY_SECONDS, STARTUP_SECONDS


class Harness:
    def __init__(self, step_dir: Path, workdir: Path) -> None:
        self.step_dir = step_dir
        self.workdir = workdir
        self.programs: list[StudentProgram] = []
        self._closers: list[Callable[[], None]] = []

    # -- the student's programs --------------------------------------------

    def program(self, script: str, *args: str) -> StudentProgram:
        path = self.step_dir / script
        if not path.is_file():
            raise CheckFailed(Diagnosis(
                happened=f"there is no file {path}",
                expected=f"your program in {path}",
                where=[str(self.step_dir)],
                hint="keep the file names of the exercise: the grader runs them by name"))
        program = StudentProgram(path, list(args), self.step_dir, self.workdir)
        try:
            program.start()
        except (OSError, subprocess.SubprocessError) as error:
            # EAGAIN: the processes of this run are at their cap, most likely
            # because something the student started keeps forking.
            reason = getattr(error, "strerror", None) or error
            raise CheckFailed(Diagnosis(
                happened=f"the grader could not start your {script}: {reason}",
                expected="room to start your program: earlier programs of yours had ended",
                where=[shown_path(str(path))],
                hint="a program that calls fork() (or starts processes or threads) in a loop "
                     "runs into the limit on processes; start only what you need")) from None
        self.programs.append(program)
        return program

    def start_server(self, *args: str, one_shot: bool = False) -> Server:
        """Start server.py on a free port and wait until it listens."""
        program = self.program("server.py", "--host", LOOPBACK, "--port", "0", *args)
        listening = program.wait_for_event("listening", STARTUP_SECONDS)
        if listening is None:
            if program.poll() is None:
                raise self.hung(program, f"your server did not start listening within "
                                         f"{STARTUP_SECONDS:g} s",
                                expected="the server calls listen() (for UDP: bind()) soon "
                                         "after it starts",
                                hint="look at what runs before listen(): it must not wait "
                                     "for anything")
            raise self.ended_early(program, "before it started listening",
                                   expected="the server keeps running and listens for clients")
        return Server(self, program, int(listening["port"]), one_shot)

    def run_client(self, port: int, *args: str, timeout: float,
                   while_hung: Callable[[], object] = lambda: None) -> ClientRun:
        """Run client.py against a port and wait for it to finish (or give up on it).

        If the client hangs, `while_hung` is called before it is stopped, to see
        what the other side was doing at that moment."""
        program = self.program("client.py", "--host", LOOPBACK, "--port", str(port), *args)
        exited = program.wait(timeout)
        run = ClientRun(program, exited, timeout)
        if exited is None:
            run.stacks = program.dump_stacks()
            run.other_side = while_hung()
            program.stop()
        self._raise_if_not_started(program)
        return run

    def native(self, binary: Path, *args: str) -> NativeProgram:
        """Start one of the kit's compiled programs (the lesson's C server or client)."""
        program = NativeProgram(binary, list(args), self.step_dir, self.workdir)
        self.programs.append(program)
        program.start()
        return program

    # -- the grader's own sockets ------------------------------------------

    def connect(self, server: Server, receive_buffer: int | None = None) -> Peer:
        """A connection to the server; a small `receive_buffer` makes it a slow
        reader, so the server's sends fill up and come back partial."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.settimeout(STARTUP_SECONDS)
        try:
            sock.connect((LOOPBACK, server.port))
        except TimeoutError:
            # Not refused, so a listener is there: its backlog is full, since
            # nothing takes the waiting connections off it.
            sock.close()
            if server.program.poll() is not None:
                raise self.ended_early(server.program, "when the grader connected a new client",
                                       expected="the server keeps running and accepts the "
                                                "next client") from None
            raise self.hung(server.program, f"the grader's connection waited "
                                            f"{STARTUP_SECONDS:g} s and was never accepted: "
                                            f"the listening socket's queue (its backlog) was "
                                            f"full, as nothing was accepting",
                            expected="the server accepts each client soon after it connects",
                            hint="keep calling accept() while clients are served (a thread "
                                 "per client, or the listener in the selector), and give "
                                 "listen() a backlog of more than 1") from None
        except OSError as error:
            sock.close()
            if server.program.wait(REPLY_SECONDS) is not None:
                raise self.ended_early(server.program, "when the grader connected a new client",
                                       expected="the server keeps running and accepts the "
                                                "next client") from None
            raise CheckFailed(Diagnosis(
                happened=f"the grader could not connect to your server: {error}",
                expected="the server accepts connections on the port it listens on",
                where=[server.program.shown],
                hint="keep the listening socket open while the server runs")) from None
        peer = Peer(self, server, sock)
        self._closers.append(peer.close)
        return peer

    def fake_server(self, handle: Callable[[FakeConnection], None]) -> FakeServer:
        """A grader-run server on a free port; `handle` serves each connection."""
        fake = FakeServer(handle)
        self._closers.append(fake.close)
        return fake

    def on_close(self, close: Callable[[], None]) -> None:
        """Have `close` called when the check ends, whatever happened."""
        self._closers.append(close)

    def facts(self, program: StudentProgram, when: str) -> Report:
        """What the running program says about itself; a hang if it cannot say."""
        report = program.report()
        if report is None:
            # Its line to the grader closes a moment before it ends.
            if program.wait(EXIT_NOTICE_SECONDS) is not None:
                raise self.ended_early(program, when, expected="the program keeps running")
            raise self.hung(program, f"your {program_role(program)} did not answer the "
                                     f"grader's question {when}",
                            expected="the program keeps running and its Python code "
                                     "keeps moving",
                            hint="look for a call that never returns, or a loop that never "
                                 "waits")
        return report

    def close(self) -> None:
        for close in reversed(self._closers):
            close()
        for program in self.programs:
            program.stop()
            program.trim_output()
        # Daemons that left their process group: adopted orphans, or known by pid.
        end_adopted_orphans(forked=[pid for program in self.programs for pid in program.forked()],
                            groups=[pid for program in self.programs
                                    for pid in program.left_group()])

    def walls(self) -> list[dict[str, object]]:
        """The walls each program of this check's had, as its launcher reported them."""
        return [walls for program in self.programs if (walls := program.walls())]

    # -- explaining what went wrong ----------------------------------------

    def _raise_if_not_started(self, program: StudentProgram) -> None:
        for crash in program.events("exception"):
            if crash["type"] == "NotImplementedError":
                raise NotStarted(program.name)

    def hung(self, program: StudentProgram, happened: str, expected: str, hint: str,
             *, stacks: list[ThreadStack] | None = None) -> CheckFailed:
        """A program that stopped answering, with the line it is stuck on."""
        if stacks is None:
            stacks = program.dump_stacks()
        places = where_blocked(stacks, self.step_dir)
        role = program_role(program)
        happened = f"{happened}: {describe_blocked(role, places)}"
        hint = hint_for_blocked(places, hint)
        tail = program.output_tail(at_least=PRINT_LOOP_BYTES)
        line = repeated_line(tail) if tail is not None else None
        if line is not None:
            happened += f", and it prints {line!r} over and over: a print in an endless loop?"
            hint = PRINT_LOOP_HINT
        return CheckFailed(Diagnosis(
            happened=happened, expected=expected,
            where=[place.describe() for place in places] or [program.shown],
            hint=hint), hung=role)

    def ended_early(self, program: StudentProgram, when: str, expected: str) -> CheckFailed:
        """A program that exited or crashed when it should have kept going."""
        self._raise_if_not_started(program)
        role = program_role(program)
        return CheckFailed(crash_diagnosis(program, f"your {role} stopped {when}", expected))

    def explain_broken_connection(self) -> Diagnosis | None:
        """When a grader socket failed in a way no check foresaw: a student
        program that stopped is the likely cause; its diagnosis, if so."""
        for program in self.programs:
            if isinstance(program, NativeProgram):
                continue
            exited = program.wait(EXIT_NOTICE_SECONDS)
            if exited is not None and (not exited.ok or program.crash()):
                return crash_diagnosis(program, f"your {program_role(program)} stopped while "
                                                f"the grader was talking to it",
                                       expected="the program keeps running")
        return None

    def raise_if_stopped(self, program: StudentProgram, when: str,
                         may_exit: bool = False) -> None:
        """Before blaming a wrong reply: had the program stopped meanwhile?

        `may_exit`: a one-shot program may end with status 0 once it is done."""
        exited = program.wait(EXIT_NOTICE_SECONDS)
        if exited is not None and not (may_exit and exited.ok):
            raise self.ended_early(program, when, expected="the program keeps running")

    def server_must_be_running(self, server: Server, after: str) -> None:
        exited = server.program.poll()
        if exited is not None:
            raise self.ended_early(server.program, after,
                                   expected="the server keeps running and serves the next client")


def crash_diagnosis(program: StudentProgram, happened: str, expected: str) -> Diagnosis:
    crash = program.crash()
    exited = program.poll()
    where: list[str] = []
    flood = program.flooded_output_tail()
    if flood is not None:
        said, hint = describe_flood(flood, OUTPUT_LIMIT_BYTES)
        happened += f": {said}"
        place = program.crash_place()  # the print that met the limit
        if place:
            where.append(place)
    elif crash:
        happened += f": it crashed with {crash['type']}: {crash['message']}"
        place = program.crash_place()
        if place:
            where.append(place)
        hint = "catch this error around the code that talks to one client, so one client's " \
               "problem cannot stop the whole program"
    elif exited is not None and exited.signal_name:
        happened += f": it was killed by {exited.signal_name}"
        hint = "look for something that kills the process or uses up its limits"
    else:
        code = exited.code if exited is not None else "?"
        happened += f" (it exited with status {code})"
        hint = "look for sys.exit(), exit() or a return from main where the program should go on"
    where.append(program.shown)
    forks = len(program.events("forked"))
    if forks:
        happened += f" (it had started {forks} other process{'es' if forks > 1 else ''} " \
                    f"with fork; the grader stopped them all)"
    stderr = program.stderr().strip()
    if stderr and not crash:
        happened += f"; it printed on stderr: {last_line(stderr)}"
    return Diagnosis(happened=happened, expected=expected, where=where, hint=hint)


def program_role(program: StudentProgram) -> str:
    return "server" if program.name.startswith("server") else "client"


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


class Server:
    """A student server that is listening."""

    def __init__(self, harness: Harness, program: StudentProgram, port: int,
                 one_shot: bool) -> None:
        self.harness = harness
        self.program = program
        self.port = port
        self.one_shot = one_shot  # it may exit (status 0) after its one client

    def raise_if_stopped(self, when: str) -> None:
        self.harness.raise_if_stopped(self.program, when, may_exit=self.one_shot)


class ClientRun:
    """A finished (or abandoned) run of the student's client."""

    def __init__(self, program: StudentProgram, exited: Exited | None, timeout: float) -> None:
        self.program = program
        self.exited = exited
        self.timeout = timeout  # how long it was given
        self.stacks: list[ThreadStack] = []
        self.other_side: object = None

    @property
    def hung(self) -> bool:
        return self.exited is None

    @property
    def printed_lines(self) -> list[str]:
        return [line.rstrip("\r") for line in self.program.stdout().splitlines()]

    @property
    def traceback_shown(self) -> bool:
        return "Traceback (most recent call last)" in self.program.stderr()

    def ended_with_one_clear_error(self, status: int | None = None) -> bool:
        """It exited with a failure status (`status`, if given), said why on
        stderr, and showed no traceback: how a client should give up."""
        if self.exited is None or self.traceback_shown or not last_line(self.program.stderr()):
            return False
        return self.exited.code == status if status is not None else not self.exited.ok

    @property
    def stderr_shown(self) -> str:
        """What its stderr amounts to, for a diagnosis."""
        if self.traceback_shown:
            return "a traceback"
        return repr(last_line(self.program.stderr()) or "nothing")


def unclosed_sockets(program: StudentProgram) -> list[Location | None]:
    """Where each socket the program dropped or left open was created."""
    events = program.events("socket_dropped_open") + program.events("socket_open_at_exit")
    return [location_from_event(event.get("origin")) for event in events]
