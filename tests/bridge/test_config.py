"""Configuration: validation with key paths and lines, env substitution, CLI check-config."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bridge.cli import EXIT_OK, EXIT_USAGE, main
from bridge.config import ConfigError, load_config, parse_config

REPO = Path(__file__).resolve().parents[2]

MINIMAL = """
mqtt:
  host: broker
api:
  url: http://localhost:8080
sources:
  snapshot_topics:
    - topic: plate_bridge/{camera}/snapshot
"""


def parse(text: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return parse_config(textwrap.dedent(text), "c.yaml", env or {})


def problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse(text, env)
    return info.value.problems


def test_minimal_config_defaults() -> None:
    config = parse(MINIMAL)
    assert config.mqtt.host == "broker"
    assert config.mqtt.port == 1883
    assert config.mqtt.base_topic == "plate_bridge"
    assert config.api.is_cloud is False
    assert config.pipeline.queue_per_camera >= 1
    assert config.camera("anything").enabled is True


def test_example_config_is_valid() -> None:
    config = load_config(
        REPO / "examples" / "config.yaml",
        env={"PLATE_RECOGNIZER_TOKEN": "tok-123", "MQTT_PASSWORD": "pw", "FRIGATE_PASSWORD": "x"},
    )
    assert config.api.token is not None
    assert config.api.token.get_secret_value() == "tok-123"
    assert config.sources.frigate is not None
    assert config.watchlist


def test_unknown_keys_are_errors_with_path_and_line() -> None:
    found = problems(
        """
        mqtt:
          host: broker
          prot: 1884
        api:
          url: http://localhost:8080
        sources:
          snapshot_topics:
            - topic: a/{camera}/b
              cammera: x
        """
    )
    assert "c.yaml: mqtt.prot: unknown key (line 4)" in found
    assert "c.yaml: sources.snapshot_topics.0.cammera: unknown key (line 10)" in found


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        """
        mqtt:
          port: 70000
          base_topic: "a/#"
        api:
          url: ftp://x
          regions: [gb, "not a region"]
        cameras:
          gate:
            zones: [[[0, 0], [1, 1]]]
        sources: {}
        """
    )
    text = "\n".join(found)
    assert "mqtt.port" in text
    assert "mqtt.base_topic" in text
    assert "api.url" in text
    assert "api.regions" in text
    assert "cameras.gate.zones.0.points" in text
    assert "at least one of frigate, snapshot_topics, folders" in text
    assert len(found) >= 6


def test_env_substitution_and_missing_variable() -> None:
    config = parse(MINIMAL.replace("host: broker", "host: ${BROKER}"), {"BROKER": "mqtt.lan"})
    assert config.mqtt.host == "mqtt.lan"
    config = parse(MINIMAL.replace("host: broker", "host: ${BROKER:-fallback}"))
    assert config.mqtt.host == "fallback"
    found = problems(MINIMAL.replace("host: broker", "host: ${BROKER}"))
    assert found == ["c.yaml: mqtt.host: environment variable BROKER is not set (line 3)"]


def test_env_strings_are_typed_fields() -> None:
    """`${VAR}` is resolved by the field's type (secrets, URLs, hosts, ports, paths), from
    the environment given to the loader; an unset one names the variable, never a value;
    a field of another kind keeps the text as written (no pre-pass over the whole file)."""
    text = """
    mqtt:
      host: ${MQTT_HOST}
      port: ${MQTT_PORT}
      username: ${MQTT_USER:-bridge}
      password: ${MQTT_PASSWORD}
    api:
      url: http://${API_HOST}:8080/
      token: ${TOKEN}
    storage:
      path: ${STATE}/plate-bridge
    sources:
      frigate:
        url: ${FRIGATE_URL}
        password: ${FRIGATE_PASSWORD}
        username: frigate
        cameras: [drive]
      folders:
        - path: ${INBOX}
          camera: gate
    """
    env = {
        "MQTT_HOST": "mqtt.lan",
        "MQTT_PORT": "8883",
        "MQTT_PASSWORD": "pw-1",
        "API_HOST": "engine",
        "TOKEN": "tok-2",
        "STATE": "/var/lib",
        "FRIGATE_URL": "http://frigate:5000",
        "FRIGATE_PASSWORD": "pw-3",
        "INBOX": "/srv/ftp",
    }
    config = parse(text, env)
    assert (config.mqtt.host, config.mqtt.port, config.mqtt.username) == (
        "mqtt.lan",
        8883,
        "bridge",
    )
    assert config.api.url == "http://engine:8080"
    assert config.storage.path == Path("/var/lib/plate-bridge")
    assert config.sources.frigate is not None
    assert config.sources.frigate.url == "http://frigate:5000"
    assert str(config.sources.folders[0].path) == "/srv/ftp"
    assert sorted(config.secrets())[:3] == ["pw-1", "pw-3", "tok-2"]
    assert "pw-1" not in repr(config) and "tok-2" not in repr(config)
    # Unset: each named with its key and line; the values that are set never appear.
    found = problems(text, {k: v for k, v in env.items() if k not in ("TOKEN", "MQTT_PORT")})
    assert found == [
        "c.yaml: mqtt.port: environment variable MQTT_PORT is not set (line 4)",
        "c.yaml: api.token: environment variable TOKEN is not set (line 9)",
    ]
    assert not any(secret in " ".join(found) for secret in ("pw-1", "pw-3"))
    # A topic is not an env string: the text stays, and the topic check says why.
    found = problems(MINIMAL.replace("host: broker", "host: b\n  base_topic: ${T}"), {"T": "x"})
    assert found == [
        "c.yaml: mqtt.base_topic: must be a topic without wildcards ('#', '+') or a leading '$'"
        " (line 4)"
    ]


def test_env_overrides() -> None:
    env = {
        "PLATE_BRIDGE_API__TOKEN": "12345",  # digits stay text
        "PLATE_BRIDGE_MQTT__PORT": "1884",
        "PLATE_BRIDGE_MQTT__PASSWORD": "pw",
    }
    config = parse(MINIMAL, env)
    assert config.api.token is not None
    assert config.api.token.get_secret_value() == "12345"
    assert config.mqtt.port == 1884
    assert config.mqtt.password is not None
    assert config.mqtt.password.get_secret_value() == "pw"
    assert sorted(config.secrets()) == ["12345", "pw"]
    found = problems(MINIMAL, {"PLATE_BRIDGE_MQTT__NOPE": "1"})
    assert found == ["c.yaml: mqtt.nope: unknown key (line 2)"]  # the section's line


def test_cloud_needs_a_token_and_secrets_are_not_echoed() -> None:
    cloud = MINIMAL.replace("url: http://localhost:8080", "url: https://api.platerecognizer.com")
    found = problems(cloud)
    assert any(p.startswith("c.yaml: api.token: the cloud API needs a token") for p in found)
    config = parse(cloud, {"PLATE_RECOGNIZER_TOKEN": "abc"})
    assert config.api.is_cloud
    assert "abc" not in repr(config)
    found = problems(
        cloud.replace("mqtt:", "mqtt:\n  port: nope"), {"PLATE_BRIDGE_API__TOKEN": "s3cret"}
    )
    assert not any("s3cret" in p for p in found)


def test_snapshot_topic_rules() -> None:
    def topic_problems(entry: str) -> str:
        return "\n".join(
            problems(MINIMAL.replace("- topic: plate_bridge/{camera}/snapshot", entry))
        )

    assert "use {camera} rather than MQTT wildcards" in topic_problems("- topic: a/+/b")
    assert "camera: needed" in topic_problems("- topic: a/b")
    assert "whole topic level" in topic_problems("- topic: a/x{camera}/b")
    assert parse(
        MINIMAL.replace("- topic: plate_bridge/{camera}/snapshot", "- {topic: a/b, camera: gate}")
    )


def test_zones_accept_bare_point_lists_and_folders_need_move_to(tmp_path: Path) -> None:
    config = parse(
        MINIMAL
        + textwrap.dedent(
            """
            cameras:
              gate:
                zones: [[[0, 0], [100, 0], [100, 100]]]
                ignore_zones: [{name: clock, points: [[0, 0], [10, 0], [10, 10]]}]
            """
        )
    )
    assert config.cameras["gate"].zones[0].points[1] == (100, 0)
    assert config.cameras["gate"].ignore_zones[0].name == "clock"
    found = problems(MINIMAL + f"  folders:\n    - {{path: {tmp_path}, after: move}}\n")
    assert any("move_to: needed" in p for p in found)


def test_yaml_syntax_error_has_a_line() -> None:
    found = problems("mqtt:\n  host: [unclosed\n")
    assert len(found) == 1
    assert found[0].startswith("c.yaml: not valid YAML (line")


def test_check_config_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(MINIMAL)
    assert main(["check-config", "-c", str(good)]) == EXIT_OK
    assert "OK" in capsys.readouterr().out

    monkeypatch.setenv("PLATE_BRIDGE_API__TOKEN", "very-secret-token")
    bad = tmp_path / "bad.yaml"
    bad.write_text(MINIMAL + "bogus: 1\nstorage:\n  outbox_max: 1\n")
    assert main(["check-config", "-c", str(bad)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"{bad}: bogus: unknown key (line 9)" in err
    assert f"{bad}: storage.outbox_max:" in err
    assert "2 problems found" in err
    assert "very-secret-token" not in err

    assert main(["check-config", "-c", str(tmp_path / "missing.yaml")]) == EXIT_USAGE
    assert "cannot read" in capsys.readouterr().err


def test_check_config_counts_cameras_named_by_sources(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "frigate.yaml"
    path.write_text(
        textwrap.dedent(
            """
            mqtt:
              host: broker
            api:
              url: http://localhost:8080
            sources:
              frigate:
                url: http://frigate:5000
                cameras: [driveway, gate]
            cameras:
              gate: {}
              garage: {}
            """
        )
    )
    assert main(["check-config", "-c", str(path)]) == EXIT_OK
    # driveway and gate from Frigate's list, garage from `cameras:` (gate once).
    assert "3 camera(s) configured" in capsys.readouterr().out


def test_run_with_bad_config_exits_with_usage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("mqtt: {port: x}\n")
    assert main(["run", "-c", str(bad)]) == EXIT_USAGE
    assert "mqtt.port" in capsys.readouterr().err


FRIGATE = MINIMAL + "  frigate:\n    url: http://frigate:5000/\n"


def test_every_topic_setting_follows_the_same_rule() -> None:
    # mqtt.base_topic, sources.frigate.topic_prefix and homeassistant.prefix: one type.
    config = parse(
        FRIGATE.replace("host: broker", "host: broker\n  base_topic: /pb/")
        + "    topic_prefix: /frig/\nhomeassistant:\n  prefix: ha/\n"
    )
    assert (config.mqtt.base_topic, config.homeassistant.prefix) == ("pb", "ha")
    assert config.sources.frigate is not None
    assert config.sources.frigate.topic_prefix == "frig"
    assert config.sources.frigate.url == "http://frigate:5000"
    for bad in ("a/#", "a/+/b", "$SYS", "/"):
        found = problems(
            FRIGATE.replace("host: broker", f"host: broker\n  base_topic: '{bad}'")
            + f"    topic_prefix: '{bad}'\nhomeassistant:\n  prefix: '{bad}'\n"
        )
        messages = {p.split(": ", 2)[2].rsplit(" (line", 1)[0] for p in found}
        keys = sorted(p.split(": ", 2)[1] for p in found)
        assert keys == ["homeassistant.prefix", "mqtt.base_topic", "sources.frigate.topic_prefix"]
        assert len(messages) == 1, messages


def test_urls_and_regions_share_their_checks() -> None:
    found = problems(
        FRIGATE.replace("url: http://frigate:5000/", "url: frigate:5000")
        + "cameras:\n  gate:\n    regions: [GB, xx-toolong]\n"
    )
    assert "c.yaml: sources.frigate.url: must be an http(s) URL (line 10)" in found
    assert any(p.startswith("c.yaml: cameras.gate.regions: region 'xx-toolong'") for p in found)
    config = parse(MINIMAL + "cameras:\n  gate:\n    regions: [' GB ', us-ca]\n")
    assert config.cameras["gate"].regions == ("gb", "us-ca")


def test_anchors_and_aliases_are_read_with_their_lines() -> None:
    # The file is parsed once into a node tree that gives both the data and the lines.
    found = problems(
        MINIMAL
        + textwrap.dedent(
            """
            cameras:
              gate: &cam
                min_score: 2
              door: *cam
            """
        )
    )
    assert any(p.startswith("c.yaml: cameras.gate.min_score:") and "(line 12)" in p for p in found)
    assert any(p.startswith("c.yaml: cameras.door.min_score:") for p in found)
    assert problems("a: 1\n---\nb: 2\n")[0].startswith("c.yaml: not valid YAML (line")


def test_the_package_keeps_its_public_names() -> None:
    import bridge.config as config

    for name in ("BridgeConfig", "ConfigError", "load_config", "parse_config", "StorageConfig"):
        assert name in config.__all__
    assert config.FrigateConfig.__module__ == "bridge.config.sources"
