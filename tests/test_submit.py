"""`nox -s submit`: the student's work, and only it, in one zip with a manifest that
proves what was in it and what it scored here; the zip grades like the folder."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from grader.layout import find_step_root, known_steps
from grader.platforms.kit import kit_version
from grader.platforms.points import step_points
from grader.platforms.submit import MAX_FILE_BYTES, is_clutter, step_scores
from tests.grading import EXERCISES, KIT, copy_step, grade

SUBMIT_SECONDS = 120
SOLVED = "04_threads"  # the quickest solution step to grade: the manifest's score is not all 0
JUNK = {
    "01_hello/__pycache__/server.cpython-311.pyc": b"\0",
    "01_hello/stray.pyc": b"\0",
    ".DS_Store": b"\0",
    "02_timeouts/.notes.swp": b"\0",
    ".idea/workspace.xml": b"<xml/>",
    "03_messages/lecture.mp4.part": b"\0",
}
TOO_LARGE = "03_messages/capture.log"
KEPT = "03_messages/notes.txt"  # the student's own extra file: packed


@dataclass
class Submitted:
    exercises: Path
    zip_path: Path
    output: str


def run_submit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "grader.platforms.submit", *args], cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(KIT)}, capture_output=True,
                          text=True, timeout=SUBMIT_SECONDS)


@pytest.fixture(scope="module")
def submitted(tmp_path_factory: pytest.TempPathFactory) -> Submitted:
    """One run of submit on a copy of the stubs with one step solved and some junk."""
    kit = tmp_path_factory.mktemp("kit")
    exercises = kit / "exercises"
    shutil.copytree(EXERCISES, exercises, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.rmtree(exercises / SOLVED)
    copy_step(SOLVED, exercises)
    for name, content in JUNK.items():
        (exercises / name).parent.mkdir(parents=True, exist_ok=True)
        (exercises / name).write_bytes(content)
    (exercises / TOO_LARGE).write_bytes(b"x" * (MAX_FILE_BYTES + 1))
    (exercises / KEPT).write_text("what I tried\n")
    completed = run_submit(cwd=kit)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return Submitted(exercises, kit / "submission.zip", completed.stdout)


def manifest_of(zip_path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(zip_path) as opened:
        manifest = json.loads(opened.read("manifest.json"))
    assert isinstance(manifest, dict)
    return manifest


def expected_files(exercises: Path) -> set[str]:
    """Every file of the copy but the junk and the large one, as the zip names them."""
    found = {path.relative_to(exercises).as_posix() for path in exercises.rglob("*")
             if path.is_file()}
    return {f"exercises/{name}" for name in found - set(JUNK) - {TOO_LARGE}}


def test_the_zip_holds_the_exercises_and_the_manifest_and_nothing_else(
        submitted: Submitted) -> None:
    with zipfile.ZipFile(submitted.zip_path) as opened:
        names = set(opened.namelist())
    assert names == expected_files(submitted.exercises) | {"manifest.json"}
    assert f"exercises/{KEPT}" in names


def test_the_manifest_hashes_each_packed_file(submitted: Submitted) -> None:
    manifest = manifest_of(submitted.zip_path)
    with zipfile.ZipFile(submitted.zip_path) as opened:
        for entry in manifest["files"]:
            packed = opened.read(entry["path"])
            on_disk = (submitted.exercises.parent / entry["path"]).read_bytes()
            assert packed == on_disk
            assert entry["sha256"] == hashlib.sha256(on_disk).hexdigest()
    assert {entry["path"] for entry in manifest["files"]} == expected_files(submitted.exercises)


def test_the_manifest_records_the_local_score_the_date_and_the_kit_version(
        submitted: Submitted) -> None:
    manifest = manifest_of(submitted.zip_path)
    points = step_points()
    assert manifest["score"]["score"] == points[SOLVED]
    assert manifest["score"]["max_score"] == sum(points.values())
    assert manifest["score"]["steps"] == {
        step: {"score": points[step] if step == SOLVED else 0, "max_score": points[step]}
        for step in known_steps()}
    made = datetime.fromisoformat(manifest["date"])
    assert made.tzinfo is not None and datetime.now(UTC) - made < timedelta(minutes=10)
    assert manifest["kit_version"] == kit_version()


def test_it_prints_what_it_packed_the_score_the_warning_and_the_zip(
        submitted: Submitted) -> None:
    output = submitted.output
    assert f"Packed {len(expected_files(submitted.exercises))} files" in output
    assert f"  exercises/{SOLVED}/server.py\n" in output
    assert "warning: left out, over 1 MB each:" in output and TOO_LARGE in output
    assert f"Score here: {step_points()[SOLVED]}/{sum(step_points().values())}" in output
    assert f"Ready to upload: {submitted.zip_path}" in output
    assert not [name for name in JUNK if name in output]


def test_the_zip_unpacked_is_found_and_grades_like_the_folder(
        submitted: Submitted, tmp_path: Path) -> None:
    with zipfile.ZipFile(submitted.zip_path) as opened:
        opened.extractall(tmp_path / "unpacked")
    step_root = find_step_root(tmp_path / "unpacked")
    assert step_root == tmp_path / "unpacked" / "exercises"
    graded = grade(step_root, SOLVED, json_path=tmp_path / "results.json")
    assert graded.exit_code == 0, graded.output
    assert graded.results["score"] == step_points()[SOLVED]


def test_without_an_exercises_folder_it_refuses_in_one_line(tmp_path: Path) -> None:
    completed = run_submit(cwd=tmp_path)
    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1 and "no folder exercises" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert not (tmp_path / "submission.zip").exists()


def test_out_names_where_the_zip_goes(tmp_path: Path) -> None:
    out = tmp_path / "handin" / "mine.zip"
    # Empty step folders: packing is what is tested here, and they grade at once.
    for step in known_steps():
        (tmp_path / "exercises" / step).mkdir(parents=True)
    (tmp_path / "exercises" / SOLVED / "server.py").write_text("# my server\n")
    completed = run_submit("--out", str(out), cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    with zipfile.ZipFile(out) as opened:
        assert opened.namelist() == [f"exercises/{SOLVED}/server.py", "manifest.json"]


@pytest.mark.parametrize(("name", "clutter"), [
    ("01_hello/server.py", False),
    ("01_hello/c/Makefile", False),
    ("01_hello/__pycache__/server.cpython-311.pyc", True),
    ("01_hello/.server.py.swp", True),
    (".vscode/settings.json", True),
    ("06_streaming/big.iso.part", True),
])
def test_what_counts_as_clutter(name: str, clutter: bool) -> None:
    assert is_clutter(Path(name)) is clutter


def test_step_scores_add_up_each_steps_checks() -> None:
    results = {"score": 3, "max_score": 6, "tests": [
        {"name": "01_hello: a", "score": 1, "max_score": 1},
        {"name": "01_hello: b", "score": 0, "max_score": 2},
        {"name": "02_timeouts: c", "score": 2, "max_score": 3},
    ]}
    assert step_scores(results) == {"score": 3, "max_score": 6, "steps": {
        "01_hello": {"score": 1, "max_score": 3}, "02_timeouts": {"score": 2, "max_score": 3}}}


def test_outside_a_git_checkout_the_version_is_unknown(tmp_path: Path) -> None:
    assert kit_version(tmp_path) == "unknown"
