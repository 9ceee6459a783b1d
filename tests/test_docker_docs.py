"""docs/docker-and-addon.md: every command in it is one that is tested, or valid.

The buildah and `scripts/image` commands are the ones tests/e2e/test_image.py runs (same
options; the test picks free ports and its own names). Docker is absent here: its
commands may only use build arguments the Dockerfile declares, and what they run in the
image must parse with the real `plate-bridge` command line. The compose file must be
valid YAML using the same image and commands, and the configuration shown must pass
`bridge.config` itself.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from bridge import __version__
from bridge.cli import build_parser
from bridge.config import load_config
from tests.conftest import REPO
from tests.e2e.test_image import RUN

DOC = (REPO / "docs" / "docker-and-addon.md").read_text()
DOCKERFILE = (REPO / "Dockerfile").read_text()
IMAGE = f"plate-bridge:{__version__}"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC, re.DOTALL)


def _commands() -> list[list[str]]:
    commands = []
    for block in _blocks("sh"):
        for line in block.splitlines():
            line = line.split("  #", 1)[0].strip()
            if line:
                commands.append(shlex.split(line))
    return commands


def _parses(args: list[str]) -> None:
    """`plate-bridge ARGS` is accepted by the real parser (argparse exits on an error)."""
    try:
        build_parser().parse_args(args)
    except SystemExit as err:
        pytest.fail(f"`plate-bridge {' '.join(args)}` does not parse (exit {err.code})")


def test_every_command_is_a_known_tool() -> None:
    tools = {
        " ".join(command[:2]) if command[0] == "docker" else command[0] for command in _commands()
    }
    allowed = {
        "git",
        "cd",
        "scripts/image",
        "buildah",
        "docker build",
        "docker run",
        "docker compose",
    }
    assert tools <= allowed, tools - allowed


def test_scripts_image_commands_are_its_options() -> None:
    usage = subprocess.run(
        [str(REPO / "scripts" / "image"), "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in _commands():
        if command[0] == "scripts/image":
            for option in command[1:]:
                assert option in usage, option
    # The three builds the smoke test makes and this document shows.
    shown = [command for command in _commands() if command[0] == "scripts/image"]
    assert ["scripts/image"] in shown and ["scripts/image", "--addon"] in shown


def test_buildah_commands_are_the_smoke_tests() -> None:
    buildah = [command for command in _commands() if command[0] == "buildah"]
    assert [command[1] for command in buildah] == ["from", "run", "run", "run", "rm"]
    for command in buildah:
        if command[1] != "run":
            continue
        assert command[: len(RUN)] == RUN  # exactly the test's `buildah run --isolation chroot`
        *options, container = command[len(RUN) : command.index("--")]
        assert container == "plate-bridge"
        assert options in ([], ["--volume", "$PWD/config:/config:ro"])  # the test's mount
        program, *args = command[command.index("--") + 1 :]
        assert program == "plate-bridge"
        _parses(args)
    assert ["buildah", "from", "--name", "plate-bridge", f"localhost/{IMAGE}"] in buildah


def test_docker_commands_use_declared_build_args_and_valid_commands() -> None:
    declared = set(re.findall(r"^ARG (\w+)", DOCKERFILE, re.MULTILINE))
    for command in _commands():
        if command[:2] == ["docker", "build"]:
            for index, word in enumerate(command):
                if word == "--build-arg":
                    assert command[index + 1].split("=", 1)[0] in declared, command
            assert command[command.index("-t") + 1].startswith(IMAGE)
        elif command[:2] == ["docker", "run"]:
            image = next(word for word in command if word.startswith(IMAGE))
            args = command[command.index(image) + 1 :]
            _parses(args or ["run", "-c", "/config/config.yaml"])  # none: the image's CMD


def test_the_compose_file_runs_the_image_with_its_healthcheck() -> None:
    (compose_text,) = [block for block in _blocks("yaml") if "services:" in block]
    compose = yaml.safe_load(compose_text)
    services = compose["services"]
    assert {"mosquitto", "frigate", "plate-engine", "plate-bridge"} <= set(services)
    for name in ("plate-engine", "plate-bridge"):
        assert services[name]["image"] == IMAGE
        assert services[name]["build"] == "./plate-bridge"
        assert "healthcheck" not in services[name]  # the image's own HEALTHCHECK
        _parses(services[name].get("command", ["run", "-c", "/config/config.yaml"]))
    assert services["plate-bridge"]["depends_on"]["plate-engine"] == {
        "condition": "service_healthy"
    }
    assert (
        "HEALTHCHECK --interval=30s" in DOCKERFILE
        and 'CMD ["plate-bridge", "health"]' in DOCKERFILE
    )
    assert "plate-bridge-data:/data" in services["plate-bridge"]["volumes"]


def test_the_configuration_shown_is_valid(tmp_path: Path) -> None:
    (config_text,) = [block for block in _blocks("yaml") if block.startswith("mqtt:")]
    path = tmp_path / "config.yaml"
    path.write_text(config_text)
    config = load_config(path, env={"MQTT_PASSWORD": "secret"})
    assert config.mqtt.host == "mosquitto"
    assert config.api.url is not None and str(config.api.url).startswith("http://plate-engine:8080")
    assert config.storage.path == Path("/data")
    assert config.sources.frigate is not None
