"""Camera subentries: add or change a camera in two steps.

First the camera, what starts a read and its regions; then, only for the
triggers that need one, the trigger's own field (the motion entity, or the
camera's name in Frigate). A form never shows a field the choice made moot.
"""

from __future__ import annotations

from typing import Any

import voluptuous as vol
from homeassistant.config_entries import SOURCE_RECONFIGURE, ConfigSubentryFlow, SubentryFlowResult
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)

from .const import (
    CONF_CAMERA,
    CONF_FRIGATE_CAMERA,
    CONF_REGIONS,
    CONF_TRIGGER,
    CONF_TRIGGER_ENTITY,
    TRIGGER_ENTITY,
    TRIGGER_FRIGATE,
    TRIGGER_MANUAL,
    TRIGGERS,
)
from .flow_selectors import REGION_SELECTOR
from .frigate_options import lpr_data, lpr_schema
from .platereader import normalize_regions

STEP_ENTITY = "entity"
STEP_FRIGATE = "frigate"

TRIGGER_SELECTOR = SelectSelector(
    SelectSelectorConfig(
        options=list(TRIGGERS), translation_key="trigger", mode=SelectSelectorMode.LIST
    )
)
TRIGGER_ENTITY_SELECTOR = EntitySelector(
    EntitySelectorConfig(domain=["binary_sensor", "sensor", "input_boolean"])
)


class CameraSubentryFlow(ConfigSubentryFlow):
    """Add or change a camera: which entity, what triggers a read, its regions."""

    def __init__(self) -> None:
        # What the first step chose, completed by the trigger's step.
        self._data: dict[str, Any] = {}
        self._name = ""

    # -- first step ----------------------------------------------------------------------

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            camera = user_input[CONF_CAMERA]
            if any(sub.unique_id == camera for sub in self._get_entry().subentries.values()):
                return self.async_abort(reason="already_configured")
            self._name = self._camera_name(camera)
            errors = self._first_step({CONF_CAMERA: camera, **user_input})
            if not errors:
                return await self._next_step()
        schema = vol.Schema(
            {
                vol.Required(CONF_CAMERA): EntitySelector(EntitySelectorConfig(domain="camera")),
                vol.Required(CONF_TRIGGER): TRIGGER_SELECTOR,
                vol.Optional(CONF_REGIONS): REGION_SELECTOR,
            }
        )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                schema, user_input or {CONF_TRIGGER: TRIGGER_MANUAL}
            ),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        subentry = self._get_reconfigure_subentry()
        self._name = subentry.title
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = self._first_step({**user_input, CONF_CAMERA: subentry.data[CONF_CAMERA]})
            if not errors:
                return await self._next_step()
        schema = vol.Schema(
            {
                vol.Required(CONF_TRIGGER): TRIGGER_SELECTOR,
                vol.Optional(CONF_REGIONS): REGION_SELECTOR,
            }
        )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                schema, user_input or dict(subentry.data)
            ),
            errors=errors,
            description_placeholders={"camera": self._name},
        )

    def _first_step(self, user_input: dict[str, Any]) -> dict[str, str]:
        """Keep the camera, trigger and regions; return the form's errors."""
        trigger = user_input[CONF_TRIGGER]
        try:
            regions = normalize_regions(user_input.get(CONF_REGIONS, []))
        except ValueError:
            return {CONF_REGIONS: "invalid_region"}
        if trigger == TRIGGER_FRIGATE and "mqtt" not in self.hass.config.components:
            return {"base": "mqtt_not_set_up"}
        self._data = {
            CONF_CAMERA: user_input[CONF_CAMERA],
            CONF_TRIGGER: trigger,
            CONF_REGIONS: regions,
        }
        return {}

    async def _next_step(self) -> SubentryFlowResult:
        trigger = self._data[CONF_TRIGGER]
        if trigger == TRIGGER_ENTITY:
            return await self.async_step_entity()
        if trigger == TRIGGER_FRIGATE:
            return await self.async_step_frigate()
        return self._finish({})

    # -- the trigger's own step ----------------------------------------------------------

    async def async_step_entity(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        if user_input is not None:
            return self._finish({CONF_TRIGGER_ENTITY: user_input[CONF_TRIGGER_ENTITY]})
        schema = vol.Schema({vol.Required(CONF_TRIGGER_ENTITY): TRIGGER_ENTITY_SELECTOR})
        return self.async_show_form(
            step_id=STEP_ENTITY,
            data_schema=self.add_suggested_values_to_schema(schema, self._current()),
            description_placeholders={"camera": self._name},
        )

    async def async_step_frigate(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            name = user_input[CONF_FRIGATE_CAMERA].strip()
            if name:
                return self._finish({CONF_FRIGATE_CAMERA: name, **lpr_data(user_input)})
            errors[CONF_FRIGATE_CAMERA] = "frigate_camera_required"
        schema = vol.Schema({vol.Required(CONF_FRIGATE_CAMERA): TextSelector(), **lpr_schema()})
        return self.async_show_form(
            step_id=STEP_FRIGATE,
            data_schema=self.add_suggested_values_to_schema(schema, user_input or self._current()),
            errors=errors,
            description_placeholders={"camera": self._name},
        )

    def _current(self) -> dict[str, Any]:
        """A changed camera's saved values, suggested in its trigger's step."""
        if self.source != SOURCE_RECONFIGURE:
            return {}
        return dict(self._get_reconfigure_subentry().data)

    def _finish(self, trigger_fields: dict[str, Any]) -> SubentryFlowResult:
        data = {**self._data, **trigger_fields}
        if self.source == SOURCE_RECONFIGURE:
            return self.async_update_and_abort(
                self._get_entry(), self._get_reconfigure_subentry(), data=data
            )
        camera = data[CONF_CAMERA]
        return self.async_create_entry(title=self._name, data=data, unique_id=camera)

    def _camera_name(self, entity_id: str) -> str:
        state = self.hass.states.get(entity_id)
        return state.name if state is not None else entity_id
