"""Grading one submission: copy it, grade each step behind walls of its own, keep the result.

Each step is a grading run of its own (`python -m grader STEP`), in its own
sandbox and control group, several at once: whatever one step's programs do,
the other steps are graded as if it were not there. The outcome is written
last and atomically (`DIR/<student>/state.json`), after results.json and
feedback.txt: a submission whose state file matches its fingerprint is done,
so an interrupted batch resumes where it stopped.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from grader.batch.inputs import IGNORED_NAMES, InvalidSubmission, Submission, materialise
from grader.batch.isolation import ControlGroups, Walls, readable_by_run_users, run_user
from grader.diagnosis import Diagnosis
from grader.files import tree_digest, write_atomically
from grader.layout import known_steps
from grader.report import CheckResult, Scoreboard, gradescope_results

STATE_FILE = "state.json"
NOT_GRADED = "not graded"  # a check the run never reached: 0 points, and not the class's data
FEEDBACK_LIMIT_BYTES = 1024 * 1024


POLL_SECONDS = 0.1
STOP = threading.Event()  # set on Ctrl-C: every running job stops and saves nothing


class Interrupted(Exception):
    """The batch is stopping; this submission stays ungraded, to be graded next time."""


@dataclass(frozen=True)
class Settings:
    """What every job of one batch shares."""

    out: Path
    work: Path
    kit: Path
    steps: list[str]
    extra_checks: Path | None
    catalogue: list[dict[str, Any]]  # every check that should run: step, name, max_points, extra
    grader_digest: str
    step_jobs: int
    time_limit: float


@dataclass
class Outcome:
    name: str
    status: str  # ok, timed-out, crashed, invalid
    detail: str
    fingerprint: str
    seconds: float
    checks: list[CheckResult] = field(default_factory=list)
    reused: bool = False
    final: bool = True  # False: the batch itself failed; grade it again next time

    def to_json(self) -> str:
        fields = asdict(self)
        fields.pop("reused")
        fields.pop("final")
        return json.dumps(fields, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Outcome:
        fields = json.loads(text)
        checks = [CheckResult.from_dict(check) for check in fields.pop("checks")]
        return cls(**fields, checks=checks, reused=True)

    @property
    def points(self) -> int:
        return sum(check.points for check in self.checks)


def fingerprint(submission: Submission, settings: Settings) -> str:
    return tree_digest([submission.source], IGNORED_NAMES) + ":" + settings.grader_digest


def previous_outcome(submission: Submission, settings: Settings, print_: str) -> Outcome | None:
    try:
        outcome = Outcome.from_json((settings.out / submission.name / STATE_FILE).read_text())
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return outcome if outcome.fingerprint == print_ else None


def grade(submission: Submission, settings: Settings) -> Outcome:
    """Grade one submission, or return its stored outcome if nothing changed."""
    started = time.monotonic()
    try:
        print_ = fingerprint(submission, settings)
    except OSError as error:
        print_ = f"unreadable:{error}"
    stored = previous_outcome(submission, settings, print_)
    if stored is not None:
        return stored
    job = Path(tempfile.mkdtemp(prefix=f"{submission.name}-", dir=settings.work))
    try:
        try:
            root = materialise(submission, job / "copy")
        except InvalidSubmission as error:
            outcome = Outcome(submission.name, "invalid", str(error), print_, 0.0,
                              _unrun(settings, f"not graded: {error}"))
            feedback = f"Your submission could not be graded: {error}\n"
        else:
            outcome, feedback = _run(submission, root, job, settings, print_)
    except (OSError, ValueError) as error:
        # A disk full, a file the batch cannot read: this one student's row
        # says so and the batch goes on.
        detail = f"the batch could not grade it: {error}"
        outcome = Outcome(submission.name, "crashed", detail, print_, 0.0,
                          _unrun(settings, f"not graded: {detail}"), final=False)
        feedback = f"Your submission could not be graded: {detail}\n"
    finally:
        _remove(job)
    outcome.seconds = round(time.monotonic() - started, 2)
    _save(outcome, feedback, job / "copy", settings)
    return outcome


def _run(submission: Submission, root: Path, job: Path, settings: Settings,
         print_: str) -> tuple[Outcome, str]:
    """Each step in a grading run of its own, behind walls of its own: whatever
    one step's programs do (a fork bomb at the process cap, killing the
    grader), the other steps are graded as if it were not there."""
    private = settings.out / submission.name
    private.mkdir(parents=True, exist_ok=True)
    readable_by_run_users(job)
    deadline = time.monotonic() + settings.time_limit
    # Later steps take longest (several seconds of waiting each): starting them
    # first keeps every lane busy until the end.
    steps = sorted(settings.steps or known_steps(), reverse=True)
    with ThreadPoolExecutor(max_workers=settings.step_jobs) as pool:
        runs = list(pool.map(lambda step: _run_step(step, root, job, settings, private, deadline),
                             steps))
    order = {(entry["step"], entry["name"]): index
             for index, entry in enumerate(settings.catalogue)}
    checks = sorted((check for run in runs for check in _complete(run, settings)),
                    key=lambda check: order.get((check.step, check.name), len(order)))
    troubled = [run for run in runs if run.status != "ok"]
    status = next((wanted for wanted in ("timed-out", "crashed")
                   if any(run.status == wanted for run in troubled)), "ok")
    detail = "; ".join(f"{run.step}: {run.detail}" for run in troubled)
    feedback = "\n".join(Scoreboard(root, checks).render()) + "\n"
    if troubled:
        feedback += "".join(f"\nGrading of {run.step} stopped early: {run.detail}\n"
                            f"{run.log[-2000:]}\n" for run in troubled)
    return Outcome(submission.name, status, detail, print_, 0.0, checks), feedback


@dataclass
class StepRun:
    step: str
    status: str  # ok, timed-out, crashed
    detail: str
    checks: list[CheckResult]
    log: str  # what the grading run printed: the scoreboard, or why it stopped


def _run_step(step: str, root: Path, job: Path, settings: Settings, private: Path,
              deadline: float) -> StepRun:
    groups = ControlGroups(f"sockets-kit-{os.getpid()}-{job.name}-{step}")
    groups.create()
    walls = Walls(job_folder=job, kit=settings.kit, groups=groups,
                  extra_checks=settings.extra_checks, user=run_user(settings.kit))
    # Results and output go to files outside the sandbox, through descriptors
    # only the sealed grader holds: nothing the student runs can reach them.
    try:
        with tempfile.TemporaryFile(dir=private) as results, \
                tempfile.TemporaryFile(dir=private) as output:
            command = walls.command(_grader_command(step, root, settings, results.fileno()))
            status, detail = _execute(command, results, output, walls, settings, deadline)
            results.seek(0)
            raw_results = results.read()
            output.seek(0)
            log = output.read(FEEDBACK_LIMIT_BYTES).decode(errors="replace")
    finally:
        groups.kill_all_and_remove()
    checks = _parse_results(raw_results)
    if status == "ok" and checks is None:
        status, detail = "crashed", "the grading run ended without results"
    return StepRun(step, status, detail, checks or [], log)


def _grader_command(step: str, root: Path, settings: Settings, results_fd: int) -> list[str]:
    return [sys.executable, "-m", "grader", step, "--submission", str(root), "--jobs", "1",
            "--results-fd", str(results_fd),
            *(["--extra-checks", str(settings.extra_checks)] if settings.extra_checks else [])]


def _execute(command: list[str], results: Any, output: Any, walls: Walls,
             settings: Settings, deadline: float) -> tuple[str, str]:
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
        "HOME": "/tmp", "GRADER_SEALED": "1", "PYTHONDONTWRITEBYTECODE": "1",
        **({"GRADER_TIME_SCALE": os.environ["GRADER_TIME_SCALE"]}
           if "GRADER_TIME_SCALE" in os.environ else {}),
    }
    child = subprocess.Popen(
        command, cwd=settings.kit, env=environment, stdin=subprocess.DEVNULL, stdout=output,
        stderr=subprocess.STDOUT, pass_fds=(results.fileno(),), start_new_session=True,
        preexec_fn=walls.preexec())
    try:
        while child.poll() is None:
            if STOP.is_set():
                raise Interrupted
            if time.monotonic() > deadline:
                return "timed-out", f"the whole submission ran past {settings.time_limit:.0f} s"
            time.sleep(POLL_SECONDS)
    finally:
        _kill_group(child)
    if child.returncode not in (0, 1):
        return "crashed", f"the grading run ended with status {child.returncode}"
    return "ok", ""


def _kill_group(child: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        child.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def _parse_results(raw: bytes) -> list[CheckResult] | None:
    try:
        return [CheckResult.from_dict(entry) for entry in json.loads(raw)]
    except (ValueError, TypeError, KeyError):
        return None


def _complete(run: StepRun, settings: Settings) -> list[CheckResult]:
    """Every check of the step, once: a check the run lost scores 0, with why."""
    reason = {
        "timed-out": f"not graded: the whole submission ran past {settings.time_limit:.0f} s",
        "crashed": "not graded: the grading of this step stopped (something in your program "
                   "may have killed a process of the grader)",
    }.get(run.status, "not graded: a process of your program stopped the grader during "
                      "this check")
    seen = {(check.step, check.name) for check in run.checks}
    lost = [check for check in _unrun(settings, reason, skip=seen) if check.step == run.step]
    return run.checks + lost


def _unrun(settings: Settings, reason: str,
           skip: set[tuple[str, str]] | None = None) -> list[CheckResult]:
    return [CheckResult(step=entry["step"], name=entry["name"], max_points=entry["max_points"],
                        extra=entry["extra"], status=NOT_GRADED,
                        diagnosis=Diagnosis(happened=reason, expected="", where=[], hint=""))
            for entry in settings.catalogue
            if (entry["step"], entry["name"]) not in (skip or set())]


def _save(outcome: Outcome, feedback: str, copy: Path, settings: Settings) -> None:
    folder = settings.out / outcome.name
    # Paths inside the batch's temporary copy mean nothing to the student:
    # show them from the top of what they handed in.
    shown = str(copy)
    scoreboard = Scoreboard(Path(outcome.name), outcome.checks)
    write_atomically(folder / "results.json",
                     json.dumps(gradescope_results(scoreboard), indent=2).replace(shown, "."))
    write_atomically(folder / "feedback.txt", feedback.replace(shown, "."))
    if outcome.final:
        write_atomically(folder / STATE_FILE, outcome.to_json().replace(shown, "."))


def _remove(job: Path) -> None:
    def make_writable_and_retry(function: Any, path: str, _: Any) -> None:
        try:
            os.chmod(path, 0o700)
            function(path)
        except OSError:
            pass
    shutil.rmtree(job, onerror=make_writable_and_retry)
