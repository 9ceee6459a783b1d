"""Our strings read right in the frontend, which formats them as ICU messages and Markdown.

The frontend formats every string with intl-messageformat: a brace starts a placeholder,
so the JSON example `{"threshold_o": 0.6}` in a help text showed "Translation error:
MALFORMED_ARGUMENT". Descriptions are Markdown: a bare `http://...` becomes a link.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

INTEGRATION = Path(__file__).resolve().parents[2] / "custom_components" / "plate_recognizer"
STRINGS = json.loads((INTEGRATION / "strings.json").read_text())

PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def _texts(node: object, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _texts(value, f"{path}.{key}" if path else key)
    elif isinstance(node, str):
        yield path, node


TEXTS = list(_texts(STRINGS))


def test_braces_are_only_placeholders() -> None:
    broken = []
    for path, text in TEXTS:
        # What is left once the {name} placeholders are out must hold no ICU syntax; an
        # apostrophe before a brace starts ICU quoting and would swallow the placeholder.
        rest = PLACEHOLDER.sub("", text)
        if "{" in rest or "}" in rest or "'{" in text:
            broken.append(f"{path}: {text!r}")
    assert broken == []


def test_urls_in_forms_are_code_not_links() -> None:
    """An example address is for reading, not for clicking (the cloud's own page may be)."""
    allowed = {"https://app.platerecognizer.com/service/snapshot-cloud/"}
    links = []
    for path, text in TEXTS:
        if not path.startswith(("config.step", "config.error", "config_subentries")):
            continue
        outside_code = re.sub(r"`[^`]*`", "", text)
        for url in re.findall(r"https?://\S+", outside_code):
            if "{" not in url and url.rstrip(".") not in allowed:
                links.append(f"{path}: {url}")
    assert links == []


def test_watched_sensor_states_are_worded_for_a_car() -> None:
    states = STRINGS["entity"]["binary_sensor"]["watched_present"]["state"]
    assert states == {"on": "Present", "off": "Not present"}


def test_setup_points_to_adding_cameras() -> None:
    """The success message after setup names the menu item that adds a camera."""
    add_camera = STRINGS["config_subentries"]["camera"]["initiate_flow"]["user"]
    assert add_camera in STRINGS["config"]["create_entry"]["default"]


def test_read_plate_config_help_has_no_json_braces() -> None:
    help_text = STRINGS["services"]["read_plate"]["fields"]["config"]["description"]
    assert "threshold_o: 0.6" in help_text
    assert "{" not in help_text
