"""The repair issue raised when the account has no lookups left this period."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN, ISSUE_NO_CREDITS


def _issue_id(entry: ConfigEntry) -> str:
    return f"{ISSUE_NO_CREDITS}_{entry.entry_id}"


@callback
def async_set_no_credits_issue(
    hass: HomeAssistant, entry: ConfigEntry, out_of_credits: bool
) -> None:
    """Raise the issue while the credits are used up; remove it once reads work again."""
    if not out_of_credits:
        ir.async_delete_issue(hass, DOMAIN, _issue_id(entry))
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        _issue_id(entry),
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key=ISSUE_NO_CREDITS,
        translation_placeholders={"title": entry.title},
        learn_more_url="https://app.platerecognizer.com/accounts/plan/",
    )
