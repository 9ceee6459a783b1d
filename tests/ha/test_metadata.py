"""Manifest, hacs.json and translations follow hassfest's and HACS's rules."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
INTEGRATION = ROOT / "custom_components" / "plate_recognizer"
STRINGS = json.loads((INTEGRATION / "strings.json").read_text())


def test_manifest() -> None:
    manifest = json.loads((INTEGRATION / "manifest.json").read_text())
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])  # hassfest: the rest alphabetical
    for key in ("version", "iot_class", "documentation", "codeowners", "issue_tracker"):
        assert manifest[key]
    assert manifest["domain"] == "plate_recognizer"
    assert manifest["requirements"] == []
    assert manifest["config_flow"] is True


def test_hacs_json() -> None:
    hacs = json.loads((ROOT / "hacs.json").read_text())
    allowed = {
        "name",
        "content_in_root",
        "zip_release",
        "filename",
        "hide_default_branch",
        "country",
        "homeassistant",
        "persistent_directory",
        "render_readme",
        "hacs",
    }
    assert set(hacs) <= allowed
    assert hacs["name"]


def test_translations_match_strings() -> None:
    english = json.loads((INTEGRATION / "translations" / "en.json").read_text())
    assert english == STRINGS
    # Custom integrations get no [%key:...%] substitution: every text must be literal.
    assert "[%key:" not in json.dumps(STRINGS)


def test_every_translation_key_exists() -> None:
    source = "\n".join(path.read_text() for path in INTEGRATION.glob("*.py"))
    for key in set(re.findall(r'translation_key="(\w+)"', source)):
        if key == "trigger":  # the selector's options
            assert key in STRINGS["selector"]
            continue
        assert key in STRINGS["exceptions"] or key in STRINGS["issues"], key
    for key in set(re.findall(r'(?<![\w])key="(\w+)"', source)):
        assert key in STRINGS["entity"]["sensor"], key
    flow_errors = set(re.findall(r'errors\[[^\]]+\] = "(\w+)"', source))
    flow_errors |= set(re.findall(r'\{"base": "(\w+)"\}', source))
    known = (
        set(STRINGS["config"]["error"])
        | set(STRINGS["options"]["error"])
        | set(STRINGS["config_subentries"]["camera"]["error"])
    )
    assert flow_errors <= known


def test_services_yaml_matches_strings() -> None:
    services = yaml.safe_load((INTEGRATION / "services.yaml").read_text())
    assert set(services) == set(STRINGS["services"])
    for name, service in services.items():
        assert set(service["fields"]) == set(STRINGS["services"][name]["fields"])
