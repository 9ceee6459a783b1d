"""The demo's real photos: shipped in `photos/` (MIT, see photos/README.md), fed first.

A newcomer sees real plates read on real cars, with the annotated copies worth opening,
before the synthetic pictures of `samples` show the watch list and other plate styles.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FOLDER = Path(__file__).with_name("photos")


@dataclass(frozen=True, slots=True)
class Photo:
    """One photo of `photos/`, and the plates on it (as printed on the plates)."""

    name: str  # file name in photos/
    camera: str  # sub-folder of the inbox = the bridge's camera name
    plates: tuple[str, ...]

    @property
    def path(self) -> Path:
        return FOLDER / self.name

    def jpeg(self) -> bytes:
        return self.path.read_bytes()


PHOTOS: tuple[Photo, ...] = (
    # The Snapshot API reference's demo image: two cars side by side (labelled boxes drawn).
    Photo("demo.jpg", "parking", ("BY649AG", "ZA834CO")),
    # The 4K photo of four parked cars, downscaled to 1920x1080; IC 789-KL is partly hidden.
    Photo("cars.jpg", "parking", ("AB-123-CD", "EF-668-GH", "IC 789-KL", "NK D22-DF")),
)
