"""The server grid's records and how they read: ratios, text and Markdown tables.

Plain functions of plain data: no socket, no process, no file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

BASELINE = "asyncio"  # every figure is also shown as a ratio to this one
BUSY = 0.9  # share of a core above which a process counts as the one setting the pace


@dataclass(frozen=True)
class GridRecord:
    """One server under one load: (server, size, clients) and what was measured."""

    server: str
    size: int
    clients: int
    msgs_per_s: float
    p50_ms: float
    p99_ms: float
    server_cpu_s: float = 0.0  # over the counted window only
    loadgen_cpu_s: float = 0.0
    seconds: float = 0.0  # the counted window
    error: str = ""  # why this cell has no figures (the server refused or failed the load)

    @property
    def cell(self) -> tuple[int, int]:
        return self.size, self.clients

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GridRecord:
        known = {field.name for field in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


def cells(records: Iterable[GridRecord]) -> list[tuple[int, int]]:
    """The grid's cells in the order first measured."""
    return list(dict.fromkeys(record.cell for record in records))


def servers(records: Iterable[GridRecord]) -> list[str]:
    return list(dict.fromkeys(record.server for record in records))


def ratio_to_baseline(record: GridRecord, records: Sequence[GridRecord]) -> float | None:
    """msgs/s of `record` over the baseline's in the same cell, None without a baseline."""
    if record.error:
        return None
    for other in records:
        if other.server == BASELINE and other.cell == record.cell and other.msgs_per_s > 0:
            return record.msgs_per_s / other.msgs_per_s
    return None


def size_label(size: int) -> str:
    return f"{size // 1024} KiB" if size % 1024 == 0 else f"{size} B"


def cell_label(cell: tuple[int, int]) -> str:
    return f"{size_label(cell[0])} x {cell[1]} clients"


def format_ratio(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.2f}x"


def share(cpu_s: float, seconds: float) -> str:
    """CPU time as a share of one core over the window."""
    return f"{cpu_s / seconds:.0%}" if seconds > 0 else "-"


def cpu_share(cpu_s: float, seconds: float) -> float:
    return cpu_s / seconds if seconds > 0 else 0.0


def contended(record: GridRecord) -> bool:
    """Neither the server nor the generator used its core: someone else did.

    Undisturbed, one of the two is the bottleneck and runs flat out; when both
    idle, another process on the machine took their cores, and the figure is low.
    """
    return (not record.error
            and cpu_share(record.server_cpu_s, record.seconds) < BUSY
            and cpu_share(record.loadgen_cpu_s, record.seconds) < BUSY)


def text_table(records: Sequence[GridRecord]) -> str:
    """One line per measurement, grouped by cell."""
    header = (f"{'size':>8} {'clients':>7}  {'server':<13} {'msgs/s':>9} {'vs asyncio':>10} "
              f"{'p50 ms':>7} {'p99 ms':>7} {'server CPU':>10} {'loadgen CPU':>11}")
    lines = [header, "-" * len(header)]
    for cell in cells(records):
        for record in (r for r in records if r.cell == cell):
            if record.error:
                lines.append(f"{size_label(record.size):>8} {record.clients:>7}  "
                             f"{record.server:<13} error: {record.error}")
                continue
            ratio = format_ratio(ratio_to_baseline(record, records))
            lines.append(
                f"{size_label(record.size):>8} {record.clients:>7}  {record.server:<13} "
                f"{record.msgs_per_s:>9,.0f} {ratio:>10} "
                f"{record.p50_ms:>7.3f} {record.p99_ms:>7.3f} "
                f"{share(record.server_cpu_s, record.seconds):>10} "
                f"{share(record.loadgen_cpu_s, record.seconds):>11}"
                + ("  contended" if contended(record) else ""))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def markdown_table(records: Sequence[GridRecord]) -> str:
    """Servers down, cells across: msgs/s with the ratio to asyncio, then p99."""
    grid = cells(records)
    header = "| server | " + " | ".join(cell_label(cell) for cell in grid) + " |"
    lines = [header, "|---|" + "---:|" * len(grid)]
    for name in servers(records):
        entries = []
        for cell in grid:
            found = [r for r in records if r.server == name and r.cell == cell]
            if not found:
                entries.append("-")
                continue
            record = found[0]
            if record.error:
                entries.append("error (see below)")
                continue
            ratio = format_ratio(ratio_to_baseline(record, records))
            entries.append(f"{record.msgs_per_s:,.0f} ({ratio}, p99 {record.p99_ms:.2f} ms)")
        lines.append(f"| {name} | " + " | ".join(entries) + " |")
    return "\n".join(lines) + "\n"


def headroom_lines(records: Sequence[GridRecord], fastest_native: str = "c-epoll") -> list[str]:
    """Per cell, the proof that the load generator is not the bottleneck: it drives
    the C server past every Python server, and while it drove those it had CPU
    to spare while they used all of theirs. Where that does not hold, the line says so."""
    lines = []
    for cell in cells(records):
        in_cell = [r for r in records if r.cell == cell and not r.error]
        native = [r for r in in_cell if r.server == fastest_native]
        python = [r for r in in_cell if r.server != fastest_native]
        if not native or not python:
            continue
        best = max(python, key=lambda r: r.msgs_per_s)
        times = native[0].msgs_per_s / best.msgs_per_s if best.msgs_per_s > 0 else 0.0
        verdict = ("the load generator goes past every Python server" if times > 1
                   else "NOT past the fastest Python server")
        lines.append(f"{cell_label(cell)}: {fastest_native} {native[0].msgs_per_s:,.0f} msgs/s "
                     f"= {times:.2f}x the fastest Python server ({best.server}, "
                     f"{best.msgs_per_s:,.0f}): {verdict}")
        lines.append("    " + pace_setter(python))
    return lines


def pace_setter(python: Sequence[GridRecord]) -> str:
    """Who set the pace in the Python servers' runs of one cell, from the CPU shares."""
    generator = {r.server: cpu_share(r.loadgen_cpu_s, r.seconds) for r in python}
    server = {r.server: cpu_share(r.server_cpu_s, r.seconds) for r in python}
    saturated = [name for name, busy in generator.items() if busy >= BUSY]
    if saturated:
        return (f"but the load generator was {max(generator.values()):.0%} busy with "
                f"{', '.join(saturated)}: that figure is its limit as much as the server's")
    disturbed = [r.server for r in python if contended(r)]
    if disturbed:
        return (f"but {', '.join(disturbed)} got less than {BUSY:.0%} of a core and the "
                f"generator too: another process took the CPU, those figures are low")
    return (f"with the Python servers the load generator was {min(generator.values()):.0%}-"
            f"{max(generator.values()):.0%} busy, the servers {min(server.values()):.0%}-"
            f"{max(server.values()):.0%}: the servers set the pace")


def error_lines(records: Sequence[GridRecord]) -> list[str]:
    return [f"{record.server} at {cell_label(record.cell)}: {record.error}"
            for record in records if record.error]
