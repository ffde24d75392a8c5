"""Each step's points, summed from the `@check(points=...)` declarations.

Read from the source rather than by importing the checks: the declarations
are the one source of truth, and reading them runs nothing.
"""

from __future__ import annotations

import ast
from pathlib import Path

from grader.layout import CHECKS, known_steps


def declared_points(module: Path) -> list[int]:
    """The points of each `@check(...)` in one check module, in order."""
    points = []
    for node in ast.parse(module.read_text(encoding="utf-8")).body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            if not (isinstance(decorator, ast.Call) and _called_name(decorator) == "check"):
                continue
            value = next((keyword.value for keyword in decorator.keywords
                          if keyword.arg == "points"), None)
            if not isinstance(value, ast.Constant) or not isinstance(value.value, int):
                raise ValueError(f"{module.name}:{decorator.lineno}: "
                                 "@check needs points=<a number>")
            points.append(value.value)
    return points


def step_points() -> dict[str, int]:
    """{step: its points}, for every step the grader knows, in step order."""
    return {step: sum(declared_points(CHECKS / f"check_{step}.py")) for step in known_steps()}


def _called_name(call: ast.Call) -> str:
    if isinstance(call.func, ast.Name):
        return call.func.id
    return call.func.attr if isinstance(call.func, ast.Attribute) else ""
