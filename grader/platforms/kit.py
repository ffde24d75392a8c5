"""What the kit says about itself, read from the files that declare it.

The grader's packages are declared once, in noxfile.py; the platforms read
them from there (without importing nox, which grading environments lack).
"""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

KIT = Path(__file__).resolve().parent.parent.parent
GIT_SECONDS = 10


def grade_packages(noxfile: Path = KIT / "noxfile.py") -> list[str]:
    """The pip requirements grading needs: GRADE_PACKAGES in noxfile.py."""
    for node in ast.parse(noxfile.read_text(encoding="utf-8")).body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == "GRADE_PACKAGES"):
            packages = ast.literal_eval(node.value)
            if isinstance(packages, list) and all(isinstance(item, str) for item in packages):
                return packages
    raise ValueError(f"{noxfile} has no GRADE_PACKAGES = [...] list of strings")


def kit_version(kit: Path = KIT) -> str:
    """The kit's commit, or "unknown" outside a git checkout (or without git)."""
    try:
        found = subprocess.run(["git", "rev-parse", "HEAD"], cwd=kit, capture_output=True,
                               text=True, timeout=GIT_SECONDS)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    commit = found.stdout.strip()
    return commit if found.returncode == 0 and commit else "unknown"
