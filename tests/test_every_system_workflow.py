"""The workflow that runs the kit on every system stays valid and in step with the kit.

It cannot run here (it needs GitHub's macOS and Windows machines): these tests
check what can be checked. It parses; it covers the three systems and every
Python from 3.11 to 3.14; each command is the README's quick start
(`python -m grader.nox -s SESSION`) with a session the noxfile has; each test
file it names exists; and what it runs imports nothing that only POSIX has.
"""

from __future__ import annotations

import ast
import re
import shlex
from typing import Any

from grader.platforms import simple_yaml
from tests.grading import KIT

WORKFLOW = KIT / ".github" / "workflows" / "every-system.yml"
POSIX_ONLY = {"resource", "fcntl", "termios", "pwd", "grp", "posix"}


def workflow() -> dict[str, Any]:
    return simple_yaml.load(WORKFLOW.read_text(encoding="utf-8"))


def job() -> dict[str, Any]:
    jobs = workflow()["jobs"]
    assert list(jobs) == ["grade"]
    return jobs["grade"]  # type: ignore[no-any-return]


def commands() -> list[list[str]]:
    found = []
    for step in job()["steps"]:
        if "run" in step:
            for command in re.split(r"[;|&]+|>", step["run"]):
                words = shlex.split(command)
                if words[:3] == ["python", "-m", "grader.nox"]:
                    found.append(words)
    return found


def nox_sessions() -> set[str]:
    tree = ast.parse((KIT / "noxfile.py").read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)
            and any("nox.session" in ast.unparse(decorator) for decorator in node.decorator_list)}


def test_every_system_and_every_python_from_3_11_to_3_14() -> None:
    matrix = job()["strategy"]["matrix"]
    assert matrix["os"] == ["ubuntu-latest", "macos-latest", "windows-latest"]
    assert matrix["python"] == [f"3.{minor}" for minor in range(11, 15)]
    assert job()["strategy"]["fail-fast"] is False  # one system failing must not hide another
    assert job()["runs-on"] == "${{ matrix.os }}"


def test_each_command_is_the_quick_start_with_a_session_the_noxfile_has() -> None:
    found = commands()
    assert {words[4] for words in found} == {"grade", "tests"}
    for words in found:
        assert words[3] == "-s" and words[4] in nox_sessions(), words
        for word in words[5:]:
            if word.startswith("tests/"):
                assert (KIT / word).is_file(), f"the workflow runs {word}, which is not there"
            if word == "--submission":
                assert (KIT / words[words.index(word) + 1]).is_dir()


def test_the_readme_shows_the_same_command() -> None:
    readme = (KIT / "README.md").read_text(encoding="utf-8")
    assert "-m grader.nox -s grade" in readme and "-m grader.nox -s tests" in readme


def imported_modules(path: str) -> set[str]:
    tree = ast.parse((KIT / path).read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0] if not node.module.startswith("tests")
                      else node.module)
    return names


def test_what_it_runs_imports_nothing_only_posix_has() -> None:
    files = ["tests/test_every_system.py"]
    seen: set[str] = set()
    while files:
        path = files.pop()
        seen.add(path)
        modules = imported_modules(path)
        assert not modules & POSIX_ONLY, f"{path} imports {modules & POSIX_ONLY}"
        files += [f"{name.replace('.', '/')}.py" for name in modules
                  if name.startswith("tests.") and f"{name.replace('.', '/')}.py" not in seen]
    assert "tests/test_buggy_submissions.py" in seen
