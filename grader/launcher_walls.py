"""The walls a student's program runs behind, put up from inside it by the launcher.

Loaded by `launcher.py` from its own folder (standard library only, nothing on
the student's import path). Each wall is put up where the system has it and
skipped, with the reason, where it has not:

- POSIX: `setrlimit` for CPU time, address space, written-file size and open
  files (macOS refuses the address-space limit; Windows has no `resource`);
- Windows: a job object holding the program and everything it starts, with
  per-process memory and CPU caps and a cap on processes; it is killed with
  the job's last handle, so when the grader ends the launcher, its whole tree ends.

`memory_kib()` is the program's own resident memory, now and at its peak.
"""

from __future__ import annotations

import sys
from typing import Any

# The limit names the grader uses, and the rlimit behind each on POSIX.
RLIMITS = {"cpu_seconds": "RLIMIT_CPU", "memory_bytes": "RLIMIT_AS",
           "output_bytes": "RLIMIT_FSIZE", "open_files": "RLIMIT_NOFILE"}


def put_up(limits: dict[str, int]) -> tuple[dict[str, int], dict[str, str]]:
    """Apply `limits`; those applied (name: value), and for each one skipped, why."""
    try:
        import resource
    except ImportError:
        resource = None  # type: ignore[assignment]
    if resource is not None:
        return _rlimits(resource, limits)
    if sys.platform == "win32":
        return _windows_job(limits)
    return {}, {name: "this system has no resource limits" for name in limits}


def _rlimits(resource: Any, limits: dict[str, int]) -> tuple[dict[str, int], dict[str, str]]:
    applied: dict[str, int] = {}
    missing: dict[str, str] = {}
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core files of a crash
    except (ValueError, OSError):
        pass
    for name, value in limits.items():
        which = getattr(resource, RLIMITS.get(name, ""), None)
        if which is None:
            missing[name] = "not on this system"
            continue
        try:
            _soft, hard = resource.getrlimit(which)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)  # only root may raise a hard limit
            resource.setrlimit(which, (value, value))
            applied[name] = value
        except (ValueError, OSError):
            missing[name] = "refused by this system"
    return applied, missing


# -- Windows -----------------------------------------------------------------

_JOB_LIMIT_PROCESS_TIME = 0x2
_JOB_LIMIT_ACTIVE_PROCESS = 0x8
_JOB_LIMIT_PROCESS_MEMORY = 0x100
_JOB_LIMIT_DIE_ON_UNHANDLED_EXCEPTION = 0x400  # no crash dialog waiting for a click
_JOB_LIMIT_KILL_ON_JOB_CLOSE = 0x2000
_JOB_EXTENDED_LIMIT_INFORMATION = 9
_JOB_PROCESSES = 64
_job_handle: Any = None  # held open until the process ends: closing it ends the tree


def _windows_job(limits: dict[str, int]) -> tuple[dict[str, int], dict[str, str]]:
    import ctypes
    from ctypes import wintypes

    class BasicLimits(ctypes.Structure):
        _fields_ = [("PerProcessUserTimeLimit", ctypes.c_int64),
                    ("PerJobUserTimeLimit", ctypes.c_int64),
                    ("LimitFlags", wintypes.DWORD),
                    ("MinimumWorkingSetSize", ctypes.c_size_t),
                    ("MaximumWorkingSetSize", ctypes.c_size_t),
                    ("ActiveProcessLimit", wintypes.DWORD),
                    ("Affinity", ctypes.c_size_t),
                    ("PriorityClass", wintypes.DWORD),
                    ("SchedulingClass", wintypes.DWORD)]

    class ExtendedLimits(ctypes.Structure):
        _fields_ = [("BasicLimitInformation", BasicLimits),
                    ("IoInfo", ctypes.c_uint64 * 6),
                    ("ProcessMemoryLimit", ctypes.c_size_t),
                    ("JobMemoryLimit", ctypes.c_size_t),
                    ("PeakProcessMemoryUsed", ctypes.c_size_t),
                    ("PeakJobMemoryUsed", ctypes.c_size_t)]

    global _job_handle
    missing = {"output_bytes": "not on this system", "open_files": "not on this system"}
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    kernel32.CreateJobObjectW.restype = wintypes.HANDLE
    kernel32.CreateJobObjectW.argtypes = [ctypes.c_void_p, wintypes.LPCWSTR]
    kernel32.SetInformationJobObject.argtypes = [wintypes.HANDLE, ctypes.c_int,
                                                 ctypes.c_void_p, wintypes.DWORD]
    kernel32.AssignProcessToJobObject.argtypes = [wintypes.HANDLE, wintypes.HANDLE]
    kernel32.GetCurrentProcess.restype = wintypes.HANDLE
    kernel32.CloseHandle.argtypes = [wintypes.HANDLE]
    job = kernel32.CreateJobObjectW(None, None)
    if not job:
        return {}, {name: "no job object could be made" for name in limits}
    info = ExtendedLimits()
    basic = info.BasicLimitInformation
    basic.LimitFlags = (_JOB_LIMIT_KILL_ON_JOB_CLOSE | _JOB_LIMIT_DIE_ON_UNHANDLED_EXCEPTION
                        | _JOB_LIMIT_ACTIVE_PROCESS)
    basic.ActiveProcessLimit = _JOB_PROCESSES
    applied = {"processes": _JOB_PROCESSES}
    if "cpu_seconds" in limits:
        basic.LimitFlags |= _JOB_LIMIT_PROCESS_TIME
        basic.PerProcessUserTimeLimit = limits["cpu_seconds"] * 10_000_000  # 100 ns units
        applied["cpu_seconds"] = limits["cpu_seconds"]
    if "memory_bytes" in limits:
        basic.LimitFlags |= _JOB_LIMIT_PROCESS_MEMORY
        info.ProcessMemoryLimit = limits["memory_bytes"]
        applied["memory_bytes"] = limits["memory_bytes"]
    if not (kernel32.SetInformationJobObject(job, _JOB_EXTENDED_LIMIT_INFORMATION,
                                             ctypes.byref(info), ctypes.sizeof(info))
            and kernel32.AssignProcessToJobObject(job, kernel32.GetCurrentProcess())):
        error = ctypes.get_last_error()  # type: ignore[attr-defined]
        kernel32.CloseHandle(job)
        return {}, {name: f"the job object was refused (error {error})" for name in limits}
    _job_handle = job
    return applied, {name: reason for name, reason in missing.items() if name in limits}


