"""The two charts of the batch report page, drawn as inline SVG; html_report.py places them.

- `score_histogram_svg`: the graded students' scores in ten bins of the maximum, with lines at
  the mean and the median.
- `check_chart_svg`: per check, a bar for the share of the students graded on it who failed it,
  grouped by step and coloured by how many struggled.

Pure, like the page: plain data from the batch summary (its schema is in html_report.py's
docstring) in, SVG text out. Every string from the summary is escaped here, where it enters the
SVG. The page's text around the charts reads the summary with the same helpers (`points`,
`failure_share`, `failure_text`, `step_column`) and the same thresholds, so the words beside a
chart always agree with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any

HISTOGRAM_BINS = 10
STRUGGLE_SHARE = 0.5  # half the class or more failed a check: red
TROUBLE_SHARE = 0.25  # a quarter or more: orange
CHECK_NAME_CHARS = 68  # longer check names are cut in the chart; the full name is its tooltip
# A white outline under text keeps it readable where a marker line crosses it.
HALO = 'stroke="#ffffff" stroke-width="3" paint-order="stroke"'
# The histogram's plot area, in SVG pixels; above it, two rows for the mean and median labels.
PLOT_LEFT, PLOT_TOP, PLOT_WIDTH, PLOT_HEIGHT = 20, 56, 760, 200


# --- the score distribution ---------------------------------------------------------------


def score_histogram_svg(scores: list[float], max_score: float, mean: float, median: float) -> str:
    """The histogram of scores (max_score above 0), a dashed mean line and a solid median line."""
    markers = [
        marker_line(f"mean {points(mean)}", mean / max_score, PLOT_TOP - 26, dashed=True),
        marker_line(f"median {points(median)}", median / max_score, PLOT_TOP - 12, dashed=False),
    ]
    return histogram_svg(bin_counts(scores, max_score), markers)


def bin_counts(scores: Iterable[float], max_score: float) -> list[int]:
    """How many scores fall in each tenth of the maximum; a full score counts in the top bin."""
    counts = [0] * HISTOGRAM_BINS
    for score in scores:
        share = min(max(score / max_score, 0.0), 1.0)
        counts[min(int(share * HISTOGRAM_BINS), HISTOGRAM_BINS - 1)] += 1
    return counts


def histogram_svg(counts: list[int], markers: list[str]) -> str:
    width, height = PLOT_LEFT + PLOT_WIDTH + 20, PLOT_TOP + PLOT_HEIGHT + 44
    baseline = PLOT_TOP + PLOT_HEIGHT
    bins = [histogram_bin(index, count, max(counts)) for index, count in enumerate(counts)]
    return "".join([
        f'<svg id="score-histogram" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>Score distribution</title>',
        f'<line x1="{PLOT_LEFT}" y1="{baseline}" x2="{PLOT_LEFT + PLOT_WIDTH}" y2="{baseline}" '
        'stroke="#8a96a3"/>',
        # Bars, then the mean and median lines across them, then the counts over the lines.
        *(bar for bar, _ in bins),
        *markers,
        *(labels for _, labels in bins),
        f'<text x="{PLOT_LEFT + PLOT_WIDTH / 2}" y="{baseline + 36}" text-anchor="middle">'
        "score, as a share of the maximum</text></svg>",
    ])


def histogram_bin(index: int, count: int, tallest: int) -> tuple[str, str]:
    """One bin's bar (none when empty) and its labels: its range below, its count on top."""
    slot = PLOT_WIDTH / HISTOGRAM_BINS
    centre = PLOT_LEFT + (index + 0.5) * slot
    low, high = index * 100 // HISTOGRAM_BINS, (index + 1) * 100 // HISTOGRAM_BINS
    bar_height = PLOT_HEIGHT * count / tallest if tallest else 0.0
    top = PLOT_TOP + PLOT_HEIGHT - bar_height
    bar = (
        f'<rect class="bar" data-count="{count}" x="{centre - slot / 2 + 4:.1f}" '
        f'y="{top:.1f}" width="{slot - 8:.1f}" height="{bar_height:.1f}" fill="#4a7ab5">'
        f"<title>{count} submission(s) scored {low}–{high}% of the maximum</title></rect>"
        if count
        else ""
    )
    labels = (
        f'<text x="{centre:.1f}" y="{PLOT_TOP + PLOT_HEIGHT + 16}" text-anchor="middle">'
        f"{low}–{high}%</text>"
        f'<text x="{centre:.1f}" y="{top - 4:.1f}" text-anchor="middle" {HALO}>{count}</text>'
    )
    return bar, labels


