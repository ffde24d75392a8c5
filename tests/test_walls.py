"""The scoreboard's line on walls says what the programs had, system by system."""

from __future__ import annotations

from grader.process import LIMITS
from grader.walls import summary

LINUX = {"applied": dict(LIMITS), "missing": {}}
MACOS = {"applied": {name: value for name, value in LIMITS.items() if name != "memory_bytes"},
         "missing": {"memory_bytes": "refused by this system"}}
WINDOWS = {"applied": {"processes": 64, "cpu_seconds": 30, "memory_bytes": 2**30},
           "missing": {"output_bytes": "not on this system",
                       "open_files": "not on this system"}}


def test_linux_has_every_limit_and_adopts_orphans() -> None:
    assert summary([LINUX, LINUX], ["process group", "orphans adopted"]) == (
        "Walls: 30 s of CPU, 1 GiB of memory, 64 MiB of output, 256 open files per program; "
        "ended after each check by process group and orphans adopted")


def test_a_limit_the_system_refused_is_named_with_the_reason() -> None:
    line = summary([MACOS], ["process group", "forked processes tracked"])
    assert line.startswith("Walls: 30 s of CPU, 64 MiB of output, 256 open files per program")
    assert "no limit on memory (refused by this system)" in line


def test_limits_missing_for_one_reason_are_named_together() -> None:
    line = summary([WINDOWS], ["job object"])
    assert "64 processes, 30 s of CPU, 1 GiB of memory per program" in line
    assert "no limit on output, open files (not on this system)" in line
    assert line.endswith("ended after each check by job object")


def test_a_limit_only_some_programs_had_does_not_count_as_had() -> None:
    line = summary([LINUX, MACOS], ["process group"])
    assert "1 GiB" not in line
    assert "no limit on memory (not for every program)" in line


def test_no_program_no_walls() -> None:
    assert summary([], ["process group"]) == "Walls: none were needed (no program of yours ran)"
