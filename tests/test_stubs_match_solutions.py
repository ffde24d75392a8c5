"""Stubs never drift from solutions.

The structure of every stub is derived from its solution: the same files, the
same classes, functions and signatures, the same command-line flags and
constants. Each function body is either the solution's own (code given to the
student) or removed: a docstring and `raise NotImplementedError`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.grading import EXERCISES, SOLUTIONS


def python_files(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*.py")
            if "__pycache__" not in path.parts}


def definitions(tree: ast.Module) -> dict[str, ast.FunctionDef | ast.ClassDef]:
    """Every class, function and method by its dotted name."""
    found: dict[str, ast.FunctionDef | ast.ClassDef] = {}

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef):
                found[prefix + node.name] = node
                visit(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, ast.FunctionDef):
                found[prefix + node.name] = node

    visit(tree.body, "")
    return found


def signature(node: ast.FunctionDef | ast.ClassDef) -> str:
    decorators = [ast.unparse(decorator) for decorator in node.decorator_list]
    if isinstance(node, ast.ClassDef):
        return f"{decorators} class {node.name}({', '.join(map(ast.unparse, node.bases))})"
    returns = ast.unparse(node.returns) if node.returns else ""
    return f"{decorators} def {node.name}({ast.unparse(node.args)}) -> {returns}"


def without_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    first = body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
            and isinstance(first.value.value, str):
        return body[1:]
    return body


def is_removed_body(node: ast.FunctionDef) -> bool:
    body = without_docstring(node.body)
    return len(body) == 1 and isinstance(body[0], ast.Raise) and \
        "NotImplementedError" in ast.unparse(body[0])


def command_line_flags(tree: ast.Module) -> list[str]:
    return [ast.unparse(call) for call in ast.walk(tree)
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
            and call.func.attr == "add_argument"]


def module_level_names(tree: ast.Module) -> list[str]:
    names = []
    for node in tree.body:
        if isinstance(node, ast.Assign):
            names += [ast.unparse(target) for target in node.targets]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.append(ast.unparse(node))
    return names


SOLUTION_FILES = sorted(python_files(SOLUTIONS))


def test_exercises_and_solutions_hold_the_same_files() -> None:
    assert python_files(EXERCISES) == python_files(SOLUTIONS)
    # Everything else (READMEs, the lesson's C programs) is the same in both trees.
    others = {str(path.relative_to(SOLUTIONS)) for path in shipped_files(SOLUTIONS)}
    assert others == {str(path.relative_to(EXERCISES)) for path in shipped_files(EXERCISES)}
    for relative in others:
        assert (EXERCISES / relative).read_bytes() == (SOLUTIONS / relative).read_bytes(), (
            f"exercises/{relative} differs from solutions/{relative}")


def shipped_files(root: Path) -> list[Path]:
    """Files other than Python sources, leaving out what a build or a run leaves behind."""
    return [path for path in root.rglob("*") if path.is_file() and path.suffix != ".py"
            and "__pycache__" not in path.parts and not is_built_by_make(path)]


def is_built_by_make(path: Path) -> bool:
    # `make` in 01_hello/c builds ./server and ./client (git ignores them).
    return path.parent.name == "c" and path.name in ("server", "client")


@pytest.mark.parametrize("relative", SOLUTION_FILES)
def test_stub_has_the_solution_structure(relative: str) -> None:
    solution = ast.parse((SOLUTIONS / relative).read_text())
    stub = ast.parse((EXERCISES / relative).read_text())
    solution_defs, stub_defs = definitions(solution), definitions(stub)
    assert list(stub_defs) == list(solution_defs)
    for name, node in solution_defs.items():
        assert signature(stub_defs[name]) == signature(node), name
    assert command_line_flags(stub) == command_line_flags(solution)
    assert module_level_names(stub) == module_level_names(solution)


@pytest.mark.parametrize("relative", SOLUTION_FILES)
def test_stub_bodies_are_given_or_removed(relative: str) -> None:
    solution_defs = definitions(ast.parse((SOLUTIONS / relative).read_text()))
    stub_defs = definitions(ast.parse((EXERCISES / relative).read_text()))
    removed = []
    for name, node in stub_defs.items():
        if not isinstance(node, ast.FunctionDef):
            continue
        if is_removed_body(node):
            removed.append(name)
            continue
        solved = solution_defs[name]
        assert isinstance(solved, ast.FunctionDef)
        given = [ast.dump(statement) for statement in without_docstring(node.body)]
        assert given == [ast.dump(statement) for statement in without_docstring(solved.body)], (
            f"{relative}: {name} is neither the solution's code nor a removed body")
    assert removed, f"{relative} leaves nothing for the student to write"


def test_framing_is_one_module_copied_into_each_step() -> None:
    # Steps 04 and 05 reuse the framing the student wrote in step 03.
    for root in (SOLUTIONS, EXERCISES):
        original = (root / "03_messages" / "framing.py").read_text()
        for step in ("04_threads", "05_event_loop"):
            assert (root / step / "framing.py").read_text() == original
