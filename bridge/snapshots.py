"""Annotated copies of the pictures read, kept on disk with a retention policy.

`<storage.path>/snapshots/<camera>/<time>-<source event id>.jpg` is the picture
with the plate boxes, plate texts and vehicle boxes drawn
(`AnnotatedPicture`, drawn once per read); with `storage.save_raw` the picture as read is kept
beside it as `<same name>.raw.<jpg|png|...>`. Retention, applied after each
save: at most `snapshots_keep` per camera, none older than
`snapshots_max_age_days`, and at most `snapshots_max_mb` over all cameras (the
oldest go first). Everything here is blocking file and Pillow work: call it
from a worker thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from .sinks.base import AnnotatedPicture

_LOGGER = logging.getLogger(__name__)

RAW_MARK = ".raw"
_SIZE_CHECK_EVERY = 30.0  # seconds between two scans of every camera's folder


def _extension(image: bytes) -> str:
    if image.startswith(b"\x89PNG"):
        return ".png"
    if image[:4] == b"RIFF" and image[8:12] == b"WEBP":
        return ".webp"
    if image.startswith(b"GIF8"):
        return ".gif"
    if image.startswith(b"BM"):
        return ".bmp"
    return ".jpg"


def _group(path: Path) -> str:
    """The annotated file's name for both it and its raw copy."""
    name = path.name
    index = name.find(RAW_MARK + ".")
    return name[:index] + ".jpg" if index >= 0 else name


class SnapshotStore:
    def __init__(
        self,
        root: Path,
        *,
        keep: int,
        max_age_days: float = 0.0,
        max_mb: float = 0.0,
        save_raw: bool = False,
    ) -> None:
        self.root = root
        self.keep = keep
        self.max_age = max_age_days * 86400.0
        self.max_bytes = int(max_mb * 1024 * 1024)
        self.save_raw = save_raw
        self._lock = threading.Lock()
        self._last_size_check = 0.0

    def save(self, path: Path, picture: AnnotatedPicture) -> Path:
        """Write the annotated copy at `path` (and the raw picture), then prune."""
        data = picture.annotated()
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.save_raw:
            image = picture.image
            _write(path.with_name(path.stem + RAW_MARK + _extension(image)), image)
        _write(path, data)
        self.prune(path.parent)
        return path

    def prune(self, camera_dir: Path, now: float | None = None) -> int:
        """Apply the retention policy; the number of files removed."""
        now = time.time() if now is None else now
        removed = 0
        with self._lock:
            groups = _groups(camera_dir)
            names = sorted(groups)  # file names start with the time: oldest first
            doomed = set(names[: max(len(names) - self.keep, 0)])
            if self.max_age > 0:
                for name in names:
                    if now - _mtime(groups[name]) > self.max_age:
                        doomed.add(name)
            for name in doomed:
                removed += _unlink(groups[name])
            if self.max_bytes and now - self._last_size_check >= _SIZE_CHECK_EVERY:
                self._last_size_check = now
                removed += self._cap_total_size()
        return removed

    def check_size_now(self) -> int:
        with self._lock:
            return self._cap_total_size()

    def _cap_total_size(self) -> int:
        if not self.root.is_dir():
            return 0
        entries: list[tuple[float, str, list[Path], int]] = []
        total = 0
        for camera_dir in self.root.iterdir():
            if not camera_dir.is_dir():
                continue
            for name, files in _groups(camera_dir).items():
                size = sum(_size(f) for f in files)
                total += size
                entries.append((_mtime(files), name, files, size))
        removed = 0
        entries.sort()
        for _, _, files, size in entries:
            if total <= self.max_bytes:
                break
            removed += _unlink(files)
            total -= size
        return removed


def _groups(camera_dir: Path) -> dict[str, list[Path]]:
    groups: dict[str, list[Path]] = {}
    if not camera_dir.is_dir():
        return groups
    for file in camera_dir.iterdir():
        if file.is_file() and not file.name.endswith(".tmp"):
            groups.setdefault(_group(file), []).append(file)
    return groups


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)  # atomic: a reader never sees half a file


def _mtime(files: Sequence[Path]) -> float:
    times = []
    for file in files:
        try:
            times.append(file.stat().st_mtime)
        except OSError:
            continue
    return max(times, default=0.0)


def _size(file: Path) -> int:
    try:
        return file.stat().st_size
    except OSError:
        return 0


def _unlink(files: Sequence[Path]) -> int:
    count = 0
    for file in files:
        try:
            file.unlink()
            count += 1
        except FileNotFoundError:
            continue
        except OSError as err:
            _LOGGER.warning("cannot delete the old snapshot %s: %s", file, err)
    return count
