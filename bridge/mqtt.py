"""The broker connection: paho-mqtt (MQTT 5) bridged to asyncio.

* paho's network thread connects, and reconnects with exponential backoff
  (`mqtt.reconnect_min_delay` .. `reconnect_max_delay`) for as long as we run;
* every (re)connection resubscribes the inputs and publishes `online` on the
  status topic, whose last will is `offline`;
* every output goes through the on-disk `Outbox` first and leaves it only when
  the broker acknowledges it (QoS 1 PUBACK). Messages produced while the broker
  is away wait on disk and are published, in order, when it returns.

Callbacks from paho's thread are handed to the event loop; everything else
runs on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from .config import MqttConfig
from .metrics import Metrics
from .outbox import Outbox, OutMessage

_LOGGER = logging.getLogger(__name__)

STATUS_ONLINE = b"online"
STATUS_OFFLINE = b"offline"


@dataclass(frozen=True, slots=True)
class InMessage:
    topic: str
    payload: bytes
    received: float  # time.perf_counter() when paho handed it over
    retain: bool = False
    mid: int = 0
    qos: int = 0
    generation: int = 0  # which connection it came on (acks only go back on that one)


Handler = Callable[[InMessage], None]


def set_credentials(client: paho.Client, config: MqttConfig) -> None:
    """The configuration's username, password and TLS settings on a paho client."""
    if config.username is not None:
        password = config.password.get_secret_value() if config.password else None
        client.username_pw_set(config.username, password)
    if config.tls is not None and config.tls.enabled:
        client.tls_set(
            ca_certs=str(config.tls.ca_file) if config.tls.ca_file else None,
            certfile=str(config.tls.cert_file) if config.tls.cert_file else None,
            keyfile=str(config.tls.key_file) if config.tls.key_file else None,
            cert_reqs=ssl.CERT_REQUIRED,
        )
        client.tls_insecure_set(config.tls.insecure)