def memory_kib() -> tuple[int | None, int | None]:
    """The program's resident memory now and at its peak so far, in KiB; None for
    what this system cannot tell. Linux: /proc/self/status. Windows: the process
    memory counters. macOS: the task's basic info. (getrusage's maxrss will not
    do: on Linux it starts from the grader's own size, inherited through fork.)"""
    if sys.platform.startswith("linux"):
        return _linux_memory_kib()
    if sys.platform == "win32":
        return _windows_memory_kib()
    if sys.platform == "darwin":
        return _macos_memory_kib()
    return None, None


def _linux_memory_kib() -> tuple[int | None, int | None]:
    fields: dict[str, int] = {}
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                name, _, value = line.partition(":")
                if name in ("VmRSS", "VmHWM"):
                    fields[name] = int(value.split()[0])
    except (OSError, ValueError, IndexError):
        return None, None  # no /proc mounted
    return fields.get("VmRSS"), fields.get("VmHWM")


def _windows_memory_kib() -> tuple[int | None, int | None]:
    import ctypes
    from ctypes import wintypes

    class MemoryCounters(ctypes.Structure):
        _fields_ = [("cb", wintypes.DWORD), ("PageFaultCount", wintypes.DWORD),
                    *((name, ctypes.c_size_t) for name in (
                        "PeakWorkingSetSize", "WorkingSetSize", "QuotaPeakPagedPoolUsage",
                        "QuotaPagedPoolUsage", "QuotaPeakNonPagedPoolUsage",
                        "QuotaNonPagedPoolUsage", "PagefileUsage", "PeakPagefileUsage"))]

    kernel32 = ctypes.WinDLL("kernel32")  # type: ignore[attr-defined]
    kernel32.GetCurrentProcess.restype = wintypes.HANDLE
    kernel32.K32GetProcessMemoryInfo.argtypes = [wintypes.HANDLE, ctypes.c_void_p,
                                                 wintypes.DWORD]
    counters = MemoryCounters()
    counters.cb = ctypes.sizeof(counters)
    if not kernel32.K32GetProcessMemoryInfo(kernel32.GetCurrentProcess(),
                                            ctypes.byref(counters), counters.cb):
        return None, None
    return int(counters.WorkingSetSize) // 1024, int(counters.PeakWorkingSetSize) // 1024


def _macos_memory_kib() -> tuple[int | None, int | None]:
    import ctypes

    class MachTaskBasicInfo(ctypes.Structure):
        _pack_ = 4  # mach/task_info.h packs its structures to 4 bytes
        _fields_ = [("virtual_size", ctypes.c_uint64), ("resident_size", ctypes.c_uint64),
                    ("resident_size_max", ctypes.c_uint64),
                    ("user_time", ctypes.c_int32 * 2), ("system_time", ctypes.c_int32 * 2),
                    ("policy", ctypes.c_int32), ("suspend_count", ctypes.c_int32)]

    mach_task_basic_info = 20
    try:
        libsystem = ctypes.CDLL("/usr/lib/libSystem.B.dylib")
        task = ctypes.c_uint32.in_dll(libsystem, "mach_task_self_")
        info = MachTaskBasicInfo()
        count = ctypes.c_uint32(ctypes.sizeof(info) // 4)
        if libsystem.task_info(task, mach_task_basic_info, ctypes.byref(info),
                               ctypes.byref(count)) != 0:
            return None, None
    except (OSError, ValueError, AttributeError):
        return None, None
    return int(info.resident_size) // 1024, int(info.resident_size_max) // 1024
