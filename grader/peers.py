"""The grader's own ends of connections: a client of a student's server
(`Peer`), and a stand-in server for a student's client (`FakeServer`).

Every wait is bounded; every way the student's side can break the
conversation (silence, a crash, a close, a reset) becomes a `CheckFailed`
that says what the grader was waiting for.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from grader.diagnosis import CheckFailed, Diagnosis
from grader.timing import REPLY_SECONDS

LOOPBACK = "127.0.0.1"

if TYPE_CHECKING:
    from grader.harness import Harness, Server


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

    def receive_some(self, *, waiting_for: str, hint: str, deadline: float) -> bytes:
        """Whatever comes next (b"" at the end of the connection), by the deadline."""
        if not self._received and not self._read_some(deadline, waiting_for, hint,
                                                      deadline - time.monotonic()):
            return b""
        data = bytes(self._received)
        self._received.clear()
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

    @property
    def received_so_far(self) -> bytes:
        """What came and no receive_* call has returned yet (after one timed out, say)."""
        return bytes(self._received)

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
        return [self.server.program.crash_place() or self.server.program.shown]


class FakeServer:
    """The grader playing the server, so the student's client can be checked alone."""

    def __init__(self, handle: Callable[[FakeConnection], None]) -> None:
        self.listener = socket.create_server((LOOPBACK, 0))
        self.listener.settimeout(0.1)
        self.port = int(self.listener.getsockname()[1])
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
                return data
            raise OSError("check over")
        finally:
            self._fake.waiting_in_recv.clear()

    def sendall(self, data: bytes) -> None:
        self._conn.sendall(data)

    def wait_until_stopped(self) -> None:
        while not self._fake._stopping.wait(0.1):
            pass
