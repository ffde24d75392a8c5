"""The server grid as an SVG chart, written by hand: one panel per grid cell,
one bar per server, each bar labelled with its msgs/s and its ratio to asyncio.

Each panel has its own scale: 100 KiB messages go ten times slower than 1 KiB
ones, and on a shared axis their bars would be too short to compare.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

from tests.bench.grid_report import (
    GridRecord,
    cell_label,
    cells,
    format_ratio,
    ratio_to_baseline,
    servers,
)

PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
           "#ff9da7"]
BAR_WIDTH = 34
BAR_GAP = 8
PANEL_GAP = 36
PLOT_HEIGHT = 240
TOP = 70  # title and subtitle
LABELS_ABOVE = 30  # room above the tallest bar for its two labels
LEFT = 20
LEGEND_HEIGHT = 30
FOOTNOTE_HEIGHT = 20


def short_rate(msgs_per_s: float) -> str:
    if msgs_per_s >= 1000:
        return f"{msgs_per_s / 1000:.1f}k"
    return f"{msgs_per_s:.0f}"


def text(x: float, y: float, content: str, size: int = 11, anchor: str = "middle",
         weight: str = "normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'font-weight="{weight}">{escape(content)}</text>')


def render_svg(records: Sequence[GridRecord], title: str = "Line echo servers",
               subtitle: str = "") -> str:
    """The whole chart as SVG text."""
    names = servers(records)
    colour = {name: PALETTE[index % len(PALETTE)] for index, name in enumerate(names)}
    panel_width = len(names) * (BAR_WIDTH + BAR_GAP) + BAR_GAP
    grid = cells(records)
    width = LEFT * 2 + len(grid) * panel_width + (len(grid) - 1) * PANEL_GAP
    base_y = TOP + LABELS_ABOVE + PLOT_HEIGHT
    failed = [r for r in records if r.error]
    height = base_y + 30 + LEGEND_HEIGHT + (FOOTNOTE_HEIGHT if failed else 0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif">',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="white"/>',
        text(width / 2, 26, title, size=16, weight="bold"),
        text(width / 2, 46, subtitle, size=11),
    ]
    for index, cell in enumerate(grid):
        left = LEFT + index * (panel_width + PANEL_GAP)
        in_cell = [r for r in records if r.cell == cell]
        tallest = max((r.msgs_per_s for r in in_cell), default=0.0) or 1.0
        parts.append(f'<line x1="{left}" y1="{base_y}" x2="{left + panel_width}" '
                     f'y2="{base_y}" stroke="#333"/>')
        parts.append(text(left + panel_width / 2, base_y + 20, cell_label(cell), size=12,
                          weight="bold"))
        for slot, name in enumerate(names):
            for record in (r for r in in_cell if r.server == name):
                parts.extend(bar(record, records, left + BAR_GAP + slot * (BAR_WIDTH + BAR_GAP),
                                 base_y, PLOT_HEIGHT * record.msgs_per_s / tallest,
                                 colour[name]))
    parts.extend(legend(names, colour, base_y + 40, width))
    if failed:
        where = "; ".join(f"{r.server} at {cell_label(r.cell)}" for r in failed)
        parts.append(text(LEFT, base_y + 40 + LEGEND_HEIGHT + 6,
                          f"error: the load failed (the reason is in the JSON): {where}",
                          size=10, anchor="start"))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def bar(record: GridRecord, records: Sequence[GridRecord], x: float, base_y: float,
        height: float, fill: str) -> list[str]:
    ratio = format_ratio(ratio_to_baseline(record, records))
    tip = (f"{record.server}, {cell_label(record.cell)}: {record.msgs_per_s:,.0f} msgs/s, "
           f"{ratio} asyncio, p50 {record.p50_ms:.3f} ms, p99 {record.p99_ms:.3f} ms")
    if record.error:
        tip = f"{record.server}, {cell_label(record.cell)}: {record.error}"
    middle = x + BAR_WIDTH / 2
    return [
        f'<rect class="bar" data-server={quoteattr(record.server)} x="{x:.1f}" '
        f'y="{base_y - height:.1f}" width="{BAR_WIDTH}" height="{height:.1f}" fill="{fill}">'
        f"<title>{escape(tip)}</title></rect>",
        text(middle, base_y - height - 16,
             "error" if record.error else short_rate(record.msgs_per_s), size=10),
        text(middle, base_y - height - 4, ratio, size=10, weight="bold"),
    ]


def legend(names: Sequence[str], colour: dict[str, str], y: float, width: float) -> list[str]:
    parts = []
    step = min(150.0, (width - 2 * LEFT) / max(1, len(names)))
    for index, name in enumerate(names):
        x = LEFT + index * step
        parts.append(f'<rect x="{x:.1f}" y="{y}" width="12" height="12" '
                     f'fill="{colour[name]}"/>')
        parts.append(text(x + 18, y + 11, name, size=12, anchor="start"))
    return parts
