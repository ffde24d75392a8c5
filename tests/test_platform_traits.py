"""The grader on other systems' traits, reproduced on Linux one at a time.

What a student's Mac or Windows laptop differs in (see tests/kit_traits.py),
put on the grading process and on every program it starts, all of a system's
traits at once: the reference solutions must keep full marks, the untouched
stubs must say "not started yet", and a deadlock, a socket leak, a crash and a
daemon must still be caught with the same words, with nothing left running. The
same for a kit in a folder whose name has spaces and letters beyond ASCII, and
on a console that is not UTF-8. Marked `portability` (`nox -s portability`,
too slow for every run): the solutions with each trait alone, and on every
Python from 3.11 up that this machine has.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.grading import (
    EXERCISES,
    GRADE_SECONDS,
    KIT,
    SOLUTIONS,
    Mutation,
    processes_running_from,
)
from tests.platform_traits import (
    can_hide_proc,
    no_proc_command,
    python_versions,
    trait_environment,
    trait_python,
)
from tests.test_buggy_submissions import BUGS

TRAITS = ["no-proc", "no-resource", "rlimit-as-refused", "no-posix-signals",
          "killpg-eperm-on-zombies", "udp-9216", "refused-connect-delay", "udp-reset"]
# What each system is, as the traits above add up.
SYSTEMS = {"macos": ["no-proc", "rlimit-as-refused", "killpg-eperm-on-zombies", "udp-9216"],
           "windows": ["no-resource", "no-posix-signals", "refused-connect-delay", "udp-reset"]}
# The walls line the scoreboard must show under a trait.
WALLS_SAID = {"no-proc": "forked processes tracked",
              "no-resource": "no limit on CPU time, memory, output, open files",
              "rlimit-as-refused": "no limit on memory (refused by this system)"}
CAUGHT = ["deadlock: client waits for a reply without sending",
          "socket leak over many connections", "crash on connection reset",
          "a daemon that leaves the process group (double fork and setsid)"]


class Run:
    """One grading run under some traits: its exit status, output and results."""

    def __init__(self, completed: subprocess.CompletedProcess[str], results_path: Path) -> None:
        self.exit_code = completed.returncode
        self.output = completed.stdout + completed.stderr
        self.results = (json.loads(results_path.read_text(encoding="utf-8"))
                        if results_path.exists() else {"score": None, "tests": []})

    def failed(self, step: str) -> dict[str, str]:
        return {str(test["name"]).split(": ", 1)[1]: str(test["output"])
                for test in self.results["tests"]
                if str(test["name"]).startswith(f"{step}: ") and test["status"] != "passed"}


def grade_under(traits: list[str], submission: Path, tmp_path: Path, *steps: str,
                kit: Path = KIT, python: Path | None = None,
                environment: dict[str, str] | None = None) -> Run:
    results = tmp_path / f"results-{len(list(tmp_path.glob('results-*')))}.json"
    command = [str(python or trait_python()), "-m", "grader", *steps,
               "--submission", str(submission), "--json", str(results)]
    if "no-proc" in traits:
        reason = can_hide_proc()
        if reason:
            if os.environ.get("CI") == "true":
                pytest.fail(f"cannot reproduce a system without /proc: {reason}")
            pytest.skip(f"cannot reproduce a system without /proc: {reason}")
        command = no_proc_command(command)
    completed = subprocess.run(
        command, cwd=kit, capture_output=True, text=True, encoding="utf-8", errors="replace",
        timeout=GRADE_SECONDS,
        env=environment or trait_environment(*[trait for trait in traits if trait != "no-proc"]))
    return Run(completed, results)


def expect_full_marks(run: Run) -> None:
    assert run.exit_code == 0, run.output
    assert run.results["score"] == run.results["max_score"] > 0, run.output
    assert "Every check passes" in run.output


@pytest.mark.parametrize("system", list(SYSTEMS))
def test_the_solutions_keep_full_marks_on_each_system(system: str, tmp_path: Path) -> None:
    run = grade_under(SYSTEMS[system], SOLUTIONS, tmp_path)
    expect_full_marks(run)
    walls = next(line for line in run.output.splitlines() if line.strip().startswith("Walls:"))
    for trait in SYSTEMS[system]:
        assert WALLS_SAID.get(trait, "Walls: ") in walls, walls


@pytest.mark.portability
@pytest.mark.parametrize("trait", TRAITS)
def test_the_solutions_keep_full_marks_with_a_trait(trait: str, tmp_path: Path) -> None:
    run = grade_under([trait], SOLUTIONS, tmp_path)
    expect_full_marks(run)
    walls = next(line for line in run.output.splitlines() if line.strip().startswith("Walls:"))
    assert WALLS_SAID.get(trait, "1 GiB of memory") in walls


@pytest.mark.parametrize("system", list(SYSTEMS))
def test_the_stubs_are_not_started_yet_on_each_system(system: str, tmp_path: Path) -> None:
    run = grade_under(SYSTEMS[system], EXERCISES, tmp_path)
    assert run.results["score"] == 0, run.output
    step_lines = [line for line in run.output.splitlines() if line.startswith("  0")]
    assert len(step_lines) == len(list(SOLUTIONS.glob("0*"))), run.output
    assert all("not started yet" in line for line in step_lines), run.output


def broken_submission(destination: Path) -> Path:
    bugs = {bug.name: bug for bug in BUGS}
    for name in CAUGHT:
        bugs[name].apply(destination)
    return destination


@pytest.mark.parametrize("system", list(SYSTEMS))
def test_classic_bugs_are_caught_with_the_same_words_on_each_system(
        system: str, tmp_path: Path) -> None:
    submission = broken_submission(tmp_path / "submission")
    bugs = [bug for bug in BUGS if bug.name in CAUGHT]
    run = grade_under(SYSTEMS[system], submission, tmp_path, *(bug.step for bug in bugs))
    for bug in bugs:
        failed = run.failed(bug.step)
        assert set(failed) == set(bug.fails), run.output
        for check, words in bug.fails.items():
            for word in words:
                assert word in failed[check], f"{check}: {word!r} missing:\n{failed[check]}"
    assert processes_running_from(submission) == []


# Linux and macOS never tell an unconnected UDP socket of a reply that met a
# closed port, so this bug is harmless there: only where Windows' reset is
# reproduced does it cost the check that sends one.
RESET_UNCAUGHT = Mutation(
    "UDP server stopped by a reset", "07_udp", "server.py",
    [("            except OSError as error:", "            except ZeroDivisionError as error:")],
    fails={"server keeps serving after a client has gone": ["crashed with ConnectionResetError",
                                                            "server.py:"]})


@pytest.mark.parametrize("traits", [["udp-reset"], []], ids=["windows' udp reset", "linux"])
def test_a_udp_server_a_reset_stops_is_caught_where_resets_happen(
        traits: list[str], tmp_path: Path) -> None:
    submission = RESET_UNCAUGHT.apply(tmp_path / "submission")
    run = grade_under(traits, submission, tmp_path, "07_udp")
    expected = RESET_UNCAUGHT.fails if traits else {}
    failed = run.failed("07_udp")
    assert set(failed) == set(expected), run.output
    for check, words in expected.items():
        for word in words:
            assert word in failed[check], f"{check}: {word!r} missing:\n{failed[check]}"


def kit_copy_in(folder: Path) -> Path:
    """The kit's grader and both trees of steps, in `folder`."""
    for part in ("grader", "solutions", "exercises"):
        shutil.copytree(KIT / part, folder / part, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


NON_ASCII_FOLDER = "José Ñandú 张伟"


def test_a_kit_in_a_folder_with_spaces_and_letters_beyond_ascii(tmp_path: Path) -> None:
    kit = kit_copy_in(tmp_path / NON_ASCII_FOLDER / "sockets kit")
    for script in (kit / "solutions").glob("0*/*.py"):
        script.write_text(script.read_text(encoding="utf-8") + "# ¡Hola, José! 你好\n",
                          encoding="utf-8")
    expect_full_marks(grade_under([], kit / "solutions", tmp_path, kit=kit))
    submission = broken_submission(kit / "broken")
    run = grade_under([], submission, tmp_path, "01_hello", kit=kit)
    deadlock = run.failed("01_hello")["client prints the reply"]
    assert "both sides are waiting in recv()" in deadlock
    assert "client.py:" in deadlock and "sock.recv(" in deadlock


def test_a_console_that_is_not_utf8_still_gets_the_scoreboard(tmp_path: Path) -> None:
    # A Windows console's code page: the scoreboard names a folder it cannot show.
    submission = tmp_path / NON_ASCII_FOLDER / "solutions"
    shutil.copytree(SOLUTIONS, submission, ignore=shutil.ignore_patterns("__pycache__"))
    environment = trait_environment()
    environment.update(PYTHONIOENCODING="cp437:strict", PYTHONUTF8="0")
    run = grade_under([], submission, tmp_path, "01_hello", "07_udp", environment=environment)
    expect_full_marks(run)
    assert "Scoreboard for" in run.output and "Traceback" not in run.output


@pytest.mark.portability
@pytest.mark.parametrize("version", list(python_versions()))
def test_every_python_from_3_11_grades_the_solutions_fully_and_the_stubs_zero(
        version: str, tmp_path: Path) -> None:
    python = trait_python(str(python_versions()[version]))
    expect_full_marks(grade_under([], SOLUTIONS, tmp_path, python=python))
    stubs = grade_under([], EXERCISES, tmp_path, python=python)
    assert stubs.results["score"] == 0 and "not started yet" in stubs.output


def test_windows_udp_reset_stays_with_the_socket_that_sent(tmp_path: Path) -> None:
    # A socket made after a reset one is gone may get its id(): it must not get its reset.
    script = """
import gc, socket
closed_port = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
closed_port.bind(("127.0.0.1", 0))
address = closed_port.getsockname()
closed_port.close()
inherited = 0
for _ in range(200):
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.sendto(b"x", address)
    udp.close()
    del udp
    gc.collect()
    left, right = socket.socketpair()
    right.sendall(b"y")
    try:
        left.recv(1)
    except ConnectionResetError:
        inherited += 1
    left.close()
    right.close()
print(inherited)
"""
    completed = subprocess.run([str(trait_python()), "-c", script], capture_output=True,
                               text=True, timeout=60, env=trait_environment("udp-reset"))
    assert completed.stdout.strip() == "0", completed.stdout + completed.stderr
