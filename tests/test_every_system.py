"""What must hold on every student's system, run as it is on Linux, macOS and Windows:
the reference solutions score 100%, the untouched stubs score 0 without waiting,
and classic bugs are caught with their words.

The kit's own CI runs this module on each system and Python
(.github/workflows/every-system.yml); here it runs with the rest of the suite.
It uses nothing but the grader itself: no /proc, no signals, no namespaces.
The bugs named here are graded here only (tests/test_buggy_submissions.py
grades the rest of the corpus).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.grading import EXERCISES, SOLUTIONS, grade, processes_running_from

# A deadlock, a socket left open, a crash: each caught with its words everywhere.
from tests.test_buggy_submissions import BUGS, EVERYWHERE


def test_the_solutions_score_full_marks(tmp_path: Path) -> None:
    graded = grade(SOLUTIONS, json_path=tmp_path / "results.json")
    assert graded.failed() == {}, graded.output
    assert graded.results["score"] == graded.results["max_score"], graded.output
    assert graded.exit_code == 0
    assert "Every check passes" in graded.output
    assert "Walls:" in graded.output


def test_the_untouched_stubs_score_zero_and_are_not_started_yet(tmp_path: Path) -> None:
    graded = grade(EXERCISES, json_path=tmp_path / "results.json")
    assert graded.results["score"] == 0, graded.output
    assert graded.exit_code == 1
    # Every check ends as "not started" or "not run": none waited for a timeout.
    for test in graded.tests:
        assert str(test["output"]).startswith(("not started yet", "not run")), test
    steps = sorted(path.name for path in SOLUTIONS.glob("0*"))
    assert sorted(path.name for path in EXERCISES.glob("0*")) == steps
    for step in steps:
        assert any(line.startswith(f"  {step}") and "not started yet" in line
                   for line in graded.output.splitlines()), graded.output
    assert "Traceback" not in graded.output


@pytest.mark.parametrize("name", EVERYWHERE)
def test_a_classic_bug_is_caught_with_the_same_words(name: str, tmp_path: Path) -> None:
    [bug] = [bug for bug in BUGS if bug.name == name]
    submission = bug.apply(tmp_path / "submission")
    graded = grade(submission, bug.step, json_path=tmp_path / "results.json")
    failed = graded.failed()
    assert set(failed) == set(bug.fails), graded.output
    for check, words in bug.fails.items():
        for word in words:
            assert word in failed[check], f"{check}: {word!r} missing from:\n{failed[check]}"
    if sys.platform.startswith("linux"):
        assert processes_running_from(submission) == []
