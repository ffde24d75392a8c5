"""What a check works with: the student's programs and the grader's own sockets.

A `Harness` belongs to one check. It starts the student's programs, opens
the grader's connections to them, and turns every way they can go wrong
(crash, hang, exit, not started) into a `CheckFailed` that explains it.
When the check ends, `close()` kills and reaps every program and closes
every socket, whatever happened.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path

from grader.diagnosis import (
    CheckFailed,
    Diagnosis,
    Location,
    NotStarted,
    describe_blocked,
    location_from_event,
    where_blocked,
)
from grader.process import Exited, NativeProgram, StudentProgram
from grader.timing import REPLY_SECONDS, STARTUP_SECONDS

LOOPBACK = "127.0.0.1"


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
        self.programs.append(program)
        program.start()
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
        run = ClientRun(program, exited)
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

    def connect(self, server: Server) -> Peer:
        try:
            sock = socket.create_connection((LOOPBACK, server.port), timeout=STARTUP_SECONDS)
        except OSError as error:
            if server.program.wait(REPLY_SECONDS) is not None:
                raise self.ended_early(server.program, "when the grader connected a new client",
                                       expected="the server keeps running and accepts the "
                                                "next client") from None
            raise CheckFailed(Diagnosis(
                happened=f"the grader could not connect to your server: {error}",
                expected="the server accepts connections on the port it listens on",
                where=[str(server.program.script)],
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

    def close(self) -> None:
        for close in reversed(self._closers):
            close()
        for program in self.programs:
            program.stop()

    # -- explaining what went wrong ----------------------------------------

    def _raise_if_not_started(self, program: StudentProgram) -> None:
        for crash in program.events("exception"):
            if crash["type"] == "NotImplementedError":
                raise NotStarted(program.name)

    def hung(self, program: StudentProgram, happened: str, expected: str, hint: str,
             *, stacks: str | None = None) -> CheckFailed:
        """A program that stopped answering, with the line it is stuck on."""
        if stacks is None:
            stacks = program.dump_stacks()
        places = where_blocked(stacks, self.step_dir)
        role = program_role(program)
        return CheckFailed(Diagnosis(
            happened=f"{happened}: {describe_blocked(role, places)}",
            expected=expected,
            where=[place.describe() for place in places] or [str(program.script)],
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
            exited = program.wait(0.3)
            if exited is not None and (not exited.ok or program.events("exception")):
                return crash_diagnosis(program, f"your {program_role(program)} stopped while "
                                                f"the grader was talking to it",
                                       expected="the program keeps running")
        return None

    def raise_if_stopped(self, program: StudentProgram, when: str,
                         may_exit: bool = False) -> None:
        """Before blaming a wrong reply: had the program stopped meanwhile?

        `may_exit`: a one-shot program may end with status 0 once it is done."""
        exited = program.wait(0.3)
        if exited is not None and not (may_exit and exited.ok):
            raise self.ended_early(program, when, expected="the program keeps running")

    def server_must_be_running(self, server: Server, after: str) -> None:
        exited = server.program.poll()
        if exited is not None:
            raise self.ended_early(server.program, after,
                                   expected="the server keeps running and serves the next client")


def crash_diagnosis(program: StudentProgram, happened: str, expected: str) -> Diagnosis:
    crash = program.events("exception")
    exited = program.poll()
    where: list[str] = []
    if program.output_was_flooded():
        happened += ": it wrote more output than the grader accepts (a print in an endless loop?)"
        hint = "print a line per event, not per loop turn"
    elif crash:
        happened += f": it crashed with {crash[0]['type']}: {crash[0]['message']}"
        location = location_from_event(crash[0].get("origin"))
        if location:
            where.append(location.describe())
        hint = "catch this error around the code that talks to one client, so one client's " \
               "problem cannot stop the whole program"
    elif exited is not None and exited.signal_name:
        happened += f": it was killed by {exited.signal_name}"
        hint = "look for something that kills the process or uses up its limits"
    else:
        code = exited.code if exited is not None else "?"
        happened += f" (it exited with status {code})"
        hint = "look for sys.exit(), exit() or a return from main where the program should go on"
    where.append(str(program.script))
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

    def __init__(self, program: StudentProgram, exited: Exited | None) -> None:
        self.program = program
        self.exited = exited
        self.stacks = ""
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


def unclosed_sockets(program: StudentProgram) -> list[Location | None]:
    """Where each socket the program dropped or left open was created."""
    events = program.events("socket_dropped_open") + program.events("socket_open_at_exit")
    return [location_from_event(event.get("origin")) for event in events]


class Peer:
    """The grader's end of one connection to a student server."""

    def __init__(self, harness: Harness, server: Server, sock: socket.socket) -> None:
        self.harness = harness
        self.server = server
        self.sock = sock
        self._received = bytearray()

    def send(self, data: bytes) -> None:
        try:
            self.sock.settimeout(REPLY_SECONDS)
            self.sock.sendall(data)
        except OSError as error:
            self._sending_failed(error, len(data))

    def send_in_pieces(self, pieces: list[bytes], pause: float = 0.05) -> None:
        for piece in pieces:
            self.send(piece)
            time.sleep(pause)

    def _sending_failed(self, error: OSError, size: int) -> None:
        """The server closed, reset or stopped reading the connection mid-send."""
        self.server.raise_if_stopped(f"while the grader was sending it {size:,} bytes")
        if isinstance(error, TimeoutError):
            raise self.harness.hung(
                self.server.program, f"the grader could not send {size:,} bytes within "
                                     f"{REPLY_SECONDS:g} s: your server stopped reading",
                expected="the server keeps reading what its clients send",
                hint="read from every client whose socket is readable")
        raise CheckFailed(Diagnosis(
            happened=f"while the grader was sending {size:,} bytes, your server "
                     f"{'reset' if isinstance(error, ConnectionResetError) else 'closed'} "
                     f"the connection ({error.strerror or error})",
            expected="the server reads the whole message and answers it",
            where=self._crash_place(), hint="close a client's socket only once it is done"))

    def shutdown_sending(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError as error:
            self._sending_failed(error, 0)

    def receive_lines(self, count: int, *, waiting_for: str, hint: str,
                      timeout: float = REPLY_SECONDS) -> list[bytes]:
        """Read `count` reply lines; explain a silent, crashed or closing server."""
        deadline = time.monotonic() + timeout
        while self._received.count(b"\n") < count:
            if not self._read_some(deadline, waiting_for, hint, timeout):
                self.server.raise_if_stopped(f"while the grader was "
                                                                   f"waiting for {waiting_for}")
                got = self._received.count(b"\n")
                raise CheckFailed(Diagnosis(
                    happened=f"your server closed the connection after {got} of {count} "
                             f"reply lines{self._received_so_far()}",
                    expected=f"{waiting_for}, then the connection stays open",
                    where=self._crash_place(),
                    hint=hint))
        lines = bytes(self._received).split(b"\n")
        replies, rest = lines[:count], b"\n".join(lines[count:])
        self._received = bytearray(rest)
        return replies

    def receive_exactly(self, size: int, *, waiting_for: str, hint: str,
                        timeout: float = REPLY_SECONDS) -> bytes:
        """The next `size` bytes; explain a silent, crashed or closing server."""
        deadline = time.monotonic() + timeout
        while len(self._received) < size:
            if not self._read_some(deadline, waiting_for, hint, timeout):
                self.server.raise_if_stopped(f"while the grader was "
                                                                   f"waiting for {waiting_for}")
                raise CheckFailed(Diagnosis(
                    happened=f"your server closed the connection after sending "
                             f"{len(self._received)} of the {size} bytes of {waiting_for}",
                    expected=f"{waiting_for}, whole", where=self._crash_place(), hint=hint))
        data = bytes(self._received[:size])
        del self._received[:size]
        return data

    def receive_until_closed(self, *, waiting_for: str, hint: str,
                             timeout: float = REPLY_SECONDS, expected: bytes = b"") -> bytes:
        """Everything the server sends until it closes the connection."""
        deadline = time.monotonic() + timeout
        while self._read_some(deadline, waiting_for, hint, timeout):
            pass
        data = bytes(self._received)
        self._received.clear()
        if data != expected:
            self.server.raise_if_stopped(f"while the grader was "
                                                               f"waiting for {waiting_for}")
        return data

    def close(self) -> None:
        self.sock.close()

    def reset(self) -> None:
        """Close with a TCP reset, as a crashed client's machine would."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def _read_some(self, deadline: float, waiting_for: str, hint: str, timeout: float) -> bool:
        """Read once; False at end of stream; a CheckFailed when time runs out."""
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise TimeoutError
            self.sock.settimeout(remaining)
            data = self.sock.recv(65536)
        except TimeoutError:
            self.harness.server_must_be_running(self.server, f"while the grader was {waiting_for}")
            raise self.harness.hung(
                self.server.program,
                f"the grader waited {timeout:g} s for {waiting_for} "
                f"and got {'nothing more' if self._received else 'nothing'}"
                f"{self._received_so_far()}",
                expected=waiting_for, hint=hint) from None
        except ConnectionResetError:
            return False
        if data:
            self._received += data
        return bool(data)

    def _received_so_far(self) -> str:
        if not self._received:
            return ""
        shown = bytes(self._received[:200])
        return f" (it had received {shown!r}{'...' if len(self._received) > 200 else ''})"

    def _crash_place(self) -> list[str]:
        crash = self.server.program.events("exception")
        location = location_from_event(crash[0].get("origin")) if crash else None
        return [location.describe()] if location else [str(self.server.program.script)]


class FakeServer:
    """The grader playing the server, so the student's client can be checked alone."""

    def __init__(self, handle: Callable[[FakeConnection], None]) -> None:
        self.listener = socket.create_server((LOOPBACK, 0))
        self.listener.settimeout(0.1)
        self.port = int(self.listener.getsockname()[1])
        self.received = bytearray()
        self.waiting_in_recv = threading.Event()
        self._handle = handle
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(0.1)
                try:
                    self._handle(FakeConnection(conn, self))
                except OSError:
                    pass  # the student's client went away, or the check is over

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=2)
        self.listener.close()


class FakeConnection:
    """A connection whose blocking reads notice when the check is over."""

    def __init__(self, conn: socket.socket, fake: FakeServer) -> None:
        self._conn = conn
        self._fake = fake

    def recv(self, size: int) -> bytes:
        self._fake.waiting_in_recv.set()
        try:
            while not self._fake._stopping.is_set():
                try:
                    data = self._conn.recv(size)
                except TimeoutError:
                    continue
                self._fake.received += data
                return data
            raise OSError("check over")
        finally:
            self._fake.waiting_in_recv.clear()

    def sendall(self, data: bytes) -> None:
        self._conn.sendall(data)

    def wait_until_stopped(self) -> None:
        while not self._fake._stopping.wait(0.1):
            pass
