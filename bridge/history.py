"""Every plate read in a SQLite file, for looking back at what came through the gate.

`<storage.path>/history.sqlite3`, table `reads`, one row per published plate
event (one per passage: duplicates within the cool-down are not recorded).
The service writes from one background thread, in batches, so the event loop
never waits for the disk; `plate-bridge history` reads it (`query`).
"""

from __future__ import annotations

import json
import logging
import math
import queue
import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from platereader.watchlist import MAX_TOLERANCE, fold_lookalikes, normalize_plate

from .events import PlateEvent, utc_iso

_LOGGER = logging.getLogger(__name__)

FILE_NAME = "history.sqlite3"

# (column, SQL type): the order of the table and of CSV output.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "TEXT PRIMARY KEY"),
    ("time", "TEXT NOT NULL"),
    ("read_time", "TEXT"),
    ("camera", "TEXT NOT NULL"),
    ("source", "TEXT"),
    ("source_event_id", "TEXT"),
    ("read_by", "TEXT"),  # api, engine or frigate (added in 0.1: see _ADDED_COLUMNS)
    ("label", "TEXT"),
    ("event_type", "TEXT"),
    ("plate", "TEXT"),
    ("plate_normalized", "TEXT"),
    ("score", "REAL"),
    ("candidates", "TEXT"),  # JSON [{"plate", "score"}]
    ("region", "TEXT"),
    ("region_score", "REAL"),
    ("box", "TEXT"),  # JSON {"xmin", "ymin", "xmax", "ymax"}
    ("vehicle_type", "TEXT"),
    ("vehicle_score", "REAL"),
    ("make", "TEXT"),
    ("model", "TEXT"),
    ("color", "TEXT"),
    ("orientation", "TEXT"),
    ("watchlist_name", "TEXT"),
    ("watchlist_plate", "TEXT"),
    ("watchlist_distance", "REAL"),
    ("watchlist_kind", "TEXT"),  # exact, lookalike or tolerance (added, as read_by)
    ("snapshot", "TEXT"),  # the annotated copy saved (storage.save_snapshots), or null
    ("snapshot_url", "TEXT"),  # where the picture came from (Frigate URL, file ...)
)
COLUMN_NAMES = tuple(name for name, _ in COLUMNS)
_JSON_COLUMNS = frozenset({"candidates", "box"})
# Columns added after the first release of the table: a history file written by an
# older bridge gets them (empty for its rows) when a newer one opens it, and a query of
# a file not yet opened by a newer bridge reads them as null.
_ADDED_COLUMNS = frozenset({"read_by", "watchlist_kind"})

_SCHEMA = (
    f"CREATE TABLE IF NOT EXISTS reads ({', '.join(f'{n} {t}' for n, t in COLUMNS)})",
    "CREATE INDEX IF NOT EXISTS reads_time ON reads (time)",
    "CREATE INDEX IF NOT EXISTS reads_plate ON reads (plate_normalized, time)",
    "CREATE INDEX IF NOT EXISTS reads_camera ON reads (camera, time)",
    "CREATE INDEX IF NOT EXISTS reads_read_time ON reads (read_time)",
)
_PRUNE_EVERY = 3600.0

