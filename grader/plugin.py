"""The grader's pytest plugin, in the order pytest calls it.

Checks are ordinary pytest functions in `grader/checks/check_NN_name.py`,
each decorated with `@check(points=..., program=...)`. This plugin

1. adds the `--submission` and `--grade-json` options;
2. gives each check a `harness` for the step it belongs to, unless an
   earlier check showed the program is not started or cannot start (a gate),
   or a check it builds on (its `needs`) hung, in which case it is "not run"
   instead of waiting out its own timeout to say the same; every other check
   gets a fresh program, so one failure costs one check;
3. turns each check's outcome into a scored `CheckResult`, carried by the
   test report (so it works the same when pytest-xdist runs checks in parallel);
4. prints the scoreboard and writes Gradescope's results.json at the end.
"""

from __future__ import annotations

import faulthandler
import json
import os
import re
import sys
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

import pytest

from grader import containment
from grader.diagnosis import CheckFailed, Diagnosis, NotStarted, StepBlocked
from grader.harness import Harness
from grader.report import CheckResult, Scoreboard, write_gradescope_json

F = TypeVar("F", bound=Callable[..., Any])


def check(points: int, program: str, gate: bool = False, name: str = "",
          needs: tuple[str, ...] = ()) -> Callable[[F], F]:
    """Declare a check: its points, the program it tests (server, client or both),
    whether the program's other checks depend on it passing (gate), its name when
    the function's name cannot spell it (default: the function's name), and the
    checks of its step it builds on (`needs`: if one of them hung, so would this)."""
    return pytest.mark.check(points=points, program=program, gate=gate, name=name,
                             needs=needs)


# -- 1. options -------------------------------------------------------------

def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("grader")
    group.addoption("--submission", default="exercises", help="the tree of step folders to grade")
    group.addoption("--grade-json", default=None, help="write Gradescope results.json here")
    group.addoption("--results-fd", type=int, default=None,
                    help="also write every check's result, as JSON, to this inherited descriptor")
    group.addoption("--extra-checks", default=None,
                    help="a folder of the instructor's private checks, marked as extra")
    group.addoption("--list-checks", action="store_true",
                    help="print the checks that would run, as JSON lines, and run none")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "check(points, program, gate): a graded check")
    containment.become_subreaper()  # in each process that runs checks, xdist workers too
    if os.environ.get("GRADER_SEALED") == "1":
        containment.seal_from_students()
    scoreboard = Scoreboard(Path(config.getoption("--submission")).resolve())
    config.stash[_SCOREBOARD] = scoreboard
    config.pluginmanager.register(ResultCollector(scoreboard), "grader-results")


_SCOREBOARD = pytest.StashKey[Scoreboard]()
_RESULT = "grader-result"
_IDENTITY = "grader-check"  # sent at setup: a check whose run is lost is still scored
_WALLS = "grader-walls"


def _step_of(item: pytest.Item) -> str:
    return str(item.module.STEP)  # type: ignore[attr-defined]


def _marker(item: pytest.Item) -> dict[str, Any]:
    marker = item.get_closest_marker("check")
    if marker is None:
        raise pytest.UsageError(f"{item.nodeid} has no @check(points=..., program=...)")
    return dict(marker.kwargs)


def _check_name(item: pytest.Item) -> str:
    return str(_marker(item).get("name") or item.name.removeprefix("check_").replace("_", " "))


def _is_extra(item: pytest.Item) -> bool:
    extra = item.config.getoption("--extra-checks")
    return bool(extra) and Path(str(item.path)).resolve().is_relative_to(Path(extra).resolve())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _refuse_unknown_needs(items)
    # The catalogue lets a batch know every check's points even when a run
    # loses some (a submission that kills the grading process, say).
    if not config.getoption("--list-checks"):
        return
    entries = [{"step": _step_of(item), "name": _check_name(item),
                "max_points": _marker(item)["points"], "extra": _is_extra(item)}
               for item in items]
    items.clear()
    try:
        print("\n".join(map(json.dumps, entries)), flush=True)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _refuse_unknown_needs(items: list[pytest.Item]) -> None:
    """A misspelt `needs` would silently make a check run after a hang: refuse it."""
    earlier: set[tuple[str, str]] = set()
    for item in items:
        step = _step_of(item)
        for needed in _marker(item).get("needs", ()):
            if (step, needed) not in earlier:
                raise pytest.UsageError(f"{item.nodeid} needs {needed!r}, which is not a "
                                        f"check of step {step} that runs before it")
        earlier.add((step, _check_name(item)))


