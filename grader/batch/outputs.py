"""The batch's class-wide files, from the outcomes: grades.csv and the report's summary.

Plain data in, text or dicts out; `write_class_files` is the one place that
touches the disk, atomically, so they can be rewritten after every submission.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from grader.batch.html_report import render_report
from grader.batch.job import NOT_GRADED, Outcome
from grader.files import write_atomically


def column(step: str, extra: bool) -> str:
    return f"extra: {step}" if extra else step


def columns(catalogue: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """Each step (the kit's, then the instructor's extra ones) with its maximum."""
    totals: dict[str, int] = {}
    for entry in sorted(catalogue, key=lambda entry: (entry["extra"], entry["step"])):
        name = column(entry["step"], entry["extra"])
        totals[name] = totals.get(name, 0) + int(entry["max_points"])
    return list(totals.items())


def step_points(outcome: Outcome) -> dict[str, int]:
    points: dict[str, int] = {}
    for check in outcome.checks:
        name = column(check.step, check.extra)
        points[name] = points.get(name, 0) + check.points
    return points


def grades_csv(outcomes: list[Outcome], catalogue: list[dict[str, Any]]) -> str:
    steps = columns(catalogue)
    maximum = sum(most for _, most in steps)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "status", *(name for name, _ in steps), "total", "max_score",
                     "detail"])
    for outcome in sorted(outcomes, key=lambda outcome: outcome.name):
        points = step_points(outcome)
        writer.writerow([_no_formula(outcome.name), outcome.status,
                         *(points.get(name, 0) for name, _ in steps),
                         outcome.points, maximum, _no_formula(outcome.detail)])
    return buffer.getvalue()


def _no_formula(text: str) -> str:
    # A cell starting with = + - @ is a formula to a spreadsheet: a student's
    # folder name must not run as one on the instructor's machine.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def summary(outcomes: list[Outcome], catalogue: list[dict[str, Any]], isolation: str,
            started: datetime) -> dict[str, Any]:
    steps = columns(catalogue)
    maximum = sum(most for _, most in steps)
    # One pass over every result: the summary is rebuilt after each student,
    # and a search per check would cost checks x students x checks each time.
    graded: Counter[tuple[str, str, bool]] = Counter()
    failed: Counter[tuple[str, str, bool]] = Counter()
    for outcome in outcomes:
        for check in outcome.checks:
            if check.status != NOT_GRADED:
                key = (check.step, check.name, check.extra)
                graded[key] += 1
                failed[key] += not check.passed
    checks = []
    for entry in catalogue:
        key = (entry["step"], entry["name"], entry["extra"])
        checks.append({**entry, "graded": graded[key], "failed": failed[key]})
    return {
        "title": f"Batch grading: {started.astimezone():%Y-%m-%d %H:%M}",
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "isolation": isolation,
        "max_score": maximum,
        "steps": [{"step": name, "max_points": most} for name, most in steps],
        "students": [{"name": outcome.name, "status": outcome.status, "score": outcome.points,
                      "max_score": maximum, "steps": step_points(outcome),
                      "detail": outcome.detail}
                     for outcome in sorted(outcomes, key=lambda outcome: outcome.name)],
        "checks": checks,
    }


def write_class_files(out: Path, outcomes: list[Outcome], catalogue: list[dict[str, Any]],
                      isolation: str, started: datetime) -> None:
    write_atomically(out / "grades.csv", grades_csv(outcomes, catalogue))
    write_atomically(out / "report.html",
                     render_report(summary(outcomes, catalogue, isolation, started)))
