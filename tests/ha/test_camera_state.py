"""What a camera device shows after a read of a picture with several plates, and how it reads.

The rule (docs/home-assistant.md, "Several plates in one picture"): the picture's
headline plate is a watched one if there is any, else the best-scored one; "Last plate",
the action's answer and the event entity's final state all show it; one event fires per
plate; the attributes list every plate. Plus the wording of the watched sensor, the
snapshot's first picture, and the usage sensors of a local server without a quota.
"""

from __future__ import annotations

import io
from http import HTTPStatus
from typing import Any

from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from PIL import Image
from pytest_homeassistant_custom_component.common import async_capture_events
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.plate_recognizer.const import CONF_WATCHLIST, DOMAIN, EVENT_PLATE_DETECTED
from platereader.annotate import HIGHLIGHT_COLOUR, PLATE_COLOUR
from tests.fake_api import FakePlateRecognizer, RecordedRequest

from .conftest import FakeCamera, cloud_entry, local_entry, setup_entry

LAST_PLATE = "sensor.driveway_last_plate"
WATCHED = "binary_sensor.driveway_watched_vehicle_present"
EVENT = "event.driveway_plate"
IMAGE = "image.driveway_snapshot"
BUTTON = "button.driveway_read_plate_now"

# Three cars; the watched one has neither the best nor the worst score.
PLATES = [("ZZ999", 0.97, 100), ("AB12CDE", 0.85, 500), ("XY77", 0.60, 900)]
WATCH = [{"name": "Anna", "plate": "AB12CDE", "tolerance": 0, "tags": ["resident"]}]


def _three_cars(request: RecordedRequest) -> list[dict[str, Any]]:
    return [
        {
            "plate": text.lower(),
            "box": {"xmin": x, "ymin": 300, "xmax": x + 150, "ymax": 350},
            "score": score,
            "dscore": 0.9,
            "candidates": [{"plate": text.lower(), "score": score}],
        }
        for text, score, x in PLATES
    ]


def _event_states(hass: HomeAssistant) -> list[tuple[str | None, str | None]]:
    seen: list[tuple[str | None, str | None]] = []

    # A callback runs in the event loop, in order; a plain function would run in the
    # executor, where a busy machine can append the states out of order.
    @callback
    def _listener(event: Any) -> None:
        state = event.data["new_state"]
        if event.data["entity_id"] == EVENT and state is not None:
            seen.append((state.attributes.get("event_type"), state.attributes.get("plate")))

    hass.bus.async_listen("state_changed", _listener)
    return seen


async def test_a_watched_plate_is_the_pictures_headline(
    hass: HomeAssistant,
    fake_api: FakePlateRecognizer,
    camera: FakeCamera,
    hass_client: ClientSessionGenerator,
) -> None:
    fake_api.responder = _three_cars
    await setup_entry(hass, cloud_entry(fake_api, options={CONF_WATCHLIST: WATCH}))
    bus_events = async_capture_events(hass, EVENT_PLATE_DETECTED)
    event_states = _event_states(hass)

    answer = await hass.services.async_call(
        DOMAIN, "read_plate", {"camera": "camera.driveway"}, blocking=True, return_response=True
    )
    await hass.async_block_till_done()

    # The action's answer, "Last plate" and the watched sensor agree on Anna's car,
    # although another car of the picture scored higher.
    assert answer is not None
    assert answer["plate"] == "AB12CDE"
    assert answer["watched"] is True
    state = hass.states.get(LAST_PLATE)
    assert state.state == "AB12CDE"
    assert state.attributes["watched"] is True
    assert state.attributes["plates"] == ["AB12CDE", "ZZ999", "XY77"]
    assert state.attributes["watched_plates"] == ["AB12CDE"]
    assert hass.states.get(WATCHED).state == STATE_ON

    # One bus event per plate; the event entity fires for each, and ends on the headline.
    assert sorted(e.data["plate"] for e in bus_events) == ["AB12CDE", "XY77", "ZZ999"]
    assert [e.data["type"] for e in bus_events if e.data["plate"] == "AB12CDE"] == ["watched_plate"]
    assert len(event_states) == 6  # plate_detected, then its verdict, for each plate
    assert event_states[-1] == ("watched_plate", "AB12CDE")
    final = hass.states.get(EVENT)
    assert final.attributes["event_type"] == "watched_plate"
    assert final.attributes["plate"] == "AB12CDE"

    # The snapshot draws the watched plate apart from the two others.
    client = await hass_client()
    response = await client.get(f"/api/image_proxy/{IMAGE}")
    assert response.status == HTTPStatus.OK
    with Image.open(io.BytesIO(await response.read())) as picture:
        pixels = picture.convert("RGB")
    top_edge = {text: pixels.getpixel((x + 75, 300)) for text, _score, x in PLATES}
    drawn_as = {text: _nearest(pixel) for text, pixel in top_edge.items()}
    assert drawn_as == {"AB12CDE": "highlight", "ZZ999": "plate", "XY77": "plate"}, top_edge


