"""The grading command: bad input gets a clear message and a non-zero exit, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.grading import KIT, grade


def run_grader(*args: str, env: dict[str, str] | None = None,
               ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=KIT,
                          capture_output=True, text=True, timeout=120, env=env)


def test_an_unknown_step_is_refused_with_the_list_of_steps() -> None:
    completed = run_grader("06_nope")
    assert completed.returncode == 2
    assert "unknown step 06_nope" in completed.stderr
    assert "01_hello" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_a_missing_submission_folder_is_refused() -> None:
    completed = run_grader("--submission", "/nonexistent/folder")
    assert completed.returncode == 2
    assert "no folder /nonexistent/folder" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_a_missing_program_file_is_named_in_every_check(tmp_path: Path) -> None:
    (tmp_path / "01_hello").mkdir()
    graded = grade(tmp_path, "01_hello", json_path=tmp_path / "out" / "results.json")
    assert graded.exit_code == 1
    assert graded.results["score"] == 0
    for test in graded.tests:
        assert "there is no file" in str(test["output"]) or "not run" in str(test["output"])
    assert "Traceback" not in graded.output


def test_one_step_grades_only_that_step(tmp_path: Path) -> None:
    graded = grade(KIT / "solutions", "02_timeouts", json_path=tmp_path / "results.json")
    assert {str(test["name"]).split(":")[0] for test in graded.tests} == {"02_timeouts"}
    assert "02_timeouts" in graded.output and "01_hello" not in graded.output


def test_without_a_c_compiler_the_c_checks_are_skipped_and_do_not_count(tmp_path: Path) -> None:
    only_python = tmp_path / "bin"
    only_python.mkdir()
    (only_python / "python").symlink_to(sys.executable)
    environment = {"PATH": str(only_python), "HOME": str(tmp_path)}
    completed = run_grader("01_hello", "--submission", "solutions",
                           "--json", str(tmp_path / "results.json"), env=environment)
    assert completed.returncode == 0, completed.stdout
    assert "2 check(s) not counted, skipped: no C compiler found" in completed.stdout
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["score"] == results["max_score"]
    skipped = [test for test in results["tests"] if test["max_score"] == 0]
    assert len(skipped) == 2
