"""Helpers for the kit's tests: grade a tree in a subprocess and read its results."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

KIT = Path(__file__).resolve().parent.parent
SOLUTIONS = KIT / "solutions"
EXERCISES = KIT / "exercises"
GRADE_SECONDS = 240  # a bound for the whole grading run, far above any real one


@dataclass
class Graded:
    exit_code: int
    output: str
    results: dict[str, object]

    @property
    def tests(self) -> list[dict[str, object]]:
        tests = self.results["tests"]
        assert isinstance(tests, list)
        return tests

    def check(self, name: str) -> dict[str, object]:
        found = [test for test in self.tests if str(test["name"]).endswith(f": {name}")]
        assert found, f"no check named {name!r} in {[test['name'] for test in self.tests]}"
        return found[0]

    def failed(self) -> dict[str, str]:
        return {str(test["name"]).split(": ", 1)[1]: str(test["output"])
                for test in self.tests if test["status"] != "passed"}


def grade(submission: Path, *steps: str, json_path: Path) -> Graded:
    completed = subprocess.run(
        [sys.executable, "-m", "grader", *steps, "--submission", str(submission),
         "--json", str(json_path)],
        cwd=KIT, capture_output=True, text=True, timeout=GRADE_SECONDS)
    results = json.loads(json_path.read_text()) if json_path.exists() else {}
    return Graded(completed.returncode, completed.stdout + completed.stderr, results)


def copy_step(step: str, destination: Path) -> Path:
    """A fresh copy of one solution step under destination/, ready to be broken."""
    shutil.copytree(SOLUTIONS / step, destination / step,
                    ignore=shutil.ignore_patterns("__pycache__"))
    return destination / step