class MqttLink:
    """One client connection; `publish` never blocks and never loses a message."""

    def __init__(
        self,
        config: MqttConfig,
        outbox: Outbox,
        metrics: Metrics,
        *,
        status_topic: str,
    ) -> None:
        self.config = config
        self._outbox = outbox
        self._metrics = metrics
        self._status_topic = status_topic
        # (subscription, filter to match, handler, wants retained messages)
        self._subscriptions: list[tuple[str, str, Handler, bool]] = []
        self._latest: dict[str, tuple[bytes, bool]] = {}  # volatile messages kept offline
        self.on_connected: list[Callable[[], None]] = []  # called on the loop, each connection
        self._inflight: dict[int, int] = {}  # paho mid -> outbox row id
        self._acked: list[int] = []  # row ids to delete (in batches, not one commit each)
        # PUBACKs arrive on paho's thread; they are handed to the loop in batches (one
        # wake-up of the loop for many acknowledgements under load).
        self._puback_lock = threading.Lock()
        self._pubacks: list[tuple[int, str | None]] = []
        self._ack_flush: asyncio.TimerHandle | None = None
        self._checkpoint_task: asyncio.Task[None] | None = None
        self._handed: set[int] = set()  # row ids paho is responsible for
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connected = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self.connections = 0
        self._started = False
        self._closing = False
        self._refused_logged = False
        self._accepting = True
        self._generation = 0  # incremented by paho's thread on each connection

        # Inputs are acknowledged by us, once queued: a message that arrives
        # while we shut down is not acknowledged, so the broker delivers it
        # again to the next session (or another member of the shared group).
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=config.client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=True,
        )
        client.reconnect_delay_set(
            max(1, math.floor(config.reconnect_min_delay)),
            max(1, math.ceil(config.reconnect_max_delay)),
        )
        client.max_inflight_messages_set(1000)
        client.will_set(status_topic, STATUS_OFFLINE, qos=1, retain=True)
        set_credentials(client, config)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        self._client = client
        metrics.gauges["outbox"] = lambda: self.backlog
        metrics.gauges["mqtt_connected"] = self._connected.is_set

    # -- public API (event loop) -------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def subscribe(
        self,
        topic_filter: str,
        handler: Handler,
        *,
        shared: bool = False,
        retained: bool = False,
    ) -> None:
        """Route messages matching `topic_filter` to `handler` (called on the loop).

        With `shared` and `mqtt.shared_group` set, the subscription is
        `$share/<group>/<filter>`: instances of one group share the messages.
        Retained messages are not sent (old pictures) unless `retained`: then
        the broker sends them on subscribing and the handler gets them.
        """
        sub = topic_filter
        if shared and self.config.shared_group:
            sub = f"$share/{self.config.shared_group}/{topic_filter}"
        self._subscriptions.append((sub, topic_filter, handler, retained))
        if self.connected:
            self._client.subscribe(sub, options=_sub_options(retained))

    def unsubscribe(self, topic_filter: str) -> None:
        """Forget every subscription made with `topic_filter`."""
        subs = [entry for entry in self._subscriptions if entry[1] == topic_filter]
        if not subs:
            return
        self._subscriptions = [entry for entry in self._subscriptions if entry[1] != topic_filter]
        if self.connected:
            self._client.unsubscribe([entry[0] for entry in subs])

    def publish_volatile(self, topic: str, payload: bytes, *, retain: bool = True) -> None:
        """Publish without the outbox: state that only matters as its latest value
        (discovery configs, images). While the broker is away only the latest
        payload per topic is kept (in memory), and sent on reconnection."""
        if self.connected:
            info = self._client.publish(topic, payload, qos=1, retain=retain)
            if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
                self._latest.pop(topic, None)
                return
        self._latest[topic] = (payload, retain)

    async def start(self) -> None:
        """Start connecting in the background (the broker may well be down)."""
        self._loop = asyncio.get_running_loop()
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        if self.config.session_expiry:
            properties.SessionExpiryInterval = self.config.session_expiry
        self._client.connect_async(
            self.config.host,
            self.config.port,
            keepalive=self.config.keepalive,
            clean_start=self.config.session_expiry == 0,
            properties=properties,
        )
        self._client.loop_start()
        self._started = True
        self._checkpoint_task = asyncio.create_task(self._checkpoints(), name="outbox-checkpoint")
        if len(self._outbox):
            _LOGGER.info("%d results from a previous run wait in the outbox", len(self._outbox))

    async def wait_connected(self, within: float | None = None) -> bool:
        try:
            await asyncio.wait_for(self._connected.wait(), within)
        except TimeoutError:
            return False
        return True

    def publish(self, messages: Sequence[OutMessage]) -> None:
        """Store `messages` in the outbox and send them when connected (QoS 1).

        `live` messages skip the outbox: sent now, after the others, or dropped
        while the broker is away.
        """
        live = [message for message in messages if message.live]
        if live:
            self.publish([message for message in messages if not message.live])
            for message in live:
                if self.connected:
                    self._client.publish(
                        message.topic, message.payload, qos=1, retain=message.retain
                    )
                else:
                    self._metrics.inc("live_dropped")
            return
        if not messages:
            return
        row_ids = self._outbox.add(messages)
        if self._outbox.dropped:
            self._metrics.inc("outbox_dropped", self._outbox.dropped)
            _LOGGER.warning(
                "outbox full (%d messages): dropped the %d oldest",
                self._outbox.max_rows,
                self._outbox.dropped,
            )
            self._outbox.dropped = 0
        self._drained.clear()
        if self.connected:
            for row_id, message in zip(row_ids, messages, strict=True):
                self._send(row_id, message)

    @property
    def backlog(self) -> int:
        """Results not yet acknowledged by the broker."""
        return len(self._outbox) - len(self._acked)

    async def flush(self, within: float) -> bool:
        """Wait until the outbox is empty (everything acknowledged)."""
        if not self.backlog:
            self._remove_acked()
            return True
        self._drained.clear()
        try:
            await asyncio.wait_for(self._drained.wait(), within)
        except TimeoutError:
            return False
        return True

    def stop_inputs(self) -> None:
        """Take no more input messages (they stay unacknowledged at the broker)."""
        self._accepting = False

    async def stop(self, flush_timeout: float = 5.0) -> None:
        """Publish what we can, say `offline`, disconnect and stop paho's thread."""
        if not self._started:
            return
        self._closing = True
        if self.connected:
            await self.flush(flush_timeout)
            info = self._client.publish(self._status_topic, STATUS_OFFLINE, qos=1, retain=True)
            with contextlib.suppress(TimeoutError, RuntimeError, ValueError):
                await asyncio.wait_for(asyncio.to_thread(info.wait_for_publish, 2.0), 3.0)
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)
        self._started = False
        self._remove_acked()
        if self._checkpoint_task is not None:
            self._checkpoint_task.cancel()
            await asyncio.gather(self._checkpoint_task, return_exceptions=True)
        self._connected.clear()
        if len(self._outbox):
            _LOGGER.warning(
                "%d results not acknowledged by the broker stay in the outbox for the next run",
                len(self._outbox),
            )

    # -- internals (event loop) -------------------------------------------------------

    def _send(self, row_id: int, message: OutMessage) -> None:
        info = self._client.publish(message.topic, message.payload, qos=1, retain=message.retain)
        if info.rc in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            # NO_CONN: paho keeps it and sends it after reconnecting.
            self._inflight[info.mid] = row_id
            self._handed.add(row_id)
        else:
            _LOGGER.debug(
                "publish to %s not accepted (rc %s): stays in outbox", message.topic, info.rc
            )

    def _connected_on_loop(self, session_present: bool) -> None:
        self.connections += 1
        if self.connections > 1:
            self._metrics.inc("mqtt_reconnects")
        self._refused_logged = False
        _LOGGER.info(
            "connected to %s:%d (session %s)",
            self.config.host,
            self.config.port,
            "resumed" if session_present else "new",
        )
        subs = [(sub, _sub_options(retained)) for sub, _, _, retained in self._subscriptions]
        if subs:
            self._client.subscribe(subs)
        self._client.publish(self._status_topic, STATUS_ONLINE, qos=1, retain=True)
        latest, self._latest = self._latest, {}
        for topic, (payload, retain) in latest.items():
            self._client.publish(topic, payload, qos=1, retain=retain)
        self._remove_acked()
        backlog = self._outbox.pending(exclude=self._handed)
        if backlog:
            _LOGGER.info("publishing %d results kept while the broker was away", len(backlog))
        for stored in backlog:
            self._send(stored.row_id, stored.message)
        self._connected.set()
        self._check_drained()
        for callback in list(self.on_connected):
            try:
                callback()
            except Exception:
                _LOGGER.exception("on-connect step failed")

    def _disconnected_on_loop(self, reason: str) -> None:
        was = self.connected
        self._connected.clear()
        if was and not self._closing:
            self._metrics.inc("mqtt_disconnects")
            _LOGGER.warning("lost the broker (%s): reconnecting with backoff", reason)

    def _pubacks_on_loop(self) -> None:
        with self._puback_lock:
            acks, self._pubacks = self._pubacks, []
        for mid, failed in acks:
            self._acked_on_loop(mid, failed)

    def _acked_on_loop(self, mid: int, failed: str | None) -> None:
        row_id = self._inflight.pop(mid, None)
        if row_id is None:
            return  # status messages are not in the outbox
        self._handed.discard(row_id)
        self._acked.append(row_id)
        if len(self._acked) >= 500:
            self._remove_acked()
        elif self._ack_flush is None and self._loop is not None:
            self._ack_flush = self._loop.call_later(0.1, self._remove_acked)
        if failed:
            self._metrics.inc("publish_refused")
            _LOGGER.error("the broker refused a result (%s); it is dropped", failed)
        else:
            self._metrics.inc("published")
        self._check_drained()

    def _remove_acked(self) -> None:
        if self._ack_flush is not None:
            self._ack_flush.cancel()
            self._ack_flush = None
        if self._acked:
            self._outbox.remove(self._acked)
            self._acked = []

    def _check_drained(self) -> None:
        if not self.backlog:
            self._drained.set()

    async def _checkpoints(self) -> None:
        while True:
            await asyncio.sleep(2.0)
            try:
                await asyncio.to_thread(self._outbox.checkpoint)
            except Exception:  # never let the disk stop the service
                _LOGGER.exception("outbox checkpoint failed")

    def _dispatch(self, message: InMessage) -> None:
        if not self._accepting:
            self._metrics.inc("inputs_left_at_broker")
            return
        wanted = [
            (pattern, handler)
            for _, pattern, handler, retained in self._subscriptions
            if retained or not message.retain
        ]
        if message.retain and not any(
            paho.topic_matches_sub(pattern, message.topic) for pattern, _ in wanted
        ):
            # A retained snapshot is an old picture: reading it on every (re)start
            # would burn a lookup for nothing.
            self._metrics.inc("ignored_retained")
        else:
            if not message.retain:
                self._metrics.inc("inputs")
            for pattern, handler in wanted:
                if paho.topic_matches_sub(pattern, message.topic):
                    try:
                        handler(message)
                    except Exception:
                        self._metrics.inc("handler_errors")
                        _LOGGER.exception("input handler failed for %s", message.topic)
        if message.qos and message.generation == self._generation:
            self._client.ack(message.mid, message.qos)

    def _call(self, func: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(func, *args)

    # -- paho callbacks (network thread) -------------------------------------------------

    def _on_connect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            if not self._refused_logged:
                _LOGGER.error("the broker refused the connection: %s", reason_code)
                self._refused_logged = True
            return
        self._generation += 1
        self._call(self._connected_on_loop, bool(flags.session_present))

    def _on_disconnect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._call(self._disconnected_on_loop, str(reason_code))

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        self._call(
            self._dispatch,
            InMessage(
                message.topic,
                message.payload,
                time.perf_counter(),
                bool(message.retain),
                message.mid,
                message.qos,
                self._generation,
            ),
        )

    def _on_publish(
        self,
        client: paho.Client,
        userdata: Any,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties,
    ) -> None:
        failed = str(reason_code) if reason_code.is_failure else None
        with self._puback_lock:
            self._pubacks.append((mid, failed))
            if len(self._pubacks) > 1:
                return  # a hand-over is already scheduled
        self._call(self._pubacks_on_loop)


def _sub_options(retained: bool = False) -> SubscribeOptions:
    # Retained input messages are old pictures: do not even send them.
    if retained:
        return SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_SEND_ON_SUBSCRIBE)
    return SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_DO_NOT_SEND)
