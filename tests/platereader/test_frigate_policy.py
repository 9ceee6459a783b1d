"""The shared Frigate LPR policy: one decision table for the bridge and the integration."""

from __future__ import annotations

import json
from typing import Any

import pytest

from platereader.frigate_policy import (
    Action,
    FrigatePayloadError,
    FrigatePlate,
    FrigatePlates,
    LprOptions,
    Reason,
    decide,
    frigate_holds,
    lookup_read_by,
    parse_lpr_update,
    plate_in_event,
)

CONFIDENT = FrigatePlate("ev1", "drive", "AB12CDE", 0.95)
WEAK = FrigatePlate("ev1", "drive", "AB12CDE", 0.8)
UNSCORED = FrigatePlate("ev1", "drive", "AB12CDE", None)
AUTO = LprOptions()
ON = LprOptions(mode="on")
OFF = LprOptions(mode="off")
CONFIRM = LprOptions(confirm_watched=True)
NO_WAIT = LprOptions(wait=0)


# (plate, options, keyword arguments) -> (action, reason)
TABLE: list[tuple[FrigatePlate | None, LprOptions, dict[str, Any], Action, Reason]] = [
    # Frigate read it well enough: published as it is.
    (CONFIDENT, AUTO, {"reads_plates": True}, Action.PUBLISH, Reason.FRIGATE_READ),
    (CONFIDENT, AUTO, {"reads_plates": False}, Action.PUBLISH, Reason.FRIGATE_READ),
    (CONFIDENT, AUTO, {"reads_plates": True, "watched": True}, Action.PUBLISH, Reason.FRIGATE_READ),
    (CONFIDENT, NO_WAIT, {"reads_plates": True}, Action.PUBLISH, Reason.FRIGATE_READ),
    # ... unless the lookup adds something.
    (CONFIDENT, OFF, {"reads_plates": True}, Action.LOOKUP, Reason.LPR_OFF),
    (CONFIDENT, AUTO, {"reads_plates": True, "mmc": True}, Action.LOOKUP, Reason.MMC),
    (CONFIDENT, AUTO, {"reads_plates": True, "zones": True}, Action.LOOKUP, Reason.ZONES),
    (
        CONFIDENT,
        CONFIRM,
        {"reads_plates": True, "watched": True},
        Action.LOOKUP,
        Reason.CONFIRM_WATCHED,
    ),
    (CONFIDENT, CONFIRM, {"reads_plates": True}, Action.PUBLISH, Reason.FRIGATE_READ),
    # Weak, unscored or missing: wait for Frigate where it reads plates, then look up.
    (WEAK, AUTO, {"reads_plates": True}, Action.WAIT, Reason.WAITING),
    (WEAK, AUTO, {"reads_plates": False}, Action.WAIT, Reason.WAITING),  # it sent one
    (WEAK, AUTO, {"reads_plates": True, "waited": True}, Action.LOOKUP, Reason.LOW_SCORE),
    (UNSCORED, AUTO, {"reads_plates": True, "waited": True}, Action.LOOKUP, Reason.LOW_SCORE),
    (WEAK, NO_WAIT, {"reads_plates": True}, Action.LOOKUP, Reason.LOW_SCORE),
    (None, AUTO, {"reads_plates": True}, Action.WAIT, Reason.WAITING),
    (None, AUTO, {"reads_plates": True, "waited": True}, Action.LOOKUP, Reason.NO_READ),
    (None, ON, {"reads_plates": False}, Action.WAIT, Reason.WAITING),
    # Frigate without LPR, or older than 0.16: as before, at once.
    (None, AUTO, {"reads_plates": False}, Action.LOOKUP, Reason.NO_LPR),
    (None, OFF, {"reads_plates": True}, Action.LOOKUP, Reason.LPR_OFF),
    (WEAK, AUTO, {"reads_plates": True, "mmc": True}, Action.LOOKUP, Reason.MMC),
]


@pytest.mark.parametrize(("plate", "options", "kwargs", "action", "reason"), TABLE)
def test_decision_table(
    plate: FrigatePlate | None,
    options: LprOptions,
    kwargs: dict[str, Any],
    action: Action,
    reason: Reason,
) -> None:
    decision = decide(plate, options, **kwargs)
    assert (decision.action, decision.reason) == (action, reason)


def test_min_score_is_inclusive() -> None:
    at = FrigatePlate("e", "c", "AB1", 0.9)
    assert decide(at, AUTO, reads_plates=True).action is Action.PUBLISH
    assert decide(at, LprOptions(min_score=0.95), reads_plates=True).action is Action.WAIT


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "sometimes"}, "mode must be one of auto, on, off"),
        ({"min_score": 1.5}, "min_score must be between 0 and 1"),
        ({"wait": -1}, "wait must be between 0 and 20"),
        ({"wait": 60}, "wait must be between 0 and 20"),
    ],
)
def test_options_are_checked(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LprOptions(**kwargs)


def test_read_by_names() -> None:
    assert lookup_read_by(True) == "api"
    assert lookup_read_by(False) == "engine"
    result = CONFIDENT.result()
    assert (result.plate, result.score, result.box) == ("AB12CDE", 0.95, None)


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        ({}, None),
        ({"recognized_license_plate": None}, None),
        ({"recognized_license_plate": ""}, None),
        ({"recognized_license_plate": [None, None]}, None),
        (
            {"recognized_license_plate": "AB12CDE", "recognized_license_plate_score": 0.93},
            ("AB12CDE", 0.93),
        ),
        ({"recognized_license_plate": " AB12CDE "}, ("AB12CDE", None)),
        ({"recognized_license_plate": ["AB12CDE", 0.91]}, ("AB12CDE", 0.91)),
        ({"recognized_license_plate": ["AB12CDE"]}, ("AB12CDE", None)),
        (
            {"recognized_license_plate": ["AB12CDE", 0.5], "recognized_license_plate_score": 0.9},
            ("AB12CDE", 0.9),
        ),
    ],
)
def test_plate_in_event(after: dict[str, Any], expected: tuple[str, float | None] | None) -> None:
    assert plate_in_event(after) == expected


