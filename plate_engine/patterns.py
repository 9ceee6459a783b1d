"""`text_formats`: regular expressions sent by clients, run on RE2 and bounded.

A request's patterns are untrusted. Python's `re` backtracks: one 170-byte pattern
(``"(.*)" * 42 + "#"``) held the GIL for minutes, freezing the whole engine, SIGTERM
included. RE2 (the `google-re2` package) matches in time linear in the text and never
backtracks, so a pattern costs microseconds whatever it is; its compiled program is
capped by `_MAX_MEM`. What RE2 refuses (backreferences, look-around, huge counted
repetitions) is a 400 naming the pattern. See docs/engine.md for the measurements that
chose RE2 over `regex` with a timeout.

Patterns are matched case-insensitively, as written: lowering a pattern would turn
``\\D`` (a non-digit) into ``\\d`` (a digit).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Final, Protocol, cast

import re2  # type: ignore[import-untyped]  # google-re2 ships no type information

MAX_TEXT_FORMATS: Final = 16  # patterns per request
MAX_PATTERN_CHARS: Final = 256  # characters per pattern (a plate format needs ~30)
# RE2's memory budget per compiled pattern (program + lazily built DFA; past it RE2
# falls back to its NFA, still linear). With the cache below: at most
# 16 entries x 16 patterns x 256 KiB = 64 MiB, and in practice a few KiB per pattern.
_MAX_MEM: Final = 256 * 1024
_CACHE_ENTRIES: Final = 16  # distinct text_formats lists kept compiled


class TextFormatError(ValueError):
    """A pattern the engine will not run; the message names it."""


class Pattern(Protocol):
    """What the recogniser needs of a compiled pattern."""

    def fullmatch(self, text: str) -> object | None: ...


def _options() -> object:
    options = re2.Options()
    options.case_sensitive = False
    options.max_mem = _MAX_MEM
    options.log_errors = False  # RE2 would print the pattern to stderr
    return cast(object, options)


def check_text_formats(patterns: Sequence[str]) -> None:
    """Raise TextFormatError unless every pattern is within limits and compiles."""
    if len(patterns) > MAX_TEXT_FORMATS:
        raise TextFormatError(
            f"at most {MAX_TEXT_FORMATS} patterns are accepted, got {len(patterns)}"
        )
    for index, pattern in enumerate(patterns):
        _check_one(index, pattern)


def _check_one(index: int, pattern: str) -> Pattern:
    if len(pattern) > MAX_PATTERN_CHARS:
        raise TextFormatError(
            f"pattern {index} is {len(pattern)} characters long; at most "
            f"{MAX_PATTERN_CHARS} are accepted"
        )
    try:
        return cast(Pattern, re2.compile(pattern, _options()))
    except re2.error as err:
        detail = err.args[0] if err.args else ""
        reason = detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)
        raise TextFormatError(
            f"pattern {index} ({pattern[:40]!r}) is not a regular expression the engine "
            f"runs ({reason}; backreferences and look-around are not supported)"
        ) from None


@lru_cache(maxsize=_CACHE_ENTRIES)
def compile_text_formats(patterns: tuple[str, ...]) -> tuple[Pattern, ...]:
    """The compiled patterns; ones over the limits or that RE2 refuses are left out.

    Requests are checked with `check_text_formats` first (a 400); leaving a bad one
    out here keeps an in-process caller's read working, as before.
    """
    out: list[Pattern] = []
    for index, pattern in enumerate(patterns[:MAX_TEXT_FORMATS]):
        try:
            out.append(_check_one(index, pattern))
        except TextFormatError:
            continue
    return tuple(out)
