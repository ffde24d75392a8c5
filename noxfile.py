"""The kit's commands. `nox -l` lists them; `nox -s grade` is the one students need."""

from __future__ import annotations

import nox

nox.options.sessions = ["grade"]
nox.options.reuse_venv = "yes"

GRADE_PACKAGES = ["pytest>=8", "pytest-timeout>=2.2", "pytest-xdist>=3.5"]
LINT_PACKAGES = ["ruff>=0.6"]
TYPECHECK_PACKAGES = [*GRADE_PACKAGES, "mypy>=1.10", "nox"]


def install_once(session: nox.Session, *packages: str) -> None:
    """Install into the session's venv, skipping pip when the list is unchanged.

    A reused venv makes `nox -s grade` start in a moment instead of waiting
    for pip to confirm what is already there.
    """
    stamp = f"{session.virtualenv.location}/.kit-packages"
    wanted = "\n".join(packages)
    try:
        with open(stamp) as stream:
            if stream.read() == wanted:
                return
    except OSError:
        pass
    session.install(*packages)
    with open(stamp, "w") as stream:
        stream.write(wanted)


@nox.session
def grade(session: nox.Session) -> None:
    """Grade your exercises (or: -- STEP..., --submission PATH, --json FILE)."""
    install_once(session, *GRADE_PACKAGES)
    session.run("python", "-m", "grader", *session.posargs)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the kit's own tests: solutions score 100%, stubs 0, every known bug is caught."""
    install_once(session, *GRADE_PACKAGES)
    # Without paths pytest runs its testpaths (tests/); `-- tests/FILE` runs that file alone.
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def quick_start(session: nox.Session) -> None:
    """Run the README's quick start with Debian's python3 on fresh copies of the kit (slow)."""
    install_once(session, *GRADE_PACKAGES)
    session.run("python", "-m", "pytest", "-m", "quick_start", "tests/test_quick_start.py",
                *session.posargs)


@nox.session
def portability(session: nox.Session) -> None:
    """Grade the solutions with each other system's trait alone, and on every Python (slow)."""
    install_once(session, *GRADE_PACKAGES)
    session.run("python", "-m", "pytest", "-m", "portability", "tests/test_platform_traits.py",
                *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check the code style of the grader, solutions and tests with ruff."""
    install_once(session, *LINT_PACKAGES)
    session.run("ruff", "check", "grader", "solutions", "tests", "noxfile.py", *session.posargs)


@nox.session
def typecheck(session: nox.Session) -> None:
    """Type-check the grader and the kit's tests with mypy."""
    install_once(session, *TYPECHECK_PACKAGES)
    session.run("mypy", "grader", "tests", "noxfile.py", *session.posargs)


BENCHMARKS = {
    "grading": "tests.bench.grading_speed",  # solutions, stubs, a submission hanging everywhere
    "streaming": "tests.bench.streaming",  # step 06: one large file to many clients
    "udp": "tests.bench.udp_loss",  # step 07: requests through a lossy relay
    "servers": "tests.bench.server_grid",  # the reference servers side by side, vs asyncio
    "c10k": "tests.bench.c10k",  # step 05's server holding 10,000 idle connections
    "batch": "tests.bench.batch_speed",  # 100 generated submissions with --jobs 1 and 2
    "portability": "tests.bench.portability",  # each other system's traits, each Python
}


@nox.session
def bench(session: nox.Session) -> None:
    """Measure grading (one, a batch), steps 06/07 under load and loss, the servers (-- NAME)."""
    install_once(session, *GRADE_PACKAGES, "uvloop>=0.19")  # compared in the servers benchmark
    names = [session.posargs[0]] if session.posargs else list(BENCHMARKS)
    if names[0] not in BENCHMARKS:
        session.error(f"unknown benchmark {names[0]!r}: choose from {', '.join(BENCHMARKS)}")
    for name in names:
        session.run("python", "-m", BENCHMARKS[name], *session.posargs[1:])


@nox.session
def stability(session: nox.Session) -> None:
    """Grade the solutions 20 times idle and 10 times with every core busy: same score each."""
    install_once(session, *GRADE_PACKAGES)
    session.run("python", "-m", "tests.bench.stability", *session.posargs)


@nox.session
def gradescope(session: nox.Session) -> None:
    """Build the Gradescope autograder archive: dist/autograder.zip (or: -- --out FILE)."""
    install_once(session, *GRADE_PACKAGES)
    session.run("python", "-m", "grader.platforms.gradescope", *session.posargs)


@nox.session
def classroom(session: nox.Session) -> None:
    """Rewrite .github/workflows/classroom.yml from the checks' points (or: -- --check)."""
    install_once(session, *GRADE_PACKAGES)
    session.run("python", "-m", "grader.platforms.classroom", *session.posargs)


@nox.session
def submit(session: nox.Session) -> None:
    """Pack your exercises and their score into submission.zip to hand in (or: -- --out FILE)."""
    install_once(session, *GRADE_PACKAGES)
    session.run("python", "-m", "grader.platforms.submit", *session.posargs)


@nox.session
def batch(session: nox.Session) -> None:
    """Grade a whole class: -- SUBMISSIONS... --out DIR [--jobs N] [--extra-checks DIR]."""
    install_once(session, *GRADE_PACKAGES)
    session.run("python", "-m", "grader.batch", *session.posargs)
