"""The batch's progress line: done / total, how many did not go well, time left."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from grader.batch.job import Outcome

BAR_WIDTH = 24


class Progress:
    def __init__(self, total: int, stream: TextIO = sys.stderr) -> None:
        self.total = total
        self.stream = stream
        self.started = time.monotonic()
        self.finished = 0
        self.graded = 0  # graded now, not reused from an earlier run
        self.troubled = 0
        self.interactive = stream.isatty()

    def done(self, outcome: Outcome) -> None:
        self.finished += 1
        self.graded += 0 if outcome.reused else 1
        self.troubled += outcome.status != "ok"
        line = self.line(outcome)
        if self.interactive:
            self.stream.write("\r\033[K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def line(self, outcome: Outcome) -> str:
        filled = BAR_WIDTH * self.finished // max(self.total, 1)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        elapsed = time.monotonic() - self.started
        left = self.total - self.finished
        rate = elapsed / self.graded if self.graded else 0.0
        remaining = f"about {_duration(rate * left)} left" if left and self.graded else \
            ("" if left else "finished")
        last = f"{outcome.name}: {outcome.status}, {outcome.points} points" + \
            (" (unchanged, kept)" if outcome.reused else "")
        return (f"[{bar}] {self.finished}/{self.total} · {self.troubled} not ok · "
                f"{_duration(elapsed)} · {remaining} · {last}")

    def finish(self) -> None:
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"
