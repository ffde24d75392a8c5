"""`python -m grader.platforms.gradescope [--out FILE]`: build the Gradescope autograder.

The archive holds, at its root, `setup.sh` (run once when Gradescope builds
the image) and `run_autograder` (run for each submission), then what grading
needs: the `grader/` package and the lesson's C sources, which
grader/native.py builds from `solutions/01_hello/c/`. The Python solutions
stay out: students can download what an autograder holds.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import zipfile
from pathlib import Path

from grader.platforms.kit import KIT, grade_packages

HERE = Path(__file__).resolve().parent
SETUP_TEMPLATE = HERE / "gradescope_setup.sh"
RUN_TEMPLATE = HERE / "gradescope_run_autograder.sh"
PACKAGES_PLACEHOLDER = "{{GRADE_PACKAGES}}"
C_SOURCES = Path("solutions", "01_hello", "c")
C_SOURCE_NAMES = ("Makefile", "*.c", "*.h")  # not the programs make built from them
DEFAULT_OUT = Path("dist", "autograder.zip")
# Fixed times make the archive depend on its contents only: the same kit
# builds the same bytes.
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
EXECUTABLE = 0o100755
REGULAR = 0o100644


def setup_script(packages: list[str]) -> str:
    template = SETUP_TEMPLATE.read_text()
    if PACKAGES_PLACEHOLDER not in template:
        raise ValueError(f"{SETUP_TEMPLATE.name} lacks {PACKAGES_PLACEHOLDER}")
    return template.replace(PACKAGES_PLACEHOLDER, " ".join(shlex.quote(p) for p in packages))


def shipped_files(kit: Path = KIT) -> dict[str, Path]:
    """{name in the archive: file in the kit} for the grader and the C sources."""
    files = {}
    for path in sorted((kit / "grader").rglob("*")):
        relative = path.relative_to(kit)
        if path.is_file() and not _is_clutter(relative):
            files[relative.as_posix()] = path
    for pattern in C_SOURCE_NAMES:
        for path in sorted((kit / C_SOURCES).glob(pattern)):
            files[path.relative_to(kit).as_posix()] = path
    return files


def build_archive(out: Path, kit: Path = KIT) -> list[str]:
    """Write the autograder archive to `out`; the names it holds."""
    scripts = {"setup.sh": setup_script(grade_packages(kit / "noxfile.py")),
               "run_autograder": RUN_TEMPLATE.read_text()}
    files = shipped_files(kit)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in scripts.items():
            archive.writestr(_entry(name, EXECUTABLE), text)
        for name, path in files.items():
            archive.writestr(_entry(name, REGULAR), path.read_bytes())
    return [*scripts, *files]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s gradescope --",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="FILE",
                        help=f"where to write the archive (default: {DEFAULT_OUT})")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    names = build_archive(args.out)
    print(f"Wrote {args.out} ({len(names)} files). On Gradescope: a Programming Assignment, "
          "Configure Autograder, Zip file upload, this file, on an Ubuntu base image.")
    return 0


def _entry(name: str, mode: int) -> zipfile.ZipInfo:
    entry = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    entry.external_attr = mode << 16
    entry.compress_type = zipfile.ZIP_DEFLATED
    return entry


def _is_clutter(relative: Path) -> bool:
    return (any(part == "__pycache__" or part.startswith(".") for part in relative.parts)
            or relative.suffix == ".pyc")


if __name__ == "__main__":
    sys.exit(main())
