"""The watch list the web page edits (bridge/watchlist_store.py): a YAML file of its own."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import pytest
import yaml

from bridge.config.watchlist import WatchEntryConfig
from bridge.watchlist_store import MAX_ENTRIES, WatchListError, WatchListStore
from platereader.watchlist import WatchList

OURS = WatchEntryConfig(name="Our car", plate="AB12CDE", owner="Sam")
VAN = WatchEntryConfig(name="Van", plate="XY99 ZZZ", tags=["work"], tolerance=1)


def store_at(tmp_path: Path, seed: tuple[WatchEntryConfig, ...] = (OURS,)) -> WatchListStore:
    return WatchListStore(tmp_path / WatchListStore.FILE_NAME, seed)


def test_seed_until_the_first_change_then_the_file(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    assert store.entries == (OURS,)
    assert not store.path.exists()  # nothing written before a change
    assert store.watchlist().match("A812C0E") is not None
    store.add(VAN)
    assert yaml.safe_load(store.path.read_text())["watchlist"][1] == {
        "name": "Van",
        "plate": "XY99 ZZZ",
        "tags": ["work"],
        "tolerance": 1,
    }
    store.update("ab-12-cde", OURS.model_copy(update={"owner": "Alex"}))
    store.remove("xy99zzz")
    reloaded = store_at(tmp_path, seed=())
    assert reloaded.entries == (OURS.model_copy(update={"owner": "Alex"}),)
    assert reloaded.watchlist() == store.watchlist()


def test_subscribers_get_the_new_matcher(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    seen: list[WatchList] = []
    store.subscribe(seen.append)
    store.add(WatchEntryConfig(name="Neighbour", plate="NB 123"))
    match = seen[-1].match("NB123")
    assert match is not None and match.entry.name == "Neighbour"
    store.remove("NB123")
    assert seen[-1].match("NB123") is None and len(seen) == 2
    assert seen[-1] is store.watchlist()


def test_duplicates_and_missing_plates_are_refused(tmp_path: Path) -> None:
    store = store_at(tmp_path, seed=(OURS, VAN))
    with pytest.raises(WatchListError, match="already on the watch list"):
        store.add(WatchEntryConfig(name="Again", plate="ab 12 cde"))
    with pytest.raises(WatchListError, match="already on the watch list"):
        store.update("XY99ZZZ", VAN.model_copy(update={"plate": "AB-12-CDE"}))
    with pytest.raises(WatchListError, match="not on the watch list"):
        store.remove("ZZ000")
    with pytest.raises(WatchListError, match="not on the watch list"):
        store.update("ZZ000", OURS)
    store.update("XY99ZZZ", VAN.model_copy(update={"plate": "XY99ZZZ", "tolerance": 2}))
    assert store.entries[1].tolerance == 2  # the same plate, re-spelt, is no duplicate


def test_a_refused_change_leaves_the_file_and_the_list_as_they_were(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    store.add(VAN)
    before = store.path.read_bytes()
    calls: list[WatchList] = []
    store.subscribe(calls.append)
    bad = [
        OURS.model_construct(name="Bad", plate="---", tolerance=0, owner=None, tags=[]),
        OURS.model_construct(name="Bad", plate="QQ1", tolerance=9, owner=None, tags=[]),
        WatchEntryConfig(name="x" * 10_000, plate="QQ1"),
        WatchEntryConfig(name=" ", plate="QQ1"),
        WatchEntryConfig(name="Tags", plate="QQ1", tags=["t"] * 100),
    ]
    for entry in bad:
        with pytest.raises(WatchListError):
            store.add(entry)
    assert store.path.read_bytes() == before
    assert [e.name for e in store.entries] == ["Our car", "Van"] and calls == []
    assert [p.name for p in tmp_path.iterdir()] == [WatchListStore.FILE_NAME]  # no temp file


def test_a_write_that_fails_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk refusing the rename (full, read-only): old file, old list, no temp file."""
    import errno

    store = store_at(tmp_path)
    store.add(VAN)
    before = store.path.read_bytes()

    def refuse(src: object, dst: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", refuse)  # the OS, not our code, fails
    with pytest.raises(WatchListError, match=r"cannot write .*No space left"):
        store.add(WatchEntryConfig(name="New", plate="NEW1"))
    monkeypatch.undo()
    assert store.path.read_bytes() == before and len(store.entries) == 2
    assert [p.name for p in tmp_path.iterdir()] == [WatchListStore.FILE_NAME]


def test_the_file_mode_is_kept(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    store.add(VAN)
    store.path.chmod(0o640)
    store.remove("XY99ZZZ")
    assert store.path.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("watchlist:\n  - name: A\n    plate: [unclosed\n", r"not valid YAML \(line 4\)"),
        ("watchlist:\n  - name: A\n    plate: AB1\n  - name: B\n    plate: ''\n", "line 4"),
        ("watchlist:\n  - name: A\n    plate: AB1\n  - name: B\n    plate: a-b-1\n", "twice"),
        ("watchlist:\n  - name: A\n    plate: AB1\n    colour: red\n", "colour"),
        ("- name: A\n  plate: AB1\n", "`watchlist:`"),
        ("", "`watchlist:`"),
        ("watchlist: AB1\n", "must be a list"),
    ],
)
def test_a_corrupt_file_is_an_error_naming_it(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / WatchListStore.FILE_NAME
    path.write_text(text)
    with pytest.raises(WatchListError, match=message) as caught:
        WatchListStore(path, (OURS,))
    assert str(path) in str(caught.value)


def test_the_caps_on_entries_and_file_size(tmp_path: Path) -> None:
    path = tmp_path / WatchListStore.FILE_NAME
    path.write_bytes(b"watchlist:\n" + b"#" * (3 * 1024 * 1024))
    with pytest.raises(WatchListError, match="MB"):
        WatchListStore(path, ())
    many = [{"name": f"n{i}", "plate": f"P{i}"} for i in range(MAX_ENTRIES + 1)]
    path.write_text(yaml.safe_dump({"watchlist": many}))
    with pytest.raises(WatchListError, match=f"more than {MAX_ENTRIES}"):
        WatchListStore(path, ())
    path.write_text(yaml.safe_dump({"watchlist": many[:MAX_ENTRIES]}))
    store = WatchListStore(path, ())
    before = path.read_bytes()
    with pytest.raises(WatchListError, match=f"at most {MAX_ENTRIES}"):
        store.add(WatchEntryConfig(name="one more", plate="ONEMORE"))
    assert path.read_bytes() == before


def test_the_file_wins_over_the_config_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store_at(tmp_path).add(VAN)
    with caplog.at_level(logging.WARNING, logger="bridge.watchlist_store"):
        store = store_at(tmp_path, seed=(OURS,))
    assert [e.name for e in store.entries] == ["Our car", "Van"]
    assert "the config's watchlist: is ignored" in caplog.text
    assert str(store.path) in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bridge.watchlist_store"):
        store_at(tmp_path, seed=store.entries)  # the same list: nothing to say
    assert caplog.text == ""


def test_concurrent_changes_are_all_kept(tmp_path: Path) -> None:
    store = store_at(tmp_path, seed=())

    def add(n: int) -> None:
        for i in range(10):
            store.add(WatchEntryConfig(name=f"t{n}-{i}", plate=f"T{n}X{i}"))

    threads = [threading.Thread(target=add, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(store_at(tmp_path, seed=()).entries) == 40
