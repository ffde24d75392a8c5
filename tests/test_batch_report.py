"""The batch report page: render_report on hand-made summaries, then the page in headless Chromium.

The browser tests drive Debian's Chromium through tests/browser.py (the DevTools Protocol over a
pipe, standard library only), so they see what a person would: the laid-out size of every bar,
whether a dialog opened, every console message and every request the page made. Without
Chromium the browser tests skip, except under CI=true, where they fail: CI must not pass without
having looked at the page.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from grader.batch.html_charts import bin_counts
from grader.batch.html_report import csp_hash, render_report
from tests.browser import (
    BrowserPage,
    DevToolsPipe,
    find_chromium,
    headless_chromium,
    processes_using,
)

HOSTILE_NAMES = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</td></tr></table><script>window.pwned = 1</script>",
]
ISOLATION = (
    "bubblewrap sandbox: no network but loopback, filesystem read-only outside the submission's"
    " copy; limits: CPU 30 s, memory 1 GiB, 64 processes, 256 open files, 4 MB per written file"
)
# Real checks of the kit, with their points: a realistic page for the browser and the eye.
CHECKS_BY_STEP = {
    "01_hello": [("check_server_listens", 1), ("check_server_echoes_one_message_then_exits", 3),
                 ("check_server_closes_both_sockets", 2), ("check_client_prints_the_reply", 2),
                 ("check_the_lessons_c_client_talks_to_your_server", 1)],
    "02_timeouts": [("check_server_drops_a_silent_client_and_serves_the_next", 2),
                    ("check_client_gives_up_when_the_server_never_replies", 2)],
    "03_messages": [("check_server_joins_a_line_split_across_recv_calls", 2),
                    ("check_server_answers_every_line_that_came_in_one_recv", 2),
                    ("check_client_sends_lines_and_prints_each_reply", 2)],
    "04_threads": [("check_server_keeps_many_clients_apart", 2),
                   ("check_server_closes_every_client_socket", 2)],
    "05_event_loop": [("check_server_runs_on_one_thread", 1),
                      ("check_server_is_not_stalled_by_a_client_that_never_reads", 1)],
    "06_streaming": [("check_server_sends_a_file_to_many_clients_at_once_in_bounded_memory", 2),
                     ("check_client_rejects_a_damaged_download", 2)],
    "07_udp": [("check_client_sends_a_lost_request_again", 2),
               ("check_client_skips_a_late_reply_to_an_earlier_request", 2)],
    "extra: 05_event_loop": [("check_server_survives_a_slowloris_of_100_clients", 2)],
}
UNGRADED_CHECK = "check_the_lessons_c_client_talks_to_your_server"  # no C compiler: graded by none


def step_max_points(step: str) -> int:
    return sum(points for name, points in CHECKS_BY_STEP[step] if name != UNGRADED_CHECK)


MAX_SCORE = sum(step_max_points(step) for step in CHECKS_BY_STEP)


def realistic_summary(student_count: int = 30, seed: int = 7) -> dict[str, Any]:
    """A class of mixed skill, a few of each status, the first three with hostile names."""
    rng = random.Random(seed)
    difficulty = {name: rng.uniform(0.0, 0.8) for checks in CHECKS_BY_STEP.values()
                  for name, _points in checks}
    tally = {name: [0, 0] for name in difficulty}  # graded, failed
    students = [simulated_student(index, rng, difficulty, tally) for index in range(student_count)]
    steps = [{"step": step, "max_points": step_max_points(step)} for step in CHECKS_BY_STEP]
    checks = [{"step": step.removeprefix("extra: "), "name": name, "max_points": points,
               "extra": step.startswith("extra: "),
               "graded": tally[name][0], "failed": tally[name][1]}
              for step, step_checks in CHECKS_BY_STEP.items() for name, points in step_checks]
    return {"title": "Batch grading: 2026-11-25 12:00",
            "generated_at": "2026-11-25T12:00:00+00:00", "isolation": ISOLATION,
            "max_score": MAX_SCORE, "steps": steps,
            "students": students, "checks": checks}


def simulated_student(index: int, rng: random.Random, difficulty: dict[str, float],
                      tally: dict[str, list[int]]) -> dict[str, Any]:
    """One student's results; the checks they ran are counted in tally as graded and failed."""
    status = ("crashed" if index % 13 == 5 else "invalid" if index % 11 == 7
              else "timed-out" if index % 9 == 4 else "ok")
    skill = rng.uniform(0.3, 1.0)
    steps_run = {"ok": len(CHECKS_BY_STEP), "timed-out": rng.randrange(3, 7)}.get(status, 0)
    step_points: dict[str, int] = {}
    for step, checks in list(CHECKS_BY_STEP.items())[:steps_run]:
        step_points[step] = 0
        for check, points in checks:
            if check == UNGRADED_CHECK:
                continue
            passed = rng.random() < 0.2 + skill * (1 - difficulty[check])
            tally[check][0] += 1
            tally[check][1] += not passed
            step_points[step] += points if passed else 0
    detail = {"crashed": "the grader crashed: KeyError 'port'",
              "invalid": 'archive member "../<b>evil</b>" escapes the submission folder',
              "timed-out": "ran past its 300 s limit: later steps not graded"}.get(status, "")
    return {"name": HOSTILE_NAMES[index] if index < len(HOSTILE_NAMES) else f"student{index:03d}",
            "status": status, "score": sum(step_points.values()), "max_score": MAX_SCORE,
            "steps": step_points, "detail": detail}


