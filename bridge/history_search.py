"""Searching the history (bridge/history.py) for the web page.

A plate search finds the reads the watch list would match for an entry with
that plate and tolerance (platereader.watchlist, the one matcher): the index
on the look-alike-folded plate (or, with a tolerance, the `plate_keys` table)
narrows the reads down, and the matcher, registered as an SQL function,
confirms each one, so a read three look-alikes away is not returned. Only the
read's top plate is compared: its alternative texts are not indexed.

Pure and synchronous: each call opens the file read-only and closes it. A
missing file is an empty history; bad input is a ValueError whose message can
be shown as is; no search runs longer than SEARCH_DEADLINE_S.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from platereader.watchlist import (
    MAX_PLATE_LENGTH,
    MAX_TOLERANCE,
    WatchEntry,
    WatchList,
    fold_lookalikes,
    normalize_plate,
)

from .history import (
    _ADDED_COLUMNS,
    FOLDED_COLUMN,
    SEARCH_READY_INDEX,
    deletion_keys,
    filter_camera_and_time,
    table_columns,
)

__all__ = [
    "MAX_LIMIT",
    "SEARCH_DEADLINE_S",
    "HistoryRead",
    "PlateSummary",
    "Search",
    "cameras",
    "plate_summary",
    "read_by_id",
    "search",
]

MAX_LIMIT = 500
# A search that would walk most of a big history (a rare camera over all time, a
# two-character plate with a tolerance) stops here with a ValueError, so no request
# can hold a worker for long.
SEARCH_DEADLINE_S = 5.0
# Plates a search with a tolerance may look at (distinct folded spellings).
MAX_CANDIDATE_PLATES = 5000
MAX_CAMERAS = 1000
_MAX_TEXT = 64  # raw plate text with separators and wildcards
_MAX_NAME = 200  # camera names, read ids, paging cursors
_SUMMARY_READS = 100
_MANY_MATCHES = 5000  # reads of a wildcard pattern above which time order is quicker

_FIELDS = (
    "id",
    "time",
    "read_time",
    "camera",
    "source",
    "read_by",
    "plate",
    "score",
    "vehicle_type",
    "color",
    "make",
    "model",
    "watchlist_name",
    "watchlist_plate",
    "watchlist_kind",
    "snapshot",
)


@dataclass(frozen=True, slots=True)
class HistoryRead:
    """One row of the history, as the page shows it."""

    id: str
    time: str
    read_time: str | None
    camera: str
    source: str | None
    read_by: str | None
    plate: str | None
    score: float | None
    vehicle_type: str | None
    color: str | None
    make: str | None
    model: str | None
    watchlist_name: str | None
    watchlist_plate: str | None
    watchlist_kind: str | None
    snapshot: str | None  # the saved annotated picture, or None


@dataclass(frozen=True, slots=True)
class Search:
    plate: str | None = None  # look-alike aware; '*' and '?' are wildcards
    tolerance: int = 0  # 0-2 real characters, as a watch entry's tolerance
    camera: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    watched_only: bool = False
    limit: int = 50  # clamped to 1..MAX_LIMIT
    before: str | None = None  # paging: only reads strictly older than this `time`


@dataclass(frozen=True, slots=True)
class PlateSummary:
    plate: str
    first_seen: str
    last_seen: str
    count: int
    cameras: tuple[str, ...]
    reads: tuple[HistoryRead, ...]  # newest first


def search(path: Path, s: Search) -> list[HistoryRead]:
    """Reads matching `s`, newest first; [] when there is no history yet."""
    _text(s.camera, "camera")
    _text(s.before, "paging cursor")
    limit = min(max(int(s.limit), 1), MAX_LIMIT)
    with _open(path) as connection:
        if connection is None:
            return []
        where, params = _plate_filter(connection, s.plate, s.tolerance)
        filter_camera_and_time(where, params, s.camera, s.since, s.until)
        if s.before:
            where.append("time < ?")
            params.append(s.before)
        if s.watched_only:
            where.append("watchlist_name IS NOT NULL")  # as written in reads_watched
        return _reads(connection, where, params, limit)


def plate_summary(path: Path, plate: str, *, reads: int = 24) -> PlateSummary | None:
    """First and last seen, count, cameras and the newest reads of one (normalised) plate."""
    normalized = _plate(plate)
    with _open(path) as connection:
        if connection is None:
            return None
        count, first, last = connection.execute(
            "SELECT count(*), min(time), max(time) FROM reads WHERE plate_normalized = ?",
            (normalized,),
        ).fetchone()
        if not count:
            return None
        newest = _reads(
            connection, ["plate_normalized = ?"], [normalized], min(max(reads, 0), _SUMMARY_READS)
        )
        return PlateSummary(
            plate=normalized,
            first_seen=first,
            last_seen=last,
            count=count,
            cameras=tuple(_distinct(connection, "camera", "plate_normalized = ?", (normalized,))),
            reads=tuple(newest),
        )


def cameras(path: Path) -> list[str]:
    """The cameras with reads in the history, sorted."""
    with _open(path) as connection:
        return [] if connection is None else _distinct(connection, "camera", None, ())


def read_by_id(path: Path, read_id: str) -> HistoryRead | None:
    _text(read_id, "read id")
    with _open(path) as connection:
        if connection is None:
            return None
        found = _reads(connection, ["id = ?"], [read_id], 1)
        return found[0] if found else None


# -- internals ------------------------------------------------------------------------


@contextmanager
def _open(path: Path) -> Iterator[sqlite3.Connection | None]:
    """A read-only connection that gives up after SEARCH_DEADLINE_S, or None without a file."""
    if not path.is_file():
        yield None
        return
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
    except sqlite3.OperationalError:
        if path.exists():
            raise
        yield None  # removed in between
        return
    deadline = time.monotonic() + SEARCH_DEADLINE_S
    connection.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    with closing(connection):
        try:
            yield connection
        except sqlite3.OperationalError as err:
            if str(err) != "interrupted":
                raise
            raise ValueError(
                f"the search took longer than {SEARCH_DEADLINE_S:g} s: narrow it with a "
                "plate, a camera or a time range"
            ) from None


def _plate_filter(
    connection: sqlite3.Connection, text: str | None, tolerance: int
) -> tuple[list[str], list[Any]]:
    """WHERE terms for a plate search (none without one)."""
    if isinstance(tolerance, bool) or not isinstance(tolerance, int):
        raise ValueError(f"tolerance must be 0 to {MAX_TOLERANCE}, got {tolerance!r}")
    if not 0 <= tolerance <= MAX_TOLERANCE:
        raise ValueError(f"tolerance must be 0 to {MAX_TOLERANCE}, got {tolerance}")
    if text is None or not text.strip():
        return [], []
    if len(text) > _MAX_TEXT:
        raise ValueError(f"a plate is at most {MAX_PLATE_LENGTH} letters and digits")
    if "*" in text or "?" in text:
        pattern = "".join(
            part if part in ("*", "?") else normalize_plate(part)
            for part in re.split(r"([*?])", text)
        )
        if len(pattern.replace("*", "")) > MAX_PLATE_LENGTH:
            raise ValueError(f"a plate is at most {MAX_PLATE_LENGTH} letters and digits")
        if tolerance:
            raise ValueError("a tolerance applies to a whole plate, not to * or ? wildcards")
        if not pattern.strip("*"):
            return [], []  # '*' alone: every read
        return [f"{_glob_operand(connection, pattern)} GLOB ?"], [pattern]
    plate = _plate(text)
    matcher = WatchList([WatchEntry(name="search", plate=plate, tolerance=tolerance)])
    connection.create_function("plate_matches", 1, _memo(matcher), deterministic=True)
    confirm = "plate_matches(plate_normalized)"
    if not _exists(connection, "index", SEARCH_READY_INDEX):
        # A file no newer bridge has indexed yet (or is indexing): compare every read.
        return [confirm], []
    folded = fold_lookalikes(plate)
    if not tolerance:
        return [f"{FOLDED_COLUMN} = ?", confirm], [folded]
    candidates = _candidates(connection, folded, tolerance)
    if not candidates:
        return ["0"], []
    marks = ", ".join("?" for _ in candidates)
    return [f"{FOLDED_COLUMN} IN ({marks})", confirm], list(candidates)


def _glob_operand(connection: sqlite3.Connection, pattern: str) -> str:
    """`plate_normalized`, or `+plate_normalized` to keep SQLite off its index.

    The index finds a pattern's reads by its literal start, then they are sorted by
    time: quick when few match, not when many do ("A*": 40,000 of 1,000,000). Then
    walking the reads newest first finds a page within a few thousand; so does a
    pattern starting with a wildcard, which the index cannot narrow down anyway.
    """
    if pattern[0] in "*?":
        return "+plate_normalized"
    many = connection.execute(
        "SELECT count(*) FROM (SELECT 1 FROM reads WHERE plate_normalized GLOB ? LIMIT ?)",
        (pattern, _MANY_MATCHES),
    ).fetchone()[0]
    return "+plate_normalized" if many >= _MANY_MATCHES else "plate_normalized"


def _candidates(connection: sqlite3.Connection, folded: str, tolerance: int) -> list[str]:
    """Folded plates that may be within `tolerance` edits of `folded` (see plate_keys)."""
    keys = sorted(deletion_keys(folded, tolerance))
    marks = ", ".join("?" for _ in keys)
    rows = connection.execute(
        f"SELECT DISTINCT folded FROM plate_keys WHERE key IN ({marks}) "  # noqa: S608
        "AND length(folded) BETWEEN ? AND ? LIMIT ?",
        (*keys, len(folded) - tolerance, len(folded) + tolerance, MAX_CANDIDATE_PLATES + 1),
    ).fetchall()
    if len(rows) > MAX_CANDIDATE_PLATES:
        raise ValueError(
            f"{folded!r} with a tolerance of {tolerance} could be more than "
            f"{MAX_CANDIDATE_PLATES} different plates: lower the tolerance or give more characters"
        )
    return [row[0] for row in rows]


def _memo(matcher: WatchList) -> Callable[[str | None], bool]:
    """The matcher's verdict per distinct plate text (one search sees few)."""
    verdicts: dict[str, bool] = {}

    def matches(text: str | None) -> bool:
        if not text:
            return False
        verdict = verdicts.get(text)
        if verdict is None:
            verdict = verdicts[text] = matcher.match(text) is not None
        return verdict

    return matches


