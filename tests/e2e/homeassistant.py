"""A real Home Assistant process, driven over its REST API as a user would.

`HomeAssistantProcess.start()` writes a minimal configuration, links our integration into
`custom_components/`, starts `hass --skip-pip`, waits for `/api/`, and onboards an owner
over REST (`POST /api/onboarding/users`, then the `/auth/token` code exchange), which is
how the frontend gets its first token. `HomeAssistantClient` wraps the REST calls the
tests need: states, actions, and config / subentry flows.

Why `frontend:` is configured: Home Assistant 2025.4 always sets up `frontend` (it is in
`bootstrap.DEFAULT_INTEGRATIONS`) and enters recovery mode, serving nothing, when it fails.
`home-assistant-frontend` is in `requirements/dev.lock` (a user's `.venv/bin/hass` gets the
real UI, and `test_ha_browser.py` drives it), but these REST-only tests do not need the
built UI: `frontend: development_repo:` pointing at an empty folder loads the integration
without serving it, which keeps their start fast. Every other integration loaded here
(`http`, `api`, `config`, `onboarding`, `auth`, `person`, `mqtt`, `camera`,
`local_file`, the default set) finds its requirements (paho-mqtt, PyTurboJPEG, Pillow,
numpy, cronsim, securetar ...) already installed from `requirements/dev.lock`, so no start,
the first included, needs pip.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Self

import httpx

from tests.conftest import REPO
from tests.e2e.processes import BIN, ManagedProcess, wait_until
from tests.mosquitto import free_port

CLIENT_ID_PATH = "/"  # the onboarding client: Home Assistant's own frontend, at its base URL
USERNAME = "e2e"
PASSWORD = "e2e-password-1234"

# `{ui}`: the `frontend:` section and what the UI needs (see `ui_configuration`).
CONFIGURATION = """\
homeassistant:
  name: {name}
  latitude: 51.5
  longitude: -0.12
  elevation: 10
  unit_system: metric
  time_zone: Europe/London
  country: GB
  currency: GBP
  language: en
  allowlist_external_dirs:
    - {config_dir}
http:
  server_host: 127.0.0.1
  server_port: {port}
