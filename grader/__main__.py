"""`python -m grader [STEP...] [--submission PATH] [--json FILE] [--jobs N]`: grade a submission.

Checks every step (or the steps named) of the submission and prints the
scoreboard. Exit status: 0 when every check passes, 1 when some fail, 2 when
the command itself is wrong (an unknown step, a missing folder).
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import signal
import sys
from pathlib import Path

import pytest

from grader.layout import CHECKS, known_steps, what_is_wrong_with
from grader.timing import CHECK_SECONDS


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="nox -s grade --", description=__doc__.splitlines()[0])
    parser.add_argument("steps", nargs="*", metavar="STEP",
                        help=f"steps to grade (default: all): {', '.join(known_steps())}")
    parser.add_argument("--submission", default="exercises", type=Path,
                        help="folder holding the step folders (default: exercises)")
    parser.add_argument("--json", type=Path, metavar="FILE",
                        help="also write the results in Gradescope's results.json format")
    # Checks spend much of their time waiting on the programs they test, so
    # twice as many workers as cores keeps the cores busy.
    parser.add_argument("--jobs", type=int, default=2 * (os.cpu_count() or 1), metavar="N",
                        help="grade up to N steps at once (default: twice the cores)")
    parser.add_argument("--extra-checks", type=Path, metavar="DIR",
                        help="also run the check_*.py modules in DIR (an instructor's private "
                             "checks); their points count")
    parser.add_argument("--results-fd", type=int, metavar="FD", help=argparse.SUPPRESS)
    parser.add_argument("--list-checks", action="store_true",
                        help="print the checks that would run, one JSON line each, and run none")
    args = parser.parse_args(argv)
    problem = what_is_wrong_with(args.steps, args.extra_checks)
    if problem:
        parser.error(problem)
    if not args.submission.is_dir() and not args.list_checks:
        parser.error(f"no folder {args.submission}: give the folder that holds the step folders")
    return args


def timeout_method() -> str:
    """pytest-timeout's way to stop a check that overran: SIGALRM where the system
    has it (the check fails and the run goes on); a watchdog thread elsewhere
    (Windows), which ends the whole process running the check."""
    return "signal" if hasattr(signal, "SIGALRM") else "thread"


def parallel_arguments(steps: int, jobs: int) -> list[str]:
    """pytest-xdist options: each step's checks in one worker, in their order,
    since a step's later checks depend on what its earlier ones found.

    Where a time limit ends the process running the check, even one step runs
    in a worker: the worker dies, the run goes on and scores the check."""
    workers = min(steps, jobs)
    least = 1 if timeout_method() == "thread" else 2
    if workers < least or importlib.util.find_spec("xdist") is None:
        return []
    return ["-p", "xdist.plugin", "-n", str(workers), "--dist", "loadfile"]


def check_modules(args: argparse.Namespace) -> list[Path]:
    steps = args.steps or known_steps()
    modules = [CHECKS / f"check_{step}.py" for step in steps]
    if args.extra_checks:
        modules += [module for module in sorted(args.extra_checks.resolve().glob("check_*.py"))
                    if any(module.stem.startswith(f"check_{step}") for step in steps)]
    return modules


def pytest_arguments(args: argparse.Namespace) -> list[str]:
    modules = check_modules(args)
    listing = ["--list-checks", "-p", "no:xdist"] if args.list_checks else []
    return [
        *([] if args.list_checks else parallel_arguments(len(modules), args.jobs)),
        *map(str, modules),
        "-c", str(Path(__file__).with_name("grade.ini")),
        "--rootdir", str(CHECKS),
        "-p", "grader.plugin",
        "-p", "pytest_timeout",
        "-p", "no:cacheprovider",
        "--submission", str(args.submission.resolve()),
        f"--timeout={CHECK_SECONDS}",
        f"--timeout-method={timeout_method()}",
        # Extra checks may share a module name with the kit's own.
        "--import-mode=importlib",
        *(["--grade-json", str(args.json)] if args.json else []),
        *(["--results-fd", str(args.results_fd)] if args.results_fd is not None else []),
        *(["--extra-checks", str(args.extra_checks.resolve())] if args.extra_checks else []),
        *listing,
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # Only the plugins the grader names: whatever else is installed beside it
    # (a student's machine may hold any pytest plugin) stays out of grading.
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            # A console that is not UTF-8 (Windows) shows a stand-in, not a crash.
            stream.reconfigure(errors="backslashreplace")
    status = pytest.main(pytest_arguments(args))
    if args.list_checks:
        return 0 if status in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED) else 2
    return 0 if status == pytest.ExitCode.OK else int(status)


if __name__ == "__main__":
    sys.exit(main())
