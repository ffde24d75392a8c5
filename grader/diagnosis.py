"""What went wrong, in a beginner's words, and where in their code to look.

Pure functions of plain data: stack dumps and launcher events in, sentences
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
    relative = os.path.relpath(file)
    return file if relative.startswith("..") else relative


def location_from_event(origin: dict[str, Any] | None) -> Location | None:
    if not origin:
        return None
    return Location(str(origin["file"]), int(origin["line"]), str(origin.get("function", "")))


_THREAD_HEADER = re.compile(r"^(Current thread|Thread) (0x[0-9a-f]+)")
_FRAME = re.compile(r'^\s+File "(.+)", line (\d+) in (\S+)')


def parse_stack_dump(text: str, student_root: Path) -> list[list[Location]]:
    """Each thread's student frames from a faulthandler dump, innermost first."""
    root = str(student_root.resolve()) + os.sep
    threads: list[list[Location]] = []
    for line in text.splitlines():
        if _THREAD_HEADER.match(line):
            threads.append([])
            continue
        frame = _FRAME.match(line)
        if frame and threads and os.path.abspath(frame.group(1)).startswith(root):
            threads[-1].append(Location(frame.group(1), int(frame.group(2)), frame.group(3)))
    return [frames for frames in threads if frames]


def where_blocked(text: str, student_root: Path) -> list[Location]:
    """The innermost student line of every thread that is in the student's code."""
    return [frames[0] for frames in parse_stack_dump(text, student_root)]


def describe_blocked(program: str, places: list[Location]) -> str:
    """'your server is waiting in recv()' with the call of its first stuck thread."""
    if not places:
        return f"your {program} is not answering"
    call = places[0].blocking_call()
    if call:
        return f"your {program} is waiting in {call}"
    return f"your {program} is busy at line {places[0].line} and does not answer"
