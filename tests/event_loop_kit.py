"""Starting the step 05 reference server as a subprocess, and talking to it, for its tests.

`Kit` starts servers and clients and ends every one of them. A server can run
under a trace: a few lines run before server.py, unchanged, that wrap one
standard library call to print `trace ...` lines on the server's stderr, for
what cannot be seen from outside (how much one event reads, when EVENT_WRITE
is asked for). The client helpers below each bound every wait.
"""

from __future__ import annotations

import ast
import os
import re
import resource
import select
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.grading import SOLUTIONS

STEP = SOLUTIONS / "05_event_loop"
WAIT = 5.0  # seconds: the bound of every wait of these tests
EVENT_READ, EVENT_WRITE = 1, 2


def constant(module: str, name: str) -> float:
    """A module-level constant of the step, read from its source without running it."""
    for node in ast.parse((STEP / module).read_text()).body:
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == name:
            value = eval(compile(ast.Expression(node.value), module, "eval"), {})
            assert isinstance(value, (int, float))
            return value
    raise AssertionError(f"no {name} in {module}")


READ_SIZE = int(constant("connection.py", "READ_SIZE"))
WRITE_SIZE = int(constant("connection.py", "WRITE_SIZE"))
HIGH_WATER = int(constant("connection.py", "HIGH_WATER"))
LOW_WATER = int(constant("connection.py", "LOW_WATER"))
MAX_LINE = int(constant("framing.py", "MAX_LINE"))
ACCEPT_BATCH = int(constant("server.py", "ACCEPT_BATCH"))
LISTEN_BACKLOG = int(constant("server.py", "LISTEN_BACKLOG"))
TICK_SECONDS = constant("server.py", "TICK_SECONDS")
SHUTDOWN_GRACE = constant("server.py", "SHUTDOWN_GRACE")

# Runs server.py unchanged after the trace code given as its second argument.
RUN_TRACED = """
import runpy, selectors, socket, sys, time
step, trace, *arguments = sys.argv[1:]
sys.path.insert(0, step)
sys.argv = [step + "/server.py", *arguments]
def emit(*words):
    sys.stderr.write(" ".join(["trace", *map(str, words)]) + "\\n")
exec(trace)
runpy.run_path(sys.argv[0], run_name="__main__")
"""

TRACE_MODIFY = """
real_modify = selectors.DefaultSelector.modify
def modify(self, fileobj, events, data=None):
    emit("modify", fileobj.fileno(), events, len(data.outbox))
    return real_modify(self, fileobj, events, data)
selectors.DefaultSelector.modify = modify
"""

TRACE_IO = """
real_select, real_accept = selectors.DefaultSelector.select, socket.socket.accept
real_recv, real_send, real_sendall = socket.socket.recv, socket.socket.send, socket.socket.sendall
def select(self, timeout=None):
    ready = real_select(self, timeout)
    emit("select", len(ready))
    return ready
def accept(self):
    emit("accept")
    return real_accept(self)
def recv(self, size, *flags):
    data = real_recv(self, size, *flags)
    emit("recv", self.fileno(), size, len(data))
    return data
def send(self, data, *flags):
    emit("send", self.fileno(), len(data))
    return real_send(self, data, *flags)
def sendall(self, data, *flags):
    emit("sendall", self.fileno(), len(data))
    return real_sendall(self, data, *flags)
selectors.DefaultSelector.select = select
socket.socket.accept, socket.socket.recv = accept, recv
socket.socket.send, socket.socket.sendall = send, sendall
"""


SMALL_SEND_BUFFERS = """
real_register = selectors.DefaultSelector.register
def register(self, fileobj, events, data=None):
    if hasattr(data, "outbox"):  # a client: its replies wait in the outbox, not in the kernel
        fileobj.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    return real_register(self, fileobj, events, data)
selectors.DefaultSelector.register = register
"""


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path  # its stderr
    out: Path  # its stdout

    def stderr(self) -> str:
        return self.log.read_text()

    def stdout_lines(self) -> list[str]:
        return self.out.read_text().splitlines()

    def trace(self, kind: str) -> list[list[str]]:
        return [line.split()[2:] for line in self.stderr().splitlines()
                if line.split()[:2] == ["trace", kind]]

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def open_descriptors(self) -> int:
        return len(os.listdir(f"/proc/{self.process.pid}/fd"))

    def open_sockets(self) -> int:
        """Its sockets only: out of descriptors, the server closes and reopens a
        spare one (not a socket), so a count of all of them is off by one at times."""
        folder = f"/proc/{self.process.pid}/fd"
        count = 0
        for name in os.listdir(folder):
            try:
                if os.readlink(f"{folder}/{name}").startswith("socket:"):
                    count += 1
            except FileNotFoundError:
                pass  # closed since the listing
        return count

    def running(self) -> bool:
        return self.process.poll() is None


