"""Plate and error events on the bridge's MQTT topics (docs/bridge.md "Topics")."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bridge.events import EVENT_NO_PLATE, ErrorEvent, PlateEvent, Topics, encode
from bridge.outbox import OutMessage

from .base import Notice, Read

Publish = Callable[[Sequence[OutMessage]], None]


def plate_messages(topics: Topics, event: PlateEvent) -> list[OutMessage]:
    """A read goes to its camera's topic, the all-cameras topic and (retained) the state.

    A `no_plate` event goes to the first two only: it must not replace the
    camera's last plate.
    """
    camera = event.camera
    data = encode(event)
    messages = [
        OutMessage(topics.camera_plate(camera), data),
        OutMessage(topics.all_plates, data),
    ]
    if event.event_type == EVENT_NO_PLATE:
        return messages
    messages.append(OutMessage(topics.camera_state(camera), data, retain=True))
    if event.watchlist is not None:
        messages.append(OutMessage(topics.watchlist, data))
        # The "watched vehicle present" signal: live, so a broker outage cannot
        # deliver it late (after reconnecting) as if the car were at the gate now.
        messages.append(OutMessage(topics.camera_watchlist(camera), data, live=True))
    return messages


class MqttEventSink:
    """Publishes through `publish` (the link's outbox: kept until the broker acknowledges)."""

    def __init__(self, topics: Topics, publish: Publish) -> None:
        self.topics = topics
        self._publish = publish

    async def start(self) -> None:
        return None

    def handle(self, notice: Notice) -> None:
        if isinstance(notice, Read):
            for event in notice.events:
                self._publish(plate_messages(self.topics, event))
        elif isinstance(notice, ErrorEvent):
            self._publish([OutMessage(self.topics.errors, encode(notice))])

    async def stop(self) -> None:
        return None