# What the history search (bridge/history_search.py) looks plates up by: derived from
# `plate_normalized`, so not part of a read (nor of COLUMNS and the CSV output). The
# writer fills them for its rows, and `index_for_search` (in the writer's thread, at
# its start) for rows of a file written before they existed or by an older bridge since.
# - reads.plate_folded: the plate with its look-alikes folded (fold_lookalikes): an
#   exact or look-alike search is one range of an index, confirmed by the matcher.
# - plate_keys: each distinct folded plate under every spelling with up to
#   MAX_TOLERANCE characters deleted. Two plates within that many edits share one
#   (an edit removes at most one character from each side), so a search with a
#   tolerance looks up a few dozen keys instead of comparing every plate.
FOLDED_COLUMN = "plate_folded"
# Created last by `index_for_search`: while it is missing the columns are being filled.
SEARCH_READY_INDEX = "reads_watched_folded"
_NORMALIZED_AT = COLUMN_NAMES.index("plate_normalized")
_SEARCH_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS plate_keys (key TEXT NOT NULL, folded TEXT NOT NULL, "
    "PRIMARY KEY (key, folded)) WITHOUT ROWID",
    f"CREATE INDEX IF NOT EXISTS reads_folded ON reads ({FOLDED_COLUMN}, time)",
    # A plate's cameras, one index seek each (bridge/history_search.plate_summary).
    "CREATE INDEX IF NOT EXISTS reads_plate_camera ON reads (plate_normalized, camera)",
    # "Watched only" walks this small index by time rather than every read.
    "CREATE INDEX IF NOT EXISTS reads_watched ON reads (time) WHERE watchlist_name IS NOT NULL",
    # ... and a plate's watched reads (a frequent plate has tens of thousands of reads).
    f"CREATE INDEX IF NOT EXISTS {SEARCH_READY_INDEX} ON reads ({FOLDED_COLUMN}, time) "
    "WHERE watchlist_name IS NOT NULL",
)


def deletion_keys(folded: str, depth: int = MAX_TOLERANCE) -> set[str]:
    """`folded` and every text made by deleting up to `depth` of its characters."""
    keys = frontier = {folded}
    for _ in range(depth):
        frontier = {text[:i] + text[i + 1 :] for text in frontier for i in range(len(text))}
        keys = keys | frontier
    return keys


def _add_plate_keys(connection: sqlite3.Connection, folded: set[str]) -> None:
    """Index new folded plates in `plate_keys` (inside the caller's transaction)."""
    known = "SELECT 1 FROM plate_keys WHERE key = ? AND folded = ?"
    new = [
        text for text in folded if text and not connection.execute(known, (text, text)).fetchone()
    ]
    connection.executemany(
        "INSERT OR IGNORE INTO plate_keys (key, folded) VALUES (?, ?)",
        sorted((key, text) for text in new for key in deletion_keys(text)),  # B-tree order
    )


def _fill_search_keys(connection: sqlite3.Connection) -> None:
    """Fold the plates of rows written without `plate_folded` and index them."""
    missing = f"{FOLDED_COLUMN} IS NULL"
    plates = {
        row[0] or ""
        for row in connection.execute(
            f"SELECT DISTINCT plate_normalized FROM reads WHERE {missing}"  # noqa: S608
        )
    }
    if not plates:
        return
    started = time.monotonic()
    connection.create_function("fold_lookalikes", 1, fold_lookalikes, deterministic=True)
    with connection:
        changed = connection.execute(
            f"UPDATE reads SET {FOLDED_COLUMN} = fold_lookalikes(coalesce(plate_normalized, '')) "  # noqa: S608
            f"WHERE {missing}"
        ).rowcount
        _add_plate_keys(connection, {fold_lookalikes(plate) for plate in plates})
    _LOGGER.info(
        "history: indexed %d older reads for search in %.1f s", changed, time.monotonic() - started
    )


def row_from_event(event: PlateEvent) -> tuple[Any, ...]:
    """A plate event (docs/bridge.md) as a `reads` row."""
    region, vehicle, match, snapshot = event.region, event.vehicle, event.watchlist, event.snapshot
    values = {
        "id": event.id,
        "time": event.time,
        "read_time": event.read_time,
        "camera": event.camera,
        "source": event.source,
        "source_event_id": event.source_event_id,
        "read_by": event.read_by,
        "label": event.label,
        "event_type": event.event_type,
        "plate": event.plate,
        "plate_normalized": normalize_plate(event.plate or ""),
        "score": event.score,
        "candidates": json.dumps([c.model_dump(mode="json") for c in event.candidates]),
        "region": region.code if region else None,
        "region_score": region.score if region else None,
        "box": json.dumps(event.box.model_dump(mode="json")) if event.box else None,
        "vehicle_type": vehicle.type if vehicle else None,
        "vehicle_score": vehicle.score if vehicle else None,
        "make": event.make,
        "model": event.model,
        "color": event.color,
        "orientation": event.orientation,
        "watchlist_name": match.name if match else None,
        "watchlist_plate": match.plate if match else None,
        "watchlist_distance": match.distance if match else None,
        "watchlist_kind": match.kind if match else None,
        "snapshot": snapshot.saved,
        "snapshot_url": snapshot.url or snapshot.path or snapshot.topic,
    }
    return tuple(values[name] for name in COLUMN_NAMES)


def connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=10, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    for statement in _SCHEMA[:1]:
        connection.execute(statement)
    present = table_columns(connection)
    for name, kind in (*COLUMNS, (FOLDED_COLUMN, "TEXT")):
        if name not in present:
            # Names and types are our constants (only _ADDED_COLUMNS can be missing).
            connection.execute(f"ALTER TABLE reads ADD COLUMN {name} {kind}")
    connection.execute(_SEARCH_SCHEMA[0])
    for statement in _SCHEMA[1:]:
        connection.execute(statement)
    connection.commit()
    return connection


def index_for_search(connection: sqlite3.Connection) -> None:
    """Fill the search columns of older rows, then create the search indexes.

    Seconds on a big file opened for the first time by this version (21 s for
    1,000,000 reads, bench/web_search.py), so the writer does it in its thread,
    not at start; until then a search compares every read (history_search).
    """
    _fill_search_keys(connection)  # before the indexes: faster than updating them
    for statement in _SEARCH_SCHEMA[1:]:
        connection.execute(statement)
    connection.commit()


def table_columns(connection: sqlite3.Connection) -> set[str]:
    """The columns the `reads` table has (an older file lacks _ADDED_COLUMNS)."""
    return {row[1] for row in connection.execute("PRAGMA table_info(reads)")}


class HistoryWriter:
    """Appends rows from a background thread; `record` never blocks."""

    def __init__(self, path: Path, *, max_age_days: float = 0.0) -> None:
        self.path = path
        self.max_age_days = max_age_days
        self._queue: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.written = 0
        self.failed = 0

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = connect(self.path)  # fail now (bad path) rather than in the thread
        self._thread = threading.Thread(
            target=self._run, args=(connection,), name="history-writer", daemon=True
        )
        self._thread.start()

    def record(self, event: PlateEvent) -> None:
        if self._thread is not None and event.plate is not None:
            self._queue.put(row_from_event(event))

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the thread."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(timeout)
        if self._thread.is_alive():
            _LOGGER.warning("the history writer did not finish within %g s", timeout)
        self._thread = None

    def _run(self, connection: sqlite3.Connection) -> None:
        # Column names are our constants; values are bound parameters.
        names = (*COLUMN_NAMES, FOLDED_COLUMN)
        insert = (
            f"INSERT OR REPLACE INTO reads ({', '.join(names)}) "  # noqa: S608
            f"VALUES ({', '.join('?' for _ in names)})"
        )
        last_prune = -math.inf  # at the first batch, whatever the monotonic clock says
        with closing(connection):
            try:
                index_for_search(connection)
            except sqlite3.Error as err:  # reads are still written, searches are slower
                _LOGGER.error("cannot index the history for search: %s", err)
            while True:
                item = self._queue.get()
                batch: list[tuple[Any, ...]] = []
                stop = item is None
                if item is not None:
                    batch.append(item)
                while not stop and len(batch) < 500:
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        stop = True
                    else:
                        batch.append(more)
                if batch:
                    rows = [(*row, fold_lookalikes(row[_NORMALIZED_AT] or "")) for row in batch]
                    try:
                        with connection:
                            connection.executemany(insert, rows)
                            _add_plate_keys(connection, {row[-1] for row in rows})
                        self.written += len(batch)
                    except sqlite3.Error as err:
                        self.failed += len(batch)
                        _LOGGER.error("cannot write %d reads to the history: %s", len(batch), err)
                now = time.monotonic()
                if self.max_age_days > 0 and now - last_prune > _PRUNE_EVERY:
                    last_prune = now
                    self._prune(connection)
                if stop:
                    return

    def _prune(self, connection: sqlite3.Connection) -> None:
        horizon = datetime.now(UTC) - timedelta(days=self.max_age_days)
        try:
            with connection:
                # By when the bridge read it, not the picture's time: a camera whose
                # clock is off (1970 after a power cut) must not lose its reads at once.
                deleted = connection.execute(
                    "DELETE FROM reads WHERE read_time < ? OR (read_time IS NULL AND time < ?)",
                    (utc_iso(horizon), utc_iso(horizon)),
                ).rowcount
                if deleted:  # plates no longer read: their search keys go too
                    connection.execute(
                        f"DELETE FROM plate_keys WHERE folded NOT IN "  # noqa: S608
                        f"(SELECT {FOLDED_COLUMN} FROM reads WHERE {FOLDED_COLUMN} IS NOT NULL)"
                    )
        except sqlite3.Error as err:
            _LOGGER.warning("cannot prune the history: %s", err)


