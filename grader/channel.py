"""The grader's end of the line each launcher dials back on, to answer questions.

One listening socket on loopback per program, and a random token: the
launcher connects before the student's code runs and says the token, so the
first connection that knows it is the launcher's. Asking is one line out,
one JSON line back with the question's number, by a deadline; a program that
cannot answer (it died, or is stuck where Python cannot run the answering
thread) gives None.
"""

from __future__ import annotations

import json
import secrets
import socket
import time
from typing import Any

LOOPBACK = "127.0.0.1"
MAX_ANSWER_BYTES = 4 * 1024 * 1024  # 64 threads x 40 frames is far less


class LauncherChannel:
    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind((LOOPBACK, 0))
        self._listener.listen(8)
        self.port = int(self._listener.getsockname()[1])
        self.token = secrets.token_hex(16)
        self._connection: socket.socket | None = None
        self._asked = 0
        self._pending = bytearray()

    def ask(self, question: str, timeout: float) -> dict[str, Any] | None:
        """The launcher's answer, or None if none came by the deadline."""
        deadline = time.monotonic() + timeout
        connection = self._connected(deadline)
        if connection is None:
            return None
        self._asked += 1
        try:
            connection.settimeout(max(0.001, deadline - time.monotonic()))
            connection.sendall(f"{question} {self._asked}\n".encode())
        except OSError:
            return None
        # An answer that came too late for an earlier question is skipped.
        while (line := self._next_line(connection, deadline)) is not None:
            try:
                answer = json.loads(line)
            except ValueError:
                return None
            if isinstance(answer, dict) and answer.get("id") == self._asked:
                return answer
        return None

    def _next_line(self, connection: socket.socket, deadline: float) -> bytes | None:
        while b"\n" not in self._pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or len(self._pending) > MAX_ANSWER_BYTES:
                return None
            try:
                connection.settimeout(remaining)
                data = connection.recv(65536)
            except OSError:
                return None
            if not data:
                return None
            self._pending += data
        line, _, rest = bytes(self._pending).partition(b"\n")
        self._pending = bytearray(rest)
        return line

    def _connected(self, deadline: float) -> socket.socket | None:
        while self._connection is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                self._listener.settimeout(remaining)
                connection, _ = self._listener.accept()
            except OSError:
                return None
            if secrets.compare_digest(_first_line(connection, deadline), self.token.encode()):
                self._connection = connection
                self._listener.close()
            else:
                connection.close()  # not the launcher: someone else found the port
        return self._connection

    def close(self) -> None:
        self._listener.close()
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _first_line(connection: socket.socket, deadline: float) -> bytes:
    """What a new connection says first, up to a short line; b"" if nothing by the deadline."""
    received = b""
    while b"\n" not in received and len(received) < 100:
        try:
            connection.settimeout(max(0.001, deadline - time.monotonic()))
            data = connection.recv(100)
        except OSError:
            return b""
        if not data:
            return b""
        received += data
    return received.split(b"\n", 1)[0]
