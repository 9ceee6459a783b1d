"""Typed views of a config entry's options and of its camera subentries."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .const import (
    CONF_CAMERA,
    CONF_DETECTION_RULE_STRICT,
    CONF_ENGINE,
    CONF_FAST_MODE,
    CONF_FRIGATE_CAMERA,
    CONF_HOLD_TIME,
    CONF_MMC,
    CONF_REGION_STRICT,
    CONF_REGIONS,
    CONF_TEXT_FORMATS,
    CONF_THRESHOLD_D,
    CONF_THRESHOLD_O,
    CONF_TRIGGER,
    CONF_TRIGGER_ENTITY,
    CONF_VEHICLE_MODE,
    CONF_WATCHLIST,
    DEFAULT_HOLD_TIME,
    TRIGGER_MANUAL,
)
from .platereader import EngineConfig
from .watchlist import WatchEntry

_REGION_CODE = re.compile(r"^[a-z]{2}(-[a-z0-9]{1,3})?$")


def normalise_regions(values: Iterable[Any]) -> list[str]:
    """Lower-case region codes, without duplicates; raise ValueError naming a bad one.

    A YAML boolean `False` is the unquoted Norway code `no` read by a YAML 1.1
    parser (scripts, automations): it can only have meant Norway here.
    """
    codes: list[str] = []
    for value in values:
        if value is False:
            value = "no"
        code = str(value).strip().lower()
        if not _REGION_CODE.match(code):
            raise ValueError(f"{value!r} is not a region code like 'gb', 'no' or 'us-ca'")
        if code not in codes:
            codes.append(code)
    return codes


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


@dataclass(frozen=True, slots=True)
class Settings:
    """What every camera of an entry shares."""

    regions: tuple[str, ...] = ()
    mmc: bool = False
    engine: EngineConfig | None = None
    watchlist: tuple[WatchEntry, ...] = ()
    hold_time: float = DEFAULT_HOLD_TIME

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> Settings:
        return cls(
            regions=tuple(options.get(CONF_REGIONS, ())),
            mmc=bool(options.get(CONF_MMC, False)),
            engine=engine_options_to_config(options.get(CONF_ENGINE, {})),
            watchlist=tuple(WatchEntry.from_dict(item) for item in options.get(CONF_WATCHLIST, ())),
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
        )