def _reads(
    connection: sqlite3.Connection, where: Sequence[str], params: Sequence[Any], limit: int
) -> list[HistoryRead]:
    present = table_columns(connection)
    selected = ", ".join(
        name if name in present or name not in _ADDED_COLUMNS else f"NULL AS {name}"
        for name in _FIELDS
    )
    sql = f"SELECT {selected} FROM reads"  # noqa: S608 - our constants; values are bound
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY time DESC LIMIT {int(limit)}"
    return [HistoryRead(*row) for row in connection.execute(sql, list(params))]


def _distinct(
    connection: sqlite3.Connection, column: str, where: str | None, params: Sequence[Any]
) -> list[str]:
    """Distinct values of an indexed column by skipping from one to the next (a few
    index seeks per value, not a walk over every read)."""
    scope = f"{where} AND " if where else ""
    sql = (
        f"WITH RECURSIVE seen(value) AS ("  # noqa: S608 - our constants; values are bound
        f"SELECT (SELECT min({column}) FROM reads WHERE {scope}{column} IS NOT NULL) "
        f"UNION ALL SELECT (SELECT min({column}) FROM reads WHERE {scope}{column} > value) "
        f"FROM seen WHERE value IS NOT NULL LIMIT {MAX_CAMERAS + 1}) "
        "SELECT value FROM seen WHERE value IS NOT NULL"
    )
    return [row[0] for row in connection.execute(sql, [*params, *params])][:MAX_CAMERAS]


def _exists(connection: sqlite3.Connection, kind: str, name: str) -> bool:
    found = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = ? AND name = ?", (kind, name)
    ).fetchone()
    return found is not None


def _plate(text: str) -> str:
    if len(text) > _MAX_TEXT:
        raise ValueError(f"a plate is at most {MAX_PLATE_LENGTH} letters and digits")
    plate = normalize_plate(text)
    if not plate:
        raise ValueError(f"{text!r} has no letters or digits")
    if len(plate) > MAX_PLATE_LENGTH:
        raise ValueError(f"a plate is at most {MAX_PLATE_LENGTH} letters and digits")
    return plate


def _text(value: str | None, what: str) -> None:
    if value is not None and len(value) > _MAX_NAME:
        raise ValueError(f"the {what} is longer than {_MAX_NAME} characters")
