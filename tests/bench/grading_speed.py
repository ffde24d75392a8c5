"""How long grading takes: the solutions, the untouched stubs, and a submission
whose every program hangs. Median of several runs, printed as a table.

    python -m tests.bench.grading_speed [--runs 3]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.grading import EXERCISES, KIT, SOLUTIONS

HANG = "__import__('threading').Event().wait()  # benchmark: hang forever"


def make_everything_hang(destination: Path) -> Path:
    """The solutions, with every server stuck right after it listens and every
    client stuck before it says anything."""
    shutil.copytree(SOLUTIONS, destination, ignore=shutil.ignore_patterns("__pycache__"))
    for server in destination.glob("*/server.py"):
        text = server.read_text()
        text, count = re.subn(r"^(\s*)(print\(f\"listening on.*\n)", rf"\1\2\1{HANG}\n", text,
                              count=1, flags=re.MULTILINE)
        assert count == 1, server
        server.write_text(text)
    for client in destination.glob("*/client.py"):
        text = client.read_text()
        text, count = re.subn(r"^def main\(\) -> None:\n", f"def main() -> None:\n    {HANG}\n",
                              text, count=1, flags=re.MULTILINE)
        assert count == 1, client
        client.write_text(text)
    return destination


def time_grading(submission: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "grader", "--submission", str(submission)],
                   cwd=KIT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        cases = {
            "solutions (every check passes)": SOLUTIONS,
            "untouched stubs (not started)": EXERCISES,
            "every program hangs": make_everything_hang(Path(scratch) / "hangs"),
        }
        print(f"{'submission':<34}{'median s':>10}   runs")
        for name, submission in cases.items():
            times = [time_grading(submission) for _ in range(args.runs)]
            shown = " ".join(f"{seconds:.1f}" for seconds in times)
            print(f"{name:<34}{statistics.median(times):>10.1f}   {shown}", flush=True)


if __name__ == "__main__":
    main()
