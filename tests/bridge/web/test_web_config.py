"""The `web:` section: defaults, the token rule for other addresses, secrets, check-config."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bridge.cli import EXIT_OK, main
from bridge.config import BridgeConfig, ConfigError, parse_config
from tests.bridge.web.conftest import TOKEN

BASE = """
mqtt:
  host: broker
api:
  url: http://localhost:8080
sources:
  snapshot_topics:
    - topic: pb/{camera}/snapshot
"""


def parse(web: str, env: dict[str, str] | None = None) -> BridgeConfig:
    return parse_config(BASE + textwrap.dedent(web), "c.yaml", env or {})


def problems(web: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse(web, env)
    return info.value.problems


def test_off_unless_configured_and_loopback_by_default() -> None:
    assert parse("").web is None
    web = parse("web: {}\n").web
    assert web is not None
    assert (web.host, web.port, web.token, web.ingress) == ("127.0.0.1", 8380, None, False)
    assert web.url == "http://127.0.0.1:8380/"
    for host in ("localhost", "::1", "127.0.0.2"):
        assert parse(f"web: {{host: '{host}'}}\n").web is not None


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "bridge.lan"])
def test_another_address_needs_a_token(host: str) -> None:
    found = problems(f"web:\n  host: '{host}'\n")
    assert len(found) == 1
    assert found[0].startswith("c.yaml: web: host")
    assert "set web.token" in found[0] and "PLATE_BRIDGE_WEB__TOKEN" in found[0]
    assert "host: 127.0.0.1" in found[0]
    assert parse(f"web:\n  host: '{host}'\n  token: {TOKEN}\n").web is not None
    assert parse(f"web:\n  host: '{host}'\n  ingress: true\n").web is not None


def test_token_from_the_environment_is_a_secret() -> None:
    env = {"PLATE_BRIDGE_WEB__TOKEN": "1234567890123456789", "WEB_TOKEN": TOKEN}
    config = parse("web:\n  host: 0.0.0.0\n", env)
    assert config.web is not None and config.web.token is not None
    assert config.web.token.get_secret_value() == "1234567890123456789"  # text, not a number
    assert "1234567890123456789" in config.secrets()
    config = parse("web:\n  host: 0.0.0.0\n  token: ${WEB_TOKEN}\n", {"WEB_TOKEN": TOKEN})
    assert TOKEN in config.secrets()
    assert TOKEN not in repr(config)


def test_short_token_and_bad_port_are_refused() -> None:
    found = problems("web:\n  token: short\n")
    assert found == [
        "c.yaml: web.token: use at least 16 random characters, e.g. the output of "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(24))' (line 10)"
    ]
    assert "web.port" in problems("web:\n  port: 70000\n")[0]


def test_check_config_mentions_the_page_without_its_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(BASE + f"web:\n  host: 0.0.0.0\n  port: 8399\n  token: {TOKEN}\n")
    assert main(["check-config", "-c", str(path)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "web page http://127.0.0.1:8399/ (token required)" in out
    assert TOKEN not in out
