"""UI setup: the account or server, its options, and one subentry per camera."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import voluptuous as vol
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.httpx_client import get_async_client
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .camera_flow import CameraSubentryFlow
from .const import (
    CONF_API_URL,
    CONF_DETECTION_RULE_STRICT,
    CONF_ENGINE,
    CONF_FAST_MODE,
    CONF_HOLD_TIME,
    CONF_LOOKUPS_PER_SECOND,
    CONF_MMC,
    CONF_MODE,
    CONF_NAME,
    CONF_PLATE,
    CONF_REGION_STRICT,
    CONF_REGIONS,
    CONF_TAGS,
    CONF_TEXT_FORMATS,
    CONF_THRESHOLD_D,
    CONF_THRESHOLD_O,
    CONF_TOKEN,
    CONF_TOLERANCE,
    CONF_VEHICLE_MODE,
    CONF_WATCHLIST,
    DEFAULT_HOLD_TIME,
    DEFAULT_LOOKUPS_PER_SECOND,
    DEFAULT_TOLERANCE,
    DOMAIN,
    MODE_CLOUD,
    MODE_LOCAL,
    SUBENTRY_CAMERA,
)
from .flow_selectors import REGION_SELECTOR
from .platereader import (
    CLOUD_URL,
    ONPREM_DEFAULT_URL,
    PlateReader,
    PlateReaderBadRequestError,
    PlateReaderConfigError,
    PlateReaderError,
    PlateReaderForbiddenError,
    PlateReaderHTTPError,
    PlateReaderNoCreditsError,
    PlateReaderResponseError,
    normalize_regions,
)
from .platereader.watchlist import MAX_TOLERANCE, WatchEntry, tolerance_from_config
from .settings import engine_options_to_config

_LOGGER = logging.getLogger(__name__)

SECTION_ADVANCED = "advanced"

PASSWORD_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
URL_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
THRESHOLD_SELECTOR = NumberSelector(
    NumberSelectorConfig(min=0, max=1, step=0.01, mode=NumberSelectorMode.BOX)
)


def cloud_unique_id(token: str) -> str:
    """The account's id: a hash of its token (the API tells nothing else about it)."""
    return hashlib.sha256(token.strip().encode()).hexdigest()[:20]


# Paths a user may paste with the server's address: the SDK's endpoint (what its
# own clients are configured with) and its status page. The entry keeps the base.
_ENDPOINT_PATHS = ("/v1/plate-reader", "/info")
# One server on this machine, whichever name reaches it.
_LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost", "::1"})


def normalise_server_url(text: str) -> str | None:
    """The server's base URL from what a user typed, or None when it is no http(s) URL.

    `192.168.1.20:8080` gets `http://`; `.../v1/plate-reader/` and `.../info/`
    lose that path; the trailing slash goes.
    """
    url = text.strip()
    if "://" not in url:
        url = f"http://{url}"
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    path = parts.path.rstrip("/")
    for suffix in _ENDPOINT_PATHS:
        if path.lower().endswith(suffix):
            path = path[: -len(suffix)]
    return urlunsplit((parts.scheme.lower(), parts.netloc, path, "", ""))


def server_unique_id(url: str) -> str:
    """The server's id: its URL without credentials, case, endpoint path or trailing slash."""
    parts = urlsplit(normalise_server_url(url) or url.strip())
    host = (parts.hostname or "").lower()
    if host in _LOOPBACK_NAMES or host.startswith("127."):
        host = "127.0.0.1"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme.lower()}://{host}{port}{parts.path.rstrip('/')}"


async def validate_connection(
    hass: HomeAssistant, api_url: str, token: str | None
) -> tuple[dict[str, str], dict[str, str]]:
    """Try the account or server; return (errors, description placeholders).

    The errors say in plain words what to check; the exception itself (URL,
    exception class, library message) only goes to the debug log.
    """
    try:
        # No retries: the user is waiting for the form.
        reader = PlateReader(api_url, token, session=get_async_client(hass), retries=0)
    except PlateReaderConfigError:
        return {CONF_API_URL: "invalid_url"}, {}
    where = {"url": reader.api_url}
    try:
        if token:
            stats = await reader.statistics()
            if stats.remaining == 0:
                raise PlateReaderNoCreditsError("no lookups left", status=403)
        else:
            await reader.info()
    except PlateReaderNoCreditsError:
        return {"base": "no_credits"}, where
    except PlateReaderForbiddenError as err:
        if token:
            return {"base": "invalid_auth"}, where
        # No token sent: an on-premise SDK refusing us is its licence, not ours.
        _LOGGER.debug("%s refused the request: %s", reader.api_url, err)
        return {"base": "server_refused"}, where
    except (PlateReaderResponseError, PlateReaderBadRequestError) as err:
        # Something answers, but not the Plate Recognizer API (wrong URL or port).
        _LOGGER.debug("Unexpected answer from %s: %s", reader.api_url, err)
        return {"base": "unexpected_response"}, where
    except PlateReaderHTTPError as err:
        _LOGGER.debug("Error answer from %s: %s", reader.api_url, err)
        return {"base": "server_error"}, {**where, "status": str(err.status)}
    except PlateReaderError as err:
        _LOGGER.debug("Cannot connect to %s: %s", reader.api_url, err)
        return {"base": "cannot_connect"}, where
    return {}, {}


