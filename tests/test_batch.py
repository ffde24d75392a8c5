"""Batch grading for instructors: inputs of every shape, the class files,
resuming after an interruption, private checks, bad input on its own row."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from grader.batch.inputs import InvalidSubmission, Submission, discover, materialise
from grader.batch.job import Outcome
from grader.batch.outputs import grades_csv
from grader.report import CheckResult
from tests.grading import EXERCISES, KIT, SOLUTIONS

STEP = "01_hello"
FULL = 13
BATCH_SECONDS = 240


def batch(*arguments: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "grader.batch", *map(str, arguments)],
                          cwd=KIT, capture_output=True, text=True, timeout=BATCH_SECONDS)


def rows(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "grades.csv", newline="") as stream:
        return {row["student"]: row for row in csv.DictReader(stream)}


def kit_layout(folder: Path, source: Path = SOLUTIONS) -> Path:
    shutil.copytree(source / STEP, folder / STEP, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def zipped(archive: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(archive, "w") as stream:
        for name, text in members.items():
            stream.writestr(name, text)
    return archive


def zip_of_folder(archive: Path, folder: Path, prefix: str) -> Path:
    with zipfile.ZipFile(archive, "w") as stream:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                stream.write(path, f"{prefix}{path.relative_to(folder)}")
    return archive


# -- inputs ---------------------------------------------------------------------

def test_a_class_folder_gives_one_submission_per_entry_named_after_it(tmp_path: Path) -> None:
    kit_layout(tmp_path / "alice")
    kit_layout(tmp_path / "bob" / "exercises")
    zip_of_folder(tmp_path / "carol.zip", SOLUTIONS / STEP, f"carol/exercises/{STEP}/")
    (tmp_path / ".DS_Store").write_text("")
    found = discover([tmp_path])
    assert [submission.name for submission in found] == ["alice", "bob", "carol"]


def test_a_folder_holding_the_layout_is_one_submission_even_wrapped(tmp_path: Path) -> None:
    kit_layout(tmp_path / "dave" / "dave" / "exercises")
    assert [s.name for s in discover([tmp_path / "dave"])] == ["dave"]


def test_students_with_the_same_name_stay_apart(tmp_path: Path) -> None:
    kit_layout(tmp_path / "one" / "sam")
    kit_layout(tmp_path / "two" / "sam")
    kit_layout(tmp_path / "one" / "zed")
    kit_layout(tmp_path / "two" / "zed")
    names = [s.name for s in discover([tmp_path / "one", tmp_path / "two"])]
    assert names == ["sam", "zed", "sam-2", "zed-2"]


def test_a_nested_zip_is_unpacked_and_its_steps_found(tmp_path: Path) -> None:
    archive = zip_of_folder(tmp_path / "erin.zip", SOLUTIONS / STEP, f"erin/exercises/{STEP}/")
    root = materialise(Submission("erin", archive), tmp_path / "copy")
    assert (root / STEP / "server.py").read_bytes() == (SOLUTIONS / STEP / "server.py").read_bytes()


@pytest.mark.parametrize(("members", "words"), [
    ({}, "the archive is empty"),
    ({"../../escape.py": "x", f"{STEP}/server.py": "x"}, "outside its folder"),
    ({"/etc/cron.d/evil": "x"}, "outside its folder"),
    ({"notes/readme.txt": "hello"}, "no step folders found"),
])
def test_bad_archives_are_refused_with_the_reason(
        tmp_path: Path, members: dict[str, str], words: str) -> None:
    archive = zipped(tmp_path / "bad.zip", members)
    with pytest.raises(InvalidSubmission, match=words):
        materialise(Submission("bad", archive), tmp_path / "copy")
    assert not (tmp_path / "escape.py").exists()


def test_a_symbolic_link_in_an_archive_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as stream:
        member = zipfile.ZipInfo(f"{STEP}/server.py")
        member.external_attr = (0o120777 << 16)  # a symbolic link to another student
        stream.writestr(member, "../../other/01_hello/server.py")
    with pytest.raises(InvalidSubmission, match="symbolic link"):
        materialise(Submission("link", archive), tmp_path / "copy")


def test_a_file_that_is_not_an_archive_is_refused(tmp_path: Path) -> None:
    (tmp_path / "essay.zip").write_text("not a zip")
    (tmp_path / "essay.docx").write_text("not a zip either")
    for name in ("essay.zip", "essay.docx"):
        with pytest.raises(InvalidSubmission, match="zip"):
            materialise(Submission("essay", tmp_path / name), tmp_path / f"copy-{name}")


def test_symbolic_links_in_a_folder_are_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("another student's work")
    folder = kit_layout(tmp_path / "frank")
    (folder / STEP / "stolen.txt").symlink_to(secret)
    root = materialise(Submission("frank", folder), tmp_path / "copy")
    assert not (root / STEP / "stolen.txt").exists()


# -- the class files ----------------------------------------------------------------

def test_a_name_that_looks_like_a_formula_cannot_run_in_a_spreadsheet() -> None:
    outcome = Outcome("=HYPERLINK(1)", "invalid", "-1+1", "print", 0.0,
                      [CheckResult(STEP, "server listens", 1)])
    catalogue = [{"step": STEP, "name": "server listens", "max_points": 1, "extra": False}]
    row = list(csv.reader(io.StringIO(grades_csv([outcome], catalogue))))[1]
    assert row[0] == "'=HYPERLINK(1)" and row[-1] == "'-1+1"


def test_a_batch_writes_every_file_and_a_row_per_student_bad_input_included(
        tmp_path: Path) -> None:
    students = tmp_path / "class"
    kit_layout(students / "alice")
    kit_layout(students / "bob", EXERCISES)
    zipped(students / "carol.zip", {})
    (students / "dave.zip").write_text("not a zip")
    out = tmp_path / "out"
    completed = batch(students, "--out", out, "--steps", STEP, "--jobs", "2")
    assert completed.returncode == 0, completed.stderr
    graded = rows(out)
    assert {name: (row["status"], row[STEP], row["total"]) for name, row in graded.items()} == {
        "alice": ("ok", str(FULL), str(FULL)), "bob": ("ok", "0", "0"),
        "carol": ("invalid", "0", "0"), "dave": ("invalid", "0", "0")}
    assert graded["carol"]["detail"] == "the archive is empty"
    for student in graded:
        results = json.loads((out / student / "results.json").read_text())
        assert results["score"] == int(graded[student]["total"])
        assert (out / student / "feedback.txt").read_text()
    assert "not started yet" in (out / "bob" / "feedback.txt").read_text()
    assert "Every check passes" in (out / "alice" / "feedback.txt").read_text()
    assert "Isolation" in (out / "report.html").read_text()
    assert "4/4" in completed.stderr  # the progress line


def test_a_second_run_grades_only_what_changed(tmp_path: Path) -> None:
    students = tmp_path / "class"
    kit_layout(students / "alice")
    kit_layout(students / "bob")
    out = tmp_path / "out"
    assert batch(students, "--out", out, "--steps", STEP).returncode == 0
    (students / "bob" / STEP / "server.py").write_text("raise SystemExit(3)\n")
    second = batch(students, "--out", out, "--steps", STEP)
    assert "alice: ok, 13 points (unchanged, kept)" in second.stderr
    assert "bob: ok" in second.stderr and "bob: ok, 13" not in second.stderr
    assert rows(out)["alice"]["total"] == str(FULL)
    assert int(rows(out)["bob"]["total"]) < FULL


def test_an_interrupted_batch_resumes_and_loses_nothing(tmp_path: Path) -> None:
    students = tmp_path / "class"
    for name in ("a", "b", "c", "d"):
        kit_layout(students / name)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "grader.batch", str(students), "--out", str(out),
               "--steps", STEP, "--jobs", "1"]
    first = subprocess.Popen(command, cwd=KIT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    deadline = time.monotonic() + BATCH_SECONDS
    while not (out / "a" / "state.json").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    first.send_signal(signal.SIGINT)
    _, stderr = first.communicate(timeout=60)
    assert first.returncode == 130, stderr
    assert "Run the same command again" in stderr
    done_before = {name for name in "abcd" if (out / name / "state.json").exists()}
    assert "a" in done_before and len(done_before) < 4
    for path in out.rglob("*"):
        assert not path.name.startswith("."), f"a half-written file was left: {path}"
    second = subprocess.run(command, cwd=KIT, capture_output=True, text=True,
                            timeout=BATCH_SECONDS)
    assert second.returncode == 0, second.stderr
    assert second.stderr.count("(unchanged, kept)") == len(done_before)
    assert {name: row["total"] for name, row in rows(out).items()} == {
        name: str(FULL) for name in "abcd"}


PRIVATE_CHECK = '''
"""An instructor's private check: the server answers a second client too."""

