"""Start a benchmarked server on a chosen core, read what it costs, and always stop it.

A server's output goes to a temporary file, not a pipe: a server that prints a
line per client (the kit's threaded one does) can never block on a full pipe
that nobody reads while the load runs.
"""

from __future__ import annotations

import os
import re
import resource
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import IO

LISTENING = re.compile(r"listening on \S+:(\d+)")
START_SECONDS = 10.0  # from launch to the "listening on" line, even on a busy machine
STOP_SECONDS = 3.0  # from SIGTERM to SIGKILL
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class ServerFailed(RuntimeError):
    """The server exited or stayed silent instead of saying where it listens."""


def stop_on_sigterm() -> None:
    """Make SIGTERM raise SystemExit, so `finally` blocks stop the servers we started.

    Without it `kill` ends a benchmark at once and leaves its servers running:
    they are in their own process groups, out of reach of the signal.
    """
    def raise_exit(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, raise_exit)


def pinned(cpu: int | None, open_files: int | None = None) -> Callable[[], None]:
    """A preexec_fn: run the child on one core, allowed this many descriptors."""

    def prepare_child() -> None:
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})
        if open_files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))
    return prepare_child


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, all its threads included."""
    with open(f"/proc/{pid}/stat") as stream:
        stat = stream.read()
    # The command name, in parentheses, may hold spaces: count fields after it.
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def resident_kib(pid: int) -> int:
    """VmRSS of a process, in KiB."""
    with open(f"/proc/{pid}/status") as stream:
        for line in stream:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise ServerFailed(f"no VmRSS for process {pid}")


def idle_share(interval: float = 0.5) -> float:
    """The share of the machine's CPU time left idle over `interval` seconds."""
    def idle_and_total() -> tuple[int, int]:
        with open("/proc/stat") as stream:
            ticks = [int(field) for field in stream.readline().split()[1:]]
        return ticks[3] + ticks[4], sum(ticks)  # idle + iowait, everything
    idle_before, total_before = idle_and_total()
    time.sleep(interval)
    idle_after, total_after = idle_and_total()
    return (idle_after - idle_before) / max(1, total_after - total_before)


def wait_until_idle(seconds: float, wanted: float) -> float:
    """Wait, `seconds` at most, until the CPUs are `wanted` idle; return the last share seen.

    The machine is shared: a measurement taken while someone else's tests run
    measures them as much as the server.
    """
    deadline = time.monotonic() + seconds
    while (share := idle_share()) < wanted and time.monotonic() < deadline:
        pass
    return share


def open_descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class ServerProcess:
    """A server started in its own process group; `with` guarantees it is stopped."""

    def __init__(self, command: Sequence[str], cpu: int | None = None,
                 open_files: int | None = None) -> None:
        self.command = list(command)
        # Lives as long as the server, so no `with`: stop() closes it.
        self._output: IO[str] = tempfile.TemporaryFile("w+")  # noqa: SIM115
        try:
            self._process = subprocess.Popen(
                self.command, stdin=subprocess.DEVNULL, stdout=self._output,
                stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=pinned(cpu, open_files))
        except BaseException:
            self._output.close()
            raise
        self.port = 0

    @property
    def pid(self) -> int:
        return self._process.pid

    def __enter__(self) -> ServerProcess:
        try:
            self.port = self._wait_until_listening()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def output(self) -> str:
        self._output.seek(0)
        return self._output.read()

    def _wait_until_listening(self) -> int:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if found := LISTENING.search(self.output()):
                return int(found.group(1))
            if self._process.poll() is not None:
                raise ServerFailed(f"{self.command[-1] if self.command else 'server'} exited "
                                   f"with status {self._process.returncode} before listening:\n"
                                   f"{self.output().strip()[-2000:]}")
            time.sleep(0.02)
        raise ServerFailed(f"no 'listening on' line within {START_SECONDS:.0f} s from "
                           f"{' '.join(self.command)}")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a bound; the whole process group; always reaped."""
        if self._process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self._process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self._process.wait()
        self._signal_group(signal.SIGKILL)  # anything it started and left behind
        self._output.close()

    def _signal_group(self, which: signal.Signals) -> None:
        try:
            os.killpg(self._process.pid, which)
        except ProcessLookupError:
            pass  # already gone