def student(name: str, status: str = "ok", score: int = 0) -> dict[str, Any]:
    return {"name": name, "status": status, "score": score, "max_score": 10,
            "steps": {"01_hello": score} if status in ("ok", "timed-out") else {}, "detail": ""}


def small_summary(students: list[dict[str, Any]], **changes: Any) -> dict[str, Any]:
    summary = {"title": "Batch", "generated_at": "2026-11-25T12:00:00+00:00",
               "isolation": ISOLATION, "max_score": 10,
               "steps": [{"step": "01_hello", "max_points": 10}], "students": students,
               "checks": [{"step": "01_hello", "name": "check_server_listens", "max_points": 10,
                           "extra": False, "graded": len(students), "failed": 1}]}
    return summary | changes


class Markup(HTMLParser):
    """The tags, attributes and text of a page, as a browser's parser reads them."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all(self, tag: str, css_class: str | None = None) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag
                and (css_class is None or css_class in (attrs.get("class") or "").split())]


# --- render_report alone ------------------------------------------------------------------


def test_the_page_is_complete_and_loads_nothing_from_outside() -> None:
    page = render_report(realistic_summary())
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    markup = Markup(page)
    assert not [attrs for _, attrs in markup.tags if "src" in attrs or "href" in attrs]
    assert "<link" not in page and "url(" not in page and "@import" not in page
    [policy] = [a["content"] for a in markup.all("meta") if a.get("http-equiv")]
    assert policy is not None and policy.startswith("default-src 'none'")


def test_the_policy_allows_exactly_the_inline_style_and_script() -> None:
    page = render_report(realistic_summary())
    script = page.split("<script>")[1].split("</script>")[0]
    style = page.split("<style>")[1].split("</style>")[0]
    assert f"script-src '{csp_hash(script)}'" in page
    assert f"style-src '{csp_hash(style)}'" in page


def test_counts_per_status_include_statuses_nobody_has() -> None:
    students = [student("a"), student("b"), student("c", "timed-out"), student("d", "invalid"),
                student("e", "stuck")]
    page = render_report(small_summary(students))
    shown = [box["data-status"] for box in Markup(page).all("div", "count")]
    assert shown == ["ok", "timed-out", "crashed", "invalid", "stuck"]
    for status, count in {"ok": 2, "timed-out": 1, "crashed": 0, "invalid": 1, "stuck": 1}.items():
        assert f'data-status="{status}"><b>{count}</b>' in page


def test_the_isolation_is_shown_and_its_absence_is_flagged() -> None:
    assert ISOLATION.replace("'", "&#x27;") in render_report(small_summary([student("a")]))
    page = render_report(small_summary([student("a")], isolation=""))
    assert "Isolation: not recorded" in page


def test_every_string_from_the_summary_is_escaped() -> None:
    evil = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
    summary = small_summary([student(evil, "ok", 5) | {"detail": evil}, student(evil, evil)],
                            title=evil, generated_at=evil, isolation=evil,
                            steps=[{"step": evil, "max_points": evil}])
    summary["checks"] = [{"step": evil, "name": evil, "max_points": 1, "extra": True,
                          "graded": 2, "failed": 1}]
    page = render_report(summary)
    markup = Markup(page)
    assert evil not in page
    assert len(markup.all("script")) == 1 and markup.all("img") == []
    assert not [name for _, attrs in markup.tags for name in attrs if name.startswith("on")]
    assert "".join(markup.text).count(evil) >= 6  # still there for a person to read, as text


def test_score_bins_put_a_full_score_in_the_top_bin_and_clamp_the_rest() -> None:
    assert bin_counts([0, 9.9, 10, 55, 99, 100, 120, -3], 100) == [3, 1, 0, 0, 0, 1, 0, 0, 0, 3]


def test_only_graded_students_count_in_the_histogram() -> None:
    students = [student("a", "ok", 10), student("b", "timed-out", 5), student("c", "crashed"),
                student("d", "invalid")]
    markup = Markup(render_report(small_summary(students)))
    bars = markup.all("rect", "bar")
    assert sorted(int(str(b["data-count"])) for b in bars if "data-count" in b) == [1, 1]
    assert "Mean 7.5, median 7.5 of 10" in render_report(small_summary(students))


def test_the_hardest_checks_come_first_and_extra_checks_are_marked() -> None:
    checks = [{"step": "01_hello", "name": "easy", "max_points": 1, "extra": False,
               "graded": 10, "failed": 1},
              {"step": "01_hello", "name": "hard", "max_points": 1, "extra": False,
               "graded": 10, "failed": 8},
              {"step": "01_hello", "name": "private", "max_points": 1, "extra": True,
               "graded": 10, "failed": 5}]
    steps = [{"step": "01_hello", "max_points": 2}, {"step": "extra: 01_hello", "max_points": 1}]
    page = render_report(small_summary([student("a")], steps=steps, checks=checks))
    hardest = page.split('id="hardest-checks">')[1].split("</ol>")[0]
    assert hardest.index("hard") < hardest.index("private") < hardest.index("easy")
    assert "private</b> (extra: 01_hello) <span class=\"extra-tag\">extra</span>" in hardest
    assert "(extra)</tspan>" in page
    chart = page.split('id="check-chart"')[1]
    assert chart.index("easy") < chart.index(">extra: 01_hello<") < chart.index("private")
    assert "80% failed (8 of 10)" in page


@pytest.mark.parametrize("edge", ["no students", "all invalid", "max score 0", "nobody graded"])
def test_edges_render_without_dividing_by_zero(edge: str) -> None:
    summary = {
        "no students": small_summary([]),
        "all invalid": small_summary([student("a", "invalid"), student("b", "invalid")]),
        "max score 0": small_summary([student("a")], max_score=0),
        "nobody graded": small_summary([student("a", "invalid")], checks=[
            {"step": "01_hello", "name": "lonely", "max_points": 1, "extra": False,
             "graded": 0, "failed": 0}]),
    }[edge]
    page = render_report(summary)
    expected = {"no students": "No submissions in this batch",
                "all invalid": "No graded submissions",
                "max score 0": "The maximum score is 0",
                "nobody graded": "n/a: nobody graded"}[edge]
    assert expected in page


def test_an_empty_summary_still_renders_a_page() -> None:
    assert "Isolation: not recorded" in render_report({})


def test_a_thousand_students_render_fast() -> None:
    summary = realistic_summary(student_count=1000)
    started = time.perf_counter()
    page = render_report(summary)
    assert time.perf_counter() - started < 2.0  # about 0.05 s on the kit's 2-core machine
    assert page.count("<tr>") == 1001


# --- the page in a real browser -----------------------------------------------------------


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[DevToolsPipe]:
    executable = find_chromium()
    if executable is None:
        reason = "no Chromium found (on Debian: apt-get install -y chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; under CI=true the browser test must run, not skip")
        pytest.skip(reason)
    with headless_chromium(executable, tmp_path) as devtools:
        yield devtools
    assert processes_using(tmp_path) == [], "Chromium processes outlived the test"


def open_report(browser: DevToolsPipe, tmp_path: Path, summary: dict[str, Any]) -> BrowserPage:
    path = tmp_path / "report.html"
    path.write_text(render_report(summary), encoding="utf-8")
    return BrowserPage(browser, path.as_uri())


WHAT_A_PERSON_SEES = """(() => {
  const size = (element) => {
    const box = element.getBoundingClientRect();
    return [box.width, box.height];
  };
  const isolation = document.getElementById("isolation").getBoundingClientRect();
  const onTop = document.elementFromPoint(isolation.x + isolation.width / 2,
                                          isolation.y + isolation.height / 2);
  return {
    histogramBars: Array.from(document.querySelectorAll("#score-histogram rect.bar"), size),
    checkBars: Array.from(document.querySelectorAll("#check-chart rect.bar"), size),
    isolationText: document.getElementById("isolation").innerText,
    isolationInFirstScreen: isolation.height > 0 && isolation.bottom <= window.innerHeight,
    isolationUncovered: document.getElementById("isolation").contains(onTop),
    names: Array.from(document.querySelectorAll("#students td.name"), (cell) => cell.innerText),
    images: document.images.length,
    scripts: document.scripts.length,
    pwned: typeof window.pwned,
    sidewaysScroll: document.documentElement.scrollWidth > window.innerWidth,
  };
})()"""


def test_the_report_in_a_browser_shows_charts_and_isolation_and_runs_no_name(
        browser: DevToolsPipe, tmp_path: Path) -> None:
    summary = realistic_summary()
    page = open_report(browser, tmp_path, summary)
    seen = page.evaluate(WHAT_A_PERSON_SEES)

    graded = [s["score"] for s in summary["students"] if s["status"] in ("ok", "timed-out")]
    filled_bins = {min(9, score * 10 // summary["max_score"]) for score in graded}
    failed_checks = [c for c in summary["checks"] if c["graded"] and c["failed"]]
    assert len(seen["histogramBars"]) == len(filled_bins) > 1
    assert len(seen["checkBars"]) == len(failed_checks) > 1
    assert all(width > 0 and height > 0 for width, height in seen["histogramBars"])
    assert all(width > 0 and height > 0 for width, height in seen["checkBars"])

    assert ISOLATION in seen["isolationText"]
    assert seen["isolationInFirstScreen"] and seen["isolationUncovered"]

    assert seen["names"][:3] == HOSTILE_NAMES  # shown as text, exactly as the folders are named
    assert page.events("Page.javascriptDialogOpening") == []
    assert (seen["images"], seen["scripts"], seen["pwned"]) == (0, 1, "undefined")
    assert page.console_errors() == []
    assert page.requests() == [page.url]  # nothing fetched but the page itself
    assert not seen["sidewaysScroll"]


def test_clicking_a_column_sorts_the_students(browser: DevToolsPipe, tmp_path: Path) -> None:
    page = open_report(browser, tmp_path, realistic_summary())
    totals = """Array.from(document.querySelectorAll("#students tbody tr"),
                           (row) => Number(row.cells[row.cells.length - 2].dataset.sort))"""
    click_total = """Array.from(document.querySelectorAll("#students th button"))
                         .find((button) => button.textContent === "total").click()"""
    page.evaluate(click_total)
    ascending = page.evaluate(totals)
    assert ascending == sorted(ascending) and ascending[0] < ascending[-1]
    page.evaluate(click_total)
    assert page.evaluate(totals) == sorted(ascending, reverse=True)
    assert page.console_errors() == []


@pytest.mark.parametrize("edge", ["no students", "all invalid", "max score 0", "1000 students"])
def test_edge_pages_load_cleanly_in_a_browser(
        browser: DevToolsPipe, tmp_path: Path, edge: str) -> None:
    summary = {"no students": small_summary([]),
               "all invalid": small_summary([student("a", "invalid")]),
               "max score 0": small_summary([student("a")], max_score=0),
               "1000 students": realistic_summary(student_count=1000)}[edge]
    page = open_report(browser, tmp_path, summary)
    rows = page.evaluate('document.querySelectorAll("#students tbody tr").length')
    assert rows == len(summary["students"])
    bars = page.evaluate('document.querySelectorAll("#score-histogram rect.bar").length')
    assert (bars > 0) == (edge == "1000 students")
    assert page.console_errors() == []
    if edge == "1000 students":
        assert page.evaluate(HEADER_STAYS_IN_SIGHT)


# Scrolled deep into the table, its header row still sits at the top of the table's box.
HEADER_STAYS_IN_SIGHT = """(() => {
  const box = document.querySelector("#students").parentElement;
  box.scrollTop = 10000;
  const header = document.querySelector("#students th").getBoundingClientRect();
  return box.scrollTop > 0 && Math.abs(header.top - box.getBoundingClientRect().top) < 4;
})()"""
