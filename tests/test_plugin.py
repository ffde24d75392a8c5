"""The grader's pytest plugin, tested as pytest plugins test themselves: a
sample check module run by pytest in a subprocess, its output lines matched."""

from __future__ import annotations

import json

import pytest

from tests.grading import KIT

pytest_plugins = ["pytester"]

SAMPLE_CHECKS = '''
from grader.diagnosis import CheckFailed, Diagnosis, NotStarted
from grader.plugin import check

STEP = "00_sample"


@check(points=1, program="server", gate=True)
def check_server_starts(harness):
    pass


@check(points=2, program="server")
def check_server_echoes(harness):
    raise CheckFailed(Diagnosis("it replied b'x'", "b'y'", ["server.py:3: x"], "echo it"))


@check(points=3, program="client", name="client's own name")
def check_client_prints(harness):
    raise NotStarted("client.py")


@check(points=1, program="client")
def check_client_closes(harness):
    pass
'''


@pytest.fixture
def sample(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTHONPATH", str(KIT))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # as the grader runs it
    pytester.makepyfile(check_00_sample=SAMPLE_CHECKS)
    (pytester.path / "submission" / "00_sample").mkdir(parents=True)
    return pytester


def run(sample: pytest.Pytester, *extra: str) -> pytest.RunResult:
    return sample.runpytest_subprocess(
        "-p", "grader.plugin", "-p", "no:terminal", "-p", "no:cacheprovider",
        "-o", "python_files=check_*.py", "-o", "python_functions=check_*",
        "--submission", str(sample.path / "submission"), *extra)


def test_the_scoreboard_shows_points_then_each_failure_explained(sample: pytest.Pytester) -> None:
    result = run(sample)
    result.stdout.fnmatch_lines([
        "Scoreboard for *submission/",
        "  00_sample         1/7   [#.........] 3 of 4 checks fail",
        "  total             1/7*",
        "00_sample · server echoes (0/2)",
        "    what happened: it replied b'x'",
        "    expected:      b'y'",
        "    where to look: server.py:3: x",
        "    hint:          echo it",
        "00_sample · client's own name (0/3)",
        "    not started yet: the program still raises NotImplementedError",
        "00_sample · client closes (0/1)",
        "    not run: your client is not started",
    ])
    assert result.ret == 1


def test_results_json_scores_every_check(sample: pytest.Pytester) -> None:
    run(sample, "--grade-json", str(sample.path / "out" / "results.json"))
    results = json.loads((sample.path / "out" / "results.json").read_text())
    assert results["score"] == 1
    assert [(t["name"], t["score"], t["max_score"], t["status"]) for t in results["tests"]] == [
        ("00_sample: server starts", 1, 1, "passed"),
        ("00_sample: server echoes", 0, 2, "failed"),
        ("00_sample: client's own name", 0, 3, "failed"),
        ("00_sample: client closes", 0, 1, "failed"),
    ]


def test_a_failed_gate_check_stops_the_programs_later_checks(sample: pytest.Pytester) -> None:
    sample.makepyfile(check_00_sample=SAMPLE_CHECKS.replace(
        "def check_server_starts(harness):\n    pass",
        "def check_server_starts(harness):\n"
        "    raise CheckFailed(Diagnosis('no listen', 'a listen', [], ''))"))
    result = run(sample)
    result.stdout.fnmatch_lines([
        "00_sample · server echoes (0/2)",
        "    not run: blocked by 'server starts'",
    ])


HANGING_CHECKS = '''
from grader.diagnosis import CheckFailed, Diagnosis
from grader.plugin import check

STEP = "00_sample"


@check(points=1, program="server")
def check_server_echoes(harness):
    raise CheckFailed(Diagnosis("no reply", "a reply", [], ""), hung="server")


@check(points=1, program="server", needs=("server echoes",))
def check_server_echoes_twice(harness):
    pass


@check(points=1, program="server", needs=("server echoes twice",))
def check_server_echoes_thrice(harness):
    pass


@check(points=1, program="server")
def check_server_sleeps_when_idle(harness):
    pass
'''


def test_a_hung_check_stops_only_the_checks_that_need_it(sample: pytest.Pytester) -> None:
    sample.makepyfile(check_00_sample=HANGING_CHECKS)
    run(sample, "--grade-json", str(sample.path / "results.json"))
    results = json.loads((sample.path / "results.json").read_text())
    assert [(t["name"], t["status"], t["output"].splitlines()[0]) for t in results["tests"]
            if t["status"] != "passed"] == [
        ("00_sample: server echoes", "failed", "what happened: no reply"),
        ("00_sample: server echoes twice", "failed",
         "not run: blocked by 'server echoes', where your server stopped answering"),
        ("00_sample: server echoes thrice", "failed",
         "not run: blocked by 'server echoes', where your server stopped answering"),
    ]


def test_a_check_that_needs_no_earlier_check_of_its_step_is_refused(
        sample: pytest.Pytester) -> None:
    sample.makepyfile(check_00_sample=HANGING_CHECKS.replace(
        'needs=("server echoes twice",)', 'needs=("server echoes twise",)'))
    result = run(sample)
    assert result.ret != 0
    assert "needs 'server echoes twise', which is not a check of step 00_sample" in (
        result.stdout.str() + result.stderr.str())


OVERRUNNING_CHECKS = '''
import time

from grader.plugin import check

STEP = "00_sample"


@check(points=1, program="server")
def check_server_starts(harness):
    pass


@check(points=2, program="server")
def check_server_never_ends(harness):
    time.sleep(60)


@check(points=3, program="client")
def check_client_prints(harness):
    pass
'''


def test_a_check_past_its_time_limit_is_scored_where_the_limit_ends_its_process(
        sample: pytest.Pytester) -> None:
    # pytest-timeout's thread method (the one Windows has) ends the whole
    # process running the check: it must cost that check only.
    sample.makepyfile(check_00_sample=OVERRUNNING_CHECKS)
    result = run(sample, "-p", "xdist.plugin", "-n", "1", "-p", "pytest_timeout",
                 "--timeout=2", "--timeout-method=thread",
                 "--grade-json", str(sample.path / "results.json"))
    results = json.loads((sample.path / "results.json").read_text())
    assert [(t["name"], t["score"], t["status"]) for t in results["tests"]] == [
        ("00_sample: server starts", 1, "passed"),
        ("00_sample: server never ends", 0, "failed"),
        ("00_sample: client prints", 3, "passed"),
    ]
    assert "the grader could not finish this check" in results["tests"][1]["output"]
    assert result.ret == 1


def test_every_check_passing_is_exit_status_0_even_with_a_check_skipped(
        sample: pytest.Pytester) -> None:
    sample.makepyfile(check_00_sample='''
import pytest
from grader.plugin import check

STEP = "00_sample"


@check(points=1, program="server")
def check_server_starts(harness):
    pass


@check(points=1, program="server")
def check_needs_a_compiler(harness):
    pytest.skip("no C compiler found")
''')
    result = run(sample)
    result.stdout.fnmatch_lines(["Every check passes. Well done!"])
    assert result.ret == 0


def test_a_cleanup_that_fails_is_the_graders_error_not_a_pass(
        sample: pytest.Pytester) -> None:
    sample.makepyfile(check_00_sample='''
from grader.plugin import check

STEP = "00_sample"


@check(points=1, program="server")
def check_server_starts(harness):
    def broken():
        raise RuntimeError("a close that failed")
    harness.on_close(broken)
''')
    result = run(sample)
    result.stdout.fnmatch_lines([
        "grader error: a check's cleanup failed: *check_server_starts*a close that failed*"])
    assert result.ret == 3
