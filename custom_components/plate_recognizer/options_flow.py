"""The options flow: regions, MMC, hold time and lookup rate; engine config; the watch list."""

from __future__ import annotations

from typing import Any

import voluptuous as vol
from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
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
)

from .const import (
    CONF_DETECTION_RULE_STRICT,
    CONF_ENGINE,
    CONF_FAST_MODE,
    CONF_HOLD_TIME,
    CONF_LOOKUPS_PER_SECOND,
    CONF_MMC,
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
)
from .flow_selectors import REGION_SELECTOR
from .platereader import PlateReaderConfigError, normalize_regions
from .platereader.watchlist import MAX_TOLERANCE, WatchEntry, tolerance_from_config
from .settings import engine_options_to_config

THRESHOLD_SELECTOR = NumberSelector(
    NumberSelectorConfig(min=0, max=1, step=0.01, mode=NumberSelectorMode.BOX)
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
