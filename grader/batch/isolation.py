"""Walls around one grading run (one step of one submission), the strongest
this machine offers.

Layers, each used when available and each named in the report:

- bubblewrap (`bwrap`): the run sees, read-only, only the system, Python and
  the grader, plus the submission's own copy; not the other students' work,
  the kit's solutions or the instructor's files. A private /tmp is its one
  writable place. No network but its own loopback; its own process tree
  (everything in it dies with it); no capabilities, so nothing in it can reach
  into the sealed grading process.
- a user of its own per run, where the batch runs as root with bubblewrap:
  a cap on its processes (RLIMIT_NPROC), which refuses a fork before anything
  is copied (see `run_user`).
- a control group per run: a cap on processes (a fork bomb stops there), on
  memory, and an equal share of the CPU.
- always: the grader's own per-program limits (grader/process.py: CPU time,
  address space, open files, written-file size), a process group per run,
  all of it killed at the end, and a wall-clock limit for the whole submission.
"""

from __future__ import annotations

import functools
import os
import resource
import shutil
import signal
import site
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from grader import process

PROCESSES_PER_RUN = 256  # threads count too: a threaded server with 20 clients is ~21
# The run's own user gets a few fewer than its control group, which also holds
# bubblewrap's own processes (root's): so RLIMIT_NPROC, the cheap refusal, binds first.
USER_PROCESSES_PER_RUN = PROCESSES_PER_RUN - 8
# A run's uid is this plus the id of the batch thread running it: above every
# range that accounts and containers use (systemd-nspawn's ends at 1879048191).
RUN_UID_BASE = 1_900_000_000
MEMORY_PER_RUN_BYTES = 2 * 1024**3  # a program may use 1 GiB; a run holds a few
CGROUP_ROOT = Path("/sys/fs/cgroup")


