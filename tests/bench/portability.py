"""The grader with each other system's trait reproduced, on every Python from 3.11 up:
the solutions' score, the stubs' score, and the wall time (median of several runs).

    python -m tests.bench.portability [--runs 3] [--traits a,b] [--pythons 3.12,3.13]

Writes tests/bench/results/portability.json and prints a table. A trait is one
of tests/kit_traits.py's, `no-proc` (an empty /proc, in a mount namespace), or
`non-ascii-path` (the kit in a folder named "José Ñandú 张伟").
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from tests.grading import KIT
from tests.kit_traits import PUT_ON
from tests.platform_traits import (
    no_proc_command,
    python_versions,
    trait_environment,
    trait_python,
)

RESULTS = KIT / "tests" / "bench" / "results" / "portability.json"
TRAITS = ["none", "no-proc", *PUT_ON, "non-ascii-path"]


def graded(python: Path, trait: str, kit: Path, tree: str, scratch: Path) -> tuple[str, float]:
    """'102/102' (or what it scored) and the wall time of one grading run."""
    results = scratch / "results.json"
    results.unlink(missing_ok=True)
    command = [str(python), "-m", "grader", "--submission", str(kit / tree),
               "--json", str(results)]
    traits = [trait] if trait in PUT_ON else []
    if trait == "no-proc":
        command = no_proc_command(command)
    started = time.perf_counter()
    subprocess.run(command, cwd=kit, env=trait_environment(*traits), stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=900)
    seconds = time.perf_counter() - started
    if not results.exists():
        return "no results", seconds
    scores = json.loads(results.read_text(encoding="utf-8"))
    return f"{scores['score']}/{scores['max_score']}", seconds


def kit_in_non_ascii_folder(scratch: Path) -> Path:
    kit = scratch / "José Ñandú 张伟" / "kit"
    for part in ("grader", "solutions", "exercises"):
        shutil.copytree(KIT / part, kit / part, ignore=shutil.ignore_patterns("__pycache__"))
    return kit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--traits", default=",".join(TRAITS))
    parser.add_argument("--pythons", default=",".join(python_versions()))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        odd_kit = kit_in_non_ascii_folder(scratch)
        print(f"{'python':<8}{'trait':<26}{'solutions':>11}{'stubs':>9}{'median s':>10}"
              f"   runs (solutions)", flush=True)
        for version in args.pythons.split(","):
            python = trait_python(str(python_versions()[version]))
            for trait in args.traits.split(","):
                kit = odd_kit if trait == "non-ascii-path" else KIT
                runs = [graded(python, trait, kit, "solutions", scratch)
                        for _ in range(args.runs)]
                stubs, _ = graded(python, trait, kit, "exercises", scratch)
                times = [seconds for _, seconds in runs]
                scores = sorted({score for score, _ in runs})
                row = {"python": version, "trait": trait, "solutions": scores,
                       "stubs": stubs, "median_seconds": round(statistics.median(times), 2),
                       "seconds": [round(seconds, 2) for seconds in times]}
                rows.append(row)
                print(f"{version:<8}{trait:<26}{' '.join(scores):>11}{stubs:>9}"
                      f"{row['median_seconds']:>10.1f}   "
                      f"{' '.join(f'{s:.1f}' for s in times)}", flush=True)
    RESULTS.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
