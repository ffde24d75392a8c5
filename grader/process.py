"""Student programs as child processes: started, watched, asked, stopped, reaped.

Student code never runs inside the grader. Each program runs through
`launcher.py`, which puts up the walls below from inside (where the system has
them), reports events to a file, and answers the grader's questions over a
channel of its own (`channel.py`). Output goes to files (a pipe nobody reads
would block it). Whatever happens, `stop()` ends the program and everything it
started (`containment.py`) and reaps it. The same code on every system.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader import containment
from grader.channel import LauncherChannel
from grader.diagnosis import ThreadStack, location_from_event, shown_path, threads_from_report
from grader.timing import ANSWER_SECONDS

LAUNCHER = Path(__file__).with_name("launcher.py")
SHOWN_OUTPUT_CHARS = 4000
POLL_SECONDS = 0.01


# A step's programs need tens of MB and well under a second of CPU; these
# bounds stop a runaway (a memory bomb, a CPU-bound loop) long before it
# hurts the machine or the other checks running beside it.
# Output is kept in files, so printing costs nothing: a log line per message of
# the busiest check (10 MB in 10,000 lines) is far below this. Past it a write
# fails (EFBIG; Python ignores SIGXFSZ): the cap guards the disk, and only a
# flood reaches it.
OUTPUT_LIMIT_BYTES = 64 * 1024 * 1024
KEPT_OUTPUT_BYTES = 64 * 1024  # of each stream, once its check is over
FLOOD_TAIL_BYTES = 16 * 1024  # enough lines to tell a print loop from chatter
PRINT_LOOP_BYTES = 1024 * 1024  # a hung program that printed this much: look at its lines
MEMORY_LIMIT_BYTES = 1024 * 1024 * 1024  # address space: threads' stacks count too
CPU_LIMIT_SECONDS = 30
OPEN_FILES_LIMIT = 256  # the busiest check holds ~25 connections; a leak meets the wall
LIMITS = {"cpu_seconds": CPU_LIMIT_SECONDS, "memory_bytes": MEMORY_LIMIT_BYTES,
          "output_bytes": OUTPUT_LIMIT_BYTES, "open_files": OPEN_FILES_LIMIT}


@dataclass
class Exited:
    """How a program ended: an exit code, or the signal that killed it."""

    code: int | None
    signal_name: str | None

    @property
    def ok(self) -> bool:
        return self.code == 0


@dataclass(frozen=True)
class Report:
    """What a running program's launcher said about it, when asked."""

    threads: list[ThreadStack]
    thread_count: int
    sockets: list[dict[str, Any]]  # the sockets open now, with their creation lines
    cpu_seconds: float
    memory_kib: int | None  # resident now; None where the system cannot tell
    peak_memory_kib: int | None  # resident at its peak so far


