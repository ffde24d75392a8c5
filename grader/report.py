"""Scores and what the student reads: the scoreboard and Gradescope's results.json.

Plain data in, text out; nothing here runs a check.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from grader import walls
from grader.diagnosis import Diagnosis, shown_path
from grader.files import write_atomically

BAR_WIDTH = 10


@dataclass
class CheckResult:
    step: str
    name: str
    max_points: int
    points: int = 0
    status: str = "failed"  # passed, failed, not started, not run, skipped
    diagnosis: Diagnosis | None = None
    extra: bool = False  # one of the instructor's private checks

    @property
    def passed(self) -> bool:
        return self.status in ("passed", "skipped")

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> CheckResult:
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_dict(cls, fields: dict[str, Any]) -> CheckResult:
        fields = dict(fields)
        diagnosis = fields.pop("diagnosis")
        return cls(**fields, diagnosis=Diagnosis(**diagnosis) if diagnosis else None)

    def explanation(self) -> list[str]:
        if self.status == "not started":
            return ["not started yet: the program still raises NotImplementedError"]
        if self.status in ("not run", "skipped", "not graded") and self.diagnosis:
            return [self.diagnosis.happened]
        return self.diagnosis.lines() if self.diagnosis else []


@dataclass
class Scoreboard:
    submission: Path
    results: list[CheckResult] = field(default_factory=list)
    _blocked: dict[tuple[str, str], str] = field(default_factory=dict)
    _unusable: dict[tuple[str, str], str] = field(default_factory=dict)  # by check name
    _walls: list[dict[str, Any]] = field(default_factory=list)
    _ending: list[str] = field(default_factory=list)

    def add(self, result: CheckResult) -> None:
        self.results.append(result)

    def note_walls(self, programs: list[dict[str, Any]], ending: list[str]) -> None:
        """The walls the programs of one check had, and how their leftovers were ended."""
        self._walls += programs
        self._ending += [way for way in ending if way not in self._ending]

    def walls_line(self) -> str:
        return walls.summary(self._walls, self._ending)

    def block(self, step: str, program: str, reason: str) -> None:
        self._blocked.setdefault((step, program), reason)

    def block_dependents(self, step: str, check: str, reason: str) -> None:
        """The checks that build on `check` (their `needs`) will not run, for `reason`."""
        self._unusable.setdefault((step, check), reason)

    def blocked(self, step: str, program: str, needs: tuple[str, ...] = ()) -> str | None:
        programs = ("server", "client") if program == "both" else (program,)
        for name in programs:
            reason = self._blocked.get((step, name))
            if reason:
                return f"your {name} is {reason}" if reason == "not started" else reason
        for check in needs:
            if (step, check) in self._unusable:
                return self._unusable[(step, check)]
        return None

    def steps(self) -> list[str]:
        return sorted({result.step for result in self.results})

    def of_step(self, step: str) -> list[CheckResult]:
        return [result for result in self.results if result.step == step]

    @property
    def points(self) -> int:
        return sum(result.points for result in self.results)

    @property
    def max_points(self) -> int:
        return sum(result.max_points for result in self.results)

    def all_passed(self) -> bool:
        return bool(self.results) and all(result.passed for result in self.results)

    def render(self) -> list[str]:
        lines = ["", f"Scoreboard for {shown_path(str(self.submission))}/",
                 f"  {self.walls_line()}", ""]
        for step in self.steps():
            lines.append(self._step_line(step))
        lines += [f"  {'total':<16}{self.points:>3}/{self.max_points:<3}", ""]
        for step in self.steps():
            skipped = [result for result in self.of_step(step) if result.status == "skipped"]
            if skipped:
                lines.append(f"{step}: {len(skipped)} check(s) not counted, "
                             f"{skipped[0].explanation()[0]}")
            if self._not_started(step):
                continue
            failed = [result for result in self.of_step(step) if not result.passed]
            for result in failed:
                lines.append(f"{step} · {result.name} (0/{result.max_points})")
                lines.extend(f"    {line}" for line in result.explanation())
                lines.append("")
        if self.all_passed():
            lines.append("Every check passes. Well done!")
        return lines

    def _step_line(self, step: str) -> str:
        results = self.of_step(step)
        points = sum(result.points for result in results)
        most = sum(result.max_points for result in results)
        if self._not_started(step):
            readme = shown_path(str(self.submission / step / "README.md"))
            return f"  {step:<16}{points:>3}/{most:<3} not started yet: read {readme}"
        filled = round(BAR_WIDTH * points / most) if most else 0
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        failed = sum(1 for result in results if not result.passed)
        results = [result for result in results if result.status != "skipped"]
        status = "all checks pass" if not failed else f"{failed} of {len(results)} checks fail"
        return f"  {step:<16}{points:>3}/{most:<3} [{bar}] {status}"

    def _not_started(self, step: str) -> bool:
        results = self.of_step(step)
        return any(result.status == "not started" for result in results) and all(
            result.status in ("not started", "not run", "skipped") for result in results)


def gradescope_results(scoreboard: Scoreboard) -> dict[str, object]:
    tests = []
    for result in scoreboard.results:
        tests.append({
            "name": f"{'extra: ' if result.extra else ''}{result.step}: {result.name}",
            "score": result.points,
            "max_score": result.max_points,
            "status": "passed" if result.passed else "failed",
            "output": "\n".join(result.explanation()),
        })
    return {"score": scoreboard.points, "max_score": scoreboard.max_points, "tests": tests}


def write_gradescope_json(scoreboard: Scoreboard, path: Path) -> None:
    """Write atomically: a reader never sees half a file."""
    write_atomically(path, json.dumps(gradescope_results(scoreboard), indent=2))
