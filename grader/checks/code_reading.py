"""Checks that read the student's code instead of running it.

For mistakes that running cannot show on this machine: Linux's loopback
buffers are so large that a partial send() almost never happens, and
Python's selectors forgive unregistering a socket already closed. The code
itself shows both, and the report names the line.
"""

from __future__ import annotations

import ast
from pathlib import Path

from grader.diagnosis import CheckFailed, Diagnosis, Location, shown_path
from grader.harness import Harness


def parsed_scripts(harness: Harness, *scripts: str) -> list[tuple[Path, ast.Module]]:
    """The student's files as syntax trees, for checks that read the code."""
    trees = []
    for script in scripts:
        path = harness.step_dir / script
        if not path.is_file():
            continue
        try:
            # Bytes, as Python reads a script: UTF-8 unless the file says otherwise.
            trees.append((path, ast.parse(path.read_bytes(), str(path))))
        except SyntaxError as error:
            raise CheckFailed(Diagnosis(
                happened=f"Python cannot read {shown_path(str(path))}: {error.msg}",
                expected="a program Python can run", where=[f"{shown_path(str(path))}:"
                                                           f"{error.lineno}"],
                hint="run the file yourself to see the syntax error")) from None
    return trees


def method_calls(tree: ast.AST, method: str) -> list[ast.Call]:
    """Every call `something.method(...)`, in the order of the source."""
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
             and isinstance(node.func, ast.Attribute) and node.func.attr == method]
    return sorted(calls, key=lambda call: (call.lineno, call.col_offset))


def expect_no_ignored_send(harness: Harness, *scripts: str) -> None:
    """Read the code: a send() whose result is thrown away loses what it did not send.

    Running cannot show it on loopback, where the kernel's buffers are large
    enough that send() rarely comes back partial; the code itself can."""
    places = []
    for path, tree in parsed_scripts(harness, *scripts):
        for node in ast.walk(tree):
            if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
                    and isinstance(node.value.func, ast.Attribute)
                    and node.value.func.attr == "send"):
                places.append(Location(str(path), node.lineno).describe())
    if places:
        raise CheckFailed(Diagnosis(
            happened=f"your code calls send() and ignores how many bytes it sent "
                     f"({len(places)} place{'s' if len(places) > 1 else ''})",
            expected="sendall(), or a loop that sends the rest until all is sent",
            where=places,
            hint="send() may send only part of what you give it and returns how much; "
                 "sendall() sends it all"))


def expect_unregister_before_close(harness: Harness, script: str) -> None:
    """Read the code: in each function, a socket is unregistered before it is closed.

    Running rarely shows it: Python's selectors forgive unregistering a closed
    socket, but the descriptor number may already belong to a new one."""
    places = []
    for path, tree in parsed_scripts(harness, script):
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef):
                continue
            closed: dict[str, int] = {}
            for call in sorted(method_calls(function, "close") + method_calls(function,
                                                                              "unregister"),
                               key=lambda call: (call.lineno, call.col_offset)):
                assert isinstance(call.func, ast.Attribute)
                if call.func.attr == "close":
                    closed.setdefault(ast.unparse(call.func.value), call.lineno)
                elif call.args and ast.unparse(call.args[0]) in closed:
                    line = closed[ast.unparse(call.args[0])]
                    places.append(Location(str(path), line).describe())
    if places:
        raise CheckFailed(Diagnosis(
            happened="your server closes a socket before it unregisters it from the selector",
            expected="unregister first, then close",
            where=places,
            hint="a closed socket's number is free for the next accept(): unregister it "
                 "while it still has its number"))
