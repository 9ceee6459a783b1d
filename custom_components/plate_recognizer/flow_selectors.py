"""Form selectors shared by the config, options and camera flows (not the stdlib `selectors`)."""

from __future__ import annotations

from homeassistant.generated.countries import COUNTRIES
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)

# Region codes are offered as a list, and stored as JSON strings: no YAML ever
# turns "no" (Norway) into false. Other codes ("us-ca") can be typed in.
REGION_SELECTOR = SelectSelector(
    SelectSelectorConfig(
        options=[SelectOptionDict(value=code.lower(), label=code) for code in sorted(COUNTRIES)],
        multiple=True,
        custom_value=True,
        mode=SelectSelectorMode.DROPDOWN,
    )
)
