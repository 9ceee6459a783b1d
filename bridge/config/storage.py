"""`storage:` the state directory: outbox, saved snapshots, history."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from .types import EnvPath, Section


class StorageConfig(Section):
    path: EnvPath = Field(default=Path("./var/plate-bridge"), description="State directory.")
    outbox_max: int = Field(
        default=10_000, ge=10, description="Results kept on disk while the broker is away."
    )
    save_snapshots: bool = Field(default=False, description="Keep annotated snapshots.")
    snapshots_keep: int = Field(default=500, ge=1, description="Snapshots kept per camera.")
    snapshots_max_age_days: float = Field(
        default=30.0, ge=0, description="Delete saved snapshots older than this (0 = never)."
    )
    snapshots_max_mb: float = Field(
        default=1024.0, ge=0, description="Total size of saved snapshots, all cameras (0 = no cap)."
    )
    save_raw: bool = Field(
        default=False, description="Also keep the picture as read, without the drawings."
    )
    history: bool = Field(default=True, description="Record every read in history.sqlite3.")
    history_max_age_days: float = Field(
        default=365.0, ge=0, description="Forget reads older than this (0 = never)."
    )
