"""grader/talk.py, the READMEs' netcat for every system, run as students run it.

Everything is on loopback, every server is on port 0, and every wait is for a
state (a line printed, a connection made) with a bound far above any real one.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

import pytest

from grader.talk import escaped, hex_rows, printable
from tests.grading import KIT, SOLUTIONS

BOUND = 20.0  # seconds: a bound on every wait, never reached when things work
HOST = "127.0.0.1"


class Output:
    """All that one pipe gives, read by a thread so that waiting for it has a bound."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self.data = b""
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, args=(pipe.fileno(),), daemon=True)
        self.reader.start()

    def _read(self, fd: int) -> None:
        while chunk := os.read(fd, 4096):
            with self.changed:
                self.data += chunk
                self.changed.notify_all()

    @property
    def text(self) -> str:
        with self.changed:
            return self.data.decode(errors="replace")

    def wait_for(self, pattern: str) -> re.Match[str]:
        """Wait until the output matches the regular expression `pattern`."""
        with self.changed:
            found = self.changed.wait_for(
                lambda: re.search(pattern, self.data.decode(errors="replace")), timeout=BOUND)
        assert found, f"no {pattern!r} within {BOUND} s in {self.text!r}"
        return found


class Talk:
    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdin and process.stdout and process.stderr
        self.process, self.stdin = process, process.stdin
        self.out, self.err = Output(process.stdout), Output(process.stderr)

    def type(self, text: str) -> None:
        self.stdin.write(text.encode())
        self.stdin.flush()

    def end_input(self) -> None:
        self.stdin.close()  # what Ctrl-D (Ctrl-Z Enter on Windows) does at the keyboard

    def exit_code(self) -> int:
        code = self.process.wait(timeout=BOUND)
        self.out.reader.join(BOUND)  # the pipes' last bytes are read before the test looks
        self.err.reader.join(BOUND)
        return code


