"""`homeassistant:` MQTT discovery of the bridge's entities."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .types import MqttTopic, Name, Section


class HomeAssistantConfig(Section):
    enabled: bool = Field(default=True, description="Publish MQTT discovery messages.")
    prefix: MqttTopic = Field(
        default="homeassistant", description="Home Assistant's discovery prefix."
    )
    node_id: Name | None = Field(
        default=None,
        description="Discovery node id; default mqtt.base_topic with '/' replaced by '_'.",
    )
    hold_time: int = Field(
        default=30,
        ge=1,
        description="Seconds the 'watched vehicle present' binary sensor stays on after a read.",
    )
    plate_text: Literal["upper", "read", "watchlist", "name"] = Field(
        default="upper",
        description="Last plate sensor's state: the read in capitals, as read, the watch-list "
        "entry's plate when matched, or the entry's name when matched.",
    )
    image: bool = Field(
        default=True, description="Publish the last annotated snapshot for the image entity."
    )
    image_interval: float = Field(
        default=5.0,
        ge=0,
        description="At most one image per camera per this many seconds (the latest read wins).",
    )
    device_triggers: bool = Field(default=True, description="Publish device triggers.")
