"""Student programs as child processes: started, watched, stopped, reaped.

Student code never runs inside the grader. Each program runs through
`launcher.py` in its own process group, with its output going to files (a
pipe nobody reads would block it) and a cap on how much it may write.
Whatever happens, `stop()` kills the whole group and reaps it.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.diagnosis import location_from_event, shown_path

LAUNCHER = Path(__file__).with_name("launcher.py")
OUTPUT_LIMIT_BYTES = 4 * 1024 * 1024  # past this the child gets SIGXFSZ: a flood
SHOWN_OUTPUT_CHARS = 4000
POLL_SECONDS = 0.01


# A step's programs need tens of MB and well under a second of CPU; these
# bounds stop a runaway (a memory bomb, a CPU-bound loop) long before it
# hurts the machine or the other checks running beside it.
MEMORY_LIMIT_BYTES = 1024 * 1024 * 1024  # address space: threads' stacks count too
CPU_LIMIT_SECONDS = 30
OPEN_FILES_LIMIT = 256  # the busiest check holds ~25 connections; a leak meets the wall


def _limit_child() -> None:
    # Runs in the child between fork and exec.
    resource.setrlimit(resource.RLIMIT_FSIZE, (OUTPUT_LIMIT_BYTES, OUTPUT_LIMIT_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_LIMIT_SECONDS, CPU_LIMIT_SECONDS))
    resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES_LIMIT, OPEN_FILES_LIMIT))


@dataclass
class Exited:
    """How a program ended: an exit code, or the signal that killed it."""

    code: int | None
    signal_name: str | None

    @property
    def ok(self) -> bool:
        return self.code == 0


class StudentProgram:
    """One run of a student's script, e.g. `server.py --port 0`."""

    def __init__(self, script: Path, args: list[str], student_root: Path, workdir: Path) -> None:
        self.script = script
        self.args = args
        self.student_root = student_root
        self.name = script.name
        workdir.mkdir(parents=True, exist_ok=True)
        stem = f"{script.stem}-{time.monotonic_ns()}"
        self._events_path = workdir / f"{stem}.events"
        self._stacks_path = workdir / f"{stem}.stacks"
        self._stdout_path = workdir / f"{stem}.stdout"
        self._stderr_path = workdir / f"{stem}.stderr"
        self._events_path.touch()
        self.process: subprocess.Popen[bytes] | None = None
        self.exited: Exited | None = None

    # -- life cycle ---------------------------------------------------------

    def command(self) -> list[str]:
        return [sys.executable, "-I", "-u", "-B", str(LAUNCHER), str(self._events_path),
                str(self._stacks_path), str(self.student_root), str(self.script), *self.args]

    def start(self) -> None:
        command = self.command()
        with open(self._stdout_path, "wb") as out, open(self._stderr_path, "wb") as err:
            self.process = subprocess.Popen(
                command, cwd=self.script.parent, stdin=subprocess.DEVNULL, stdout=out,
                stderr=err, start_new_session=True, preexec_fn=_limit_child)

    @property
    def shown(self) -> str:
        """The script's path as the student would type it."""
        return shown_path(str(self.script))

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def poll(self) -> Exited | None:
        """How the program ended, or None while it runs."""
        if self.exited is None and self.process is not None:
            code = self.process.poll()
            if code is not None:
                self.exited = _exited_from_returncode(code)
        return self.exited

    def wait(self, timeout: float) -> Exited | None:
        """Wait at most `timeout` seconds for the program to end."""
        assert self.process is not None
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.poll()

    def stop(self) -> None:
        """Kill the program and everything it started; reap it."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        self.poll()

    def dump_stacks(self) -> str:
        """Ask a running program where each of its threads is; '' if it cannot say."""
        if self.poll() is not None:
            return ""
        try:
            os.kill(self.pid, signal.SIGUSR1)
        except ProcessLookupError:
            return ""
        deadline = time.monotonic() + 1.0
        last_size = -1
        while time.monotonic() < deadline:
            time.sleep(0.05)
            size = self._stacks_path.stat().st_size if self._stacks_path.exists() else 0
            if size and size == last_size:
                break
            last_size = size
        return self._stacks_path.read_text(errors="replace") if self._stacks_path.exists() else ""

    def list_open_sockets(self) -> list[dict[str, Any]]:
        """Ask a running program which of its sockets are open; [] if it cannot say."""
        if self.poll() is not None:
            return []
        already = len(self.events("open_sockets_listed"))
        os.kill(self.pid, signal.SIGUSR2)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            if len(self.events("open_sockets_listed")) > already:
                break
            time.sleep(POLL_SECONDS)
        return self.events("socket_open_now")

    # -- what it said and did ----------------------------------------------

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        found = []
        for line in self._events_path.read_text(errors="replace").splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a kill
            if isinstance(event, dict) and (kind is None or event.get("event") == kind):
                found.append(event)
        return found

    def crash(self) -> dict[str, Any] | None:
        """The uncaught exception the program died of, as the launcher reported it."""
        crashes = self.events("exception")
        return crashes[0] if crashes else None

    def crash_place(self) -> str | None:
        """The student's line that raised that exception, with its source."""
        crash = self.crash()
        location = location_from_event(crash.get("origin")) if crash else None
        return location.describe() if location else None

    def wait_for_event(self, kind: str, timeout: float) -> dict[str, Any] | None:
        """The first event of this kind; None if the program ended or time ran out first."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.events(kind)
            if found:
                return found[0]
            if self.poll() is not None or time.monotonic() > deadline:
                return None
            time.sleep(POLL_SECONDS)

    def stdout(self) -> str:
        return _read_start(self._stdout_path)

    def stderr(self) -> str:
        return _read_start(self._stderr_path)

    def output_was_flooded(self) -> bool:
        return any(path.exists() and path.stat().st_size >= OUTPUT_LIMIT_BYTES
                   for path in (self._stdout_path, self._stderr_path))

    # -- what the operating system sees ------------------------------------

    def open_descriptors(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def memory_kib(self, field: str = "VmRSS") -> int:
        """A memory figure of /proc/PID/status: VmRSS now, VmHWM the peak so far."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
        return 0

    def thread_count(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/task"))

    def cpu_seconds(self) -> float:
        # Fields 14 and 15 of /proc/PID/stat: user and system time in clock ticks;
        # the command name in field 2 may hold spaces, so split after its ')'.
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _exited_from_returncode(code: int) -> Exited:
    if code < 0:
        return Exited(code=None, signal_name=signal.Signals(-code).name)
    return Exited(code=code, signal_name=None)


def _read_start(path: Path) -> str:
    if not path.exists():
        return ""
    with open(path, "rb") as stream:
        text = stream.read(SHOWN_OUTPUT_CHARS + 1).decode(errors="replace")
    if len(text) > SHOWN_OUTPUT_CHARS:
        text = text[:SHOWN_OUTPUT_CHARS] + "\n[... output cut ...]"
    return text


class NativeProgram(StudentProgram):
    """One of the kit's own compiled programs (the lesson's C server and client),
    run and reaped like a student's, but with no launcher inside to ask."""

    def command(self) -> list[str]:
        return [str(self.script), *self.args]

    def dump_stacks(self) -> str:
        return ""  # SIGUSR1 would only kill it