# -- 2. running a check ------------------------------------------------------

@pytest.fixture
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    item = request.node
    scoreboard = request.config.stash[_SCOREBOARD]
    marker = _marker(item)
    reason = scoreboard.blocked(_step_of(item), marker["program"], marker.get("needs", ()))
    if reason:
        raise StepBlocked(reason)
    harness = Harness(scoreboard.submission / _step_of(item), tmp_path)
    try:
        yield harness
    finally:
        harness.close()


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> bool | None:
    """pytest-timeout's thread method (the one Windows has) writes through the
    terminal plugin, which grading switches off; this timer does the same without
    it: it ends the process running the overrunning check, and the run scores it."""
    if settings.method != "thread":
        return None  # pytest-timeout's own SIGALRM
    timer = threading.Timer(settings.timeout, _end_overrunning_check,
                            args=(item.nodeid, settings.timeout))
    timer.daemon = True
    timer.start()
    item.cancel_timeout = timer.cancel  # type: ignore[attr-defined]  # pytest-timeout's name
    return True


def _end_overrunning_check(nodeid: str, timeout: float) -> None:
    sys.stderr.write(f"grader: {nodeid} ran past its {timeout:g} s limit; "
                     f"ending the process that runs it\n")
    faulthandler.dump_traceback(sys.stderr)
    sys.stderr.flush()
    os._exit(1)


# -- 3. scoring --------------------------------------------------------------

@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
        item: pytest.Item, call: pytest.CallInfo[None],
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if call.when == "setup":
        report.user_properties.append((_IDENTITY, _identity(item).to_json()))
    if call.when == "call" or (call.when == "setup" and not report.passed):
        _score(item, call, report)
    harness = getattr(item, "funcargs", {}).get("harness")
    if call.when == "teardown" and isinstance(harness, Harness):
        walls = {"programs": harness.walls(), "ending": containment.walls()}
        report.user_properties.append((_WALLS, json.dumps(walls)))
    return report


def _identity(item: pytest.Item) -> CheckResult:
    return CheckResult(step=_step_of(item), name=_check_name(item),
                       max_points=_marker(item)["points"], extra=_is_extra(item))


