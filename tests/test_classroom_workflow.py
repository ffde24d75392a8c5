"""The GitHub Classroom workflow: generated from the checks' points, committed as
generated, and every command in it one the grader accepts.

When a check's points change, these tests name the step whose max-score is now
wrong; `nox -s classroom` rewrites the file.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from typing import Any

import pytest

from grader.__main__ import parse_args
from grader.layout import known_steps
from grader.platforms import classroom, simple_yaml
from grader.platforms.kit import grade_packages
from grader.platforms.points import step_points
from tests.grading import KIT

REGENERATE = "run `nox -s classroom` to regenerate .github/workflows/classroom.yml"


def committed() -> dict[str, Any]:
    return simple_yaml.load(classroom.WORKFLOW.read_text())


def workflow_steps() -> list[dict[str, Any]]:
    steps = committed()["jobs"]["run-autograding-tests"]["steps"]
    assert isinstance(steps, list)
    return steps


def grading_steps() -> list[dict[str, Any]]:
    return [step for step in workflow_steps() if step.get("uses") == classroom.COMMAND_GRADER]


def test_each_step_of_the_grader_is_one_test_worth_its_points() -> None:
    in_workflow = {step["with"]["test-name"]: step["with"]["max-score"]
                   for step in grading_steps()}
    points = step_points()
    wrong = [f"{step}: the workflow gives {in_workflow.get(step)} points, its checks "
             f"{points.get(step)}" for step in sorted(set(in_workflow) | set(points))
             if in_workflow.get(step) != points.get(step)]
    assert not wrong, "; ".join(wrong) + f": {REGENERATE}"
    assert list(in_workflow) == known_steps()


def test_the_committed_workflow_is_the_generated_one() -> None:
    assert classroom.WORKFLOW.read_text() == classroom.render(), REGENERATE


def test_each_command_is_a_grader_invocation_of_its_own_step(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The command grader runs in the checked-out repository, the kit's top folder.
    monkeypatch.chdir(KIT)
    for step in grading_steps():
        words = shlex.split(step["with"]["command"])
        assert words[:3] == ["python", "-m", "grader"], words
        try:
            arguments = parse_args(words[3:])
        except SystemExit:
            pytest.fail(f"the grader refuses `{step['with']['command']}`")
        assert arguments.steps == [step["with"]["test-name"]]
        assert 0 < step["with"]["timeout"] <= 10  # minutes, for a step that takes seconds


def test_the_reporter_reads_every_test_and_nothing_else() -> None:
    reporter = workflow_steps()[-1]
    assert reporter["uses"] == classroom.REPORTER
    ids = [step["id"] for step in grading_steps()]
    assert reporter["with"]["runners"].split(",") == ids
    assert reporter["env"] == {f"{id_.upper()}_RESULTS": f"${{{{steps.{id_}.outputs.result}}}}"
                               for id_ in ids}


def test_python_311_and_the_graders_packages_are_installed_before_grading() -> None:
    steps = workflow_steps()
    first_test = steps.index(grading_steps()[0])
    setup = [step for step in steps[:first_test]
             if str(step.get("uses", "")).startswith("actions/setup-python@")]
    assert setup and setup[0]["with"]["python-version"] == "3.11"
    installs = " ".join(str(step.get("run", "")) for step in steps[:first_test])
    for package in grade_packages():
        assert shlex.quote(package) in installs, f"the workflow does not install {package}"


def test_the_points_read_from_source_are_the_points_pytest_sees() -> None:
    # The grader's own catalogue: the checks pytest collects, with their points.
    listing = subprocess.run([sys.executable, "-m", "grader", "--list-checks"], cwd=KIT,
                             capture_output=True, text=True, timeout=120, check=True)
    collected: dict[str, int] = {}
    for line in listing.stdout.splitlines():
        entry = json.loads(line)
        collected[entry["step"]] = collected.get(entry["step"], 0) + entry["max_points"]
    assert collected == step_points()


# -- the strict YAML the workflow is written in -------------------------------

def test_what_is_dumped_loads_back_the_same() -> None:
    value: dict[str, simple_yaml.Value] = {
        "name": "a plain string", "on": ["push", "workflow_dispatch"],
        "quoted": ["3.11", "01_hello", "yes", "key: value", " padded", "# not a comment",
                   "${{ expression }}", "it's", 'say "hi"', "", "ünïcode"],
        "numbers": {"max-score": 13, "negative": -2},
        "items": [{"name": "first", "with": {"deep": "value"}}, {"only": "key"}],
    }
    assert simple_yaml.load(simple_yaml.dump(value, header="a\ncomment")) == value


@pytest.mark.parametrize(("text", "complaint"), [
    ("key: yes\n", "must be quoted"),
    ("key: 3.11\n", "must be quoted"),
    ("key: a # comment\n", "must be quoted"),
    ("key:\n\t- a\n", "tabs"),
    ("key: a\nkey: b\n", "given twice"),
    ("key:\n  - a\n    - b\n", "indented more"),
    ("- a\n", "a document is a mapping"),
    ("  key: a\n", "starts with a key"),
    ("key: [a, b]\n", "must be quoted"),
    ("key:\n", "has no value"),
])
def test_anything_outside_the_subset_is_refused_with_its_line(text: str, complaint: str) -> None:
    with pytest.raises(simple_yaml.YamlError, match=complaint):
        simple_yaml.load(text)