class StudentProgram:
    """One run of a student's script, e.g. `server.py --port 0`."""

    answers_questions = True  # through the launcher inside it

    def __init__(self, script: Path, args: list[str], student_root: Path, workdir: Path) -> None:
        self.script = script
        self.args = args
        self.student_root = student_root
        self.name = script.name
        workdir.mkdir(parents=True, exist_ok=True)
        stem = f"{script.stem}-{time.monotonic_ns()}"
        self._events_path = workdir / f"{stem}.events"
        self._stdout_path = workdir / f"{stem}.stdout"
        self._stderr_path = workdir / f"{stem}.stderr"
        self._events_path.touch()
        self._channel: LauncherChannel | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.exited: Exited | None = None

    # -- life cycle ---------------------------------------------------------

    def command(self) -> list[str]:
        assert self._channel is not None
        settings = {"events": str(self._events_path), "root": str(self.student_root),
                    "limits": LIMITS, "channel_port": self._channel.port,
                    "channel_token": self._channel.token}
        # -X utf8: the student's prints reach the grader as UTF-8 on every system.
        return [sys.executable, "-I", "-X", "utf8", "-u", "-B", str(LAUNCHER),
                json.dumps(settings), str(self.script), *self.args]

    def start(self) -> None:
        self._channel = LauncherChannel() if self.answers_questions else None
        try:
            with open(self._stdout_path, "wb") as out, open(self._stderr_path, "wb") as err:
                self.process = subprocess.Popen(
                    self.command(), cwd=self.script.parent, stdin=subprocess.DEVNULL,
                    stdout=out, stderr=err, **containment.start_options())
        except BaseException:
            if self._channel is not None:
                self._channel.close()
            raise

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
        """End the program and everything it started; reap it."""
        if self._channel is not None:
            self._channel.close()
        if self.process is None:
            return
        containment.end_tree(self.process)
        self.poll()

    def send_signal(self, number: int) -> None:
        """Signal the program itself, as `kill` would (POSIX)."""
        if self.poll() is None and self.process is not None:
            self.process.send_signal(number)

    # -- asking it -----------------------------------------------------------

    def report(self) -> Report | None:
        """Ask the running program about itself; None if it cannot answer."""
        if self.poll() is not None or self._channel is None:
            return None
        answer = self._channel.ask("report", ANSWER_SECONDS)
        if answer is None:
            return None
        return Report(threads=threads_from_report(answer),
                      thread_count=int(answer.get("thread_count", 0)),
                      sockets=list(answer.get("sockets", [])),
                      cpu_seconds=float(answer.get("cpu_seconds", 0.0)),
                      memory_kib=answer.get("memory_kib"),
                      peak_memory_kib=answer.get("peak_memory_kib"))

    def dump_stacks(self) -> list[ThreadStack]:
        """Where each of its threads is; [] if it cannot say."""
        report = self.report()
        return report.threads if report else []

    def list_open_sockets(self) -> list[dict[str, Any]]:
        """Which of its sockets are open, with where each was created; [] if it cannot say."""
        report = self.report()
        return report.sockets if report else []

    # -- what it said and did ----------------------------------------------

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        found = []
        text = self._events_path.read_text(encoding="utf-8", errors="replace")
        for line in text.splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a kill
            if isinstance(event, dict) and (kind is None or event.get("event") == kind):
                found.append(event)
        return found

    def walls(self) -> dict[str, Any] | None:
        """The limits its launcher could put up here, and those it could not."""
        reported = self.events("walls")
        return reported[0] if reported else None

    def forked(self) -> list[int]:
        """The pids of the processes it forked, as its launcher saw them."""
        return [int(event["pid"]) for event in self.events("forked") if "pid" in event]

    def left_group(self) -> list[int]:
        """The pids of its processes that made process groups of their own."""
        return [int(event["pid"]) for event in self.events("left_group") if "pid" in event]

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

    def flooded_output_tail(self) -> str | None:
        """The end of the stream that reached the output limit; None if none did."""
        return self.output_tail(at_least=OUTPUT_LIMIT_BYTES)

    def output_tail(self, at_least: int) -> str | None:
        """The end of a stream that holds `at_least` bytes; None if none does."""
        for path in (self._stdout_path, self._stderr_path):
            if path.exists() and path.stat().st_size >= at_least:
                with open(path, "rb") as stream:
                    stream.seek(-min(FLOOD_TAIL_BYTES, at_least), os.SEEK_END)
                    return stream.read().decode("utf-8", errors="replace")
        return None

    def trim_output(self) -> None:
        """Keep only the start of each stream: a check's diagnosis is written by now,
        and a class's floods must not pile up on the disk."""
        for path in (self._stdout_path, self._stderr_path):
            if path.exists() and path.stat().st_size > KEPT_OUTPUT_BYTES:
                os.truncate(path, KEPT_OUTPUT_BYTES)


def _exited_from_returncode(code: int) -> Exited:
    if code < 0:
        try:
            return Exited(code=None, signal_name=signal.Signals(-code).name)
        except ValueError:
            return Exited(code=None, signal_name=f"signal {-code}")
    return Exited(code=code, signal_name=None)


def _read_start(path: Path) -> str:
    if not path.exists():
        return ""
    with open(path, "rb") as stream:
        text = stream.read(SHOWN_OUTPUT_CHARS + 1).decode("utf-8", errors="replace")
    if len(text) > SHOWN_OUTPUT_CHARS:
        text = text[:SHOWN_OUTPUT_CHARS] + "\n[... output cut ...]"
    return text


class NativeProgram(StudentProgram):
    """One of the kit's own compiled programs (the lesson's C server and client),
    run and reaped like a student's, but with no launcher inside to ask."""

    answers_questions = False

    def command(self) -> list[str]:
        return [str(self.script), *self.args]

