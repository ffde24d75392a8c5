"""The grader with each other system's trait reproduced, on every Python from 3.11 up:
the solutions' score, the stubs' score, and the wall time (median of several runs).

    python -m tests.bench.portability [--runs 3] [--traits a,b] [--pythons 3.12,3.13]

Writes tests/bench/results/portability.json (a partial run updates its own
rows) and prints a table. A trait is one of tests/kit_traits.py's, `no-proc`
(an empty /proc, in a mount namespace), or `non-ascii-path` (the kit in a folder
named "José Ñandú 张伟").
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


def compile_bytecode(python: Path, kit: Path) -> None:
    """Each interpreter's own .pyc for the kit and its packages, as a student's machine
    keeps after a first run (this machine sets PYTHONDONTWRITEBYTECODE, and the trait
    venvs share one set of packages: without this, 3.12 and 3.13 are timed compiling)."""
    script = ("import compileall, sys\n"
              "for folder in sys.argv[1:] + [p for p in sys.path if p.endswith('-packages')]:\n"
              "    compileall.compile_dir(folder, quiet=2)\n")
    subprocess.run([str(python), "-c", script, str(kit / "grader")],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)


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
            for kit in (KIT, odd_kit):
                compile_bytecode(python, kit)
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
    # A partial run (--traits, --pythons) replaces its own rows and keeps the others.
    measured = {(row["python"], row["trait"]) for row in rows}
    kept = [row for row in (json.loads(RESULTS.read_text(encoding="utf-8"))
                            if RESULTS.exists() else [])
            if (row["python"], row["trait"]) not in measured]
    RESULTS.write_text(json.dumps(sorted(kept + rows, key=row_order), indent=1,
                                  ensure_ascii=False) + "\n", encoding="utf-8")


def row_order(row: dict[str, object]) -> tuple[str, int]:
    trait = str(row["trait"])
    return str(row["python"]), TRAITS.index(trait) if trait in TRAITS else len(TRAITS)


if __name__ == "__main__":
    main()
