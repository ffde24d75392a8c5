"""Nothing a student's program starts outlives its check.

Killing a program's process group misses a grandchild that left the group
with setsid() (a daemon). As a child subreaper (Linux), the grading process
becomes the parent of every orphan among its descendants instead of init,
so after each check it can find them and end them.
"""

from __future__ import annotations

import ctypes
import os
import signal
import time
from pathlib import Path

PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36


def _prctl(option: int, value: int) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(option, value, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def become_subreaper() -> bool:
    """Adopt orphaned descendants; False where the system cannot (not Linux)."""
    return _prctl(PR_SET_CHILD_SUBREAPER, 1)


def seal_from_students() -> bool:
    """Make this grading process non-dumpable (Linux).

    A student's program runs as the same user; without this it could open
    /proc/<grader>/fd/N and write into the grader's pipes (a forged result),
    or read its memory. Non-dumpable, those need a capability the sandbox
    has dropped."""
    return _prctl(PR_SET_DUMPABLE, 0)


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # Field 4 of /proc/PID/stat, after the command name in parentheses.
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid:
            found.append(int(entry.name))
    return found


def end_adopted_orphans(patience: float = 2.0) -> list[int]:
    """Kill and reap every child this process still has; their pids.

    Called once a check has stopped its own programs: what is left are
    descendants that escaped their process group, or their zombies. It goes
    round until none is left (bounded by `patience`): each killed process
    hands its own children over to us as it dies, and a zombie not reaped
    still counts against the process cap (a fork bomb leaves hundreds)."""
    ended: list[int] = []
    deadline = time.monotonic() + patience
    while (children := children_of(os.getpid())) and time.monotonic() < deadline:
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        ended += _reap_every_dead_child()
        time.sleep(0.005)
    return ended


def _reap_every_dead_child() -> list[int]:
    reaped: list[int] = []
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return reaped
        if pid == 0:
            return reaped
        reaped.append(pid)
