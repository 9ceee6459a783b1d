"""Our integration in a real Home Assistant, set up as a user would, reading a real camera.

Everything goes through Home Assistant's REST API: the `local_file` camera and our
integration are added with their config flows (the cloud step with the advanced API URL
pointing at the fake API), the camera is added as a config subentry, a plate is put on
the watch list with the options flow, then `plate_recognizer.read_plate` reads the
camera's picture and returns the read.
"""

from __future__ import annotations

import pytest

from tests.e2e.helpers import FAKE_PLATE, FAKE_TOKEN, small_jpeg
from tests.e2e.homeassistant import HomeAssistantProcess

pytestmark = pytest.mark.slow

# The integration shows plates in capitals (the API answers lower case).
HA_PLATE = FAKE_PLATE.upper()


def test_read_plate_action_reads_a_camera_through_the_config_flow_setup(
    home_assistant: HomeAssistantProcess, fake_api_url: str
) -> None:
    client = home_assistant.client
    picture = home_assistant.config_dir / "driveway.jpg"
    picture.write_bytes(small_jpeg())

    camera = client.flow(
        "flow", "local_file", ("user", {"name": "Driveway", "file_path": str(picture)})
    )
    assert camera["type"] == "create_entry", camera
    home_assistant.wait_for_state("camera.driveway", within=15)

    entry = client.flow(
        "flow",
        "plate_recognizer",
        ("cloud", {}),  # the menu: cloud or local
        ("cloud", {"token": FAKE_TOKEN, "advanced": {"api_url": fake_api_url}}),
    )
    assert entry["type"] == "create_entry", entry
    assert entry["title"] == "Plate Recognizer Cloud"
    assert entry["result"]["state"] == "loaded", entry
    entry_id = entry["result"]["entry_id"]

    subentry = client.flow(
        "subentries/flow",
        [entry_id, "camera"],
        ("user", {"camera_entity": "camera.driveway", "trigger": "manual"}),
    )
    assert subentry["type"] == "create_entry", subentry

    watched = client.flow(
        "options/flow",
        entry_id,
        ("add_watched", {}),  # the options menu
        ("add_watched", {"name": "Visitor", "plate": "NHK 552", "tolerance": 0, "tags": ["gate"]}),
    )
    assert watched["type"] == "create_entry", watched
    # Saving options reloads the entry: wait for it to be loaded again.
    home_assistant.wait_for_state(
        "sensor.driveway_last_plate", lambda s: s["state"] != "unavailable", within=30
    )

    answer = client.call(
        "plate_recognizer", "read_plate", {"camera": "camera.driveway"}, response=True
    )
    read = answer["service_response"]
    assert read["found"] is True, read
    assert read["plate"] == HA_PLATE
    assert read["watched"] is True
    assert read["match"]["name"] == "Visitor"
    assert read["camera"] == "camera.driveway"
    assert [plate["plate"] for plate in read["plates"]] == [HA_PLATE]

    # The entities follow the read.
    sensor = home_assistant.wait_for_state(
        "sensor.driveway_last_plate", lambda s: s["state"] == HA_PLATE, within=10
    )
    assert sensor["attributes"]["watched"] is True
    # The event entity fires `plate_detected`, then `watched_plate`, for the read.
    event = home_assistant.wait_for_state(
        "event.driveway_plate",
        lambda s: s["attributes"].get("event_type") == "watched_plate",
        within=10,
    )
    assert event["attributes"]["plate"] == HA_PLATE
    home_assistant.wait_for_state(
        "binary_sensor.driveway_watched_vehicle_present", lambda s: s["state"] == "on", within=10
    )


def test_home_assistant_loaded_without_pip(home_assistant: HomeAssistantProcess) -> None:
    """`--skip-pip` from the first start: nothing was missing, nothing was installed."""
    log = home_assistant.log()
    assert "Unable to install package" not in log
    assert "Setup failed for" not in log, home_assistant.log_tail()
    assert not (home_assistant.config_dir / "deps").exists()  # where pip would install