api:
config:
onboarding:
logger:
  default: warning
  logs:
    custom_components.plate_recognizer: debug
    homeassistant.components.mqtt: info
{ui}"""


class HomeAssistantError(AssertionError):
    """Home Assistant answered something unexpected (the message has the answer)."""


class HomeAssistantClient:
    """Home Assistant's REST API with an owner's token (refreshed when it expires)."""

    def __init__(self, base_url: str, access_token: str, refresh_token: str) -> None:
        self.base_url = base_url
        self._access_token = access_token
        self._refresh_token = refresh_token
        self._http = httpx.Client(base_url=base_url, timeout=30, trust_env=False)

    def close(self) -> None:
        self._http.close()

    def _refresh(self) -> None:
        answer = self._http.post(
            "/auth/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": self._refresh_token,
                "client_id": self.base_url + CLIENT_ID_PATH,
            },
        )
        answer.raise_for_status()
        self._access_token = answer.json()["access_token"]

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self._access_token}"}
            answer = self._http.request(method, path, headers=headers, **kw)
            if answer.status_code == 401 and attempt == 1:
                self._refresh()
                continue
            return answer
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, **kw: Any) -> Any:
        answer = self.request(method, path, **kw)
        if answer.status_code >= 400:
            raise HomeAssistantError(
                f"{method} {path} -> {answer.status_code}: {answer.text[:2000]}"
            )
        return answer.json()

    # -- states and actions ----------------------------------------------------------------

    def states(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.json("GET", "/api/states")
        return result

    def state(self, entity_id: str) -> dict[str, Any] | None:
        answer = self.request("GET", f"/api/states/{entity_id}")
        if answer.status_code == 404:
            return None
        if answer.status_code >= 400:
            raise HomeAssistantError(f"GET state {entity_id} -> {answer.status_code}")
        result: dict[str, Any] = answer.json()
        return result

    def call(
        self, domain: str, service: str, data: dict[str, Any], *, response: bool = False
    ) -> Any:
        path = f"/api/services/{domain}/{service}"
        if response:
            path += "?return_response"
        return self.json("POST", path, json=data)

    def entries(self, domain: str | None = None) -> list[dict[str, Any]]:
        params = {"domain": domain} if domain else None
        result: list[dict[str, Any]] = self.json(
            "GET", "/api/config/config_entries/entry", params=params
        )
        return result

    # -- flows -----------------------------------------------------------------------------

    def flow(self, kind: str, handler: Any, *steps: tuple[str, dict[str, Any]]) -> dict[str, Any]:
        """Run a flow of `kind` (`flow`, `options/flow`, `subentries/flow`) to its end.

        Each step is (the step id or menu option Home Assistant must be showing, the form
        data or, for a menu, ignored). Returns the last answer (`create_entry`, `abort`).
        """
        base = f"/api/config/config_entries/{kind}"
        result: dict[str, Any] = self.json("POST", base, json={"handler": handler})
        for step_id, data in steps:
            if result["type"] == "menu":
                if step_id not in result["menu_options"]:
                    raise HomeAssistantError(f"menu without {step_id!r}: {result}")
                payload: dict[str, Any] = {"next_step_id": step_id}
            else:
                if result["type"] != "form" or result["step_id"] != step_id:
                    raise HomeAssistantError(f"expected the form {step_id!r}, got {result}")
                payload = data
            result = self.json("POST", f"{base}/{result['flow_id']}", json=payload)
            if result["type"] == "form" and result.get("errors"):
                raise HomeAssistantError(f"{step_id!r} refused: {result['errors']} ({result})")
        if result["type"] not in ("create_entry", "abort"):
            raise HomeAssistantError(f"the flow did not finish: {result}")
        return result


class HomeAssistantProcess:
    """`hass -c <config_dir> --skip-pip` on a free port of 127.0.0.1, onboarded."""

    def __init__(self, config_dir: Path) -> None:
        self.config_dir = config_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = ManagedProcess(
            "home-assistant",
            [str(BIN / "hass"), "-c", str(config_dir), "--skip-pip"],
            config_dir / "stdout.log",
        )
        self._client: HomeAssistantClient | None = None
        self.started_in = 0.0

    @property
    def log_path(self) -> Path:
        return self.config_dir / "home-assistant.log"

    @property
    def client(self) -> HomeAssistantClient:
        if self._client is None:
            raise RuntimeError("Home Assistant is not started")
        return self._client

    name = "plate-bridge e2e"

    def ui_configuration(self) -> str:
        """No UI served (see the module's docstring): an empty frontend folder."""
        (self.config_dir / "no-frontend" / "hass_frontend").mkdir(parents=True, exist_ok=True)
        return f"frontend:\n  development_repo: {self.config_dir}/no-frontend\n"

    def write_config(self) -> None:
        self.config_dir.mkdir(parents=True, exist_ok=True)
        custom = self.config_dir / "custom_components"
        custom.mkdir(exist_ok=True)
        link = custom / "plate_recognizer"
        if not link.exists():
            link.symlink_to(REPO / "custom_components" / "plate_recognizer")
        (self.config_dir / "configuration.yaml").write_text(
            CONFIGURATION.format(
                name=self.name,
                config_dir=self.config_dir,
                port=self.port,
                ui=self.ui_configuration(),
            )
        )

    def start(self, timeout: float = 120.0) -> Self:
        began = time.monotonic()
        self.write_config()
        self.process.start()
        anonymous = httpx.Client(base_url=self.url, timeout=5, trust_env=False)
        try:

            def api_answers() -> bool:
                self.process.check_alive()
                try:
                    # 401 without a token: the API is up.
                    return anonymous.get("/api/").status_code == 401
                except httpx.TransportError:
                    return False

            wait_until(api_answers, within=timeout, interval=0.25, what="Home Assistant's API")
            self._client = self._onboard(anonymous)
        finally:
            anonymous.close()
        self.started_in = time.monotonic() - began
        return self

    def _onboard(self, http: httpx.Client) -> HomeAssistantClient:
        client_id = self.url + CLIENT_ID_PATH
        answer = http.post(
            "/api/onboarding/users",
            json={
                "client_id": client_id,
                "name": "E2E Owner",
                "username": USERNAME,
                "password": PASSWORD,
                "language": "en",
            },
        )
        if answer.status_code != 200:
            raise HomeAssistantError(f"onboarding refused: {answer.status_code} {answer.text}")
        tokens = http.post(
            "/auth/token",
            data={
                "grant_type": "authorization_code",
                "code": answer.json()["auth_code"],
                "client_id": client_id,
            },
        )
        if tokens.status_code != 200:
            raise HomeAssistantError(f"token exchange refused: {tokens.status_code} {tokens.text}")
        body = tokens.json()
        return HomeAssistantClient(self.url, body["access_token"], body["refresh_token"])

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return self.process.output()

    def log_tail(self, lines: int = 200) -> str:
        text = self.log().splitlines()[-lines:]
        return f"--- last {len(text)} lines of {self.log_path} ---\n" + "\n".join(text)

    def stop(self) -> int | None:
        if self._client is not None:
            self._client.close()
        return self.process.stop(timeout=30)

    def setup_mqtt(self, host: str, port: int) -> dict[str, Any]:
        """Home Assistant's MQTT integration, added through its config flow."""
        return self.client.flow("flow", "mqtt", ("broker", {"broker": host, "port": port}))

    def wait_for_state(
        self, entity_id: str, predicate: Any = bool, *, within: float = 30.0
    ) -> dict[str, Any]:
        """The entity's state once `predicate(state)` holds."""

        def probe() -> dict[str, Any] | None:
            self.process.check_alive()
            state = self.client.state(entity_id)
            return state if state is not None and predicate(state) else None

        def details() -> str:
            return f"last state: {json.dumps(self.client.state(entity_id))}"

        return wait_until(probe, within=within, interval=0.2, what=entity_id, details=details)