def marker_line(label: str, share: float, label_y: int, dashed: bool) -> str:
    """A vertical line at a share of the maximum, labelled above the plot."""
    x = PLOT_LEFT + PLOT_WIDTH * min(max(share, 0.0), 1.0)
    anchor, nudge = ("end", -4) if share > 0.8 else ("start", 4)  # keep the label inside
    dash = ' stroke-dasharray="5 3"' if dashed else ""
    return (
        f'<line class="marker" x1="{x:.1f}" y1="{label_y + 4}" x2="{x:.1f}" '
        f'y2="{PLOT_TOP + PLOT_HEIGHT}" stroke="#b03a2e" stroke-width="2"{dash}/>'
        f'<text x="{x + nudge:.1f}" y="{label_y}" text-anchor="{anchor}" {HALO}>{label}</text>'
    )


# --- which checks the class failed --------------------------------------------------------


def check_chart_svg(steps: list[dict[str, Any]], checks: list[dict[str, Any]]) -> str:
    label_width, bar_width, row, header_row = 490, 300, 22, 30
    rows: list[str] = []
    y = 0
    for step, group in checks_by_step(steps, checks).items():
        y += header_row
        rows.append(f'<text x="0" y="{y - 8}" font-weight="bold">{escape(step)}</text>')
        for check in group:
            rows.append(check_row(check, y, label_width, bar_width))
            y += row
    width = label_width + bar_width + 150
    return (
        f'<svg id="check-chart" role="img" width="{width}" height="{y + 8}" '
        f'viewBox="0 0 {width} {y + 8}"><title>Share of the class failing each check</title>'
        + "".join(rows)
        + "</svg>"
    )


def checks_by_step(
    steps: list[dict[str, Any]], checks: list[dict[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """Checks grouped by step, in the order of the steps; a step not in the list comes last."""
    groups: dict[str, list[dict[str, Any]]] = {str(s.get("step", "")): [] for s in steps}
    for check in checks:
        groups.setdefault(step_column(check), []).append(check)
    return {step: group for step, group in groups.items() if group}


def check_row(check: dict[str, Any], y: int, label_width: int, bar_width: int) -> str:
    name = str(check.get("name", ""))
    suffix = " (extra)" if check.get("extra") else ""
    room = CHECK_NAME_CHARS - len(suffix)
    shown = name if len(name) <= room else name[: room - 1] + "…"
    label = (
        f'<text x="12" y="{y + 15}"><title>{escape(name)}</title>{escape(shown)}'
        f'<tspan fill="#6a4c93" font-style="italic">{suffix}</tspan></text>'
    )
    # A faint track behind each bar shows where 100% would be.
    track = (
        f'<rect x="{label_width}" y="{y + 4}" width="{bar_width}" height="14" fill="#eef1f4"/>'
    )
    share = failure_share(check)
    if share is None:
        na = f'<text x="{label_width + 6}" y="{y + 15}" fill="#55606c">n/a: nobody graded</text>'
        return label + track + na
    bar = ""
    if share > 0:  # a check nobody failed draws no bar, only its 0%
        bar = (
            f'<rect class="bar" data-check="{escape(name)}" data-share="{share:.4f}" '
            f'x="{label_width}" y="{y + 4}" width="{max(bar_width * share, 1.5):.1f}" '
            f'height="14" fill="{share_colour(share)}"><title>{escape(name)}: '
            f"{failure_text(check)}</title></rect>"
        )
    figure = f'<text x="{label_width + bar_width + 8}" y="{y + 15}">{failure_text(check)}</text>'
    return label + track + bar + figure


def share_colour(share: float) -> str:
    if share >= STRUGGLE_SHARE:
        return "#c0392b"
    return "#e08e0b" if share >= TROUBLE_SHARE else "#4a7ab5"


# --- read the same way by the charts and by the page's text -------------------------------


def points(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def failure_share(check: dict[str, Any]) -> float | None:
    """The failed share of those graded on the check; None when nobody was (shown as n/a)."""
    graded = int(check.get("graded") or 0)
    return int(check.get("failed") or 0) / graded if graded > 0 else None


def failure_text(check: dict[str, Any]) -> str:
    share = failure_share(check)
    if share is None:
        return "n/a (nobody was graded on it)"
    return f"{share:.0%} failed ({int(check.get('failed') or 0)} of {int(check['graded'])})"


def step_column(check: dict[str, Any]) -> str:
    """The step a check belongs to as the steps list names it: extra ones as "extra: STEP"."""
    step = str(check.get("step", ""))
    return f"extra: {step}" if check.get("extra") and not step.startswith("extra:") else step