from grader.checks.common import line_exchange
from grader.harness import Harness
from grader.plugin import check

STEP = "01_hello"


@check(points=2, program="server")
def check_server_survives_a_port_probe(harness: Harness) -> None:
    server = harness.start_server(one_shot=True)
    harness.connect(server).close()
'''


def test_private_checks_count_and_show_as_extra(tmp_path: Path) -> None:
    extra = tmp_path / "private"
    extra.mkdir()
    (extra / "check_01_hello_private.py").write_text(PRIVATE_CHECK)
    students = tmp_path / "class"
    kit_layout(students / "alice")
    out = tmp_path / "out"
    completed = batch(students, "--out", out, "--steps", STEP, "--extra-checks", extra)
    assert completed.returncode == 0, completed.stderr
    row = rows(out)["alice"]
    assert row[f"extra: {STEP}"] == "2" and row["total"] == str(FULL + 2)
    assert row["max_score"] == str(FULL + 2)
    names = [test["name"] for test in json.loads((out / "alice" / "results.json").read_text())
             ["tests"]]
    assert f"extra: {STEP}: server survives a port probe" in names
    assert "extra: 01_hello" in (out / "report.html").read_text()


@pytest.mark.parametrize(("arguments", "words"), [
    (["no-such-folder", "--out", "out"], "no such file or folder"),
    (["."], "--out"),
    ([".", "--out", "out", "--steps", "99_nothing"], "unknown step"),
    ([".", "--out", "out", "--extra-checks", "."], "no check_*.py"),
])
def test_a_wrong_command_says_why_without_a_traceback(
        tmp_path: Path, arguments: list[str], words: str) -> None:
    completed = subprocess.run([sys.executable, "-m", "grader.batch", *arguments],
                               cwd=tmp_path, capture_output=True, text=True, timeout=60,
                               env={**os.environ, "PYTHONPATH": str(KIT)})
    assert completed.returncode == 2
    assert words in completed.stderr and "Traceback" not in completed.stderr
