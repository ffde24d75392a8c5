"""Helpers for the kit's tests: grade a tree in a subprocess and read its results."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
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


# A check built on one that hung (its `needs`): not run, so no time is spent on it.
BLOCKED = ["not run: blocked by", "stopped answering"]


@dataclass(frozen=True)
class Mutation:
    """A reference solution step with one change: a student's mistake (checks
    that must fail, with the words they must say) or a harmless variation
    (`fails` empty: every check must still pass).

    A change is text replacements, each of which must apply exactly once, or
    whole top-level functions rewritten, so a mutation follows the solution as
    it evolves and fails loudly when it no longer applies."""

    name: str
    step: str
    file: str
    replacements: list[tuple[str, str]] = field(default_factory=list)
    fails: dict[str, list[str]] = field(default_factory=dict)  # check name -> words
    functions: dict[str, str] = field(default_factory=dict)  # function name -> new source

    def apply(self, destination: Path) -> Path:
        step_dir = copy_step(self.step, destination)
        path = step_dir / self.file
        text = path.read_text()
        for old, new in self.replacements:
            assert text.count(old) == 1, f"{self.name}: {old!r} is not once in {self.file}"
            text = text.replace(old, new)
        for name, source in self.functions.items():
            text = replace_function(text, name, source)
        path.write_text(text)
        return destination


def replace_function(text: str, name: str, source: str) -> str:
    lines = text.splitlines(keepends=True)
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            start = node.lineno - 1 - len(node.decorator_list)
            lines[start:node.end_lineno] = [source.strip("\n") + "\n"]
            return "".join(lines)
    raise AssertionError(f"no function {name} to replace")


def processes_naming(text: str) -> dict[int, str]:
    """Live processes whose command line holds `text`: pid -> command line.
    (A zombie's command line is empty: zombies never match.)"""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # it ended while we looked
        if text in command:
            found[int(proc.name)] = command
    return found


def processes_running_from(folder: Path) -> list[str]:
    """Command lines of live processes that run a file under `folder`."""
    return list(processes_naming(str(folder)).values())