@contextmanager
def talk(*args: str, encoding: str = "utf-8") -> Iterator[Talk]:
    environment = {**os.environ, "PYTHONIOENCODING": encoding}
    with subprocess.Popen([sys.executable, "-m", "grader.talk", *args], cwd=KIT,
                          env=environment, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as process:
        running = Talk(process)
        try:
            yield running
        finally:
            if process.poll() is None:
                process.kill()
            running.exit_code()


@contextmanager
def tcp_listener() -> Iterator[socket.socket]:
    with socket.create_server((HOST, 0)) as listener:
        listener.settimeout(BOUND)
        yield listener


@contextmanager
def accepted(listener: socket.socket) -> Iterator[socket.socket]:
    conn, _ = listener.accept()
    with conn:
        conn.settimeout(BOUND)
        yield conn


def receive_until(conn: socket.socket, end: bytes) -> bytes:
    """What arrives until `end` has come (b"": until the other side closes its sending side)."""
    received = b""
    while not end or end not in received:
        data = conn.recv(4096)
        if not data:
            return received
        received += data
    return received


def port_of(listener: socket.socket) -> str:
    return str(listener.getsockname()[1])


def test_pieces_reach_a_line_server_as_one_line_and_the_reply_is_printed() -> None:
    with tcp_listener() as listener, talk(
            "--send", "hel", "--pause", "0.2", "--send", r"lo\n", "--wait", str(BOUND),
            HOST, port_of(listener)) as running:
        with accepted(listener) as conn:
            assert receive_until(conn, b"\n") == b"hello\n"
            conn.sendall(b"HELLO \xff\x01\r\n")  # not UTF-8, and not printable: shown escaped
        # The server closed: the tool stops at once, not after --wait.
        assert running.exit_code() == 0
    assert running.out.text == "HELLO \\xff\\x01\\r\n"
    assert "the other side closed the connection" in running.err.text


def test_hex_shows_a_binary_reply_as_xxd_does() -> None:
    frame = b"\x01\x00\x00\x00\x05hello"
    reply = b"\x03\x00\x00\x00\x05hello" + bytes(range(20))
    with tcp_listener() as listener, talk("--hex", "--send", r"\x01\x00\x00\x00\x05hello",
                                          "--end", HOST, port_of(listener)) as running:
        with accepted(listener) as conn:
            assert receive_until(conn, b"") == frame  # b"" at the end: --end half-closed
            conn.sendall(reply)
        assert running.exit_code() == 0
    rows = [(int(row[:8], 16), bytes.fromhex(row[10:49])) for row in
            running.out.text.splitlines()]
    assert b"".join(data for _, data in rows) == reply
    # However recv() cut the reply, each row's offset counts the bytes before it.
    assert [offset for offset, _ in rows] == [
        sum(len(data) for _, data in rows[:number]) for number in range(len(rows))]


def test_hex_rows_are_those_of_xxd() -> None:
    assert hex_rows(b"\x03\x00\x00\x00\x05hello", 0) == (
        "00000000: 0300 0000 0568 656c 6c6f                 .....hello\n")
    assert hex_rows(b"0123456789abcdefXYZ", 32).splitlines() == [
        "00000020: 3031 3233 3435 3637 3839 6162 6364 6566  0123456789abcdef",
        "00000030: 5859 5a                                  XYZ"]


def test_sent_text_takes_python_escapes_and_keeps_non_ascii_text() -> None:
    assert escaped(r"caf" "\u00e9" r" \x01\t\\n\n") == "café".encode() + b" \x01\t\\n\n"
    assert printable("a\tb\x00\r\u200b\n", keep="\n\t") == "a\tb\\x00\\r\\u200b\n"


def test_half_close_gets_every_reply_then_exits_0() -> None:
    with tcp_listener() as listener, talk("--send", r"last\nwords\n", "--end",
                                          "--wait", str(BOUND), HOST, port_of(listener)
                                          ) as running:
        with accepted(listener) as conn:
            # The server answers only once the client's sending side is closed.
            assert receive_until(conn, b"") == b"last\nwords\n"
            conn.sendall(b"LAST\n")
            conn.sendall(b"WORDS\n")
        assert running.exit_code() == 0
    assert running.out.text == "LAST\nWORDS\n"


def test_typed_lines_are_answered_as_they_come_and_end_of_input_half_closes() -> None:
    with tcp_listener() as listener, talk(HOST, port_of(listener)) as running:
        with accepted(listener) as conn:
            running.err.wait_for("connected to")
            running.type("one\n")
            assert receive_until(conn, b"\n") == b"one\n"
            conn.sendall(b"ONE\n")
            running.out.wait_for("ONE\n")  # printed while the input is still open
            running.type("two words\r\n")  # a Windows line end goes out as \n
            running.end_input()
            assert receive_until(conn, b"") == b"two words\n"
            conn.sendall(b"TWO WORDS\n")
        assert running.exit_code() == 0
    assert running.out.text == "ONE\nTWO WORDS\n"
    assert "end of input" in running.err.text


def test_a_refused_connection_is_one_line_on_stderr_and_exit_1() -> None:
    # Bound but not listening: nobody accepts, and no other program can take the port.
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        port = port_of(taken)
        completed = subprocess.run([sys.executable, "-m", "grader.talk", HOST, port],
                                   cwd=KIT, capture_output=True, text=True, timeout=BOUND,
                                   stdin=subprocess.DEVNULL)
    assert completed.returncode == 1
    [line] = completed.stderr.splitlines()
    assert line.startswith(f"error: cannot connect to {HOST}:{port}: ")
    assert "refused" in line.lower()
    assert completed.stdout == ""


def test_a_console_that_is_not_utf8_gets_a_question_mark_not_a_crash() -> None:
    with tcp_listener() as listener, talk("--send", r"hi\n", "--end", HOST, port_of(listener),
                                          encoding="ascii") as running:
        with accepted(listener) as conn:
            receive_until(conn, b"")
            conn.sendall("café\n".encode())
        assert running.exit_code() == 0
    assert running.out.text == "caf?\n"
    assert "Traceback" not in running.err.text


def test_udp_sends_each_line_as_one_datagram_and_prints_each_reply() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind((HOST, 0))
        server.settimeout(BOUND)
        with talk("--udp", "--wait", "0", HOST, port_of(server)) as running:
            running.type("7 hello\n")
            datagram, client = server.recvfrom(65535)
            assert datagram == b"7 hello"  # the line, without its newline
            server.sendto(b"7 HELLO", client)
            server.sendto(b"two\nlines \xff", client)
            running.out.wait_for("two")
            running.end_input()
            assert running.exit_code() == 0
    # One line per datagram: its own \n is shown escaped.
    assert running.out.text == "7 HELLO\ntwo\\nlines \\xff\n"


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT is how Ctrl-C reaches a program")
def test_udp_pieces_are_one_datagram_each_and_ctrl_c_exits_quietly() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind((HOST, 0))
        server.settimeout(BOUND)
        with talk("--udp", "--send", "1 one", "--send", "", "--wait", str(BOUND),
                  HOST, port_of(server)) as running:
            first, client = server.recvfrom(65535)
            second, _ = server.recvfrom(65535)
            assert (first, second) == (b"1 one", b"")  # an empty piece: an empty datagram
            server.sendto(b"1 ONE", client)
            server.sendto(b"", client)
            running.out.wait_for("1 ONE\n\n")  # an empty reply: an empty line
            # Still waiting (--wait is long): Ctrl-C is how it stops.
            running.process.send_signal(signal.SIGINT)
            assert running.exit_code() == 0
    assert "Traceback" not in running.err.text


def test_listen_plays_the_server_for_the_step_01_client() -> None:
    with talk("--listen", "0") as running:
        port = running.err.wait_for(r"listening on 127\.0\.0\.1:(\d+)")[1]
        with subprocess.Popen([sys.executable, "client.py", "--port", port, "hello", "there"],
                              cwd=SOLUTIONS / "01_hello", stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) as client:
            running.out.wait_for("hello there")
            running.type("hi from talk\n")
            out, err = client.communicate(timeout=BOUND)
        assert (client.returncode, out, err) == (0, "hi from talk\n\n", "")
        # The client closed: the tool ends, though its input is still open.
        assert running.exit_code() == 0
    assert running.out.text == "hello there\n"
    assert "connection from 127.0.0.1:" in running.err.text


def test_listen_udp_shows_the_sender_and_answers_the_step_07_client() -> None:
    with talk("--udp", "--listen", "0", "--wait", "0") as running:
        port = running.err.wait_for(r"listening on udp 127\.0\.0\.1:(\d+)")[1]
        with subprocess.Popen([sys.executable, "client.py", "--port", port, "--timeout",
                               str(BOUND), "--retries", "0", "hello"],
                              cwd=SOLUTIONS / "07_udp", stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) as client:
            request_id = running.out.wait_for(r"from 127\.0\.0\.1:\d+: (\d+) hello\n")[1]
            running.type(f"5 a wrong id\n{request_id} hi\n")
            out, _ = client.communicate(timeout=BOUND)
        assert (client.returncode, out) == (0, "hi\n")
        running.end_input()
        assert running.exit_code() == 0
