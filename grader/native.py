"""The lesson's C programs, built once per grading run with the system's C compiler.

They are the kit's own (the copy in solutions/01_hello/c, which a test keeps
the same as the students' copy in exercises/), never a submission's: a
student's edits to their copy cannot change what the grader runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

SOURCES = Path(__file__).resolve().parent.parent / "solutions" / "01_hello" / "c"
BUILD_SECONDS = 60


class NoCompiler(Exception):
    """No C compiler, or the lesson's sources are missing: the C checks are skipped."""


def find_compiler() -> str | None:
    for name in (os.environ.get("CC", ""), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return name
    return None


@cache
def build(destination: Path) -> dict[str, Path]:
    """Compile server.c and client.c into destination; the paths of the programs."""
    if os.name == "nt":
        raise NoCompiler("the lesson's C programs use POSIX sockets, which Windows has not "
                         "(WSL has them)")
    compiler = find_compiler()
    if compiler is None:
        raise NoCompiler("no C compiler found (looked for $CC, cc, gcc, clang)")
    programs = {}
    for name in ("server", "client"):
        source = SOURCES / f"{name}.c"
        if not source.is_file():
            raise NoCompiler(f"the lesson's C sources are missing: {source}")
        destination.mkdir(parents=True, exist_ok=True)
        binary = destination / name
        # The Makefile's flags, without needing make itself.
        built = subprocess.run([compiler, "-O2", "-Wall", "-Wextra", "-o", str(binary),
                                str(source)],
                               capture_output=True, text=True, timeout=BUILD_SECONDS)
        if built.returncode != 0:
            raise NoCompiler(f"{compiler} could not build {source.name}: "
                             f"{built.stderr.strip()[:300]}")
        programs[name] = binary
    return programs
