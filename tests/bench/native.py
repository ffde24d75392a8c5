"""Build the benchmarks' C programs with the system's C compiler, once per change.

Binaries go to build/bench/ at the kit's root, which .gitignore keeps out of git.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.grading import KIT

BENCH = Path(__file__).resolve().parent
LOADGEN_SOURCE = BENCH / "loadgen.c"
EPOLL_SERVER_SOURCE = BENCH / "servers" / "epoll_echo.c"
BUILD_DIR = KIT / "build" / "bench"
COMPILE_SECONDS = 60


class NoCompiler(RuntimeError):
    """There is no C compiler on this machine."""


def c_compiler() -> str | None:
    for name in ("gcc", "cc"):
        if found := shutil.which(name):
            return found
    return None


def build(source: Path) -> Path:
    """Compile `source` with -O2 unless the binary is newer; return the binary's path."""
    compiler = c_compiler()
    if compiler is None:
        raise NoCompiler("no C compiler (gcc or cc) on PATH")
    binary = BUILD_DIR / source.stem
    if binary.exists() and binary.stat().st_mtime >= source.stat().st_mtime:
        return binary
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    # Built under a temporary name and renamed: a test and a benchmark building
    # at the same moment never run a half-written binary.
    handle, scratch = tempfile.mkstemp(dir=BUILD_DIR, prefix=f".{source.stem}-")
    os.close(handle)
    try:
        subprocess.run([compiler, "-O2", "-Wall", "-o", scratch, str(source)],
                       check=True, timeout=COMPILE_SECONDS)
        os.replace(scratch, binary)
    finally:
        if os.path.exists(scratch):
            os.unlink(scratch)
    return binary
