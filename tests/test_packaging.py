"""The repository's structural promises: one copy of platereader, HA-free, shippable."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import platereader

REPO = Path(__file__).resolve().parents[1]
PLATEREADER = REPO / "custom_components" / "plate_recognizer" / "platereader"


def _imports(path: Path) -> list[ast.Import | ast.ImportFrom]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]


def test_platereader_is_the_copy_inside_the_integration() -> None:
    assert Path(platereader.__file__).resolve().parent == PLATEREADER


def test_platereader_uses_only_relative_imports_of_itself_and_no_home_assistant() -> None:
    allowed_third_party = {"httpx", "pydantic", "PIL"}
    for path in sorted(PLATEREADER.glob("*.py")):
        for node in _imports(path):
            if isinstance(node, ast.ImportFrom) and node.level > 0:
                assert node.level == 1, f"{path.name}: reaches outside platereader"
                continue
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            for name in names:
                top = (name or "").split(".")[0]
                assert top != "homeassistant", f"{path.name} imports Home Assistant"
                assert top != "platereader", f"{path.name}: use a relative import"
                if top not in allowed_third_party:
                    assert top in _stdlib(), f"{path.name}: unexpected dependency {name}"


def _stdlib() -> frozenset[str]:
    import sys

    return frozenset(sys.stdlib_module_names) | {"__future__"}


# manifest.json and hacs.json rules: tests/ha/test_metadata.py.


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("##", 1)[0]
    assert "scripts/demo" in quick_start
    assert "scripts/test" in quick_start
    ci = (REPO / ".ci" / "run").read_text()
    assert "exec scripts/test\n" in ci
    assert (REPO / ".python-version").read_text().strip() == "3.13.0"


def test_every_package_is_installed() -> None:
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {"platereader"}
    for top in ("bridge", "plate_engine"):
        for init in (REPO / top).rglob("__init__.py"):
            found.add(".".join(init.parent.relative_to(REPO).parts))
    assert listed == found


def test_the_example_bridge_config_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    from bridge.config import load_config

    for name in ("MQTT_PASSWORD", "PLATE_RECOGNIZER_TOKEN", "FRIGATE_PASSWORD"):
        monkeypatch.setenv(name, "secret")
    config = load_config(REPO / "examples" / "config.yaml")
    assert config.homeassistant.enabled
    assert config.sources.frigate is not None
    assert config.sources.frigate.write_back.sub_label == "auto"