@functools.cache
def bubblewrap() -> str | None:
    """The bwrap binary, if present and allowed to make namespaces here."""
    binary = shutil.which("bwrap")
    if binary is None:
        return None
    trial = [binary, "--ro-bind", "/", "/", "--unshare-pid", "--unshare-net",
             "--die-with-parent", "--cap-drop", "ALL", "true"]
    try:
        result = subprocess.run(trial, capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return binary if result.returncode == 0 else None


def _own_cgroup_folder(controller: str) -> Path | None:
    """Where this process sits in a cgroup v1 hierarchy of `controller`, if writable."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            folder = CGROUP_ROOT / controller / path.lstrip("/")
            return folder if os.access(folder, os.W_OK) else None
    return None


@dataclass
class ControlGroups:
    """One cgroup per controller (v1) for one run; empty where none is writable."""

    name: str
    folders: dict[str, Path] = field(default_factory=dict)

    # cpu: every run gets the same weight, so a run spinning on every core
    # (a fork bomb at its cap) leaves the runs beside it their fair share.
    LIMITS = {"pids": ("pids.max", str(PROCESSES_PER_RUN)),
              "memory": ("memory.limit_in_bytes", str(MEMORY_PER_RUN_BYTES)),
              "cpu": ("cpu.shares", "1024")}

    def create(self) -> None:
        for controller, (setting, value) in self.LIMITS.items():
            parent = _own_cgroup_folder(controller)
            if parent is None:
                continue
            folder = parent / self.name
            try:
                folder.mkdir(exist_ok=True)
                (folder / setting).write_text(value)
            except OSError:
                continue
            self.folders[controller] = folder

    def join(self) -> None:
        """Move the calling process in (run between fork and exec)."""
        for folder in self.folders.values():
            (folder / "cgroup.procs").write_text(str(os.getpid()))

    def kill_all_and_remove(self) -> None:
        for folder in self.folders.values():
            for _ in range(50):  # bounded: a fork bomb is capped, so this converges
                pids = _pids_in(folder)
                if not pids:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                time.sleep(0.02)
            try:
                folder.rmdir()
            except OSError:
                pass


def remove_stale_groups() -> None:
    """Remove the empty control groups of batches that were killed outright
    (SIGKILL leaves no time to tidy up): named after a process no longer alive."""
    for controller in ControlGroups.LIMITS:
        parent = _own_cgroup_folder(controller)
        for folder in parent.glob("sockets-kit-*") if parent else []:
            owner = folder.name.split("-")[2]
            if owner.isdigit() and not Path(f"/proc/{owner}").exists() and not _pids_in(folder):
                try:
                    folder.rmdir()
                except OSError:
                    pass


def _pids_in(folder: Path) -> list[int]:
    try:
        return [int(line) for line in (folder / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


# Run first in the sandbox, as root with CAP_SETUID and CAP_SETGID only: become
# the run's user (which drops those two as well), then start the grader.
BECOME_RUN_USER = ("import os, sys; user = int(sys.argv[1]); os.setgroups([]); "
                   "os.setresgid(user, user, user); os.setresuid(user, user, user); "
                   "os.execv(sys.argv[2], sys.argv[2:])")


def run_user(kit: Path) -> int | None:
    """A uid of the run's own, or None where the batch cannot give it one.

    Why: the control group's process cap refuses a fork only after the whole
    address space has been copied, and a fork bomb at the cap retries without
    end. Its hundreds of processes then keep the kernel's locks on the files
    every Python maps (the interpreter, libc) so busy that the programs of the
    runs beside it sleep for seconds waiting for them.
    RLIMIT_NPROC refuses before anything is copied, but it counts per user and
    does not bind root: so each run gets a user of its own."""
    if not run_users_work(kit):
        return None
    # No two live threads share an id: unique among the runs of every batch here.
    return RUN_UID_BASE + threading.get_native_id()


@functools.cache
def run_users_work(kit: Path) -> bool:
    """Root with bubblewrap, and the grader starts as another user in its sandbox."""
    if os.geteuid() != 0 or bubblewrap() is None:
        return False
    with tempfile.TemporaryDirectory() as folder:
        walls = Walls(Path(folder), kit, ControlGroups("unused"), user=RUN_UID_BASE)
        trial = walls.command([sys.executable, "-c", "import grader, pytest"])
        try:
            result = subprocess.run(trial, cwd=kit, capture_output=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return False
    return result.returncode == 0


def readable_by_run_users(folder: Path) -> None:
    """Let a run's user read the submission's copy (the batch's work folder
    above it stays closed to everyone else)."""
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | (0o555 if path.is_dir() else 0o444))


@dataclass
class Walls:
    """How one run is contained: the command prefix and what to do around it."""

    job_folder: Path
    kit: Path
    groups: ControlGroups
    extra_checks: Path | None = None
    user: int | None = None  # the run's own uid (`run_user`); None: the batch's own

    def command(self, inner: list[str]) -> list[str]:
        binary = bubblewrap()
        if binary is None:
            return inner
        capabilities = ["--cap-drop", "ALL"]
        if self.user is not None:
            capabilities += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
            inner = [sys.executable, "-I", "-c", BECOME_RUN_USER, str(self.user), *inner]
        # Only what grading needs is visible, read-only: the system, Python and
        # its packages, the grader, and the C sources it builds. Not the kit's
        # solutions, tests or history, not the instructor's files, not the other
        # submissions: a submission cannot read what is not there.
        # /tmp first: what is bound below may live in it (a kit cloned into /tmp).
        # Writable by the run's user too (bubblewrap makes it root's).
        prefix = [binary, "--perms", "1777", "--tmpfs", "/tmp"]
        visible = visible_paths(self.kit, self.extra_checks)
        # The folders above what is bound, which bubblewrap would make with the
        # host's modes (/root: 0700), open to the run's user: they hold nothing else.
        mounts = [*visible, self.job_folder]
        for folder in sorted({parent for path in mounts for parent in path.parents}):
            if folder not in (Path("/"), Path("/tmp")) \
                    and not any(folder.is_relative_to(path) for path in mounts):
                prefix += ["--perms", "0755", "--dir", str(folder)]
        for path in visible:
            prefix += ["--ro-bind", str(path), str(path)]
        for link in SYSTEM_FOLDERS:
            if os.path.islink(link):  # /lib64 -> usr/lib64 on merged-/usr systems
                prefix += ["--symlink", os.readlink(link), link]
        prefix += ["--dev", "/dev", "--proc", "/proc", "--perms", "1777", "--tmpfs", "/dev/shm",
                   # Read-only: one step's programs cannot rewrite another's files.
                   "--ro-bind", str(self.job_folder), str(self.job_folder),
                   "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
                   "--die-with-parent", "--new-session", *capabilities,
                   "--chdir", str(self.kit)]
        return [*prefix, "--", *inner]

    def preexec(self) -> Callable[[], None]:
        groups = self.groups
        nproc_cap = USER_PROCESSES_PER_RUN if self.user is not None else _user_process_cap()

        def contain() -> None:
            # Runs in the child between fork and exec.
            groups.join()
            if nproc_cap is not None:
                resource.setrlimit(resource.RLIMIT_NPROC, (nproc_cap, nproc_cap))
        return contain


SYSTEM_FOLDERS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"]


def visible_paths(kit: Path, extra_checks: Path | None = None) -> list[Path]:
    python = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent,
              Path(site.getusersitepackages())]
    system = [Path(folder) for folder in SYSTEM_FOLDERS if not os.path.islink(folder)]
    wanted = [*system, *python, kit / "grader", kit / "solutions" / "01_hello" / "c",
              *([extra_checks] if extra_checks else [])]
    found: list[Path] = []
    for path in sorted({path.resolve() for path in wanted if path.exists()}):
        if not any(path.is_relative_to(parent) for parent in found):
            found.append(path)
    return found


def _user_process_cap() -> int | None:
    """RLIMIT_NPROC counts every process of the user, and does not bind root:
    for an ordinary user, allow what they run now plus one run's worth."""
    if os.geteuid() == 0:
        return None
    mine = 0
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and entry.stat().st_uid == os.geteuid():
                mine += 1
        except OSError:
            continue
    return mine + PROCESSES_PER_RUN


def describe(controllers: set[str], run_users: bool) -> str:
    """One paragraph for the report: which walls this batch actually had
    (`controllers`: the cgroup controllers its runs could be put in;
    `run_users`: whether each run had a user of its own)."""
    limits = (f"per program: CPU {process.CPU_LIMIT_SECONDS} s, memory "
              f"{process.MEMORY_LIMIT_BYTES // 2**30} GiB, {process.OPEN_FILES_LIMIT} open files, "
              f"{process.OUTPUT_LIMIT_BYTES // 2**20} MB per written file")
    per_run = []
    if run_users:
        per_run.append(f"a user of its own with at most {USER_PROCESSES_PER_RUN} processes "
                       "(RLIMIT_NPROC)")
    if "pids" in controllers:
        per_run.append(f"{PROCESSES_PER_RUN} processes")
    elif os.geteuid() != 0:
        per_run.append(f"{PROCESSES_PER_RUN} more processes (RLIMIT_NPROC)")
    if "memory" in controllers:
        per_run.append(f"{MEMORY_PER_RUN_BYTES // 2**30} GiB of memory")
    if "cpu" in controllers:
        per_run.append("an equal share of the CPU")
    run_limits = f"; per step of a submission: {', '.join(per_run)}" if per_run else \
        "; no process or memory cap per step (no writable control group)"
    if bubblewrap():
        walls = ("bubblewrap sandbox: no network but loopback; sees, read-only, only the "
                 "system, Python, the grader and its own copy (not the other submissions, "
                 "the kit's solutions or the instructor's files); own process tree; "
                 "no capabilities")
    else:
        walls = ("no sandbox (bubblewrap not found): process groups and limits only; a "
                 "submission can read what the grading user can read and reach the network")
    return f"{walls}; {limits}{run_limits}"
