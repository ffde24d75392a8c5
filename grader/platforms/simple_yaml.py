"""A strict, small YAML: the subset the kit writes, read back without a YAML library.

What it writes is ordinary YAML that any parser (GitHub's included) reads
the same way. What it reads is only what it writes:

- block mappings (`key: value`, keys of letters, digits, `_` and `-`) and
  block sequences (`- item`, or `- key: value` starting a mapping), two
  spaces per level;
- scalars: integers, the booleans `true` and `false`, plain strings that YAML
  cannot take for anything else (no `: `, no `#`, no leading indicator, not a
  number, boolean or null),
  and every other string in double quotes, written as JSON (whose string
  syntax YAML's double-quoted style includes);
- whole-line comments and blank lines, which are skipped.

Anything else is an error naming the line, not a guess.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

Value = str | int | bool | list["Value"] | dict[str, "Value"]

INDENT = "  "
KEY = re.compile(r"[A-Za-z0-9_-]+")
PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_/.@=<>,+ -]*")
INTEGER = re.compile(r"-?[0-9]+")
# Words YAML 1.1 or 1.2 reads as booleans or null when unquoted.
RESERVED = {"y", "n", "yes", "no", "true", "false", "on", "off", "null"}


class YamlError(ValueError):
    """Text outside the subset: says which line and why."""


# -- writing -----------------------------------------------------------------

def dump(value: dict[str, Value], header: str = "") -> str:
    """YAML text for a mapping; `header` becomes comment lines at the top."""
    comments = [f"# {line}".rstrip() for line in header.splitlines()]
    return "\n".join([*comments, *_block(value, 0)]) + "\n"


def scalar(value: str | int) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if PLAIN.fullmatch(value) and value == value.strip() and value.lower() not in RESERVED:
        return value
    return json.dumps(value)


def _block(value: Value, depth: int) -> list[str]:
    pad = INDENT * depth
    lines = []
    if isinstance(value, dict):
        if not value:
            raise YamlError("an empty mapping has no block form")
        for key, item in value.items():
            if not KEY.fullmatch(key):
                raise YamlError(f"key {key!r} is outside the subset")
            if isinstance(item, dict | list):
                lines += [f"{pad}{key}:", *_block(item, depth + 1)]
            else:
                lines.append(f"{pad}{key}: {scalar(item)}")
    elif isinstance(value, list):
        if not value:
            raise YamlError("an empty sequence has no block form")
        for item in value:
            if isinstance(item, list):
                raise YamlError("a sequence directly in a sequence is outside the subset")
            if isinstance(item, dict):
                first, *rest = _block(item, depth + 1)
                lines += [f"{pad}- {first.lstrip()}", *rest]
            else:
                lines.append(f"{pad}- {scalar(item)}")
    else:
        raise YamlError("a document is a mapping")
    return lines


# -- reading -----------------------------------------------------------------

@dataclass
class _Line:
    number: int
    indent: int
    text: str


def load(text: str) -> dict[str, Value]:
    lines = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        if "\t" in raw[: len(raw) - len(stripped) + 1]:
            raise YamlError(f"line {number}: indent with spaces, not tabs")
        lines.append(_Line(number, len(raw) - len(stripped), stripped.rstrip()))
    if not lines or lines[0].indent != 0:
        raise YamlError("a document starts with a key at the left margin")
    value, end = _parse_block(lines, 0, 0)
    if end != len(lines):
        raise YamlError(f"line {lines[end].number}: indented less than its block")
    if not isinstance(value, dict):
        raise YamlError("a document is a mapping")
    return value


def _parse_block(lines: list[_Line], start: int, indent: int) -> tuple[Value, int]:
    if lines[start].text.startswith("- ") or lines[start].text == "-":
        return _parse_sequence(lines, start, indent)
    return _parse_mapping(lines, start, indent)


def _parse_mapping(lines: list[_Line], start: int, indent: int) -> tuple[Value, int]:
    mapping: dict[str, Value] = {}
    index = start
    while index < len(lines) and lines[index].indent == indent:
        line = lines[index]
        key, separator, rest = line.text.partition(":")
        if not separator or not KEY.fullmatch(key) or (rest and not rest.startswith(" ")):
            raise YamlError(f"line {line.number}: expected `key: value` or `key:`")
        if key in mapping:
            raise YamlError(f"line {line.number}: key {key!r} given twice")
        if rest.strip():
            mapping[key] = _parse_scalar(rest.strip(), line.number)
            index += 1
        else:
            index += 1
            if index >= len(lines) or lines[index].indent <= indent:
                raise YamlError(f"line {line.number}: {key!r} has no value")
            mapping[key], index = _parse_block(lines, index, lines[index].indent)
    _expect_end_of_block(lines, index, indent)
    return mapping, index


def _parse_sequence(lines: list[_Line], start: int, indent: int) -> tuple[Value, int]:
    sequence: list[Value] = []
    index = start
    while index < len(lines) and lines[index].indent == indent:
        line = lines[index]
        if not line.text.startswith("- "):
            raise YamlError(f"line {line.number}: expected `- item`")
        item = line.text[2:].strip()
        key, separator, _ = item.partition(":")
        if separator and KEY.fullmatch(key):
            # `- key: value` opens a mapping whose other keys sit under `key`.
            lines[index] = _Line(line.number, indent + 2, item)
            value, index = _parse_mapping(lines, index, indent + 2)
            sequence.append(value)
        else:
            sequence.append(_parse_scalar(item, line.number))
            index += 1
    _expect_end_of_block(lines, index, indent)
    return sequence, index


def _parse_scalar(text: str, number: int) -> str | int | bool:
    if text.startswith('"'):
        try:
            value = json.loads(text)
        except ValueError:
            raise YamlError(f"line {number}: a quoted string must be one JSON string") from None
        if not isinstance(value, str):
            raise YamlError(f"line {number}: a quoted string must be one JSON string")
        return value
    if INTEGER.fullmatch(text):
        return int(text)
    if text in ("true", "false"):
        return text == "true"
    if scalar(text) != text:
        raise YamlError(f"line {number}: {text!r} must be quoted")
    return text


def _expect_end_of_block(lines: list[_Line], index: int, indent: int) -> None:
    if index < len(lines) and lines[index].indent > indent:
        raise YamlError(f"line {lines[index].number}: indented more than its block")