@pytest.mark.parametrize(
    ("after", "message"),
    [
        ({"recognized_license_plate": 5}, r"after\.recognized_license_plate must be null, a str"),
        ({"recognized_license_plate": {"a": 1}}, r"must be null, a string or \[plate, score\]"),
        ({"recognized_license_plate": [5, 0.9]}, r"recognized_license_plate\[0\] must be a non-"),
        ({"recognized_license_plate": ["AB", "x"]}, r"recognized_license_plate\[1\] must be a n"),
        ({"recognized_license_plate": "A" * 101}, "at most 100 characters"),
        ({"recognized_license_plate_score": True}, r"_score must be a number, got bool"),
        ({"recognized_license_plate_score": float("nan")}, "must be a finite number"),
    ],
)
def test_plate_in_event_errors(after: dict[str, Any], message: str) -> None:
    with pytest.raises(FrigatePayloadError, match=message):
        plate_in_event(after)


def _lpr(**changes: Any) -> bytes:
    message = {
        "type": "lpr",
        "id": "1607123955.475377-mxklsc",
        "name": "John's Car",
        "plate": "123ABC",
        "score": 0.95,
        "camera": "driveway_cam",
        "timestamp": 1607123958.748393,
        "plate_box": [917, 487, 1029, 529],
    }
    message.update(changes)
    return json.dumps({k: v for k, v in message.items() if v != "-"}).encode()


def test_parse_lpr_update_documented_message() -> None:
    plate = parse_lpr_update(_lpr())
    assert plate == FrigatePlate(
        "1607123955.475377-mxklsc",
        "driveway_cam",
        "123ABC",
        0.95,
        "John's Car",
        (917.0, 487.0, 1029.0, 529.0),
    )
    # 0.16.x sends no plate_box, and null for an unknown plate's name.
    older = parse_lpr_update(_lpr(plate_box="-", name=None))
    assert older is not None and (older.box, older.name) == (None, None)
    assert parse_lpr_update(_lpr().decode()) == plate


@pytest.mark.parametrize(
    "payload",
    [
        json.dumps({"type": "description", "id": "x", "description": "a red car"}).encode(),
        json.dumps({"type": "face", "id": "x", "name": "Bob", "score": 0.9}).encode(),
        json.dumps({"id": "x"}).encode(),
    ],
)
def test_other_updates_are_not_plates(payload: bytes) -> None:
    assert parse_lpr_update(payload) is None


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"{nope", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[]", "must be a JSON object, got list"),
        (_lpr(id="-"), "id must be a non-empty string, got null"),
        (_lpr(camera=5), "camera must be a non-empty string, got int"),
        (_lpr(plate=""), "plate must be a non-empty string"),
        (_lpr(plate="X" * 200), "plate must be at most 100 characters"),
        (_lpr(score="high"), "score must be a number, got str"),
        (_lpr(score=3), "score must be between 0 and 1"),
        (_lpr(name=7), "name must be a non-empty string"),
        (_lpr(plate_box=[1, 2, 3]), r"plate_box must be \[x1, y1, x2, y2\]"),
        (b" " * (64 * 1024 + 1), "payload over 65536 bytes"),
    ],
)
def test_parse_lpr_update_errors(payload: bytes, message: str) -> None:
    with pytest.raises(FrigatePayloadError, match=message):
        parse_lpr_update(payload)


# --------------------------------------------------------------------------- memory


def test_frigate_holds_ignores_case_and_separators() -> None:
    assert frigate_holds("ab12 cde", CONFIDENT)
    assert frigate_holds("AB-12-CDE", CONFIDENT)
    assert not frigate_holds("AB12CDF", CONFIDENT)
    assert not frigate_holds(None, CONFIDENT)
    assert not frigate_holds("AB12CDE", None)


def test_plates_keep_the_latest_read_and_learn_cameras() -> None:
    plates = FrigatePlates()
    assert plates.get("ev1") is None and not plates.reads_plates("drive")
    plates.add(WEAK)
    plates.add(CONFIDENT)
    assert plates.get("ev1") == CONFIDENT
    assert plates.reads_plates("drive")
    assert not plates.published("ev1")
    plates.mark_published("ev1")
    assert plates.published("ev1")
    plates.forget("ev1")
    assert plates.get("ev1") is None and not plates.published("ev1")
    assert plates.reads_plates("drive")  # the camera stays known
    plates.learn("gate")
    assert plates.reads_plates("gate")


def test_plates_are_bounded() -> None:
    now = [0.0]
    plates = FrigatePlates(max_events=3, max_cameras=2, ttl=60, clock=lambda: now[0])
    for n in range(5):
        plates.add(FrigatePlate(f"ev{n}", f"cam{n}", "AB1", 0.9))
    assert len(plates) == 3
    assert plates.get("ev0") is None and plates.get("ev4") is not None
    assert not plates.reads_plates("cam0") and plates.reads_plates("cam4")
    now[0] = 61.0
    plates.add(FrigatePlate("late", "cam4", "AB1", 0.9))
    assert len(plates) == 1  # the others expired
    with pytest.raises(ValueError, match="positive"):
        FrigatePlates(ttl=0)
