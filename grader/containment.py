"""Nothing a student's program starts outlives its check, on every system.

- Each program starts as a process group of its own (POSIX) and is ended as
  one: `killpg`. macOS answers EPERM when the group holds only zombies: then
  there is nothing left to end.
- On Windows the launcher has put itself and all it starts into a job object
  that dies with its last handle (launcher_walls.py): ending the launcher ends
  the tree.
- A grandchild that left its group with setsid() (a daemon) escapes `killpg`.
  On Linux the grading process is a child subreaper: such orphans become its
  own children, found through /proc and ended after each check. Where that
  cannot be done (no subreaper, no /proc), the process groups the launchers
  saw being made, and the processes they saw forked, are ended by id instead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
_adopting_orphans = False


def _prctl(option: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(option, value, 0, 0, 0) == 0)
    except (OSError, AttributeError, TypeError):
        return False


def become_subreaper() -> bool:
    """Adopt orphaned descendants; False where the system cannot (not Linux)."""
    global _adopting_orphans
    _adopting_orphans = _prctl(PR_SET_CHILD_SUBREAPER, 1)
    return _adopting_orphans


def seal_from_students() -> bool:
    """Make this grading process non-dumpable (Linux).

    A student's program runs as the same user; without this it could open
    /proc/<grader>/fd/N and write into the grader's pipes (a forged result),
    or read its memory. Non-dumpable, those need a capability the sandbox
    has dropped."""
    return _prctl(PR_SET_DUMPABLE, 0)


def start_options() -> dict[str, Any]:
    """How to start a program so that it can be ended with all it started."""
    if hasattr(os, "killpg"):
        return {"start_new_session": True}
    return {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}


def end_tree(process: subprocess.Popen[bytes]) -> None:
    """Kill a program started with `start_options()` and all it started; reap it."""
    if hasattr(os, "killpg"):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass  # nothing left to signal: gone, or (macOS) only zombies remain
    else:
        process.kill()  # Windows: the launcher's job object takes its tree with it
    process.wait()


def walls() -> list[str]:
    """How this grading process ends what a program leaves behind, in words."""
    if not hasattr(os, "killpg"):
        return ["job object"]
    ways = ["process group"]
    if _adopting_orphans and children_of(os.getpid()) is not None:
        ways.append("orphans adopted")
    else:
        ways.append("forked processes tracked")
    return ways


def children_of(pid: int) -> list[int] | None:
    """The live children of `pid`; None where they cannot be listed (no /proc)."""
    try:
        entries = list(Path("/proc").iterdir())
    except OSError:
        return None
    if not any(entry.name == "self" for entry in entries):
        return None
    found = []
    for entry in entries:
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


def end_adopted_orphans(forked: Iterable[int] = (), groups: Iterable[int] = (),
                        patience: float = 2.0) -> list[int]:
    """Kill and reap every child this process still has; their pids.

    Called once a check has stopped its own programs: what is left are
    descendants that escaped their process group, or their zombies. It goes
    round until none is left (bounded by `patience`): each killed process
    hands its own children over to us as it dies, and a zombie not reaped
    still counts against the process cap (a fork bomb leaves hundreds).
    `forked` and `groups`: the pids the launchers saw forked, and the process
    groups made by their processes, ended where children cannot be listed."""
    if not hasattr(os, "killpg"):
        return []  # Windows: the job objects saw to it
    ended: list[int] = []
    deadline = time.monotonic() + patience
    children = children_of(os.getpid())
    if children is None:
        for group in groups:
            try:
                os.killpg(group, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for pid in forked:
            _kill(pid)
        # Adopted ones among them (Linux without /proc) die as zombies of ours.
        while time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break  # none left at all
            if pid:
                ended.append(pid)
            else:
                time.sleep(0.005)
        return ended
    while children and time.monotonic() < deadline:
        for pid in children:
            _kill(pid)
        ended += _reap_every_dead_child()
        time.sleep(0.005)
        children = children_of(os.getpid()) or []
    return ended


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


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
