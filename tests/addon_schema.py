"""The add-on schema check the Supervisor makes, for the tests of the add-on's options.

Only the subset of schema types addon/config.yaml uses: str, bool, int/float ranges,
url, password, match(), list(a|b), `?` for optional, lists, lists of mappings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_RANGE = re.compile(r"^(int|float)(?:\(([^,]*),([^)]*)\))?$")


def check_options(options: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """Problems of `options` against an add-on `schema` (str, bool, int/float ranges,
    url, password, match(), list(a|b), `?` for optional, lists, lists of mappings)."""
    problems: list[str] = []
    for key in options:
        if key not in schema:
            problems.append(f"{key}: not an option of this add-on")
    for key, kind in schema.items():
        _check(key, options.get(key), kind, key in options, problems)
    return problems


def _check(path: str, value: Any, kind: Any, present: bool, problems: list[str]) -> None:
    if isinstance(kind, list):
        # `- str?`: the list itself is optional (the Supervisor's reading of it).
        optional = isinstance(kind[0], str) and kind[0].endswith("?")
        if not present or value is None:
            if not optional:
                problems.append(f"{path}: missing")
            return
        if not isinstance(value, list):
            problems.append(f"{path}: must be a list")
            return
        for index, item in enumerate(value):
            _check(f"{path}[{index}]", item, kind[0], True, problems)
        return
    if isinstance(kind, dict):
        if not isinstance(value, dict):
            problems.append(f"{path}: must be a mapping")
            return
        for key in value:
            if key not in kind:
                problems.append(f"{path}.{key}: unknown key")
        for key, sub in kind.items():
            _check(f"{path}.{key}", value.get(key), sub, key in value, problems)
        return
    text = str(kind)
    optional = text.endswith("?")
    text = text.removesuffix("?")
    if not present or value is None:
        if not optional:
            problems.append(f"{path}: missing")
        return
    problem = _scalar_problem(value, text)
    if problem:
        problems.append(f"{path}: {problem}")


def _scalar_problem(value: Any, kind: str) -> str | None:
    if kind in ("str", "password"):
        return None if isinstance(value, str) else "must be text"
    if kind == "bool":
        return None if isinstance(value, bool) else "must be true or false"
    if kind == "url":
        ok = isinstance(value, str) and re.match(r"^https?://[^/\s]+", value)
        return None if ok else "must be an http(s) URL"
    if kind.startswith("match(") and kind.endswith(")"):
        ok = isinstance(value, str) and re.fullmatch(kind[6:-1], value)
        return None if ok else f"must match {kind[6:-1]}"
    if kind.startswith("list(") and kind.endswith(")"):
        choices = kind[5:-1].split("|")
        return None if value in choices else f"must be one of {', '.join(choices)}"
    match = _RANGE.match(kind)
    if match:
        number = int if match.group(1) == "int" else float
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"must be a number ({match.group(1)})"
        if number is int and not isinstance(value, int):
            return "must be a whole number"
        low, high = match.group(2), match.group(3)
        if low and value < float(low):
            return f"must be at least {low}"
        if high and value > float(high):
            return f"must be at most {high}"
        return None
    return f"unknown schema type {kind!r}"
