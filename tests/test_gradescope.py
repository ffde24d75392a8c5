"""The Gradescope autograder: built, unpacked the way Gradescope unpacks it, and run
on submissions the way students upload them. Whatever the upload, results.json is
valid and says, in plain words, what was graded or what was wrong.

setup.sh is not run here (it installs system packages): run_autograder is given
this interpreter through AUTOGRADER_PYTHON instead of the venv setup.sh makes.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from grader.platforms.gradescope import build_archive
from grader.platforms.kit import grade_packages
from grader.platforms.points import step_points
from grader.platforms.submit import pack
from tests.grading import EXERCISES, SOLUTIONS, copy_step, processes_running_from

RUN_SECONDS = 120  # one whole autograder run, far above a real one
TOTAL = sum(step_points().values())
# Grading every step of the solutions takes ~7 s, so it is done once (bare step
# folders); the other wrappings hold the solution of one quick step and stubs,
# which cost no time, and must score that step's points exactly.
ONE_STEP = "04_threads"
COPY_IGNORE = shutil.ignore_patterns("__pycache__", "server", "client")  # and the built C programs


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist") / "autograder.zip"
    build_archive(out)
    return out


@pytest.fixture
def autograder(archive: Path, tmp_path: Path) -> Path:
    """A fake /autograder: source/ unpacked from the archive, an empty submission/."""
    root = tmp_path / "autograder"
    unpack(archive, root / "source")
    (root / "submission").mkdir()
    (root / "results").mkdir()
    return root


def unpack(archive: Path, destination: Path) -> None:
    """Unzip keeping each file's mode (zipfile drops it), as Gradescope's unzip does."""
    with zipfile.ZipFile(archive) as opened:
        for entry in opened.infolist():
            path = Path(opened.extract(entry, destination))
            mode = (entry.external_attr >> 16) & 0o777
            if mode:
                path.chmod(mode)


def run_autograder(root: Path, **environment: str) -> dict[str, Any]:
    """Run run_autograder as Gradescope would; the results.json it left."""
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable,
           **environment}
    completed = subprocess.run([str(root / "source" / "run_autograder")], cwd=root, env=env,
                               capture_output=True, text=True, timeout=RUN_SECONDS)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert not processes_running_from(root), "a program outlived the autograder"
    results = json.loads((root / "results" / "results.json").read_text())
    assert isinstance(results, dict)
    expect_valid_for_gradescope(results)
    return results


def expect_valid_for_gradescope(results: dict[str, Any]) -> None:
    assert isinstance(results["score"], int)
    assert isinstance(results["output"], str) and results["output"]
    assert isinstance(results["tests"], list)
    assert results["score"] == sum(test["score"] for test in results["tests"])
    for text in [results["output"], *(test["output"] for test in results["tests"])]:
        assert "Traceback" not in text


def one_step_solved(destination: Path) -> Path:
    """The stubs, with the solution of ONE_STEP in place of its stub."""
    shutil.copytree(EXERCISES, destination, ignore=COPY_IGNORE)
    shutil.rmtree(destination / ONE_STEP)
    copy_step(ONE_STEP, destination)
    return destination


def step_totals(results: dict[str, Any]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for test in results["tests"]:
        step = test["name"].split(": ")[0]
        totals[step] = totals.get(step, 0) + test["max_score"]
    return totals


# -- the archive -------------------------------------------------------------

def test_the_archive_holds_the_scripts_the_grader_and_only_the_lessons_c_sources(
        archive: Path) -> None:
    with zipfile.ZipFile(archive) as opened:
        entries = {entry.filename: entry for entry in opened.infolist()}
        setup = opened.read("setup.sh").decode()
    names = sorted(entries)
    for script in ("setup.sh", "run_autograder"):
        assert (entries[script].external_attr >> 16) & 0o111, f"{script} is not executable"
    assert {"grader/__main__.py", "grader/grade.ini", "grader/checks/check_01_hello.py",
            "grader/platforms/gradescope_grade.py"} <= set(names)
    solutions = [name for name in names if name.startswith("solutions/")]
    assert sorted(solutions) == ["solutions/01_hello/c/Makefile", "solutions/01_hello/c/client.c",
                                 "solutions/01_hello/c/server.c"]
    assert not fnmatch.filter(names, "solutions/*/*.py")
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    assert "build-essential" in setup
    for package in grade_packages():
        assert f"'{package}'" in setup, f"setup.sh does not install {package}"


@pytest.mark.parametrize("script", ["gradescope_setup.sh", "gradescope_run_autograder.sh"])
def test_the_shipped_scripts_are_valid_bash(script: str) -> None:
    path = Path(__file__).resolve().parent.parent / "grader" / "platforms" / script
    checked = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True,
                             timeout=10)
    assert checked.returncode == 0, checked.stderr


# -- submissions as students upload them --------------------------------------

def test_the_solutions_as_bare_step_folders_score_full_marks(autograder: Path) -> None:
    shutil.copytree(SOLUTIONS, autograder / "submission", dirs_exist_ok=True,
                    ignore=COPY_IGNORE)
    results = run_autograder(autograder)
    assert (results["score"], results["max_score"]) == (TOTAL, TOTAL)
    assert step_totals(results) == step_points()
    assert results["output"] == "Graded the step folders at the top of your submission."


def test_the_whole_kit_in_a_folder_is_graded_from_its_exercises_not_its_solutions(
        autograder: Path) -> None:
    kit = autograder / "submission" / "sockets-main"
    one_step_solved(kit / "exercises")
    shutil.copytree(SOLUTIONS, kit / "solutions", ignore=COPY_IGNORE)
    (kit / "README.md").write_text("the kit\n")
    results = run_autograder(autograder)
    assert (results["score"], results["max_score"]) == (step_points()[ONE_STEP], TOTAL)
    assert "in sockets-main/exercises/ of your submission" in results["output"]


def test_the_zip_made_by_submit_unpacked_by_gradescope_is_graded(
        autograder: Path, tmp_path: Path) -> None:
    zip_path = tmp_path / "submission.zip"
    # Packed as `nox -s submit` packs, without its local grading run: only the layout matters here.
    pack(one_step_solved(tmp_path / "exercises"), zip_path, grade=lambda step_root: None)
    with zipfile.ZipFile(zip_path) as opened:
        opened.extractall(autograder / "submission")
    results = run_autograder(autograder)
    assert (results["score"], results["max_score"]) == (step_points()[ONE_STEP], TOTAL)
    assert "in exercises/ of your submission" in results["output"]


def test_the_untouched_stubs_score_zero(autograder: Path) -> None:
    shutil.copytree(EXERCISES, autograder / "submission" / "exercises", ignore=COPY_IGNORE)
    results = run_autograder(autograder)
    assert (results["score"], results["max_score"]) == (0, TOTAL)
    assert all(test["score"] == 0 for test in results["tests"])


def test_some_steps_missing_are_named_and_score_zero(autograder: Path) -> None:
    copy_step(ONE_STEP, autograder / "submission")
    results = run_autograder(autograder)
    assert results["score"] == step_points()[ONE_STEP]
    assert "Not in your submission, so 0 points: 01_hello, 02_timeouts" in results["output"]


# -- whatever goes wrong, words and a score of 0 -------------------------------

def test_an_empty_submission_scores_zero_and_says_what_to_upload(autograder: Path) -> None:
    results = run_autograder(autograder)
    assert (results["score"], results["max_score"], results["tests"]) == (0, TOTAL, [])
    assert results["output"].startswith("Your submission is empty")
    assert "nox -s submit" in results["output"]


def test_a_submission_without_step_folders_says_what_arrived(autograder: Path) -> None:
    (autograder / "submission" / "notes.txt").write_text("my answers\n")
    (autograder / "submission" / "server.py").write_text("print('hi')\n")
    results = run_autograder(autograder)
    assert results["score"] == 0
    assert "No step folder (01_hello" in results["output"]
    assert "notes.txt, server.py" in results["output"]


def test_a_grader_that_cannot_load_a_step_gives_no_score_and_says_so(autograder: Path) -> None:
    (autograder / "submission" / ONE_STEP).mkdir()  # no files: every check ends at once
    broken = autograder / "source" / "grader" / "checks" / f"check_{ONE_STEP}.py"
    broken.write_text(broken.read_text() + "\ndef broken(:\n")
    results = run_autograder(autograder)
    assert (results["score"], results["tests"]) == (0, [])
    assert f"could not run the checks of {ONE_STEP}" in results["output"]
    assert "tell your instructor" in results["output"]


def test_without_a_working_python_the_student_still_gets_words(autograder: Path) -> None:
    (autograder / "submission" / "01_hello").mkdir()
    results = run_autograder(autograder, AUTOGRADER_PYTHON=str(autograder / "no-python"))
    assert (results["score"], results["tests"]) == (0, [])
    assert "could not start" in results["output"]


def test_grading_past_its_time_bound_is_stopped_with_nothing_left_running(
        autograder: Path) -> None:
    shutil.copytree(SOLUTIONS, autograder / "submission", dirs_exist_ok=True,
                    ignore=COPY_IGNORE)
    results = run_autograder(autograder, AUTOGRADER_SECONDS="1")
    assert (results["score"], results["tests"]) == (0, [])
    assert results["output"].startswith("Grading did not finish within 1 second ")
