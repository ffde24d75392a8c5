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
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Adopt orphaned descendants; False where the system cannot (not Linux)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


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


def end_adopted_orphans() -> list[int]:
    """Kill and reap every child this process still has; their pids.

    Called once a check has stopped its own programs: what is left are
    descendants that escaped their process group, or their zombies."""
    ended = []
    for pid in children_of(os.getpid()):
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            continue
        ended.append(pid)
    return ended
