"""Grade the reference solutions again and again, on an idle and on a busy
machine: every run must give the same (full) score. Exit status 1 otherwise.

    python -m tests.bench.stability [--idle-runs 20] [--busy-runs 10]
"""

from __future__ import annotations

import argparse
import collections
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.grading import KIT, SOLUTIONS


def keep_a_core_busy(stop_at: float) -> None:
    while time.monotonic() < stop_at:
        pass


def grade_once(scratch: Path, number: int) -> tuple[int, int, list[str]]:
    results = scratch / f"results-{number}.json"
    subprocess.run([sys.executable, "-m", "grader", "--submission", str(SOLUTIONS),
                    "--json", str(results)], cwd=KIT, capture_output=True, timeout=600)
    data = json.loads(results.read_text())
    failed = [test["name"] for test in data["tests"] if test["status"] != "passed"]
    return data["score"], data["max_score"], failed


def series(scratch: Path, runs: int, busy: bool, first: int) -> list[tuple[int, int, list[str]]]:
    hogs = []
    if busy:
        stop_at = time.monotonic() + 3600
        hogs = [multiprocessing.Process(target=keep_a_core_busy, args=(stop_at,), daemon=True)
                for _ in range(os.cpu_count() or 2)]
        for hog in hogs:
            hog.start()
    try:
        return [grade_once(scratch, first + number) for number in range(runs)]
    finally:
        for hog in hogs:
            hog.terminate()
            hog.join()


def report(name: str, outcomes: list[tuple[int, int, list[str]]]) -> bool:
    scores = collections.Counter(f"{score}/{most}" for score, most, _ in outcomes)
    flaky = collections.Counter(name for _, _, failed in outcomes for name in failed)
    print(f"{name}: {len(outcomes)} runs, scores {dict(scores)}")
    for check, count in flaky.most_common():
        print(f"  failed {count}x: {check}")
    return len(scores) == 1 and all(score == most for score, most, _ in outcomes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle-runs", type=int, default=20)
    parser.add_argument("--busy-runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        idle = series(Path(scratch), args.idle_runs, busy=False, first=0)
        busy = series(Path(scratch), args.busy_runs, busy=True, first=args.idle_runs)
    steady = report("idle machine", idle) & report("every core kept busy", busy)
    sys.exit(0 if steady else 1)


if __name__ == "__main__":
    main()
