"""Grading results have Gradescope's shape. (The solutions' 100% and the stubs' 0 are
proved in tests/test_every_system.py, which also runs on macOS and Windows.)"""

from pathlib import Path

from tests.grading import SOLUTIONS, grade


def test_results_json_has_gradescope_shape(tmp_path: Path) -> None:
    graded = grade(SOLUTIONS, "01_hello", json_path=tmp_path / "results.json")
    assert set(graded.results) >= {"score", "tests"}
    for test in graded.tests:
        assert set(test) >= {"name", "score", "max_score", "status", "output"}
        assert str(test["name"]).startswith("01_hello")
        assert test["status"] in ("passed", "failed")