_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """`30m`, `2h`, `7d`, `1w` ago, or an ISO 8601 date/time (UTC when no zone)."""
    now = now or datetime.now(UTC)
    match = _RELATIVE.match(text)
    if match:
        return now - timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a time: use e.g. 2h, 7d or 2024-12-06T19:00") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def stored_time(moment: datetime) -> str:
    """A time as the history stores it (a naive one is UTC, as `parse_since` reads it)."""
    return utc_iso(moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment)


def filter_camera_and_time(
    where: list[str],
    params: list[Any],
    camera: str | None,
    since: datetime | None,
    until: datetime | None,
) -> None:
    """Add the conditions on camera and time window (`since <= time < until`) to a query."""
    if camera:
        where.append("camera = ?")
        params.append(camera)
    if since is not None:
        where.append("time >= ?")
        params.append(stored_time(since))
    if until is not None:
        where.append("time < ?")
        params.append(stored_time(until))


@dataclass(frozen=True, slots=True)
class Query:
    plate: str | None = None  # normalised equality; * and ? are wildcards
    camera: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int | None = None  # newest first


def query(path: Path, q: Query) -> list[dict[str, Any]]:
    """Rows matching `q`, newest first, with JSON columns decoded."""
    where: list[str] = []
    params: list[Any] = []
    if q.plate:
        pattern = "".join(
            part if part in ("*", "?") else normalize_plate(part)
            for part in re.split(r"([*?])", q.plate)
        )
        if "*" in pattern or "?" in pattern:
            where.append("plate_normalized GLOB ?")
        else:
            where.append("plate_normalized = ?")
        params.append(pattern)
    filter_camera_and_time(where, params, q.camera, q.since, q.until)
    uri = f"{path.resolve().as_uri()}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True, timeout=10)) as connection:
        present = table_columns(connection)
        selected = [
            name if name in present or name not in _ADDED_COLUMNS else f"NULL AS {name}"
            for name in COLUMN_NAMES
        ]
        rows = connection.execute(_select(selected, where, q.limit), params).fetchall()
    return [_decode(row) for row in rows]


def _select(columns: Sequence[str], where: Sequence[str], limit: int | None) -> str:
    sql = f"SELECT {', '.join(columns)} FROM reads"  # noqa: S608 - our constants
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY time DESC, read_time DESC"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return sql


def _decode(row: Sequence[Any]) -> dict[str, Any]:
    data = dict(zip(COLUMN_NAMES, row, strict=True))
    for name in _JSON_COLUMNS:
        if data[name] is not None:
            data[name] = json.loads(data[name])
    return data


def iter_rows(rows: Sequence[dict[str, Any]]) -> Iterator[list[Any]]:
    """CSV rows: JSON columns stay JSON text."""
    for row in rows:
        yield [
            json.dumps(row[name]) if name in _JSON_COLUMNS and row[name] is not None else row[name]
            for name in COLUMN_NAMES
        ]