def _nearest(pixel: Any) -> str:
    """Which of the two box colours a (JPEG-blurred) pixel is."""
    colours = {"plate": PLATE_COLOUR, "highlight": HIGHLIGHT_COLOUR}
    return min(
        colours,
        key=lambda name: sum((p - c) ** 2 for p, c in zip(pixel, colours[name], strict=True)),
    )


async def test_watched_sensor_reads_present_not_home(
    hass: HomeAssistant, fake_api: FakePlateRecognizer, camera: FakeCamera
) -> None:
    await setup_entry(hass, cloud_entry(fake_api))
    state = hass.states.get(WATCHED)
    assert state.state == STATE_OFF
    # No device class: "presence" made the frontend say Home/Away and "detected at home".
    assert "device_class" not in state.attributes
    entity = er.async_get(hass).async_get(WATCHED)
    assert entity is not None
    assert entity.translation_key == "watched_present"
    assert entity.original_device_class is None


async def test_snapshot_has_no_picture_until_a_read_then_one_url_per_picture(
    hass: HomeAssistant,
    fake_api: FakePlateRecognizer,
    camera: FakeCamera,
    hass_client: ClientSessionGenerator,
) -> None:
    fake_api.rate_limit = None
    await setup_entry(hass, cloud_entry(fake_api))
    # Before any read: no picture URL, so the frontend shows the icon (it used to
    # load a URL that failed, and kept that blank image after the first read).
    assert "entity_picture" not in hass.states.get(IMAGE).attributes

    await hass.services.async_call("button", "press", {"entity_id": BUTTON}, blocking=True)
    first = hass.states.get(IMAGE)
    picture_url = first.attributes["entity_picture"]
    client = await hass_client()
    response = await client.get(picture_url)
    assert response.status == HTTPStatus.OK
    assert (await response.read())[:2] == b"\xff\xd8"  # a JPEG

    await hass.services.async_call("button", "press", {"entity_id": BUTTON}, blocking=True)
    second = hass.states.get(IMAGE)
    assert second.state != first.state
    # A new picture gets a new URL: views holding the old one load the new picture.
    assert second.attributes["entity_picture"] != picture_url


async def test_local_server_without_quota_has_no_calls_remaining(
    hass: HomeAssistant, fake_onprem: FakePlateRecognizer, camera: FakeCamera
) -> None:
    # Like the plate-bridge engine: /info/ answers `"total_calls": null`.
    fake_onprem.total_calls = None  # type: ignore[assignment]
    entry = local_entry(fake_onprem)
    entry.add_to_hass(hass)
    registry = er.async_get(hass)
    # What an earlier version left in the registry: "Unknown" forever on such a server.
    stale = registry.async_get_or_create(
        "sensor", DOMAIN, f"{entry.entry_id}_calls_remaining", config_entry=entry
    )
    await setup_entry(hass, entry)

    assert hass.states.get("sensor.plate_recognizer_127_0_0_1_calls_used").state == "0"
    assert registry.async_get(stale.entity_id) is None
    assert hass.states.get(stale.entity_id) is None