def _title(data: Mapping[str, Any]) -> str:
    """The entry's (and its device's) name; a server's keeps its port, so two on one host differ."""
    if data[CONF_MODE] == MODE_CLOUD:
        return "Plate Recognizer Cloud"
    parts = urlsplit(data[CONF_API_URL])
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"Plate Recognizer ({host}{port})"


class PlateRecognizerConfigFlow(ConfigFlow, domain=DOMAIN):
    """Cloud account (token) or local server (URL)."""

    VERSION = 1
    # 1.2: watch-list tolerances are whole characters (see async_migrate_entry).
    MINOR_VERSION = 2

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        return PlateRecognizerOptionsFlow()

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        return {SUBENTRY_CAMERA: CameraSubentryFlow}

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        return self.async_show_menu(step_id="user", menu_options=[MODE_CLOUD, MODE_LOCAL])

    async def async_step_cloud(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            token = user_input[CONF_TOKEN].strip()
            api_url = user_input.get(SECTION_ADVANCED, {}).get(CONF_API_URL, CLOUD_URL)
            await self.async_set_unique_id(cloud_unique_id(token))
            self._abort_if_unique_id_configured()
            errors, placeholders = await validate_connection(self.hass, api_url, token)
            if not errors:
                data = {CONF_MODE: MODE_CLOUD, CONF_API_URL: api_url, CONF_TOKEN: token}
                return self.async_create_entry(title=_title(data), data=data)
        schema = vol.Schema(
            {
                vol.Required(CONF_TOKEN): PASSWORD_SELECTOR,
                vol.Required(SECTION_ADVANCED): section(
                    vol.Schema({vol.Required(CONF_API_URL, default=CLOUD_URL): URL_SELECTOR}),
                    {"collapsed": True},
                ),
            }
        )
        return self.async_show_form(
            step_id="cloud",
            data_schema=schema,
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_local(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            api_url = normalise_server_url(user_input[CONF_API_URL])
            if api_url is None:
                errors[CONF_API_URL] = "invalid_url"
            else:
                await self.async_set_unique_id(server_unique_id(api_url))
                self._abort_if_unique_id_configured()
                errors, placeholders = await validate_connection(self.hass, api_url, None)
            if not errors and api_url is not None:
                data = {CONF_MODE: MODE_LOCAL, CONF_API_URL: api_url}
                return self.async_create_entry(title=_title(data), data=data)
        schema = self.add_suggested_values_to_schema(
            vol.Schema({vol.Required(CONF_API_URL): URL_SELECTOR}),
            user_input or {CONF_API_URL: ONPREM_DEFAULT_URL},
        )
        return self.async_show_form(
            step_id="local",
            data_schema=schema,
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A new token for the same cloud entry (only cloud entries have tokens)."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            token = user_input[CONF_TOKEN].strip()
            errors, placeholders = await validate_connection(
                self.hass, entry.data[CONF_API_URL], token
            )
            if not errors:
                # The API cannot tell whether a token is of the same account; it must
                # at least not be one another entry already uses.
                if self._token_in_use(entry, token):
                    return self.async_abort(reason="already_configured")
                return self.async_update_reload_and_abort(
                    entry, unique_id=cloud_unique_id(token), data_updates={CONF_TOKEN: token}
                )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=vol.Schema({vol.Required(CONF_TOKEN): PASSWORD_SELECTOR}),
            errors=errors,
            description_placeholders={"title": entry.title, **placeholders},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the token (cloud) or the URL (both)."""
        entry = self._get_reconfigure_entry()
        cloud = entry.data[CONF_MODE] == MODE_CLOUD
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            api_url = user_input[CONF_API_URL].strip()
            if not cloud:
                api_url = normalise_server_url(api_url) or api_url  # invalid: the check says so
            token = user_input[CONF_TOKEN].strip() if cloud else None
            errors, placeholders = await validate_connection(self.hass, api_url, token)
            if not errors and token is not None:
                if token == entry.data[CONF_TOKEN] or not self._token_in_use(entry, token):
                    return self.async_update_reload_and_abort(
                        entry,
                        unique_id=cloud_unique_id(token),
                        data_updates={CONF_API_URL: api_url, CONF_TOKEN: token},
                    )
                errors = {"base": "already_configured"}
            elif not errors:
                await self.async_set_unique_id(server_unique_id(api_url))
                if self.unique_id != entry.unique_id:
                    self._abort_if_unique_id_configured()
                data = {**entry.data, CONF_API_URL: api_url}
                return self.async_update_reload_and_abort(
                    entry, unique_id=self.unique_id, title=_title(data), data=data
                )
        fields: dict[Any, Any] = {vol.Required(CONF_API_URL): URL_SELECTOR}
        if cloud:
            fields[vol.Required(CONF_TOKEN)] = PASSWORD_SELECTOR
        schema = self.add_suggested_values_to_schema(
            vol.Schema(fields), user_input or {CONF_API_URL: entry.data[CONF_API_URL]}
        )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=schema,
            errors=errors,
            description_placeholders=placeholders,
        )

    def _token_in_use(self, entry: ConfigEntry, token: str) -> bool:
        unique_id = cloud_unique_id(token)
        return any(
            other.entry_id != entry.entry_id and other.unique_id == unique_id
            for other in self._async_current_entries(include_ignore=False)
        )


class PlateRecognizerOptionsFlow(OptionsFlow):
    """Regions, MMC and hold time; engine config; the watch list."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        menu = ["settings", "engine", "add_watched"]
        if self.config_entry.options.get(CONF_WATCHLIST):
            menu.append("remove_watched")
        return self.async_show_menu(step_id="init", menu_options=menu)

    def _save(self, **changes: Any) -> ConfigFlowResult:
        return self.async_create_entry(data={**self.config_entry.options, **changes})

    async def async_step_settings(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        options = self.config_entry.options
        if user_input is not None:
            try:
                regions = normalize_regions(user_input.get(CONF_REGIONS, []))
            except ValueError:
                errors[CONF_REGIONS] = "invalid_region"
            else:
                if not regions and options.get(CONF_ENGINE, {}).get(CONF_REGION_STRICT):
                    errors[CONF_REGIONS] = "strict_needs_regions"
                else:
                    changes: dict[str, Any] = {
                        CONF_REGIONS: regions,
                        CONF_MMC: user_input[CONF_MMC],
                        CONF_HOLD_TIME: int(user_input[CONF_HOLD_TIME]),
                    }
                    if CONF_LOOKUPS_PER_SECOND in user_input:
                        changes[CONF_LOOKUPS_PER_SECOND] = float(
                            user_input[CONF_LOOKUPS_PER_SECOND]
                        )
                    return self._save(**changes)
        schema = vol.Schema(
            {
                vol.Optional(CONF_REGIONS): REGION_SELECTOR,
                vol.Required(CONF_MMC): BooleanSelector(),
                vol.Required(CONF_HOLD_TIME): NumberSelector(
                    NumberSelectorConfig(
                        min=5,
                        max=3600,
                        step=5,
                        unit_of_measurement="s",
                        mode=NumberSelectorMode.BOX,
                    )
                ),
            }
        )
        if self.config_entry.data.get(CONF_TOKEN):
            # Only the cloud limits lookups per second; the plan decides how many.
            schema = schema.extend(
                {
                    vol.Required(
                        CONF_LOOKUPS_PER_SECOND,
                        default=options.get(CONF_LOOKUPS_PER_SECOND, DEFAULT_LOOKUPS_PER_SECOND),
                    ): NumberSelector(
                        NumberSelectorConfig(
                            min=0.1, max=100, step=0.1, mode=NumberSelectorMode.BOX
                        )
                    )
                }
            )
        suggested = {
            CONF_REGIONS: options.get(CONF_REGIONS, []),
            CONF_MMC: options.get(CONF_MMC, False),
            CONF_HOLD_TIME: options.get(CONF_HOLD_TIME, DEFAULT_HOLD_TIME),
            **(user_input or {}),
        }
        return self.async_show_form(
            step_id="settings",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
        )

    async def async_step_engine(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {"error": ""}
        if user_input is not None:
            engine = {key: value for key, value in user_input.items() if value not in (None, [])}
            try:
                engine_options_to_config(engine)
            except PlateReaderConfigError as err:
                errors["base"] = "invalid_engine_config"
                placeholders["error"] = str(err)
            else:
                if engine.get(CONF_REGION_STRICT) and not self._every_camera_has_regions():
                    errors[CONF_REGION_STRICT] = "strict_needs_regions"
                else:
                    return self._save(**{CONF_ENGINE: engine})
        schema = vol.Schema(
            {
                vol.Required(CONF_DETECTION_RULE_STRICT): BooleanSelector(),
                vol.Required(CONF_VEHICLE_MODE): BooleanSelector(),
                vol.Required(CONF_REGION_STRICT): BooleanSelector(),
                vol.Optional(CONF_THRESHOLD_D): THRESHOLD_SELECTOR,
                vol.Optional(CONF_THRESHOLD_O): THRESHOLD_SELECTOR,
                vol.Required(CONF_FAST_MODE): BooleanSelector(),
                vol.Optional(CONF_TEXT_FORMATS): TextSelector(TextSelectorConfig(multiple=True)),
            }
        )
        suggested = {
            CONF_DETECTION_RULE_STRICT: False,
            CONF_VEHICLE_MODE: False,
            CONF_REGION_STRICT: False,
            CONF_FAST_MODE: False,
            **self.config_entry.options.get(CONF_ENGINE, {}),
            **(user_input or {}),
        }
        return self.async_show_form(
            step_id="engine",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
            description_placeholders=placeholders,
        )

    def _every_camera_has_regions(self) -> bool:
        """Strict region needs regions on every read: the entry's, or each camera's own."""
        if self.config_entry.options.get(CONF_REGIONS):
            return True
        cameras = self.config_entry.subentries.values()
        return bool(cameras) and all(camera.data.get(CONF_REGIONS) for camera in cameras)

    async def async_step_add_watched(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            item = {
                CONF_NAME: user_input[CONF_NAME].strip(),
                CONF_PLATE: user_input[CONF_PLATE].strip().upper(),
                # Whole characters (0-2): the number of real differences forgiven.
                CONF_TOLERANCE: tolerance_from_config(user_input[CONF_TOLERANCE]),
                CONF_TAGS: [tag.strip() for tag in user_input.get(CONF_TAGS, []) if tag.strip()],
            }
            try:
                WatchEntry.from_dict(item)  # no letters or digits, or far too long
            except ValueError:
                errors[CONF_PLATE] = "invalid_plate"
            else:
                watchlist = [*self.config_entry.options.get(CONF_WATCHLIST, []), item]
                return self._save(**{CONF_WATCHLIST: watchlist})
        schema = vol.Schema(
            {
                vol.Required(CONF_NAME): TextSelector(),
                vol.Required(CONF_PLATE): TextSelector(),
                vol.Required(CONF_TOLERANCE, default=DEFAULT_TOLERANCE): NumberSelector(
                    NumberSelectorConfig(
                        min=0, max=MAX_TOLERANCE, step=1, mode=NumberSelectorMode.SLIDER
                    )
                ),
                vol.Optional(CONF_TAGS): TextSelector(TextSelectorConfig(multiple=True)),
            }
        )
        return self.async_show_form(
            step_id="add_watched",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or {}),
            errors=errors,
        )

    async def async_step_remove_watched(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        watchlist: list[dict[str, Any]] = list(self.config_entry.options.get(CONF_WATCHLIST, []))
        errors: dict[str, str] = {}
        if user_input is not None:
            remove = {int(index) for index in user_input.get(CONF_WATCHLIST, [])}
            if remove:
                kept = [item for index, item in enumerate(watchlist) if index not in remove]
                return self._save(**{CONF_WATCHLIST: kept})
            errors[CONF_WATCHLIST] = "nothing_to_remove"
        options = [
            SelectOptionDict(value=str(index), label=f"{item[CONF_NAME]} ({item[CONF_PLATE]})")
            for index, item in enumerate(watchlist)
        ]
        # Optional: the frontend ticks the first option of a required list, and
        # one Submit would then delete a plate nobody chose.
        schema = vol.Schema(
            {
                vol.Optional(CONF_WATCHLIST): SelectSelector(
                    SelectSelectorConfig(options=options, multiple=True)
                )
            }
        )
        return self.async_show_form(step_id="remove_watched", data_schema=schema, errors=errors)
