"""`python -m grader.platforms.submit [--exercises DIR] [--out FILE]`: pack your work to hand in.

One zip, ready to upload: your files under `exercises/`, and at its root
`manifest.json` with each file's SHA-256, the score the grader gave those
very files here, the date and the kit's version. Left out: caches,
dot-files, unfinished downloads (*.part), and files over 1 MB, which a
warning lists (a log or a test file that large is not part of the work).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from grader.layout import find_step_root, known_steps
from grader.platforms.kit import KIT, kit_version

MAX_FILE_BYTES = 1024 * 1024
GRADE_SECONDS = 300  # far above a real run (a submission hanging everywhere takes ~12 s)
ZIP_FOLDER = "exercises"
MANIFEST = "manifest.json"
LEFT_OUT_SUFFIXES = (".pyc", ".part")


@dataclass
class Selection:
    """The files of an exercises folder, relative to it: those packed, those left out."""

    packed: list[Path] = field(default_factory=list)
    too_large: list[Path] = field(default_factory=list)
    links: list[Path] = field(default_factory=list)


class Refused(Exception):
    """Nothing sensible to pack: the message says why, in one line."""


def is_clutter(relative: Path) -> bool:
    return (any(part == "__pycache__" or part.startswith(".") for part in relative.parts)
            or relative.suffix in LEFT_OUT_SUFFIXES)


def select_files(exercises: Path) -> Selection:
    selection = Selection()
    # os.walk does not follow links to folders: a link cannot pull in half the disk.
    for folder, subfolders, names in os.walk(exercises):
        subfolders.sort()
        for name in sorted(names):
            path = Path(folder, name)
            relative = path.relative_to(exercises)
            if is_clutter(relative):
                continue
            if path.is_symlink():
                selection.links.append(relative)
            elif path.is_file():
                too_large = path.stat().st_size > MAX_FILE_BYTES
                (selection.too_large if too_large else selection.packed).append(relative)
    return selection


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def step_scores(results: dict[str, Any]) -> dict[str, Any]:
    """The score, max_score and per-step points of a results.json from the grader."""
    steps: dict[str, dict[str, int]] = {}
    known = set(known_steps())
    for test in results["tests"]:
        # A check's name is "STEP: what it checks", perhaps after a tag such as "extra: ".
        parts = str(test["name"]).split(": ")
        step = next((part for part in parts if part in known), parts[0])
        totals = steps.setdefault(step, {"score": 0, "max_score": 0})
        totals["score"] += int(test["score"])
        totals["max_score"] += int(test["max_score"])
    return {"score": results["score"], "max_score": results["max_score"],
            "steps": dict(sorted(steps.items()))}


def local_score(step_root: Path) -> dict[str, Any] | None:
    """Grade the step folders here, as the course will; None if grading failed."""
    with tempfile.TemporaryDirectory(prefix="submit-grade-") as scratch:
        json_path = Path(scratch) / "results.json"
        try:
            graded = subprocess.run(
                [sys.executable, "-m", "grader", "--submission", str(step_root),
                 "--json", str(json_path)],
                cwd=KIT, capture_output=True, text=True, timeout=GRADE_SECONDS)
            if graded.returncode not in (0, 1):
                return None
            return step_scores(json.loads(json_path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, subprocess.TimeoutExpired):
            return None


def build_manifest(files: dict[str, str], score: dict[str, Any] | None, version: str,
                   date: datetime) -> dict[str, Any]:
    return {
        "kit_version": version,
        "date": date.isoformat(timespec="seconds"),
        "score": score,
        "files": [{"path": name, "sha256": digest} for name, digest in sorted(files.items())],
    }


@dataclass
class Packed:
    out: Path
    manifest: dict[str, Any]
    selection: Selection


def pack(exercises: Path, out: Path,
         grade: Callable[[Path], dict[str, Any] | None] = local_score) -> Packed:
    """Pack `exercises` into the zip `out`, scored by `grade` (the grader, unless a test
    needs only the packing)."""
    if not exercises.is_dir():
        raise Refused(f"no folder {exercises}: run `nox -s submit` in the kit's folder, "
                      "the one that holds exercises/")
    selection = select_files(exercises)
    with tempfile.TemporaryDirectory(prefix="submit-") as scratch:
        # What is graded is what is packed: a copy of exactly the files that go in the zip.
        staged = Path(scratch) / ZIP_FOLDER
        for relative in selection.packed:
            (staged / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(exercises / relative, staged / relative)
        step_root = find_step_root(staged) if staged.is_dir() else None
        if step_root is None:
            raise Refused(f"{exercises}/ holds no step folder ({', '.join(known_steps())}): "
                          "nothing to hand in")
        files = {f"{ZIP_FOLDER}/{relative.as_posix()}": sha256_of(staged / relative)
                 for relative in selection.packed}
        manifest = build_manifest(files, grade(step_root), kit_version(),
                                  datetime.now(UTC))
        _write_zip(out, staged, manifest)
    return Packed(out, manifest, selection)


def report(packed: Packed, exercises: Path) -> list[str]:
    lines = [f"Packed {len(packed.manifest['files'])} files from {exercises}/:"]
    lines += [f"  {entry['path']}" for entry in packed.manifest["files"]]
    if packed.selection.too_large:
        lines.append(f"warning: left out, over {MAX_FILE_BYTES // (1024 * 1024)} MB each: "
                     + ", ".join(str(exercises / path) for path in packed.selection.too_large))
    if packed.selection.links:
        lines.append("warning: left out, links (copy the file itself if it is your work): "
                     + ", ".join(str(exercises / path) for path in packed.selection.links))
    score = packed.manifest["score"]
    if score is None:
        lines.append("warning: the grader could not score these files here (run `nox -s grade` "
                     "to see why); the zip is made all the same")
    else:
        lines.append(f"Score here: {score['score']}/{score['max_score']}")
        lines += [f"  {step:<16}{points['score']:>3}/{points['max_score']}"
                  for step, points in score["steps"].items()]
    lines.append(f"Ready to upload: {packed.out.resolve()}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s submit --", description=__doc__.splitlines()[0])
    parser.add_argument("--exercises", type=Path, default=Path("exercises"), metavar="DIR",
                        help="the folder to pack (default: exercises)")
    parser.add_argument("--out", type=Path, default=Path("submission.zip"), metavar="FILE",
                        help="where to write the zip (default: submission.zip)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        packed = pack(args.exercises, args.out)
    except Refused as refusal:
        print(f"submit: {refusal}", file=sys.stderr)
        return 2
    print("\n".join(report(packed, args.exercises)))
    return 0


def _write_zip(out: Path, staged: Path, manifest: dict[str, Any]) -> None:
    """Write atomically: an interrupted run leaves no half zip to upload by mistake."""
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=out.parent, prefix=".submission-", suffix=".zip")
    os.close(handle)
    try:
        # strict_timestamps off: a file dated before 1980 (a zip's epoch) is packed all the same.
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED,
                             strict_timestamps=False) as archive:
            for entry in manifest["files"]:
                name = entry["path"]
                archive.write(staged / Path(name).relative_to(ZIP_FOLDER), name)
            archive.writestr(MANIFEST, json.dumps(manifest, indent=2) + "\n")
        os.replace(temporary, out)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


if __name__ == "__main__":
    sys.exit(main())
