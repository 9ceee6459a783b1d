"""The watch list the web page edits: `<storage.path>/watchlist.yaml`.

Once the page has changed the watch list it lives in this file, not in the
configuration (which the bridge never rewrites): the file has the config's shape
(`watchlist:` and the same entries), each change is validated first and written
atomically, and subscribers (the pipeline) get the new matcher at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from platereader.watchlist import WatchList, normalize_plate

from .config.errors import ConfigError
from .config.loading import parse_yaml
from .config.watchlist import WatchEntryConfig

__all__ = ["MAX_ENTRIES", "MAX_FILE_BYTES", "WatchListError", "WatchListStore"]

_LOGGER = logging.getLogger(__name__)

MAX_ENTRIES = 5000
MAX_FILE_BYTES = 2 * 1024 * 1024
# Bounds on what the page can send, so a form cannot grow the file without limit.
_MAX_TEXT = 200
_MAX_TAGS = 20
_HEADER = (
    "# The bridge's watch list, as edited on its web page. While this file exists it is\n"
    "# used instead of the configuration's `watchlist:`. Same entry shape as there.\n"
)


class WatchListError(ValueError):
    """A change or a file the watch list refuses; the message is shown to the user as is."""


class WatchListStore:
    FILE_NAME = "watchlist.yaml"

    def __init__(self, path: Path, seed: Sequence[WatchEntryConfig]) -> None:
        """`path` is `<storage.path>/watchlist.yaml`; `seed` the config's `watchlist:`.

        If the file exists it is the watch list (a warning is logged when the config's
        entries differ); otherwise `seed` is, until the first change writes the file.
        Raises WatchListError for an unreadable or invalid file.
        """
        self.path = path
        self._lock = threading.RLock()  # RLock: a subscriber may read `entries`
        self._callbacks: list[Callable[[WatchList], None]] = []
        if path.exists():
            entries = _load(path)
            if seed and _dump(seed) != _dump(entries):
                _LOGGER.warning(
                    "the page's watch list in %s is used; the config's watchlist: is ignored",
                    path,
                )
        else:
            entries = tuple(seed)
        self._entries = entries
        self._watchlist = _matcher(entries)

    @property
    def entries(self) -> tuple[WatchEntryConfig, ...]:
        return self._entries

    def watchlist(self) -> WatchList:
        return self._watchlist

    def subscribe(self, callback: Callable[[WatchList], None]) -> None:
        """Call `callback` with the new WatchList after each successful change."""
        with self._lock:
            self._callbacks.append(callback)

    def add(self, entry: WatchEntryConfig) -> None:
        entry = _checked(entry)
        with self._lock:
            if _find(self._entries, entry.plate) is not None:
                raise WatchListError(f"{entry.plate} is already on the watch list")
            self._commit((*self._entries, entry))

    def update(self, plate: str, entry: WatchEntryConfig) -> None:
        """Replace the entry for `plate` (compared normalised) with `entry`."""
        entry = _checked(entry)
        with self._lock:
            index = _find(self._entries, plate)
            if index is None:
                raise WatchListError(f"{plate} is not on the watch list")
            other = _find(self._entries, entry.plate)
            if other is not None and other != index:
                raise WatchListError(f"{entry.plate} is already on the watch list")
            entries = list(self._entries)
            entries[index] = entry
            self._commit(tuple(entries))

    def remove(self, plate: str) -> None:
        with self._lock:
            index = _find(self._entries, plate)
            if index is None:
                raise WatchListError(f"{plate} is not on the watch list")
            self._commit(self._entries[:index] + self._entries[index + 1 :])

    def _commit(self, entries: tuple[WatchEntryConfig, ...]) -> None:
        """Write `entries`, then make them the watch list and tell the subscribers."""
        if len(entries) > MAX_ENTRIES:
            raise WatchListError(f"the watch list holds at most {MAX_ENTRIES} entries")
        watchlist = _matcher(entries)
        _write(self.path, entries)
        self._entries, self._watchlist = entries, watchlist
        for callback in self._callbacks:  # under the lock: subscribers see changes in order
            try:
                callback(watchlist)
            except Exception:
                _LOGGER.exception("a watch-list subscriber failed")


def _checked(entry: WatchEntryConfig) -> WatchEntryConfig:
    """Validate again (a model may be built without validation) and bound the texts."""
    try:
        entry = WatchEntryConfig.model_validate(entry.model_dump())
    except ValidationError as err:
        raise WatchListError(_describe(err)) from None
    texts = [entry.name, entry.plate, entry.owner or "", *entry.tags]
    if not entry.name.strip():
        raise WatchListError("name: give the entry a name")
    if any(len(text) > _MAX_TEXT for text in texts) or len(entry.tags) > _MAX_TAGS:
        raise WatchListError(
            f"name, plate, owner and tags are at most {_MAX_TEXT} characters each, "
            f"with at most {_MAX_TAGS} tags"
        )
    return entry


def _find(entries: Sequence[WatchEntryConfig], plate: str) -> int | None:
    wanted = normalize_plate(plate)
    return next(
        (i for i, entry in enumerate(entries) if normalize_plate(entry.plate) == wanted), None
    )


def _matcher(entries: Sequence[WatchEntryConfig]) -> WatchList:
    return WatchList(entry.to_entry() for entry in entries)


def _dump(entries: Sequence[WatchEntryConfig]) -> list[dict[str, Any]]:
    return [entry.model_dump(exclude_defaults=True) for entry in entries]


def _describe(err: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
        if problem["loc"]
        else str(problem["msg"])
        for problem in err.errors()
    )


def _write(path: Path, entries: Sequence[WatchEntryConfig]) -> None:
    """Replace the file atomically: a crash leaves the old file or the new one, whole."""
    text = _HEADER + yaml.safe_dump(
        {"watchlist": _dump(entries)}, sort_keys=False, allow_unicode=True
    )
    data = text.encode("utf-8")
    if len(data) > MAX_FILE_BYTES:
        raise WatchListError(f"the watch list would exceed {MAX_FILE_BYTES // 1024 // 1024} MB")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else None
        handle, temporary = tempfile.mkstemp(prefix=".watchlist.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            if mode is not None:
                os.chmod(temporary, mode)  # a new file keeps mkstemp's 0600
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a power cut
        finally:
            os.close(directory)
    except OSError as err:
        raise WatchListError(f"cannot write {path}: {err.strerror or err}") from err


def _load(path: Path) -> tuple[WatchEntryConfig, ...]:
    """The entries of the file; WatchListError naming the file (and line) otherwise."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise WatchListError(
                f"{path}: {size} bytes, more than a watch list may hold "
                f"({MAX_FILE_BYTES // 1024 // 1024} MB)"
            )
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise WatchListError(f"{path}: cannot read: {err.strerror or err}") from err
    except UnicodeDecodeError as err:
        raise WatchListError(f"{path}: not UTF-8 text ({err.reason})") from err
    try:
        node, data = parse_yaml(text, str(path))
    except ConfigError as err:
        raise WatchListError(err.problems[0]) from err
    if not isinstance(data, dict) or set(data) != {"watchlist"}:
        raise WatchListError(f"{path}: expected one key, `watchlist:`, with a list of entries")
    items = data["watchlist"] or []
    if not isinstance(items, list):
        raise WatchListError(f"{path}: `watchlist:` must be a list of entries")
    if len(items) > MAX_ENTRIES:
        raise WatchListError(f"{path}: {len(items)} entries, more than {MAX_ENTRIES}")
    assert isinstance(node, yaml.MappingNode)  # a dict was constructed from it
    item_nodes = node.value[0][1].value
    entries: list[WatchEntryConfig] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        line = item_nodes[index].start_mark.line + 1
        try:
            entry = WatchEntryConfig.model_validate(item)
        except ValidationError as err:
            raise WatchListError(f"{path} (line {line}): {_describe(err)}") from None
        normalized = normalize_plate(entry.plate)
        if normalized in seen:
            raise WatchListError(f"{path} (line {line}): {entry.plate} is listed twice")
        seen.add(normalized)
        entries.append(entry)
    return tuple(entries)
