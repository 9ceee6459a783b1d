"""UI setup: the account or server, its options, and one subentry per camera.

The options flow is in `options_flow`; the account's or server's id, title and
connection check in `flow_connection`; the camera subentries in `camera_flow`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import voluptuous as vol
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
)
from homeassistant.core import callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .camera_flow import CameraSubentryFlow
from .const import (
    CONF_API_URL,
    CONF_MODE,
    CONF_TOKEN,
    DOMAIN,
    MODE_CLOUD,
    MODE_LOCAL,
    SUBENTRY_CAMERA,
)
from .flow_connection import (
    cloud_unique_id,
    entry_title,
    normalise_server_url,
    server_unique_id,
    validate_connection,
)
from .options_flow import PlateRecognizerOptionsFlow
from .platereader import CLOUD_URL, ONPREM_DEFAULT_URL

SECTION_ADVANCED = "advanced"

PASSWORD_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
URL_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))


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
                return self.async_create_entry(title=entry_title(data), data=data)
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
                return self.async_create_entry(title=entry_title(data), data=data)
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
                    entry, unique_id=self.unique_id, title=entry_title(data), data=data
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
