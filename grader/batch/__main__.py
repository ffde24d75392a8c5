"""`python -m grader.batch SUBMISSIONS... --out DIR`: grade a whole class.

SUBMISSIONS are folders in the kit's layout, .zip archives, or folders of
them. Writes DIR/grades.csv, DIR/report.html, and per student
DIR/<student>/results.json (Gradescope's format) and feedback.txt. Run it
again with the same arguments after an interruption: only what is missing or
changed is graded. Exit status: 0 when the batch finished (whatever the
scores), 2 for a wrong command, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from datetime import datetime
from pathlib import Path
from typing import Any

from grader.batch import job
from grader.batch.inputs import IGNORED_NAMES, Submission, discover
from grader.batch.isolation import ControlGroups, describe, remove_stale_groups, run_users_work
from grader.batch.outputs import write_class_files
from grader.batch.progress import Progress
from grader.files import tree_digest
from grader.layout import known_steps, what_is_wrong_with

KIT = Path(__file__).resolve().parent.parent.parent
DEFAULT_TIME_LIMIT = 300.0  # a submission hanging everywhere takes ~18 s; a correct one ~10 s
STEP_JOBS = 2  # steps of one submission at once: about half a core, so --jobs scales


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="nox -s batch --", description=__doc__.splitlines()[0])
    parser.add_argument("submissions", nargs="+", type=Path, metavar="SUBMISSION",
                        help="a submission (folder or .zip), or a folder of them")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR",
                        help="where grades.csv, report.html and each student's files go")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
                        help="submissions graded at once (default: the number of cores)")
    parser.add_argument("--extra-checks", type=Path, metavar="DIR",
                        help="your private check_*.py modules; their points count")
    parser.add_argument("--steps", nargs="+", default=[], metavar="STEP",
                        help=f"grade only these steps: {', '.join(known_steps())}")
    parser.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT, metavar="S",
                        help=f"seconds for one whole submission (default {DEFAULT_TIME_LIMIT:.0f})")
    args = parser.parse_args(argv)
    missing = [str(path) for path in args.submissions if not path.exists()]
    if missing:
        parser.error(f"no such file or folder: {', '.join(missing)}")
    problem = what_is_wrong_with(args.steps, args.extra_checks)
    if problem:
        parser.error(problem)
    if args.jobs < 1 or args.time_limit <= 0:
        parser.error("--jobs and --time-limit must be positive")
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out {args.out} is a file, not a folder")
    return args


def catalogue(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every check this batch runs, with its points, from the grader itself."""
    command = [sys.executable, "-m", "grader", *args.steps, "--list-checks",
               *(["--extra-checks", str(args.extra_checks.resolve())] if args.extra_checks else [])]
    listing = subprocess.run(command, cwd=KIT, capture_output=True, text=True, timeout=120)
    if listing.returncode != 0:
        raise SystemExit(f"error: the grader could not list its checks:\n{listing.stdout}"
                         f"{listing.stderr}")
    return [json.loads(line) for line in listing.stdout.splitlines() if line.startswith("{")]


def grader_digest(args: argparse.Namespace) -> str:
    """What the grades depend on besides the submission: a change here regrades."""
    sources = [KIT / "grader", KIT / "solutions" / "01_hello" / "c"]
    if args.extra_checks:
        sources.append(args.extra_checks.resolve())
    settings = f"{sorted(args.steps)}:{args.time_limit}"
    return tree_digest(sources, IGNORED_NAMES | {"batch"}) + ":" + settings


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    started = datetime.now()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    checks = catalogue(args)
    remove_stale_groups()
    submissions = discover([path.resolve() for path in args.submissions])
    if not submissions:
        print(f"error: nothing to grade in {', '.join(map(str, args.submissions))}",
              file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="sockets-kit-batch-") as work:
        settings = job.Settings(
            out=out, work=Path(work), kit=KIT, steps=args.steps,
            extra_checks=args.extra_checks.resolve() if args.extra_checks else None,
            catalogue=checks, grader_digest=grader_digest(args), step_jobs=STEP_JOBS,
            time_limit=args.time_limit)
        isolation = describe(_controllers_available(), run_users_work(KIT))
        print(f"Grading {len(submissions)} submission(s), {args.jobs} at once.\n"
              f"Isolation: {isolation}", file=sys.stderr)
        outcomes, interrupted = _grade_all(submissions, settings, args.jobs, isolation, started)
    write_class_files(out, outcomes, checks, isolation, started)
    if interrupted:
        print(f"\nInterrupted: {len(outcomes)} of {len(submissions)} graded and saved. "
              "Run the same command again to grade the rest.", file=sys.stderr)
        return 130
    print(f"\nDone: {out / 'grades.csv'} and {out / 'report.html'}", file=sys.stderr)
    return 0


def _grade_all(submissions: list[Submission], settings: job.Settings, jobs: int,
               isolation: str, started: datetime) -> tuple[list[job.Outcome], bool]:
    progress = Progress(len(submissions))
    outcomes: list[job.Outcome] = []
    lock = threading.Lock()
    pool = ThreadPoolExecutor(max_workers=jobs)
    futures: dict[Future[job.Outcome], Submission] = {
        pool.submit(job.grade, submission, settings): submission for submission in submissions}
    try:
        for future in as_completed(futures):
            try:
                outcome = future.result()
            except job.Interrupted:
                continue
            except OSError as error:  # e.g. the output disk is full: say so, go on
                outcome = job.Outcome(futures[future].name, "crashed",
                                      f"the batch could not save it: {error}", "", 0.0,
                                      final=False)
            with lock:
                outcomes.append(outcome)
                progress.done(outcome)
                # After each submission, so an interrupted batch still leaves
                # whole class files with every grade obtained so far.
                write_class_files(settings.out, outcomes, settings.catalogue, isolation, started)
    except KeyboardInterrupt:
        job.STOP.set()
        pool.shutdown(wait=True, cancel_futures=True)
        progress.finish()
        return outcomes, True
    pool.shutdown(wait=True)
    progress.finish()
    return outcomes, False


def _controllers_available() -> set[str]:
    probe = ControlGroups(f"sockets-kit-probe-{os.getpid()}")
    probe.create()
    available = set(probe.folders)
    probe.kill_all_and_remove()
    return available


if __name__ == "__main__":
    sys.exit(main())
