"""Typed views of a config entry's options and of its camera subentries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .const import (
    CONF_CAMERA,
    CONF_DETECTION_RULE_STRICT,
    CONF_ENGINE,
    CONF_FAST_MODE,
    CONF_FRIGATE_CAMERA,
    CONF_FRIGATE_LPR,
    CONF_FRIGATE_LPR_CONFIRM,
    CONF_FRIGATE_LPR_MIN_SCORE,
    CONF_FRIGATE_LPR_WAIT,
    CONF_HOLD_TIME,
    CONF_MMC,
    CONF_REGION_STRICT,
    CONF_REGIONS,
    CONF_TEXT_FORMATS,
    CONF_THRESHOLD_D,
    CONF_THRESHOLD_O,
    CONF_TOLERANCE,
    CONF_TRIGGER,
    CONF_TRIGGER_ENTITY,
    CONF_VEHICLE_MODE,
    CONF_WATCHLIST,
    DEFAULT_HOLD_TIME,
    TRIGGER_MANUAL,
)
from .platereader import EngineConfig
from .platereader.frigate_policy import DEFAULT_MIN_SCORE, DEFAULT_WAIT, LprOptions
from .platereader.watchlist import WatchList, tolerance_from_config


def engine_options_to_config(engine: Mapping[str, Any]) -> EngineConfig | None:
    """The `config` sent with each lookup, from the options form's fields.

    Raises `PlateReaderConfigError` (a ValueError) when a value is invalid.
    """
    data: dict[str, Any] = {}
    if engine.get(CONF_DETECTION_RULE_STRICT):
        data["detection_rule"] = "strict"
    if engine.get(CONF_VEHICLE_MODE):
        data["detection_mode"] = "vehicle"
    if engine.get(CONF_REGION_STRICT):
        data["region"] = "strict"
    if engine.get(CONF_THRESHOLD_D) is not None:
        data["threshold_d"] = engine[CONF_THRESHOLD_D]
    if engine.get(CONF_THRESHOLD_O) is not None:
        data["threshold_o"] = engine[CONF_THRESHOLD_O]
    if engine.get(CONF_FAST_MODE):
        data["mode"] = "fast"
    if engine.get(CONF_TEXT_FORMATS):
        data["text_formats"] = list(engine[CONF_TEXT_FORMATS])
    return EngineConfig.parse(data) if data else None


# What version 1.1's form stored when the slider was left alone: an edit
# distance forgiving one arbitrary character. Never chosen by the user, and
# the default that opened gates for neighbours.
_OLD_DEFAULT_TOLERANCE = 1.0


def migrate_watchlist_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Options of a 1.1 entry, with each watch-list tolerance as a count of characters.

    1.1 stored a float edit distance (look-alikes costing 0.25), always 1.0
    unless the user moved the slider. That default becomes 0 (exact or
    look-alikes only); a value the user chose keeps its whole part (1.5 -> 1),
    at most 2; anything unreadable becomes 0.
    """
    watchlist = []
    for item in options.get(CONF_WATCHLIST, ()):
        old = item.get(CONF_TOLERANCE, _OLD_DEFAULT_TOLERANCE)
        if isinstance(old, float) and old == _OLD_DEFAULT_TOLERANCE:
            tolerance = 0
        else:
            try:
                tolerance = tolerance_from_config(old)
            except ValueError:
                tolerance = 0
        watchlist.append({**item, CONF_TOLERANCE: tolerance})
    return {**options, CONF_WATCHLIST: watchlist} if CONF_WATCHLIST in options else dict(options)


@dataclass(frozen=True, slots=True)
class Settings:
    """What every camera of an entry shares."""

    regions: tuple[str, ...] = ()
    mmc: bool = False
    engine: EngineConfig | None = None
    watchlist: WatchList = field(default_factory=WatchList)
    hold_time: float = DEFAULT_HOLD_TIME

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> Settings:
        return cls(
            regions=tuple(options.get(CONF_REGIONS, ())),
            mmc=bool(options.get(CONF_MMC, False)),
            engine=engine_options_to_config(options.get(CONF_ENGINE, {})),
            watchlist=WatchList.from_dicts(options.get(CONF_WATCHLIST, ())),
            hold_time=float(options.get(CONF_HOLD_TIME, DEFAULT_HOLD_TIME)),
        )


@dataclass(frozen=True, slots=True)
class CameraSettings:
    """One camera subentry: which camera, what starts a read, its own regions."""

    subentry_id: str
    title: str
    camera_entity: str
    trigger: str = TRIGGER_MANUAL
    trigger_entity: str | None = None
    frigate_camera: str | None = None
    regions: tuple[str, ...] = ()
    # How Frigate's own plate reads are used (a Frigate trigger only).
    frigate_lpr: LprOptions = field(default_factory=LprOptions)

    @classmethod
    def from_subentry(cls, subentry_id: str, title: str, data: Mapping[str, Any]) -> CameraSettings:
        return cls(
            subentry_id=subentry_id,
            title=title,
            camera_entity=data[CONF_CAMERA],
            trigger=data.get(CONF_TRIGGER, TRIGGER_MANUAL),
            trigger_entity=data.get(CONF_TRIGGER_ENTITY),
            frigate_camera=data.get(CONF_FRIGATE_CAMERA),
            regions=tuple(data.get(CONF_REGIONS, ())),
            frigate_lpr=LprOptions(
                mode=data.get(CONF_FRIGATE_LPR, "auto"),
                min_score=float(data.get(CONF_FRIGATE_LPR_MIN_SCORE, DEFAULT_MIN_SCORE)),
                wait=float(data.get(CONF_FRIGATE_LPR_WAIT, DEFAULT_WAIT)),
                confirm_watched=bool(data.get(CONF_FRIGATE_LPR_CONFIRM, False)),
            ),
        )
