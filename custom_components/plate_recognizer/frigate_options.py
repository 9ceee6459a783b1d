"""The Frigate camera step's fields for Frigate's own plate reads (0.16+ LPR).

Kept apart from the camera flow so the flow only places them; what they mean
is `platereader.frigate_policy.LprOptions` (docs/home-assistant.md, "Frigate's
own plate reads").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import voluptuous as vol
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)

from .const import (
    CONF_FRIGATE_LPR,
    CONF_FRIGATE_LPR_CONFIRM,
    CONF_FRIGATE_LPR_MIN_SCORE,
    CONF_FRIGATE_LPR_WAIT,
)
from .platereader.frigate_policy import DEFAULT_MIN_SCORE, DEFAULT_WAIT, LPR_MODES, MAX_WAIT

_DEFAULTS: dict[str, Any] = {
    CONF_FRIGATE_LPR: "auto",
    CONF_FRIGATE_LPR_MIN_SCORE: DEFAULT_MIN_SCORE,
    CONF_FRIGATE_LPR_WAIT: DEFAULT_WAIT,
    CONF_FRIGATE_LPR_CONFIRM: False,
}
LPR_KEYS = tuple(_DEFAULTS)


def lpr_schema() -> dict[Any, Any]:
    """The fields, with their defaults, for a `vol.Schema`."""
    return {
        vol.Required(CONF_FRIGATE_LPR, default=_DEFAULTS[CONF_FRIGATE_LPR]): SelectSelector(
            SelectSelectorConfig(
                options=list(LPR_MODES),
                translation_key=CONF_FRIGATE_LPR,
                mode=SelectSelectorMode.DROPDOWN,
            )
        ),
        vol.Required(
            CONF_FRIGATE_LPR_MIN_SCORE, default=_DEFAULTS[CONF_FRIGATE_LPR_MIN_SCORE]
        ): NumberSelector(
            NumberSelectorConfig(min=0.5, max=1, step=0.01, mode=NumberSelectorMode.SLIDER)
        ),
        vol.Required(
            CONF_FRIGATE_LPR_WAIT, default=_DEFAULTS[CONF_FRIGATE_LPR_WAIT]
        ): NumberSelector(
            NumberSelectorConfig(
                min=0,
                max=MAX_WAIT,
                step=0.5,
                unit_of_measurement="s",
                mode=NumberSelectorMode.BOX,
            )
        ),
        vol.Required(
            CONF_FRIGATE_LPR_CONFIRM, default=_DEFAULTS[CONF_FRIGATE_LPR_CONFIRM]
        ): BooleanSelector(),
    }


def lpr_data(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """The fields to store in the camera subentry: only those changed from the default,
    so a camera left at the defaults follows them if a later version improves them."""
    return {
        key: user_input[key]
        for key, default in _DEFAULTS.items()
        if key in user_input and user_input[key] != default
    }
