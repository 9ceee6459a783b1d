"""The Home Assistant add-on: its options map onto a bridge configuration that validates.

Also the packaging around it: addon/ has what the Supervisor needs, and the Dockerfiles
reference files that exist.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bridge.addon import AddonError, build_config, main, options_to_config
from bridge.config import BridgeConfig
from tests.addon_schema import check_options

REPO = Path(__file__).resolve().parents[1]
ADDON = REPO / "addon"
MANIFEST = yaml.safe_load((ADDON / "config.yaml").read_text())
SCHEMA: dict[str, Any] = MANIFEST["schema"]
DEFAULTS: dict[str, Any] = MANIFEST["options"]
MQTT_SERVICE = {
    "host": "core-mosquitto",
    "port": 1883,
    "ssl": False,
    "protocol": "3.1.1",
    "username": "addons",
    "password": "s3cret-mqtt",
}


def options(**changes: Any) -> dict[str, Any]:
    merged = {**DEFAULTS, **changes}
    assert check_options(merged, SCHEMA) == [], "the test's options break the add-on schema"
    return merged


# -- the manifest ------------------------------------------------------------------------


def test_manifest_has_what_the_supervisor_needs() -> None:
    for key in ("name", "version", "slug", "description", "arch", "startup"):
        assert MANIFEST.get(key), key
    assert re.fullmatch(r"[a-z0-9_]+", MANIFEST["slug"])
    assert MANIFEST["services"] == ["mqtt:need"]
    assert set(MANIFEST["arch"]) <= {"amd64", "aarch64", "armv7", "armhf", "i386"}
    assert MANIFEST["startup"] in ("initialize", "system", "services", "application", "once")
    assert set(DEFAULTS) <= set(SCHEMA)
    for name in ("api_url", "api_token", "regions", "mmc", "cameras", "frigate_url"):
        assert name in SCHEMA, name
    for name in ("watchlist", "hold_time"):
        assert name in SCHEMA, name
    assert (ADDON / "DOCS.md").is_file()
    assert (ADDON / "run.sh").stat().st_mode & 0o111


def test_addon_version_is_the_project_version() -> None:
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert MANIFEST["version"] == project["version"]
    # The Supervisor passes the add-on's version as BUILD_VERSION; the default matches.
    assert f"ARG BUILD_VERSION={project['version']}\n" in (ADDON / "Dockerfile").read_text()


def test_the_addon_builds_on_home_assistants_debian_base_for_each_arch() -> None:
    build = yaml.safe_load((ADDON / "build.yaml").read_text())
    assert set(build["build_from"]) == set(MANIFEST["arch"])
    for arch, image in build["build_from"].items():
        # Debian, not Alpine: onnxruntime has no musl wheels; trixie has Python 3.13.
        assert image == f"ghcr.io/home-assistant/{arch}-base-debian:trixie"
    dockerfile = (ADDON / "Dockerfile").read_text()
    assert "ARG BUILD_FROM=ghcr.io/home-assistant/amd64-base-debian:trixie\n" in dockerfile
    assert dockerfile.count("FROM ${BUILD_FROM}") == 2  # build stage, then the venv alone
    assert 'CMD ["plate-bridge", "health"]' in dockerfile
    assert 'ENTRYPOINT ["/run.sh"]' in dockerfile


def test_the_addon_installs_the_demo_lock() -> None:
    # Its build context is addon/ alone: a copy, kept identical by scripts/lock.
    assert (ADDON / "requirements.lock").read_text() == (
        REPO / "requirements" / "demo.lock"
    ).read_text()


def test_translations_describe_every_option() -> None:
    strings = yaml.safe_load((ADDON / "translations" / "en.yaml").read_text())["configuration"]
    assert set(strings) == set(SCHEMA)


def test_every_option_is_documented() -> None:
    docs = (ADDON / "DOCS.md").read_text()
    for name in SCHEMA:
        assert f"`{name}`" in docs, name


# -- options -> configuration --------------------------------------------------------------


def test_default_options_make_a_valid_config() -> None:
    assert check_options(DEFAULTS, SCHEMA) == []
    data, config = build_config(DEFAULTS, MQTT_SERVICE)
    assert isinstance(config, BridgeConfig)
    assert config.api.url == "http://127.0.0.1:8080"
    assert config.api.token is None
    assert config.mqtt.host == "core-mosquitto"
    assert config.mqtt.username == "addons"
    assert config.mqtt.password is not None
    assert config.mqtt.password.get_secret_value() == "s3cret-mqtt"
    assert [t.topic for t in config.sources.snapshot_topics] == ["plate_bridge/{camera}/snapshot"]
    assert str(config.storage.path) == "/data"
    assert config.storage.save_snapshots is True
    assert config.homeassistant.hold_time == 30
    assert data["mqtt"]["client_id"] == "plate-bridge-addon"
    # The web page listens where ingress forwards, trusting only the Supervisor.
    assert config.web is not None
    assert (config.web.host, config.web.port, config.web.ingress) == ("0.0.0.0", 8099, True)
    assert config.web.token is None
    assert MANIFEST["ingress"] is True
    assert MANIFEST["ingress_port"] == config.web.port
    assert "8099/tcp" not in MANIFEST["ports"]  # reachable through the Supervisor only


def test_without_the_supervisor_the_mosquitto_addon_is_assumed() -> None:
    _, config = build_config(DEFAULTS, None)
    assert (config.mqtt.host, config.mqtt.port, config.mqtt.username) == (
        "core-mosquitto",
        1883,
        None,
    )


def test_cloud_options() -> None:
    _, config = build_config(
        options(
            api="cloud", api_token="tok-123", regions=["gb", "ie"], mmc=True, lookups_per_second=8.0
        ),
        MQTT_SERVICE,
    )
    assert config.api.url == "https://api.platerecognizer.com"
    assert config.api.token is not None and config.api.token.get_secret_value() == "tok-123"
    assert config.api.regions == ("gb", "ie")
    assert config.api.mmc is True
    assert config.api.lookups_per_second == 8.0


def test_on_premise_server_options() -> None:
    _, config = build_config(
        options(api="server", api_url="http://192.168.1.20:8080/"), MQTT_SERVICE
    )
    assert config.api.url == "http://192.168.1.20:8080"
    assert config.api.token is None


def test_frigate_cameras_watchlist_and_hold_time() -> None:
    _, config = build_config(
        options(
            frigate_url="http://ccab4aaf-frigate:5000",
            frigate_cameras=["driveway", "gate"],
            snapshot_topic="",
            cameras=[
                {"name": "driveway", "regions": "gb, ie", "min_score": 0.6},
                {"name": "gate", "enabled": False},
            ],
            watchlist=[
                {
                    "name": "Family car",
                    "plate": "AB12 CDE",
                    "owner": "Alice",
                    "tags": "gate, family",
                },
                {"name": "Van", "plate": "XY99ZZZ", "tolerance": 1},
            ],
            hold_time=120,
            save_snapshots=False,
            base_topic="lpr",
            log_level="debug",
        ),
        MQTT_SERVICE,
    )
    frigate = config.sources.frigate
    assert frigate is not None
    assert frigate.url == "http://ccab4aaf-frigate:5000"
    assert frigate.cameras == ["driveway", "gate"]
    assert config.sources.snapshot_topics == []
    assert config.cameras["driveway"].regions == ("gb", "ie")
    assert config.cameras["driveway"].min_score == 0.6
    assert config.cameras["gate"].enabled is False
    assert [(w.name, w.plate, w.owner, w.tags, w.tolerance) for w in config.watchlist] == [
        ("Family car", "AB12 CDE", "Alice", ["gate", "family"], 0),
        ("Van", "XY99ZZZ", None, [], 1),
    ]
    assert config.homeassistant.hold_time == 120
    assert config.storage.save_snapshots is False
    assert config.mqtt.base_topic == "lpr"


def test_watched_folder_and_tls_broker() -> None:
    _, config = build_config(
        options(folder="/share/ftp/cameras", snapshot_topic=""),
        {**MQTT_SERVICE, "ssl": True, "port": 8883},
    )
    assert [str(f.path) for f in config.sources.folders] == ["/share/ftp/cameras"]
    assert config.mqtt.port == 8883
    assert config.mqtt.tls is not None and config.mqtt.tls.enabled


# -- invalid options ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"api": "cloud"}, "api_token: needed when api is 'cloud'"),
        ({"api": "server"}, "api_url: needed when api is 'server'"),
        ({"snapshot_topic": ""}, "frigate_url, snapshot_topic, folder: set at least one"),
        ({"folder": "/config/ftp"}, "folder: must be under /share/ or /media/"),
    ],
)
def test_inconsistent_options_are_named(changes: dict[str, Any], expected: str) -> None:
    with pytest.raises(AddonError) as err:
        options_to_config(options(**changes), MQTT_SERVICE)
    assert any(expected in problem for problem in err.value.problems), err.value.problems


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"snapshot_topic": "cams/+/snapshot"}, "sources.snapshot_topics.0"),
        ({"watchlist": [{"name": "x", "plate": ""}]}, "watchlist.0.plate"),
        ({"cameras": [{"name": "bad name"}]}, "camera name 'bad name'"),
        ({"regions": ["gbr"]}, "'gbr' is not a region code"),
    ],
)
def test_options_the_bridge_refuses_name_the_bridge_key(
    changes: dict[str, Any], expected: str
) -> None:
    merged = {**DEFAULTS, **changes}
    with pytest.raises(AddonError) as err:
        build_config(merged, MQTT_SERVICE)
    assert any(expected in problem for problem in err.value.problems), err.value.problems
    assert all(problem.startswith("add-on options: ") for problem in err.value.problems)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"api": "azure"}, "api: must be one of local, cloud, server"),
        ({"hold_time": 0}, "hold_time: must be at least 1"),
        ({"hold_time": "long"}, "hold_time: must be a number"),
        ({"api_url": "ftp://x"}, "api_url: must be an http(s) URL"),
        ({"regions": ["GB"]}, "regions[0]: must match"),
        ({"watchlist": [{"plate": "AB12CDE"}]}, "watchlist[0].name: missing"),
        ({"cameras": [{"name": "a", "zoom": 2}]}, "cameras[0].zoom: unknown key"),
        ({"colour": "red"}, "colour: not an option of this add-on"),
        # Real characters that may differ: 0-2, whole (the watch list's own rule).
        (
            {"watchlist": [{"name": "a", "plate": "AB12CDE", "tolerance": 3}]},
            "watchlist[0].tolerance: must be at most 2",
        ),
        (
            {"watchlist": [{"name": "a", "plate": "AB12CDE", "tolerance": 0.5}]},
            "watchlist[0].tolerance: must be a whole number",
        ),
    ],
)
def test_schema_check_names_the_option(changes: dict[str, Any], expected: str) -> None:
    problems = check_options({**DEFAULTS, **changes}, SCHEMA)
    assert any(expected in problem for problem in problems), problems


def test_secrets_stay_out_of_errors() -> None:
    with pytest.raises(AddonError) as err:
        build_config(
            options(api="cloud", api_token="tok-very-secret", snapshot_topic="a/+/b"),
            MQTT_SERVICE,
        )
    assert "tok-very-secret" not in str(err.value)
    assert "s3cret-mqtt" not in str(err.value)


def test_launcher_reports_bad_options_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SUPERVISOR_TOKEN", raising=False)
    path = tmp_path / "options.json"
    path.write_text(json.dumps({**DEFAULTS, "api": "cloud"}))
    assert main([str(path)]) == 2
    assert "api_token: needed when api is 'cloud'" in capsys.readouterr().err
    path.write_text("{not json")
    assert main([str(path)]) == 2
    assert "cannot read" in capsys.readouterr().err


# -- Dockerfiles ---------------------------------------------------------------------------


def _copied_sources(dockerfile: Path) -> list[str]:
    sources = []
    for line in dockerfile.read_text().splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            sources += words[1:-1]
    return sources


def test_dockerfile_copies_files_that_exist_and_installs_from_a_lock() -> None:
    dockerfile = REPO / "Dockerfile"
    sources = _copied_sources(dockerfile)
    assert sources
    for source in sources:
        assert (REPO / source).exists(), source
    text = dockerfile.read_text()
    assert "requirements/demo.lock" in text and "requirements/runtime.lock" in text
    assert "ARG WITH_ENGINE=1" in text
    assert re.search(r"^USER (?!root)\S+", text, re.MULTILINE)
    assert 'ENTRYPOINT ["plate-bridge"]' in text
    assert 'CMD ["run", "-c", "/config/config.yaml"]' in text
    # One base for both stages, chosen by a build argument (scripts/image passes a local
    # one where no registry answers); only the venv reaches the runtime stage.
    assert "ARG BASE=docker.io/library/python:3.13-slim-trixie\n" in text
    assert [line for line in text.splitlines() if line.startswith("FROM ")] == [
        "FROM ${BASE} AS build",
        "FROM ${BASE} AS runtime",
    ]
    assert "COPY --from=build /opt/venv /opt/venv" in text
    assert 'CMD ["plate-bridge", "health"]' in text
    # Every package the image installs is in the build context.
    ignore = (REPO / ".dockerignore").read_text()
    for source in sources:
        assert (
            f"!{source.rstrip('/')}" in ignore
            or f"!{source.rstrip('/')}/**" in ignore
            or (source.startswith("requirements/") and "!requirements/*.lock" in ignore)
        ), source


def test_runtime_lock_is_the_demo_lock_without_the_engine() -> None:
    def pins(name: str) -> dict[str, str]:
        lines = (REPO / "requirements" / name).read_text().splitlines()
        return dict(line.split("==", 1) for line in lines if re.match(r"^[A-Za-z0-9]", line))

    runtime, demo = pins("runtime.lock"), pins("demo.lock")
    assert runtime.items() <= demo.items()
    assert "onnxruntime" in demo and "onnxruntime" not in runtime


def test_addon_dockerfile_copies_files_of_the_addon_folder() -> None:
    for source in _copied_sources(ADDON / "Dockerfile"):
        assert (ADDON / source).exists(), source
