"""The on-disk outbox: every result stays here until the broker acknowledges it.

One SQLite file under `storage.path` (WAL journal, so an insert costs a write,
not an fsync; the WAL is checkpointed - written back with an fsync - by
`checkpoint()`, which the link runs in a worker thread so that the event loop
never waits for the disk). Rows are kept in publication order; the oldest are dropped
when more than `max_rows` wait (the broker has been away for a long time).
After a crash or a restart, whatever was not acknowledged is published again.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class OutMessage:
    topic: str
    payload: bytes
    retain: bool = False
    # Only true now: sent if the broker is there, never stored nor replayed later
    # (a "watched vehicle present" signal must not fire minutes after the car left).
    live: bool = False


@dataclass(frozen=True, slots=True)
class StoredMessage:
    row_id: int
    message: OutMessage


class Outbox:
    """A bounded FIFO of messages on disk. Not thread-safe: use it from one thread."""

    def __init__(self, path: Path | str, max_rows: int) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA wal_autocheckpoint=0")
        self._path = str(path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS outbox ("
            " id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " topic TEXT NOT NULL, payload BLOB NOT NULL, retain INTEGER NOT NULL)"
        )
        self.max_rows = max_rows
        self._count = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
        self.dropped = 0

    def __len__(self) -> int:
        return int(self._count)

    def add(self, messages: Sequence[OutMessage]) -> list[int]:
        """Store messages (one transaction); return their row ids. Drops the oldest if full."""
        ids: list[int] = []
        with self._db:
            self._db.execute("BEGIN")
            for message in messages:
                cursor = self._db.execute(
                    "INSERT INTO outbox (topic, payload, retain) VALUES (?, ?, ?)",
                    (message.topic, message.payload, int(message.retain)),
                )
                ids.append(int(cursor.lastrowid or 0))
            self._count += len(messages)
            excess = self._count - self.max_rows
            if excess > 0:
                self._db.execute(
                    "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT ?)",
                    (excess,),
                )
                self._count -= excess
                self.dropped += excess
        return ids

    def remove(self, row_ids: Iterable[int]) -> None:
        ids = list(row_ids)
        if not ids:
            return
        deleted = 0
        with self._db:
            self._db.execute("BEGIN")
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                cursor = self._db.execute(
                    f"DELETE FROM outbox WHERE id IN ({marks})",  # noqa: S608 - only ?s
                    chunk,
                )
                deleted += cursor.rowcount
        self._count -= deleted

    def pending(self, exclude: Iterable[int] = (), limit: int | None = None) -> list[StoredMessage]:
        """Stored messages, oldest first, without the row ids in `exclude`."""
        skip = set(exclude)
        rows = self._db.execute(
            "SELECT id, topic, payload, retain FROM outbox ORDER BY id LIMIT ?",
            (-1 if limit is None else limit + len(skip),),
        ).fetchall()
        out = [
            StoredMessage(int(r[0]), OutMessage(str(r[1]), bytes(r[2]), bool(r[3])))
            for r in rows
            if r[0] not in skip
        ]
        return out if limit is None else out[:limit]

    def checkpoint(self) -> None:
        """Write the WAL back into the database (blocking: call it from a worker thread)."""
        if self._path == ":memory:":
            return
        db = sqlite3.connect(self._path, isolation_level=None, timeout=5.0)
        try:
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.OperationalError:
            pass  # busy: the next one will do
        finally:
            db.close()

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.close()
