"""The line echo servers the benchmarks compare, and how to start each one.

Every server prints "listening on HOST:PORT" and takes --host and --port (0:
any free port). The kit's own two run unchanged from solutions/.
"""

from __future__ import annotations

import functools
import importlib.util
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.bench import native
from tests.grading import SOLUTIONS

SERVERS_DIR = Path(__file__).resolve().parent / "servers"
EVENT_LOOP_SERVER = SOLUTIONS / "05_event_loop" / "server.py"
THREADED_SERVER = SOLUTIONS / "04_threads" / "server.py"
ASYNCIO_SERVER = SERVERS_DIR / "asyncio_echo.py"


@dataclass(frozen=True)
class EchoServer:
    name: str
    description: str
    program: Path  # a Python script, or a C source built before it runs
    options: tuple[str, ...] = ()
    needs_module: str | None = None
    takes_max_clients: bool = False  # only if its --help lists the flag (it is being added)
    takes_idle_timeout: bool = False

    def command(self, max_clients: int, idle_timeout: float | None = None) -> list[str]:
        """The command line that starts this server on 127.0.0.1, any free port."""
        if self.program.suffix == ".c":
            start = [str(native.build(self.program))]
        else:
            start = [sys.executable, str(self.program)]
        limits: list[str] = []
        if self.takes_max_clients and lists_option(self.program, "--max-clients"):
            limits = ["--max-clients", str(max_clients)]
        if self.takes_idle_timeout and idle_timeout is not None:
            limits += ["--idle-timeout", str(idle_timeout)]
        return [*start, "--host", "127.0.0.1", "--port", "0", *self.options, *limits]

    def missing(self) -> str | None:
        """Why this server cannot run here, or None when it can."""
        if self.needs_module and importlib.util.find_spec(self.needs_module) is None:
            return f"{self.needs_module} is not installed (nox -s bench installs it)"
        if self.program.suffix == ".c" and native.c_compiler() is None:
            return "no C compiler"
        return None


SERVERS = {server.name: server for server in [
    EchoServer("event-loop", "the kit's selectors server (solutions/05_event_loop)",
               EVENT_LOOP_SERVER, takes_max_clients=True, takes_idle_timeout=True),
    EchoServer("threads", "the kit's thread-per-client server (solutions/04_threads)",
               THREADED_SERVER, takes_idle_timeout=True),
    EchoServer("asyncio", "asyncio Protocol: data_received, transport.write", ASYNCIO_SERVER),
    EchoServer("uvloop", "the same Protocol on uvloop", ASYNCIO_SERVER, ("--uvloop",),
               needs_module="uvloop"),
    EchoServer("socketserver", "socketserver.ThreadingTCPServer, StreamRequestHandler",
               SERVERS_DIR / "socketserver_echo.py"),
    EchoServer("c-epoll", "C, non-blocking epoll: the machine's practical limit",
               native.EPOLL_SERVER_SOURCE),
]}


@functools.cache
def lists_option(script: Path, option: str) -> bool:
    """Whether a Python server's --help lists `option`."""
    usage = subprocess.run([sys.executable, str(script), "--help"],
                           capture_output=True, text=True, timeout=30)
    return option in usage.stdout
