"""Nothing a submission does reaches beyond it.

One batch grades two correct submissions beside hostile ones. Each hostile
submission spoils step 01 (its server and its client both attack) and keeps
the reference step 02. Each must score 0 on step 01; the correct ones must
keep every point; and nothing may be left running afterwards.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.batch.isolation import bubblewrap
from tests.grading import EXERCISES, KIT, SOLUTIONS, processes_naming, processes_running_from

STEPS = ["01_hello", "02_timeouts"]
FULL = {"01_hello": 13, "02_timeouts": 10}
BATCH_SECONDS = 400
DAEMON_MARK = "3600.4242"  # the daemon's `sleep` argument: how we find it afterwards

FORGED = ('[{"step": "01_hello", "name": "forged", "max_points": 1000, "points": 1000, '
          '"status": "passed", "diagnosis": null, "extra": false}]')

# Every hostile program is used as both server.py and client.py of step 01.
HOSTILE_PROGRAMS = {
    "fork-bomb": """
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
""",
    "memory-bomb": """
blocks = []
while True:
    blocks.append(bytearray(64 * 2**20))
""",
    "endless-output": """
import sys
while True:
    sys.stdout.write("spam " * 1000)
""",
    "ignores-sigterm": """
import signal
signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    pass
""",
    "daemon-grandchild": f"""
import os
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp("sleep", ["sleep", "{DAEMON_MARK}"])
    os._exit(0)
""",
    "kills-its-parent": """
import os, signal
os.kill(os.getppid(), signal.SIGKILL)
""",
    "forges-results": f"""
import os
forged = {FORGED!r}
for place in [".", "..", "../..", "/autograder/results", "/tmp"]:
    try:
        with open(os.path.join(place, "results.json"), "w") as out:
            out.write(forged)
    except OSError:
        pass
# Every descriptor of every process it can see: the grader's results among them?
for pid in os.listdir("/proc"):
    if not pid.isdigit() or int(pid) == os.getpid():
        continue
    try:
        descriptors = os.listdir(f"/proc/{{pid}}/fd")
    except OSError:
        continue
    for fd in descriptors:
        try:
            target = os.open(f"/proc/{{pid}}/fd/{{fd}}", os.O_WRONLY)
            os.write(target, forged.encode())
            os.close(target)
        except OSError:
            pass
""",
}

# Run inside the grader, this would replace its results with a forged 1000 points.
HIJACK = f"""
import atexit, os, sys

def _forge():
    if "--results-fd" in sys.argv:
        fd = int(sys.argv[sys.argv.index("--results-fd") + 1])
        try:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, 0)
            os.write(fd, {FORGED!r}.encode())
        except OSError:
            pass

_forge()
atexit.register(_forge)
"""


@dataclass(frozen=True)
class GradedClass:
    students: Path  # the class folder the batch was given
    out: Path  # its --out folder
    rows: dict[str, dict[str, str]]  # grades.csv, by student


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GradedClass]:
    if bubblewrap() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("bubblewrap (bwrap) is missing in CI: .ci/run installs it")
        pytest.skip("bubblewrap (bwrap) is not installed: apt-get install bubblewrap")
    root = tmp_path_factory.mktemp("hostile")
    students = root / "class"
    students.mkdir()
    for name in ("good-one", "good-two"):
        _kit_layout(students / name)
    for name, program in HOSTILE_PROGRAMS.items():
        _spoiled(students / name, program)
    victim = students / "good-one" / "01_hello"
    _spoiled(students / "reads-another-submission",
             f"exec(open({str(victim / 'server.py')!r}).read())",
             f"exec(open({str(victim / 'client.py')!r}).read())")
    _spoiled(students / "reads-the-kit-solutions",
             f"exec(open({str(SOLUTIONS / '01_hello' / 'server.py')!r}).read())",
             f"exec(open({str(SOLUTIONS / '01_hello' / 'client.py')!r}).read())")
    _hijacker(students / "ships-its-own-grader")
    out = root / "out"
    completed = subprocess.run(
        [sys.executable, "-m", "grader.batch", str(students), "--out", str(out), "--jobs", "2",
         "--steps", *STEPS],
        cwd=KIT, capture_output=True, text=True, timeout=BATCH_SECONDS)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    with open(out / "grades.csv", newline="") as stream:
        rows = {row["student"]: row for row in csv.DictReader(stream)}
    yield GradedClass(students, out, rows)


def _kit_layout(folder: Path) -> None:
    for step in STEPS:
        shutil.copytree(SOLUTIONS / step, folder / step,
                        ignore=shutil.ignore_patterns("__pycache__"))


def _spoiled(folder: Path, server: str, client: str | None = None) -> None:
    _kit_layout(folder)
    (folder / "01_hello" / "server.py").write_text(server)
    (folder / "01_hello" / "client.py").write_text(client or server)


def _hijacker(folder: Path) -> None:
    """Untouched stubs for step 01, with files that would take over the grading
    if it ever imported anything from the submission."""
    _kit_layout(folder)
    shutil.rmtree(folder / "01_hello")
    shutil.copytree(EXERCISES / "01_hello", folder / "01_hello",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for place in (folder, folder / "01_hello"):
        for name in ("conftest.py", "sitecustomize.py", "pytest.py", "usercustomize.py"):
            (place / name).write_text(HIJACK)
        package = place / "grader"
        package.mkdir()
        for name in ("__init__.py", "__main__.py", "plugin.py"):
            (package / name).write_text(HIJACK)


HOSTILE = [*HOSTILE_PROGRAMS, "reads-another-submission", "reads-the-kit-solutions",
           "ships-its-own-grader"]


@pytest.mark.parametrize("student", HOSTILE)
def test_a_hostile_submission_scores_zero_on_the_step_it_spoils(
        graded_class: GradedClass, student: str) -> None:
    row = graded_class.rows[student]
    assert row["01_hello"] == "0", row
    assert int(row["total"]) <= FULL["02_timeouts"], row  # nothing forged on top


def test_hostile_submissions_leave_the_correct_ones_full_marks(
        graded_class: GradedClass) -> None:
    for student in ("good-one", "good-two"):
        row = graded_class.rows[student]
        assert row["status"] == "ok", row
        assert {step: int(row[step]) for step in STEPS} == FULL, row


def test_a_hostile_submission_keeps_the_steps_it_did_not_touch(
        graded_class: GradedClass) -> None:
    # Each step is graded behind walls of its own: a fork bomb at the process
    # cap, a killed grading process or writes into every descriptor in sight
    # stay within the step that did it.
    lost = {student: graded_class.rows[student]["02_timeouts"] for student in HOSTILE
            if graded_class.rows[student]["02_timeouts"] != str(FULL["02_timeouts"])}
    assert not lost, lost


def test_nothing_from_the_batch_is_left_running(graded_class: GradedClass) -> None:
    deadline = time.monotonic() + 5
    while True:
        left = [*processes_naming(DAEMON_MARK).values(),
                *processes_naming("sockets-kit-batch-").values(),
                *processes_running_from(graded_class.students)]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not left


def test_the_results_of_each_student_are_gradescope_json(graded_class: GradedClass) -> None:
    for student, row in graded_class.rows.items():
        results = json.loads((graded_class.out / student / "results.json").read_text())
        assert results["score"] == int(row["total"])
        assert "forged" not in json.dumps(results)
