"""The page an instructor opens after a batch: DIR/report.html.

`render_report(summary)` turns the batch summary into one self-contained HTML page; it is the
only entry point the rest of the grader uses. It is pure: plain data in, text out, no file or
socket. This module assembles the page (its text, table, style and script); the two SVG charts
are drawn by html_charts.py. The summary is a dict of plain data::

    {
      "title": "Batch grading: 2026-11-25 12:00",
      "generated_at": "2026-11-25T12:00:00+00:00",
      "isolation": "bubblewrap sandbox: no network but loopback, ...",   # how student code ran
      "max_score": 102,
      "steps": [{"step": "01_hello", "max_points": 11}, ...],   # in order; a private extra
                                                                # check is a step too, e.g.
                                                                # "extra: 05_event_loop"
      "students": [{"name": "alice", "status": "ok", "score": 100, "max_score": 102,
                    "steps": {"01_hello": 11, ...}, "detail": ""}, ...],
      "checks": [{"step": "01_hello", "name": "check_server_listens", "max_points": 1,
                  "extra": false, "graded": 28, "failed": 3}, ...],
    }

A student's status is "ok" (graded), "timed-out" (the whole submission ran past its time limit;
partial results kept), "crashed" (grading it failed; score 0) or "invalid" (not gradable input:
empty archive, path traversal, wrong layout, not an archive; score 0; "detail" says why in one
line). A check's "graded" counts the students whose run included it, "failed" those of them who
did not pass it.

The page shows, top to bottom: the title, when, and the isolation used (first, in a box: the
instructor must know how student code ran); counts per status; the score distribution of the
graded students (ok and timed-out) as a histogram with mean and median; per check, the share of
the class that failed it, grouped by step, coloured by how many struggled, with the hardest
listed first; the table of students, sortable by any column.

Why it is built this way:
- Every string from the summary is escaped where it enters the page: student names come from
  folder names and can be hostile (`<script>...`).
- Charts are inline SVG (drawn in html_charts.py), so they show without JavaScript; the only
  script sorts the table. A Content-Security-Policy allows exactly that script and that
  stylesheet (by hash) and no network at all, so even an escaping mistake could neither run code
  nor load anything.
"""

from __future__ import annotations

import base64
import hashlib
import statistics
from collections import Counter
from html import escape
from typing import Any

from grader.batch.html_charts import (
    STRUGGLE_SHARE,
    TROUBLE_SHARE,
    check_chart_svg,
    failure_share,
    failure_text,
    points,
    score_histogram_svg,
    step_column,
)

STATUS_MEANINGS = {
    "ok": "graded",
    "timed-out": "ran past its time limit; partial results kept",
    "crashed": "grading it failed; score 0",
    "invalid": "not gradable input; score 0",
}
# Crashed and invalid submissions score 0 for reasons that say nothing about the class's skills.
GRADED_STATUSES = ("ok", "timed-out")
HARDEST_SHOWN = 5

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 84rem;
  padding: 0 1rem; color: #1d2733; line-height: 1.4; }