def _score(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> None:
    marker = _marker(item)
    scoreboard = item.config.stash[_SCOREBOARD]
    step, program = _step_of(item), marker["program"]
    result = _identity(item)
    error = call.excinfo.value if call.excinfo else None
    if error is None and report.passed:
        result.points = marker["points"]
        result.status = "passed"
    elif report.skipped:
        # e.g. no C compiler on this machine: the check does not count at all.
        result.status = "skipped"
        result.max_points = 0
        reason = str(getattr(call.excinfo.value, "msg", "")) if call.excinfo else ""
        result.diagnosis = Diagnosis(happened=f"skipped: {reason}", expected="", where=[],
                                     hint="")
    elif isinstance(error, NotStarted):
        result.status = "not started"
        scoreboard.block(step, program, "not started")
    elif isinstance(error, StepBlocked):
        result.status = "not run"
        result.diagnosis = Diagnosis(happened=f"not run: {error}", expected="", where=[], hint="")
        scoreboard.block_dependents(step, result.name, str(error))
    elif isinstance(error, CheckFailed):
        result.status = "failed"
        result.diagnosis = error.diagnosis
        if error.hung:
            # The checks built on this one would each wait out their own
            # timeout, only to say the same thing; the others still run.
            scoreboard.block_dependents(step, result.name, f"blocked by '{result.name}', where "
                                                           f"your {error.hung} stopped answering")
        if marker["gate"]:
            scoreboard.block(step, program, f"blocked by '{result.name}'")
    elif isinstance(error, OSError) and (explained := _broken_connection(item)):
        result.status = "failed"
        result.diagnosis = explained
    else:
        # A timeout of pytest-timeout, or a bug in the grader itself: never the
        # student's fault to decode, so say so plainly.
        result.status = "failed"
        result.diagnosis = Diagnosis(
            happened=f"the grader could not finish this check: {_one_line(report)}",
            expected="the check to run to its end", where=[],
            hint="run `nox -s grade` again; if it repeats, tell your instructor")
    # The result travels with the report: under pytest-xdist, checks run in
    # worker processes and only their reports reach the process that scores.
    report.user_properties.append((_RESULT, result.to_json()))


class ResultCollector:
    """Adds each scored report to the scoreboard, wherever the check ran."""

    def __init__(self, scoreboard: Scoreboard) -> None:
        self.scoreboard = scoreboard
        self.unloadable: list[str] = []  # check modules that failed to import
        self.grader_errors: list[str] = []  # a check's cleanup that failed: the grader's bug
        self._started: dict[str, CheckResult] = {}  # node id -> the check, until scored

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        # Under pytest-xdist a module that fails to import would otherwise just
        # vanish from the scoreboard, its points with it.
        if report.failed:
            module = re.search(r"'([^']+\.py)'", report.longreprtext)
            name = report.nodeid or (module.group(1) if module else "a check module")
            self.unloadable.append(f"{name}: {_one_line(report)}")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if name == _IDENTITY:
                self._started.setdefault(report.nodeid, CheckResult.from_json(str(value)))
            elif name == _RESULT:
                self._started.pop(report.nodeid, None)
                self.scoreboard.add(CheckResult.from_json(str(value)))
            elif name == _WALLS:
                walls = json.loads(str(value))
                self.scoreboard.note_walls(walls["programs"], walls["ending"])
        if report.when == "teardown" and report.failed:
            self.grader_errors.append(f"{report.nodeid}: {_one_line(report)}")
        elif report.failed and report.when not in ("setup", "call", "teardown"):
            # A worker that died running the check (pytest-timeout's thread
            # method ends the whole process): the check is still scored.
            self.score_lost(report.nodeid, "the process running it stopped before it ended "
                                           "(past its time limit, or it crashed)")

    def score_lost(self, nodeid: str, why: str) -> None:
        result = self._started.pop(nodeid, None)
        if result is None:
            return
        result.diagnosis = Diagnosis(
            happened=f"the grader could not finish this check: {why}",
            expected="the check to run to its end", where=[],
            hint="run `nox -s grade` again; if it repeats, tell your instructor")
        self.scoreboard.add(result)

    def score_every_lost_check(self) -> None:
        for nodeid in list(self._started):
            self.score_lost(nodeid, "the process running it stopped before it ended")


def _broken_connection(item: pytest.Item) -> Diagnosis | None:
    harness = getattr(item, "funcargs", {}).get("harness")
    return harness.explain_broken_connection() if isinstance(harness, Harness) else None


def _one_line(report: pytest.TestReport | pytest.CollectReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    message = str(getattr(crash, "message", "") or "")
    if crash is not None and message:
        return f"{message.splitlines()[0]} ({crash.path}:{crash.lineno})"
    text = str(report.longrepr).strip().splitlines()
    return text[-1] if text else "unknown error"


# -- 4. the report -----------------------------------------------------------

def pytest_sessionfinish(session: pytest.Session) -> None:
    # pytest's own terminal report is switched off (`-p no:terminal`): the
    # scoreboard is the whole output, and a failed check is a grade, not an error.
    config = session.config
    if hasattr(config, "workerinput"):
        return  # a pytest-xdist worker: the main process reports for all
    if config.getoption("--list-checks"):
        return
    scoreboard = config.stash[_SCOREBOARD]
    collector = config.pluginmanager.get_plugin("grader-results")
    assert isinstance(collector, ResultCollector)
    collector.score_every_lost_check()
    json_path = config.getoption("--grade-json")
    if json_path:
        write_gradescope_json(scoreboard, Path(json_path))
    results_fd = config.getoption("--results-fd")
    if results_fd is not None:
        with os.fdopen(results_fd, "w") as stream:
            json.dump([asdict(result) for result in scoreboard.results], stream)
    problems = [f"grader error: a check module could not be loaded, its points are missing: "
                f"{problem}" for problem in collector.unloadable]
    problems += [f"grader error: a check's cleanup failed: {problem}"
                 for problem in collector.grader_errors]
    # The score decides the exit status, not pytest's own bookkeeping.
    if problems:
        session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
    elif scoreboard.all_passed():
        session.exitstatus = pytest.ExitCode.OK
    else:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    try:
        print("\n".join(scoreboard.render()), flush=True)
        for problem in problems:
            print(problem, flush=True)
    except BrokenPipeError:
        # The reader went away (`| head`): the results file is written already.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
