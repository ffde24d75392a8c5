"""The reference solutions score 100%; the untouched stubs score 0, without waiting."""

from pathlib import Path

from tests.grading import EXERCISES, SOLUTIONS, grade


def test_solutions_pass_every_check(tmp_path: Path) -> None:
    graded = grade(SOLUTIONS, json_path=tmp_path / "results.json")
    assert graded.failed() == {}, graded.output
    assert graded.results["score"] == graded.results["max_score"]
    assert graded.exit_code == 0
    assert "Every check passes" in graded.output


def test_untouched_stubs_score_zero_as_not_started(tmp_path: Path) -> None:
    graded = grade(EXERCISES, json_path=tmp_path / "results.json")
    assert graded.results["score"] == 0
    assert graded.exit_code == 1
    # Every check ends as "not started" or "not run": none waited for a timeout.
    for test in graded.tests:
        output = str(test["output"])
        assert output.startswith(("not started yet", "not run")), test
    steps = sorted(path.name for path in EXERCISES.iterdir() if path.is_dir())
    assert len(steps) == 7
    for step in steps:
        assert f"{step} " in graded.output
    assert graded.output.count("not started yet") == len(steps)
    assert "Traceback" not in graded.output


def test_results_json_has_gradescope_shape(tmp_path: Path) -> None:
    graded = grade(SOLUTIONS, "01_hello", json_path=tmp_path / "results.json")
    assert set(graded.results) >= {"score", "tests"}
    for test in graded.tests:
        assert set(test) >= {"name", "score", "max_score", "status", "output"}
        assert str(test["name"]).startswith("01_hello")
        assert test["status"] in ("passed", "failed")