def descriptor_limit(count: int) -> Callable[[], None]:
    """Run in the server's process before it starts: at most `count` open descriptors."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (count, count))
    return limit


@dataclass
class Kit:
    """Starts servers and clients; ends every one of them, whatever the test did."""

    folder: Path
    servers: list[Server] = field(default_factory=list)
    sockets: list[socket.socket] = field(default_factory=list)

    def start(self, *options: str, trace: str = "", descriptors: int | None = None) -> Server:
        number = len(self.servers)
        log, out = self.folder / f"server{number}.err", self.folder / f"server{number}.out"
        command = [sys.executable, str(STEP / "server.py")]
        if trace:
            command = [sys.executable, "-c", RUN_TRACED, str(STEP), trace]
        with open(log, "wb") as errors, open(out, "wb") as output:
            process = subprocess.Popen(
                [*command, "--port", "0", *options], stdout=output, stderr=errors,
                preexec_fn=descriptor_limit(descriptors) if descriptors else None)
        server = Server(process, 0, log, out)
        self.servers.append(server)
        deadline = time.monotonic() + WAIT
        while not (found := re.search(r"listening on [\d.]+:(\d+)\n", out.read_text())):
            assert server.running() and time.monotonic() < deadline, server.stderr()
            time.sleep(0.02)
        server.port = int(found.group(1))
        return server

    def connect(self, server: Server, receive_buffer: int | None = None) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sockets.append(sock)
        if receive_buffer:
            # Set before connect(), so that the window the server sees is small from the start.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.settimeout(WAIT)
        sock.connect(("127.0.0.1", server.port))
        return sock

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()
        for server in self.servers:
            if server.running():
                server.process.kill()
            server.process.wait(WAIT)


def lines_of(count: int, size: int) -> bytes:
    return b"".join(f"{number:09} ".encode().ljust(size - 1, b"x") + b"\n"
                    for number in range(count))


def receive_line(sock: socket.socket) -> bytes:
    received = b""
    while not received.endswith(b"\n"):
        piece = sock.recv(65536)
        if not piece:
            break
        received += piece
    return received


def echo(sock: socket.socket, line: bytes) -> bytes:
    sock.sendall(line + b"\n")
    return receive_line(sock)


def receive_until_closed(sock: socket.socket) -> bytes:
    received = bytearray()
    while piece := sock.recv(65536):
        received += piece
    return bytes(received)


def exchange(sock: socket.socket, payload: bytes, stall: float = 0.0,
             shut_down: bool = False) -> bytes:
    """Send payload while reading the replies, the way a pipelining client does.

    With `stall`, read nothing until sending has been stuck that long: the
    server is then behind on its replies. With `shut_down`, close our sending
    side once all is sent, and read until the server closes."""
    sock.setblocking(False)
    sent, received = 0, bytearray()
    reading, stuck_since = stall == 0.0, time.monotonic()
    deadline = time.monotonic() + 3 * WAIT
    while time.monotonic() < deadline:
        if sent < len(payload):
            try:
                sent += sock.send(payload[sent:sent + 256 * 1024])
                stuck_since = time.monotonic()
                if sent == len(payload) and shut_down:
                    sock.shutdown(socket.SHUT_WR)
            except BlockingIOError:
                pass
        reading = reading or sent == len(payload) or time.monotonic() - stuck_since >= stall
        if reading:
            try:
                piece = sock.recv(1024 * 1024)
                if not piece:
                    break
                received += piece
            except BlockingIOError:
                pass
            if not shut_down and len(received) >= len(payload):
                break
        select.select([sock] if reading else [], [sock] if sent < len(payload) else [], [],
                      0.01)
    sock.settimeout(WAIT)
    return bytes(received)


def send_until_stuck(sock: socket.socket, payload: bytes, stuck_for: float = 0.3) -> int:
    """Send without reading until send() has been refused for `stuck_for` seconds."""
    sock.setblocking(False)
    sent, stuck_since = 0, time.monotonic()
    deadline = time.monotonic() + WAIT
    while sent < len(payload) and time.monotonic() - stuck_since < stuck_for:
        assert time.monotonic() < deadline, "sending never got stuck"
        try:
            sent += sock.send(payload[sent:sent + 65536])
            stuck_since = time.monotonic()
        except BlockingIOError:
            time.sleep(0.01)
    sock.settimeout(WAIT)
    return sent


def send_until_dropped(sock: socket.socket, payload: bytes) -> bool:
    """Send in a loop without reading; True once the server has dropped us."""
    sock.setblocking(False)
    deadline = time.monotonic() + 2 * WAIT
    while time.monotonic() < deadline:
        try:
            sock.send(payload)
        except BlockingIOError:
            time.sleep(0.005)
        except OSError:
            return True
    return False


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"waited {WAIT} s for {what}"
        time.sleep(0.02)


def reset(sock: socket.socket) -> None:
    """Close with a TCP reset (RST) instead of the polite FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()


def turns(server: Server) -> list[list[list[str]]]:
    """The trace cut into turns of the loop: what ran after each select()."""
    cut: list[list[list[str]]] = [[]]
    for line in server.stderr().splitlines():
        words = line.split()
        if words[:2] == ["trace", "select"]:
            cut.append([])
        elif words[:1] == ["trace"]:
            cut[-1].append(words[1:])
    return cut


def interest_changes(server: Server) -> list[tuple[int, int, int]]:
    """(events before, events after, bytes pending) for each modify() of a client."""
    registered: dict[int, int] = {}
    changes = []
    for fd, events, pending in (map(int, words) for words in server.trace("modify")):
        changes.append((registered.get(fd, EVENT_READ), events, pending))
        registered[fd] = events
    return changes
