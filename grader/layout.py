"""Where a submission's step folders are, whatever wrapped them.

Students hand in the kit's layout (`01_hello/`, `02_timeouts/`, ...) but it
arrives wrapped: in `exercises/`, in a folder named after the student, in both
(as learning platforms export it). The step root is the shallowest folder
holding at least one step folder, looked for a few levels down at most.
"""

from __future__ import annotations

from pathlib import Path

CHECKS = Path(__file__).with_name("checks")
MAX_DEPTH = 3  # student folder / exercises / steps, and one spare level


def known_steps() -> list[str]:
    """The steps the grader has checks for, in order: 01_hello, 02_timeouts, ..."""
    return sorted(path.stem.removeprefix("check_") for path in CHECKS.glob("check_*.py"))


def what_is_wrong_with(steps: list[str], extra_checks: Path | None) -> str | None:
    """Why a command's steps or private-checks folder cannot be graded, or None."""
    unknown = [step for step in steps if step not in known_steps()]
    if unknown:
        return f"unknown step {', '.join(unknown)}; the steps are {', '.join(known_steps())}"
    if extra_checks and not sorted(extra_checks.glob("check_*.py")):
        return f"no check_*.py modules in {extra_checks}"
    return None


def find_step_root(folder: Path, max_depth: int = MAX_DEPTH) -> Path | None:
    """The shallowest folder under `folder` (itself included) that holds a step
    folder, or None. Breadth first, so a student's copy of the kit's
    `solutions/` deeper down never wins over their `exercises/`."""
    steps = set(known_steps())
    level = [folder]
    for _ in range(max_depth + 1):
        for candidate in level:
            if any((candidate / step).is_dir() for step in steps):
                return candidate
        level = sorted(child for parent in level for child in _subfolders(parent))
    return None


def _subfolders(folder: Path) -> list[Path]:
    try:
        return [child for child in folder.iterdir()
                if child.is_dir() and not child.is_symlink() and not child.name.startswith(".")
                and child.name != "__MACOSX"]
    except OSError:
        return []
