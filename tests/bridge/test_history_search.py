"""The history search behind the web page (bridge/history_search.py).

Reads are written by the real HistoryWriter from real plate events; the search opens
the same SQLite file read-only, as the web page does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bridge.events import ReadContext, SnapshotRef, plate_event
from bridge.history import COLUMNS, HistoryWriter, Query, connect, query
from bridge.history_search import (
    MAX_LIMIT,
    Search,
    cameras,
    plate_summary,
    read_by_id,
    search,
)
from platereader import PlateResult
from platereader.watchlist import WatchEntry, WatchList

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WATCHED = WatchList([WatchEntry(name="Our car", plate="AB12CDE")])

type Read = tuple[str, str, datetime]  # plate, camera, picture time


def write(path: Path, reads: Sequence[Read], watchlist: WatchList = WATCHED) -> list[str]:
    """Record the reads through the real writer; their ids, in order."""
    writer = HistoryWriter(path)
    writer.start()
    ids = []
    for n, (plate, camera, moment) in enumerate(reads):
        context = ReadContext(
            camera=camera,
            source="frigate",
            source_event_id=f"e{n}",
            time=moment,
            snapshot=SnapshotRef(kind="frigate", saved=f"/data/snapshots/{n}.jpg"),
        )
        result = PlateResult(plate=plate, score=0.9)
        event = plate_event(context, result, watchlist.match(result), read_time=moment)
        writer.record(event)
        ids.append(event.id)
    writer.close()
    return ids


def plates(path: Path, s: Search) -> list[str | None]:
    return [read.plate for read in search(path, s)]


@pytest.fixture
def history(tmp_path: Path) -> Path:
    path = tmp_path / "history.sqlite3"
    write(
        path,
        [
            ("AB12CDE", "gate", T0),
            ("A812C0E", "gate", T0 + timedelta(minutes=1)),  # two look-alikes
            ("A812C0D", "drive", T0 + timedelta(minutes=2)),  # one real difference
            ("4812C0E", "drive", T0 + timedelta(minutes=3)),  # look-alikes + 1 real
            ("XY99ZZZ", "drive", T0 + timedelta(days=2)),
            ("AB12CD", "gate", T0 + timedelta(days=3)),  # one deletion
        ],
    )
    return path


def test_plate_search_finds_lookalikes_like_the_watch_list(history: Path) -> None:
    assert plates(history, Search(plate="ab-12 cde")) == ["A812C0E", "AB12CDE"]
    # The read's spelling finds the same two reads (the rules are symmetric).
    assert plates(history, Search(plate="A812C0E")) == ["A812C0E", "AB12CDE"]


def test_three_lookalikes_and_chained_pairs_are_not_a_match(tmp_path: Path) -> None:
    """Both fold to the same key; the matcher, not the key, decides."""
    path = tmp_path / "history.sqlite3"
    write(path, [("A812C0E", "gate", T0), ("A8I2C0E", "gate", T0), ("DB12CDE", "gate", T0)])
    # A812C0E: 2 look-alikes; A8I2C0E: 3 (over the cap); DB12CDE: D/O is not a pair.
    assert plates(path, Search(plate="AB12CDE")) == ["A812C0E"]
    assert plates(path, Search(plate="OB12CDE")) == []


def test_tolerance_finds_real_differences_up_to_it(history: Path) -> None:
    assert set(plates(history, Search(plate="AB12CDE", tolerance=1))) == {
        "AB12CDE",
        "A812C0E",
        "A812C0D",
        "4812C0E",
        "AB12CD",
    }
    assert plates(history, Search(plate="XY99ZZ", tolerance=1)) == ["XY99ZZZ"]
    assert plates(history, Search(plate="XY9ZZ", tolerance=1)) == []
    assert plates(history, Search(plate="XY9ZZ", tolerance=2)) == ["XY99ZZZ"]


def test_wildcards_camera_time_range_and_watched_only(history: Path) -> None:
    assert plates(history, Search(plate="AB12*")) == ["AB12CD", "AB12CDE"]
    assert plates(history, Search(plate="A?12C0?")) == ["A812C0D", "A812C0E"]
    assert plates(history, Search(plate="*")) == plates(history, Search())
    assert plates(history, Search(camera="drive")) == ["XY99ZZZ", "4812C0E", "A812C0D"]
    window = Search(since=T0 + timedelta(minutes=1), until=T0 + timedelta(minutes=3))
    assert plates(history, window) == ["A812C0D", "A812C0E"]
    naive = Search(since=(T0 + timedelta(days=1)).replace(tzinfo=None))  # read as UTC
    assert plates(history, naive) == ["AB12CD", "XY99ZZZ"]
    watched = search(history, Search(watched_only=True))
    assert [(r.plate, r.watchlist_name, r.watchlist_kind) for r in watched] == [
        ("A812C0E", "Our car", "lookalike"),
        ("AB12CDE", "Our car", "exact"),
    ]
    assert plates(history, Search(plate="XY99ZZZ", watched_only=True)) == []


def test_paging_with_the_before_cursor_and_the_limit_clamp(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    write(path, [("AB12CDE", "gate", T0 + timedelta(seconds=n)) for n in range(MAX_LIMIT + 20)])
    first = search(path, Search(limit=3))
    assert [r.time for r in first] == sorted((r.time for r in first), reverse=True)
    second = search(path, Search(limit=3, before=first[-1].time))
    assert len(second) == 3 and second[0].time < first[-1].time
    assert len(search(path, Search(limit=10_000))) == MAX_LIMIT
    assert len(search(path, Search(limit=0))) == 1
    assert len(search(path, Search(plate="AB12CDE", limit=-5))) == 1


def test_summary_cameras_and_read_by_id(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    ids = write(
        path,
        [
            ("AB12CDE", "gate", T0),
            ("AB12CDE", "drive", T0 + timedelta(hours=1)),
            ("AB12CDE", "gate", T0 + timedelta(hours=2)),
            ("XY99ZZZ", "back", T0),
        ],
    )
    summary = plate_summary(path, "ab 12 cde", reads=2)
    assert summary is not None
    assert (summary.plate, summary.count, summary.cameras) == ("AB12CDE", 3, ("drive", "gate"))
    assert summary.first_seen == "2026-03-01T12:00:00.000Z"
    assert summary.last_seen == "2026-03-01T14:00:00.000Z"
    assert [r.id for r in summary.reads] == [ids[2], ids[1]]
    assert plate_summary(path, "ZZ00000") is None
    assert cameras(path) == ["back", "drive", "gate"]
    read = read_by_id(path, ids[3])
    assert read is not None
    assert (read.plate, read.camera, read.snapshot) == ("XY99ZZZ", "back", "/data/snapshots/3.jpg")
    assert read_by_id(path, "nope") is None


def test_a_missing_file_is_an_empty_history(tmp_path: Path) -> None:
    path = tmp_path / "none" / "history.sqlite3"
    assert search(path, Search(plate="AB12CDE", tolerance=2)) == []
    assert plate_summary(path, "AB12CDE") is None
    assert cameras(path) == []
    assert read_by_id(path, "x") is None
    assert not path.parent.exists()  # nothing created


@pytest.mark.parametrize(
    ("s", "message"),
    [
        (Search(plate="A" * 10_000), "at most 16"),
        (Search(plate="A" * 17), "at most 16"),
        (Search(plate="A*" * 17), "at most 16"),
        (Search(plate="--"), "no letters or digits"),
        (Search(plate="AB12CDE", tolerance=3), "tolerance must be 0 to 2"),
        (Search(plate="AB12CDE", tolerance=-1), "tolerance must be 0 to 2"),
        (Search(plate="AB*", tolerance=1), "wildcards"),
        (Search(camera="c" * 10_000), "camera"),
        (Search(before="x" * 10_000), "cursor"),
    ],
)
def test_bad_input_is_a_clear_value_error(history: Path, s: Search, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        search(history, s)


def test_hostile_text_is_only_data(history: Path) -> None:
    before = query(history, Query())
    assert search(history, Search(plate="'; DROP TABLE reads; --")) == []
    assert search(history, Search(camera="gate' OR '1'='1")) == []
    assert search(history, Search(before="' OR 1=1 --")) == []
    assert read_by_id(history, "' OR 1=1 --") is None
    with pytest.raises(ValueError, match="at most 16"):
        plate_summary(history, "X" * 10_000)
    assert query(history, Query()) == before


def test_a_file_of_an_older_bridge_is_searched_and_then_upgraded(tmp_path: Path) -> None:
    """Written before the search columns (and read_by, watchlist_kind): searched as it is
    (every read compared), then indexed in place when a bridge opens it."""
    path = tmp_path / "history.sqlite3"
    added = ("read_by", "watchlist_kind")
    old_columns = [(n, t) for n, t in COLUMNS if n not in added]
    with sqlite3.connect(path) as old:
        old.execute(f"CREATE TABLE reads ({', '.join(f'{n} {t}' for n, t in old_columns)})")
        old.execute("CREATE INDEX reads_time ON reads (time)")
        old.execute("CREATE INDEX reads_plate ON reads (plate_normalized, time)")
        old.executemany(
            "INSERT INTO reads (id, time, read_time, camera, plate, plate_normalized, "
            "watchlist_name) VALUES (?, ?, ?, 'gate', ?, ?, ?)",
            [
                ("old1", "2026-01-01T00:00:00.000Z", None, "a812c0e", "A812C0E", "Our car"),
                ("old2", "2026-01-02T00:00:00.000Z", None, "a8i2c0e", "A8I2C0E", None),
                ("old3", "2026-01-03T00:00:00.000Z", None, "ab12cd", "AB12CD", None),
            ],
        )
    old.close()
    for step in range(3):  # as it is, with the columns but not yet filled, then upgraded
        if step == 1:
            connect(path).close()  # what the writer's start does before its thread fills
        assert [r.id for r in search(path, Search(plate="AB12CDE"))] == ["old1"]
        found = search(path, Search(plate="AB12CDE", tolerance=1))
        assert [r.id for r in found] == ["old3", "old2", "old1"]
        assert [r.id for r in search(path, Search(watched_only=True))] == ["old1"]
        assert found[0].read_by is None and found[0].watchlist_kind is None
        if step == 1:
            write(path, [])  # the writer's thread fills the columns, creates the indexes
    with sqlite3.connect(path) as upgraded:
        folded = upgraded.execute("SELECT id, plate_folded FROM reads ORDER BY id").fetchall()
        indexes = {row[1] for row in upgraded.execute("PRAGMA index_list(reads)")}
        plan = " ".join(
            str(row[3])
            for row in upgraded.execute(
                "EXPLAIN QUERY PLAN SELECT id FROM reads WHERE plate_folded = ? ORDER BY time DESC",
                ("A812C0E",),
            )
        )
    upgraded.close()
    assert folded == [("old1", "A812C0E"), ("old2", "A812C0E"), ("old3", "A812C0")]
    assert {"reads_folded", "reads_watched", "reads_plate_camera"} <= indexes
    assert "reads_folded" in plan
    # New reads are indexed by the writer as they come.
    write(path, [("AB12C0E", "gate", T0)])
    assert [r.plate for r in search(path, Search(plate="AB12CDE"))] == ["AB12C0E", "a812c0e"]


def test_a_broad_wildcard_pages_newest_first(tmp_path: Path) -> None:
    """Over 5,000 matches the search walks the reads by time instead of the plate index:
    same answer."""
    path = tmp_path / "history.sqlite3"
    reads = [(f"AB{n:05d}", "gate", T0 + timedelta(seconds=n)) for n in range(5_100)]
    write(path, [*reads, ("XB00001", "gate", T0 + timedelta(days=1))])
    newest = [f"AB{n:05d}" for n in range(5_099, 5_089, -1)]
    assert plates(path, Search(plate="AB*", limit=10)) == newest
    assert plates(path, Search(plate="*B0*", limit=11)) == ["XB00001", *newest]
    assert plates(path, Search(plate="AB0000?")) == [f"AB0000{n}" for n in range(9, -1, -1)]


def test_a_search_that_runs_too_long_is_stopped_with_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No deadline left: the first progress check stops the query (no timing involved)."""
    import bridge.history_search

    path = tmp_path / "history.sqlite3"
    write(path, [(f"AB{n:05d}", "gate", T0 + timedelta(seconds=n)) for n in range(3_000)])
    monkeypatch.setattr(bridge.history_search, "SEARCH_DEADLINE_S", -1.0)
    with pytest.raises(ValueError, match=r"took longer than .* narrow it"):
        search(path, Search(plate="*ZZ"))