h1 { margin-bottom: 0.2rem; }
h2 { margin-top: 2.2rem; border-bottom: 1px solid #d5dbe2; }
.when { color: #55606c; margin-top: 0; }
.isolation { border: 2px solid #2c6e49; border-left-width: 0.6rem; background: #eef7f0;
  padding: 0.7rem 1rem; font-size: 1.05rem; }
.isolation.missing { border-color: #b03a2e; background: #fbeeec; }
.counts { display: flex; gap: 0.8rem; flex-wrap: wrap; }
.count { border: 1px solid #d5dbe2; border-radius: 0.4rem; padding: 0.5rem 1rem; min-width: 9rem; }
.count b { display: block; font-size: 1.6rem; }
.count small { color: #55606c; }
svg { max-width: 100%; height: auto; display: block; }
svg text { font-family: system-ui, sans-serif; font-size: 12px; fill: #1d2733; }
.note { color: #55606c; }
.empty { font-style: italic; color: #55606c; }
/* The table scrolls in its own box, so its header stays in sight among 1,000 rows. */
.scroll { overflow: auto; max-height: 85vh; width: fit-content; max-width: 100%;
  border: 1px solid #e3e7ec; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #e3e7ec; padding: 0.25rem 0.5rem; text-align: center; }
th { position: sticky; top: 0; background: #f4f6f8; vertical-align: bottom; }
th button { font: inherit; font-weight: bold; border: 0; background: none; cursor: pointer; }
th[aria-sort="ascending"] button::after { content: " \\25B2"; }
th[aria-sort="descending"] button::after { content: " \\25BC"; }
td.name, td.detail, td.status, th.text { text-align: left; }
td.name { overflow-wrap: anywhere; min-width: 8rem; max-width: 16rem; font-weight: 600; }
td.status { white-space: nowrap; }
td.total { white-space: nowrap; }
td.detail { min-width: 12rem; max-width: 28rem; overflow-wrap: anywhere; color: #55606c; }
.status-ok { color: #2c6e49; }
.status-timed-out { color: #a65c00; }
.status-crashed, .status-invalid { color: #b03a2e; }
.extra-tag { font-size: 0.8em; color: #6a4c93; border: 1px solid #6a4c93; border-radius: 0.3em;
  padding: 0 0.25em; }
"""

# Sorts the student table by the clicked column: numbers by value (cells carry data-sort),
# the rest as text. It reads textContent only, so it never turns a name into markup.
SORT_SCRIPT = """
function sortTable(header, column) {
  const body = header.closest("table").tBodies[0];
  const descending = header.getAttribute("aria-sort") === "ascending";
  for (const other of header.parentElement.children) other.removeAttribute("aria-sort");
  header.setAttribute("aria-sort", descending ? "descending" : "ascending");
  const key = (row) => row.cells[column].dataset.sort ?? row.cells[column].textContent;
  const rows = Array.from(body.rows);
  const numeric = rows.every((row) => key(row) !== "" && !isNaN(Number(key(row))));
  rows.sort((a, b) => numeric ? Number(key(a)) - Number(key(b)) : key(a).localeCompare(key(b)));
  if (descending) rows.reverse();
  body.append(...rows);
}
document.querySelectorAll("table.sortable th").forEach((header, column) => {
  header.querySelector("button").addEventListener("click", () => sortTable(header, column));
});
"""


def render_report(summary: dict[str, Any]) -> str:
    """The whole report page for one batch summary (schema in the module docstring)."""
    title = str(summary.get("title") or "Batch grading")
    students: list[dict[str, Any]] = summary.get("students") or []
    sections = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="when">Generated {escape(str(summary.get("generated_at", "")))}</p>',
        isolation_banner(summary.get("isolation")),
        status_counts_section(students),
        score_section(students, summary.get("max_score") or 0),
        checks_section(summary.get("steps") or [], summary.get("checks") or []),
        students_section(summary.get("steps") or [], students),
    ]
    return page(title, "\n".join(sections))


def page(title: str, body: str) -> str:
    """A complete HTML document whose policy allows our own style and script and nothing else."""
    policy = (
        f"default-src 'none'; style-src '{csp_hash(STYLE)}'; script-src '{csp_hash(SORT_SCRIPT)}'"
    )
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\n"
        f"<script>{SORT_SCRIPT}</script>\n</body>\n</html>\n"
    )


def csp_hash(inline_text: str) -> str:
    digest = hashlib.sha256(inline_text.encode()).digest()
    return "sha256-" + base64.b64encode(digest).decode()


def isolation_banner(isolation: object) -> str:
    if not isolation:
        return (
            '<div class="isolation missing" id="isolation"><b>Isolation: not recorded.</b> '
            "The summary does not say how student code was contained.</div>"
        )
    return f'<div class="isolation" id="isolation"><b>Isolation:</b> {escape(str(isolation))}</div>'


def status_counts_section(students: list[dict[str, Any]]) -> str:
    counts = Counter(str(student.get("status", "")) for student in students)
    # The four known statuses always show, even at 0; an unknown one still gets counted.
    statuses = list(STATUS_MEANINGS) + sorted(set(counts) - set(STATUS_MEANINGS))
    boxes = "".join(
        f'<div class="count {status_class(status)}" data-status="{escape(status)}">'
        f"<b>{counts[status]}</b>{escape(status)}<br>"
        f"<small>{escape(STATUS_MEANINGS.get(status, 'unknown status'))}</small></div>"
        for status in statuses
    )
    return f'<h2>Submissions: {len(students)}</h2>\n<div class="counts">{boxes}</div>'


def status_class(status: str) -> str:
    # Class names come from our own list only: a status string never becomes markup.
    return f"status-{status}" if status in STATUS_MEANINGS else "status-other"


# --- the score distribution ---------------------------------------------------------------


def score_section(students: list[dict[str, Any]], max_score: float) -> str:
    scores = graded_scores(students)
    heading = "<h2>Score distribution</h2>"
    if max_score <= 0:
        return f'{heading}<p class="empty">The maximum score is 0: there is nothing to chart.</p>'
    if not scores:
        return f'{heading}<p class="empty">No graded submissions (ok or timed-out) to chart.</p>'
    mean, median = statistics.fmean(scores), statistics.median(scores)
    caption = (
        f'<p class="note">{len(scores)} graded submission(s) (ok or timed-out; crashed and '
        f"invalid ones are left out). Mean {points(mean)}, median {points(median)} "
        f"of {points(max_score)}.</p>"
    )
    return heading + caption + score_histogram_svg(scores, max_score, mean, median)


def graded_scores(students: list[dict[str, Any]]) -> list[float]:
    return [float(s.get("score") or 0) for s in students if s.get("status") in GRADED_STATUSES]


# --- which checks the class failed --------------------------------------------------------


def checks_section(steps: list[dict[str, Any]], checks: list[dict[str, Any]]) -> str:
    heading = "<h2>Checks the class failed</h2>"
    if not checks:
        return f'{heading}<p class="empty">No checks in this batch.</p>'
    legend = (
        '<p class="note">The share of the students graded on each check who did not pass it. '
        f"Red: {STRUGGLE_SHARE:.0%} or more failed; orange: {TROUBLE_SHARE:.0%} or more; "
        '<span class="extra-tag">extra</span> marks a private extra check.</p>'
    )
    return heading + hardest_checks_list(checks) + legend + check_chart_svg(steps, checks)


def hardest_checks_list(checks: list[dict[str, Any]]) -> str:
    failing = [c for c in checks if (failure_share(c) or 0) > 0]
    if not failing:
        return '<p class="note">No check failed for anyone graded on it.</p>'
    failing.sort(key=lambda c: (failure_share(c) or 0, c.get("failed") or 0), reverse=True)
    items = "".join(
        f"<li><b>{escape(str(c.get('name', '')))}</b> ({escape(step_column(c))})"
        f"{extra_tag(c)}: {failure_text(c)}</li>"
        for c in failing[:HARDEST_SHOWN]
    )
    return f'<p>The class struggled most with:</p><ol id="hardest-checks">{items}</ol>'


def extra_tag(check: dict[str, Any]) -> str:
    return ' <span class="extra-tag">extra</span>' if check.get("extra") else ""


# --- the students -------------------------------------------------------------------------


def students_section(steps: list[dict[str, Any]], students: list[dict[str, Any]]) -> str:
    heading = "<h2>Students</h2>"
    if not students:
        return f'{heading}<p class="empty">No submissions in this batch.</p>'
    step_names = [str(s.get("step", "")) for s in steps]
    step_headers = "".join(
        f'<th><button type="button">{breakable(name)}<br>'
        f'<small>of {escape(str(s.get("max_points", "")))}</small></button></th>'
        for name, s in zip(step_names, steps, strict=True)
    )
    header = (
        '<tr><th class="text"><button type="button">student</button></th>'
        '<th class="text"><button type="button">status</button></th>'
        f'{step_headers}<th><button type="button">total</button></th>'
        '<th class="text"><button type="button">detail</button></th></tr>'
    )
    body = "\n".join(student_row(student, step_names) for student in students)
    return (
        f'{heading}<p class="note">Click a column to sort.</p><div class="scroll">'
        f'<table class="sortable" id="students"><thead>{header}</thead>'
        f"<tbody>\n{body}\n</tbody></table></div>"
    )


def breakable(step_name: str) -> str:
    # Step names have no spaces; letting them break after "_" keeps the step columns narrow.
    return escape(step_name).replace("_", "_<wbr>")


def student_row(student: dict[str, Any], step_names: list[str]) -> str:
    status = str(student.get("status", ""))
    step_points = student.get("steps") or {}
    cells = [
        f'<td class="name">{escape(str(student.get("name", "")))}</td>',
        f'<td class="status {status_class(status)}">{escape(status)}</td>',
    ]
    for step in step_names:
        got = step_points.get(step)
        # A step without points (an invalid archive, say) sorts below a real 0.
        cells.append(
            '<td data-sort="-1">–</td>'
            if got is None
            else f'<td data-sort="{float(got)}">{escape(points(got))}</td>'
        )
    score = float(student.get("score") or 0)
    total = f"{points(score)} / {points(float(student.get('max_score') or 0))}"
    cells.append(f'<td class="total" data-sort="{score}">{escape(total)}</td>')
    cells.append(f'<td class="detail">{escape(str(student.get("detail") or ""))}</td>')
    return "<tr>" + "".join(cells) + "</tr>"
