"""What the Gradescope archive's run_autograder runs for each submission.

Gradescope shows the student results.json and nothing else, so whatever
happens (nothing to grade, the grader crashing or running too long) this
leaves a valid results.json behind: a score of 0 and, in plain words, what
was wrong. Details for the instructor go to stdout, which Gradescope shows
to instructors.

Environment: AUTOGRADER_ROOT (default /autograder, holding source/,
submission/ and results/) and AUTOGRADER_SECONDS (the bound on grading).
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from grader.containment import become_subreaper, end_adopted_orphans
from grader.files import write_atomically
from grader.layout import find_step_root, known_steps
from grader.platforms.points import step_points

SOURCE = Path(__file__).resolve().parent.parent.parent
DEFAULT_ROOT = "/autograder"
# Below Gradescope's default limit of 10 minutes: the student then reads our
# message, not Gradescope's bare "timed out".
DEFAULT_SECONDS = 480.0
SETTLE_SECONDS = 5.0  # for a killed grader's processes to die and their orphans to reach us

UPLOAD_ADVICE = ("Upload the contents of your exercises/ folder (the step folders "
                 f"{', '.join(known_steps()[:2])}, ...), the whole kit, or the "
                 "submission.zip that `nox -s submit` makes.")
NOT_YOUR_CODE = "This is not a problem with your code: please tell your instructor."

Results = dict[str, Any]


def failure_results(message: str) -> Results:
    """A score of 0 that says why, in the shape Gradescope expects."""
    results: Results = {"score": 0}
    try:
        results["max_score"] = sum(step_points().values())
    except (OSError, SyntaxError, ValueError):
        pass  # the message matters more than the total
    return {**results, "output": message, "tests": []}


def nothing_to_grade(submission: Path) -> str:
    names = _listing(submission)
    if not names:
        return f"Your submission is empty, so there was nothing to grade. {UPLOAD_ADVICE}"
    shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    return (f"No step folder ({', '.join(known_steps())}) was found in your submission, "
            f"which holds: {shown}. {UPLOAD_ADVICE}")


def graded_summary(submission: Path, step_root: Path) -> str:
    """The words above the checks: which folder was graded, which steps were missing."""
    place = step_root.relative_to(submission).as_posix()
    where = "at the top of your submission" if place == "." else f"in {place}/ of your submission"
    lines = [f"Graded the step folders {where}."]
    missing = [step for step in known_steps() if not (step_root / step).is_dir()]
    if missing:
        lines.append(f"Not in your submission, so 0 points: {', '.join(missing)}.")
    return "\n".join(lines)


def read_results(path: Path) -> Results | None:
    """The grader's results.json, or None unless it is whole and well-formed."""
    try:
        results = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if (not isinstance(results, dict) or not isinstance(results.get("tests"), list)
            or not isinstance(results.get("score"), int | float)):
        return None
    return results


def unscored_steps(results: Results) -> list[str]:
    """Steps the grader knows but reported no check of."""
    names = [str(test.get("name", "")) for test in results["tests"] if isinstance(test, dict)]
    scored = {part for name in names for part in name.split(": ")}
    return [step for step in known_steps() if step not in scored]


def usable_cpus() -> int:
    """The cores this container may use: its CPU quota, not the host's core count."""
    cpus = len(os.sched_getaffinity(0))
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            cpus = min(cpus, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return cpus


def run_grader(step_root: Path, json_path: Path, log: Path, seconds: float) -> int | None:
    """The grader's exit status, or None when it ran past `seconds` and was stopped."""
    # Student programs run in process groups of their own: should the grader
    # be killed, they become our orphans, and we end them.
    become_subreaper()
    # Twice the cores, as the grader's own default, but of the cores we really have.
    command = [sys.executable, "-m", "grader", "--submission", str(step_root),
               "--json", str(json_path), "--jobs", str(2 * usable_cpus())]
    with open(log, "w") as output:
        process = subprocess.Popen(command, cwd=SOURCE, stdout=output, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            exit_code: int | None = process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            _kill_group(process.pid)
            process.wait()
            exit_code = None
    _end_orphans(process.pid)
    return exit_code


def _kill_group(group: int) -> None:
    try:
        os.killpg(group, signal.SIGKILL)
    except ProcessLookupError:
        pass  # it ended on its own in the meantime


def _end_orphans(group: int) -> None:
    """End what the grader leaves behind once its process group is gone.

    Its workers' programs reach us as orphans only when the workers have died,
    and their own children only when they have: sweep until a sweep finds
    nothing and the group is empty, within a bound."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        ended = end_adopted_orphans()
        if not ended and not _group_alive(group):
            return
        time.sleep(0.05)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process took the number: alive, though not ours
    return True


def grade(submission: Path, seconds: float) -> Results:
    step_root = find_step_root(submission) if submission.is_dir() else None
    if step_root is None:
        return failure_results(nothing_to_grade(submission))
    with tempfile.TemporaryDirectory(prefix="gradescope-") as scratch:
        json_path, log = Path(scratch) / "results.json", Path(scratch) / "grader.log"
        exit_code = run_grader(step_root, json_path, log, seconds)
        print(log.read_text(errors="replace"), flush=True)
        results = read_results(json_path)
    if exit_code is None:
        print(f"gradescope_grade: the grader ran past {seconds:.0f} s and was stopped", flush=True)
        return failure_results(
            f"Grading did not finish within {_duration(seconds)} and was stopped, so no score "
            "could be given. Submit again; if this happens again, tell your instructor.")
    unscored = unscored_steps(results) if results is not None else []
    if unscored:
        # A check module that cannot be imported drops its step (the grader exits 3): a
        # score without those points would look fair and not be.
        print(f"gradescope_grade: no results for {', '.join(unscored)}", flush=True)
        return failure_results(
            f"The grader could not run the checks of {', '.join(unscored)}, so no fair score "
            f"could be given. {NOT_YOUR_CODE}")
    if exit_code not in (0, 1) or results is None:
        print(f"gradescope_grade: the grader exited with status {exit_code}, "
              f"results {'unreadable' if results is None else 'present'}", flush=True)
        return failure_results(
            f"The grader stopped before it could score your submission (exit status "
            f"{exit_code}). {NOT_YOUR_CODE}")
    results["output"] = graded_summary(submission, step_root)
    return results


def write_results(results: Results, path: Path) -> None:
    """Write atomically: Gradescope never reads half a file."""
    write_atomically(path, json.dumps(results, indent=2))


def main() -> int:
    root = Path(os.environ.get("AUTOGRADER_ROOT", DEFAULT_ROOT))
    try:
        results = grade(root / "submission", _seconds())
    except Exception:
        # The last line of defence: the instructor gets the traceback, the student words.
        traceback.print_exc(file=sys.stdout)
        results = failure_results(
            f"The autograder failed before it could grade your submission. {NOT_YOUR_CODE}")
    write_results(results, root / "results" / "results.json")
    return 0


def _seconds() -> float:
    try:
        seconds = float(os.environ.get("AUTOGRADER_SECONDS", DEFAULT_SECONDS))
    except ValueError:
        return DEFAULT_SECONDS
    return seconds if seconds > 0 else DEFAULT_SECONDS


def _duration(seconds: float) -> str:
    amount, unit = (round(seconds / 60), "minute") if seconds >= 120 else (round(seconds), "second")
    return f"{amount} {unit}{'' if amount == 1 else 's'}"


def _listing(folder: Path) -> list[str]:
    try:
        return sorted(child.name + ("/" if child.is_dir() else "") for child in folder.iterdir())
    except OSError:
        return []


if __name__ == "__main__":
    sys.exit(main())
