"""What went wrong, in a beginner's words, and where in their code to look.

Pure functions of plain data: the launcher's reports and events in, sentences
out. No sockets and no processes here.
"""

from __future__ import annotations

import linecache
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Calls that wait, as a student writes them; the first one on a line names it.
BLOCKING_CALL = re.compile(
    r"\b(accept|recv|recvfrom|recv_into|connect|sendall|send|select|join|sleep|input|"
    r"readline|read|wait|acquire|get|create_connection)\s*\(")


@dataclass(frozen=True)
class Location:
    """A line of the student's code."""

    file: str
    line: int
    function: str = ""

    def source(self) -> str:
        return linecache.getline(self.file, self.line).strip()

    def blocking_call(self) -> str | None:
        match = BLOCKING_CALL.search(self.source())
        return f"{match.group(1)}()" if match else None

    def describe(self) -> str:
        where = f"{shown_path(self.file)}:{self.line}"
        source = self.source()
        return f"{where}: {source}" if source else where


@dataclass
class Diagnosis:
    """One failed check, told to a student: what, expected, where, hint."""

    happened: str
    expected: str
    where: list[str]
    hint: str

    def lines(self) -> list[str]:
        lines = [f"what happened: {self.happened}", f"expected:      {self.expected}"]
        if self.where:
            lines.append(f"where to look: {self.where[0]}")
            lines.extend(f"               {place}" for place in self.where[1:])
        if self.hint:
            lines.append(f"hint:          {self.hint}")
        return lines


class CheckFailed(Exception):
    """Raised by a check: the submission did not do what the check expects."""

    def __init__(self, diagnosis: Diagnosis, hung: str | None = None) -> None:
        super().__init__(diagnosis.happened)
        self.diagnosis = diagnosis
        self.hung = hung  # "server" or "client" when that program stopped answering


class NotStarted(Exception):
    """The program still raises the stub's NotImplementedError."""


class StepBlocked(Exception):
    """A check this one builds on failed: running it would only repeat that failure."""


def shown_path(file: str) -> str:
    """A path as the student would type it: relative to where they stand, if inside."""
    try:
        relative = os.path.relpath(file)
    except ValueError:
        return file  # Windows: on another drive than the current folder
    return file if relative.startswith("..") else relative


def location_from_event(origin: dict[str, Any] | None) -> Location | None:
    if not origin:
        return None
    return Location(str(origin["file"]), int(origin["line"]), str(origin.get("function", "")))


@dataclass(frozen=True)
class ThreadStack:
    """Where one thread of a running program was, as its launcher reported it."""

    name: str
    main: bool
    frames: tuple[Location, ...]  # innermost first

    def student_frames(self, student_root: Path) -> list[Location]:
        root = os.path.normcase(str(student_root.resolve())) + os.sep
        return [frame for frame in self.frames
                if os.path.normcase(os.path.abspath(frame.file)).startswith(root)]


def threads_from_report(report: dict[str, Any] | None) -> list[ThreadStack]:
    """The threads of a launcher's report (none if it could not be asked)."""
    threads = []
    for thread in (report or {}).get("threads", []):
        frames = tuple(Location(str(frame["file"]), int(frame["line"]), str(frame["function"]))
                       for frame in thread.get("frames", []))
        threads.append(ThreadStack(str(thread.get("name", "")), bool(thread.get("main")),
                                   frames))
    return threads


def where_blocked(threads: list[ThreadStack], student_root: Path) -> list[Location]:
    """The innermost student line of every thread that is in the student's code,
    the main thread's first (the order of a dump is no order of importance)."""
    places = []
    for thread in sorted(threads, key=lambda thread: not thread.main):
        frames = thread.student_frames(student_root)
        if frames:
            places.append(frames[0])
    return places


# Where a hung program's first thread waits for something other than a socket, a
# check's socket hint would mislead: these say what that call waits for.
CALL_HINTS = {
    "acquire()": "a thread waits for a lock another thread holds: hold a lock only around "
                 "the few lines that share data, never across recv(), send() or accept()",
    "join()": "join() waits for a thread to end, and a thread serving a client ends only "
              "when its client leaves: do not join client threads in the accept loop",
    "sleep()": "sleep() holds the whole thread up: wait on the sockets instead (recv, select)",
    "input()": "input() waits for the keyboard, and nobody types: take what you need from "
               "the command line or the socket",
}


def hint_for_blocked(places: list[Location], hint: str) -> str:
    """The hint for a hung program: what its first thread's call waits for, if that
    is no socket; `hint` (the check's own) otherwise."""
    call = places[0].blocking_call() if places else None
    return CALL_HINTS.get(call or "", hint)


def describe_blocked(program: str, places: list[Location]) -> str:
    """'your server is waiting in acquire(), and its 2 other threads in recv()':
    every stuck thread, the first (the main one, where it is the student's) in full."""
    if not places:
        return f"your {program} is not answering"
    first, others = places[0], places[1:]
    call = first.blocking_call()
    said = (f"your {program} is waiting in {call}" if call else
            f"your {program} is busy at line {first.line} and does not answer")
    if others:
        counted: dict[str, int] = {}
        for place in others:
            state = f"in {place.blocking_call()}" if place.blocking_call() else "busy"
            counted[state] = counted.get(state, 0) + 1
        threads = "other thread" if len(others) == 1 else f"{len(others)} other threads"
        if len(counted) == 1:
            said += f", and its {threads} {next(iter(counted))}"
        else:
            said += f", and its {threads}: " + ", ".join(
                f"{count} {state}" for state, count in counted.items())
    return said


REPEATED_LINES_SEEN = 200  # the last lines looked at to tell a print loop from chatter
PRINT_LOOP_HINT = "print a line per event, not per loop turn"


def repeated_line(tail: str) -> str | None:
    """The line a program prints over and over at the end of its output (numbers in
    it may change: "turn 1", "turn 2"), shortened; None for varied output."""
    whole = tail.splitlines()[1:]  # the first and last may be cut off mid-line
    if not tail.endswith("\n"):
        whole = whole[:-1]
    lines = [line for line in whole if line.strip()][-REPEATED_LINES_SEEN:]
    shapes = {re.sub(r"\d+", "N", line) for line in lines}
    if len(lines) < 20 or len(shapes) > 3:
        return None
    line = lines[-1]
    return line if len(line) <= 60 else line[:57] + "..."


def describe_flood(tail: str, limit_bytes: int) -> tuple[str, str]:
    """What a program stopped at the output limit did, and a hint, from the end of its
    output: the same line over and over is a print in an endless loop; varied lines
    are only too many of them (the limit guards the disk, not the student's prints)."""
    limit = f"{limit_bytes // 2**20} MiB"
    line = repeated_line(tail)
    if line is not None:
        return (f"it printed the same line over and over ({line!r}) until the grader "
                f"stopped it at {limit} of output: a print in an endless loop?",
                PRINT_LOOP_HINT)
    return (f"it printed more than {limit}, the most output the grader keeps, and was "
            f"stopped there",
            f"printing is fine, but not this much: a line per client or per message, "
            f"not per byte, stays well under {limit}")
