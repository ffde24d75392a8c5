"""A class of 100 generated submissions, graded with --jobs 1 and --jobs 2.

The class: correct ones, the buggy corpus (one bug each, in a full copy of
the solutions), submissions that hang everywhere, hostile ones, untouched
stubs, and broken archives. Reports the wall time of each run, the speed-up,
and whether every check of every submission scored the same both times
(--jobs 1 grades each submission alone).

    python -m tests.bench.batch_speed [--size 100] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from tests.bench.grading_speed import make_everything_hang
from tests.grading import EXERCISES, KIT, SOLUTIONS
from tests.test_batch_isolation import HOSTILE_PROGRAMS, _hijacker, _spoiled
from tests.test_buggy_submissions import BUGS, LARGE_MESSAGES_AND_UDP, MORE_CLASSIC_MISTAKES

BATCH_SECONDS = 3600
SHARES = {"correct": 0.25, "buggy": 0.35, "hung": 0.08, "hostile": 0.12, "stubs": 0.05}


def _solutions_copy(destination: Path) -> Path:
    shutil.copytree(SOLUTIONS, destination, ignore=shutil.ignore_patterns("__pycache__"))
    return destination


def _buggy(destination: Path, index: int) -> None:
    mutations = [*BUGS, *LARGE_MESSAGES_AND_UDP, *MORE_CLASSIC_MISTAKES]
    mutation = mutations[index % len(mutations)]
    _solutions_copy(destination)
    shutil.rmtree(destination / mutation.step)
    mutation.apply(destination)


def _hostile(destination: Path, index: int) -> None:
    kinds = [*HOSTILE_PROGRAMS, "ships-its-own-grader"]
    kind = kinds[index % len(kinds)]
    if kind == "ships-its-own-grader":
        _hijacker(destination)
    else:
        _spoiled(destination, HOSTILE_PROGRAMS[kind])
    # The hostile helpers lay out steps 01 and 02; the rest is the reference.
    for step in SOLUTIONS.iterdir():
        if step.is_dir() and not (destination / step.name).exists():
            shutil.copytree(step, destination / step.name,
                            ignore=shutil.ignore_patterns("__pycache__"))


def _broken(destination: Path, index: int) -> None:
    kind = index % 4
    archive = destination.with_suffix(".zip")
    if kind == 0:
        zipfile.ZipFile(archive, "w").close()
    elif kind == 1:
        with zipfile.ZipFile(archive, "w") as stream:
            stream.writestr("../../escape.py", "print('out')")
    elif kind == 2:
        archive.write_bytes(b"this is not a zip archive")
    else:
        (destination / "notes").mkdir(parents=True)
        (destination / "notes" / "essay.txt").write_text("wrong layout")


def make_class(folder: Path, size: int) -> dict[str, str]:
    """The class in `folder`; each student's kind, by name."""
    kinds: dict[str, str] = {}
    counts = {kind: round(share * size) for kind, share in SHARES.items()}
    counts["broken"] = size - sum(counts.values())
    number = 0
    for kind, count in counts.items():
        for index in range(count):
            number += 1
            name = f"s{number:03d}-{kind}"
            destination = folder / name
            if kind == "correct":
                _solutions_copy(destination)
            elif kind == "buggy":
                _buggy(destination, index)
            elif kind == "hung":
                make_everything_hang(destination)
            elif kind == "hostile":
                _hostile(destination, index)
            elif kind == "stubs":
                shutil.copytree(EXERCISES, destination,
                                ignore=shutil.ignore_patterns("__pycache__"))
            else:
                _broken(destination, index)
            kinds[name] = kind
    return kinds


def run_batch(students: Path, out: Path, jobs: int) -> float:
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "grader.batch", str(students), "--out", str(out),
         "--jobs", str(jobs)], cwd=KIT, capture_output=True, text=True, timeout=BATCH_SECONDS)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"the batch failed:\n{completed.stderr[-3000:]}")
    return elapsed


def check_scores(out: Path) -> dict[str, dict[str, int]]:
    scores = {}
    for state in sorted(out.glob("*/state.json")):
        outcome = json.loads(state.read_text())
        scores[outcome["name"]] = {f"{check['step']}: {check['name']}": check["points"]
                                   for check in outcome["checks"]}
        scores[outcome["name"]]["status"] = outcome["status"]
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--keep", type=Path, help="keep the class and the outputs here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="batch-bench-") as work:
        root = args.keep or Path(work)
        students = root / "class"
        students.mkdir(parents=True)
        kinds = make_class(students, args.size)
        print(f"{len(kinds)} submissions: " + ", ".join(
            f"{sum(1 for kind in kinds.values() if kind == wanted)} {wanted}"
            for wanted in dict.fromkeys(kinds.values())), flush=True)
        times = {}
        scores = {}
        for jobs in (1, 2):
            times[jobs] = run_batch(students, root / f"out-jobs{jobs}", jobs)
            scores[jobs] = check_scores(root / f"out-jobs{jobs}")
            print(f"--jobs {jobs}: {times[jobs]:.1f} s ({times[jobs] / 60:.1f} min)", flush=True)
        print(f"speed-up with 2 jobs: {times[1] / times[2]:.2f}x")
        differ = {name: sorted(key for key in scores[1][name]
                               if scores[1][name][key] != scores[2].get(name, {}).get(key))
                  for name in scores[1]}
        differ = {name: keys for name, keys in differ.items() if keys}
        totals = {jobs: {name: sum(v for k, v in checks.items() if k != "status")
                         for name, checks in scores[jobs].items()} for jobs in (1, 2)}
        print(f"students whose checks all scored the same in both runs: "
              f"{len(scores[1]) - len(differ)}/{len(scores[1])}")
        for name, keys in differ.items():
            print(f"  {name}: total {totals[1][name]} vs {totals[2][name]}; differs on "
                  f"{', '.join(keys[:4])}")
        by_kind: dict[str, list[int]] = {}
        for name, kind in kinds.items():
            by_kind.setdefault(kind, []).append(totals[2].get(name, 0))
        for kind, values in by_kind.items():
            print(f"  {kind:<8} {len(values):>3} submissions, scores {min(values)}..{max(values)}")


if __name__ == "__main__":
    main()
