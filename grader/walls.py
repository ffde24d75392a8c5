"""The walls a grading run had, said in one line for the scoreboard's header.

Pure: the launchers' `walls` events (what each program could be limited by on
this system, and what not) and the grading process's ways of ending what a
program leaves behind, in; one sentence out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_SAID: dict[str, tuple[str, Callable[[int], str]]] = {
    "cpu_seconds": ("CPU time", lambda value: f"{value} s of CPU"),
    "memory_bytes": ("memory", lambda value: f"{value // 2**20:,} MiB of memory"
                     if value % 2**30 else f"{value // 2**30} GiB of memory"),
    "output_bytes": ("output", lambda value: f"{value // 2**20} MiB of output"),
    "open_files": ("open files", lambda value: f"{value} open files"),
    "processes": ("processes", lambda value: f"{value} processes"),
}


def summary(reported: list[dict[str, Any]], ending: list[str]) -> str:
    """'Walls: 30 s of CPU, ... per program; ...' for the programs of one run."""
    if not reported:
        return "Walls: none were needed (no program of yours ran)"
    # A wall counts as had only if every program had it.
    applied: dict[str, int] = dict(reported[0].get("applied", {}))
    missing: dict[str, str] = {}
    for walls in reported:
        had = walls.get("applied", {})
        for name in list(applied):
            if name not in had:
                missing.setdefault(name, "not for every program")
                del applied[name]
        for name, reason in walls.get("missing", {}).items():
            missing.setdefault(name, str(reason))
    limits = [_SAID[name][1](int(value)) if name in _SAID else f"{name} {value}"
              for name, value in applied.items()]
    line = f"Walls: {', '.join(limits) or 'no limits'} per program"
    by_reason: dict[str, list[str]] = {}
    for name, reason in missing.items():
        by_reason.setdefault(reason, []).append(_SAID[name][0] if name in _SAID else name)
    for reason, names in by_reason.items():
        line += f"; no limit on {', '.join(names)} ({reason})"
    if ending:
        line += f"; ended after each check by {' and '.join(ending)}"
    return line
