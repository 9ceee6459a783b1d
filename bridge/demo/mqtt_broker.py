"""A minimal in-process MQTT broker: the demo's fallback when mosquitto is not available.

Only what the demo needs, on one asyncio loop: MQTT 5 and 3.1.1 clients, QoS 0 and 1
(QoS 2 is accepted and delivered at QoS 1 at most), retained messages, the `+` and `#`
wildcards, last wills, `retain handling` subscription options, and `$share/<group>/`
filters (treated as plain subscriptions: one member per group is all the demo has).
No persistence, no authentication, no keep-alive enforcement, no topic aliases.

Why not amqtt (the pure-Python broker on PyPI)? The bridge speaks MQTT 5 only, and
amqtt 0.12 refuses MQTT 5 connections ("Unsupported protocol version").

    broker = EmbeddedBroker()
    await broker.start()          # 127.0.0.1, a free port: broker.port
    ...
    await broker.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from dataclasses import dataclass, field

_LOGGER = logging.getLogger(__name__)

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT = 8, 9, 10, 11, 12, 13, 14
MQTT5 = 5
_DISCONNECT_WITH_WILL = 0x04
_UNSUPPORTED_PROTOCOL_V3 = 0x01
_UNSUPPORTED_PROTOCOL_V5 = 0x84


class ProtocolError(Exception):
    """The client sent something this broker does not understand: close the connection."""


@dataclass(slots=True)
class Message:
    topic: str
    payload: bytes
    qos: int
    retain: bool


@dataclass(slots=True)
class Subscription:
    qos: int
    retain_as_published: bool


@dataclass(slots=True, eq=False)
class Session:
    client_id: str
    version: int
    writer: asyncio.StreamWriter
    will: Message | None = None
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    packet_ids: itertools.cycle[int] = field(
        default_factory=lambda: itertools.cycle(range(1, 65536))
    )
    closed: bool = False

    def send(self, packet_type: int, flags: int, body: bytes) -> None:
        if self.closed or self.writer.is_closing():
            return
        self.writer.write(bytes([packet_type << 4 | flags]) + _varint(len(body)) + body)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value % 128, value // 128
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _string(text: str) -> bytes:
    data = text.encode("utf-8")
    return len(data).to_bytes(2, "big") + data


class _Cursor:
    """Reads the fields of one packet's body."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    @property
    def left(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int) -> bytes:
        if n > self.left:
            raise ProtocolError("packet too short")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def binary(self) -> bytes:
        return self.take(self.u16())

    def string(self) -> str:
        try:
            return self.binary().decode("utf-8")
        except UnicodeDecodeError as err:
            raise ProtocolError("invalid UTF-8") from err

    def varint(self) -> int:
        value, shift = 0, 0
        for _ in range(4):
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
        raise ProtocolError("malformed variable byte integer")

    def skip_properties(self) -> None:
        self.take(self.varint())


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT filter matching: `+` one level, `#` the rest; wildcards skip `$` topics."""
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    filter_levels = topic_filter.split("/")
    levels = topic.split("/")
    for index, part in enumerate(filter_levels):
        if part == "#":
            return True
        if index >= len(levels):
            return False
        if part not in ("+", levels[index]):
            return False
    return len(filter_levels) == len(levels)


def _plain_filter(topic_filter: str) -> str:
    """`$share/<group>/<filter>` -> `<filter>`."""
    if topic_filter.startswith("$share/"):
        parts = topic_filter.split("/", 2)
        if len(parts) == 3:
            return parts[2]
    return topic_filter


class EmbeddedBroker:
    """An MQTT broker on 127.0.0.1 (port 0: a free one), running on the caller's loop."""

    name = "embedded Python broker"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._sessions: dict[str, Session] = {}
        self._retained: dict[str, Message] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for session in list(self._sessions.values()):
            session.closed = True
            session.writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 2.0)

    # -- connections ---------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        session: Session | None = None
        clean_end = False
        try:
            packet_type, _, body = await self._read_packet(reader)
            if packet_type != CONNECT:
                raise ProtocolError("the first packet must be CONNECT")
            session = self._connect(body, writer)
            if session is None:
                return
            while True:
                packet_type, flags, body = await self._read_packet(reader)
                if packet_type == DISCONNECT:
                    reason = body[0] if body else 0
                    clean_end = reason != _DISCONNECT_WITH_WILL
                    return
                self._handle(session, packet_type, flags, body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ProtocolError) as err:
            if isinstance(err, ProtocolError):
                _LOGGER.warning("embedded broker: closing a connection: %s", err)
        except asyncio.CancelledError:
            clean_end = True  # the broker is stopping: no wills
        finally:
            if session is not None:
                self._drop(session, clean_end)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            if task is not None:
                self._tasks.discard(task)

    @staticmethod
    async def _read_packet(reader: asyncio.StreamReader) -> tuple[int, int, bytes]:
        first = (await reader.readexactly(1))[0]
        length, shift = 0, 0
        for _ in range(4):
            byte = (await reader.readexactly(1))[0]
            length |= (byte & 0x7F) << shift
            if not byte & 0x80:
                break
            shift += 7
        else:
            raise ProtocolError("malformed remaining length")
        body = await reader.readexactly(length) if length else b""
        return first >> 4, first & 0x0F, body

    def _connect(self, body: bytes, writer: asyncio.StreamWriter) -> Session | None:
        cur = _Cursor(body)
        protocol = cur.string()
        version = cur.byte()
        if protocol not in ("MQTT", "MQIsdp") or version not in (3, 4, MQTT5):
            # CONNACK "unsupported protocol version", in the 3.1.1 layout every client reads.
            writer.write(bytes([CONNACK << 4, 2, 0, _UNSUPPORTED_PROTOCOL_V3]))
            return None
        flags = cur.byte()
        cur.u16()  # keep-alive: not enforced
        if version == MQTT5:
            cur.skip_properties()
        client_id = cur.string() or f"auto-{id(writer):x}"
        will = None
        if flags & 0x04:
            if version == MQTT5:
                cur.skip_properties()
            topic = cur.string()
            payload = cur.binary()
            will = Message(topic, payload, min((flags >> 3) & 0x03, 1), bool(flags & 0x20))
        session = Session(client_id, version, writer, will)
        old = self._sessions.get(client_id)
        if old is not None:  # session take-over: the old connection goes, without its will
            old.will = None
            old.closed = True
            old.writer.close()
        self._sessions[client_id] = session
        if version == MQTT5:
            session.send(CONNACK, 0, bytes([0, 0, 0]))  # no session present, success, no props
        else:
            session.send(CONNACK, 0, bytes([0, 0]))
        return session

    def _drop(self, session: Session, clean_end: bool) -> None:
        if self._sessions.get(session.client_id) is session:
            del self._sessions[session.client_id]
        session.closed = True
        if not clean_end and session.will is not None:
            self._publish(session.will)

    # -- packets -------------------------------------------------------------------------

    def _handle(self, session: Session, packet_type: int, flags: int, body: bytes) -> None:
        if packet_type == PUBLISH:
            self._on_publish(session, flags, body)
        elif packet_type == PUBREL:
            session.send(PUBCOMP, 0, body[:2])
        elif packet_type in (PUBACK, PUBREC, PUBCOMP):
            if packet_type == PUBREC:  # only if a client treats our QoS 1 as 2; be lenient
                session.send(PUBREL, 0x02, body[:2])
        elif packet_type == SUBSCRIBE:
            self._on_subscribe(session, body)
        elif packet_type == UNSUBSCRIBE:
            self._on_unsubscribe(session, body)
        elif packet_type == PINGREQ:
            session.send(PINGRESP, 0, b"")
        else:
            raise ProtocolError(f"unexpected packet type {packet_type}")

    def _on_publish(self, session: Session, flags: int, body: bytes) -> None:
        qos = (flags >> 1) & 0x03
        retain = bool(flags & 0x01)
        cur = _Cursor(body)
        topic = cur.string()
        packet_id = cur.u16() if qos else 0
        if session.version == MQTT5:
            cur.skip_properties()
        if not topic or "+" in topic or "#" in topic:
            raise ProtocolError(f"invalid topic name {topic!r}")
        payload = cur.take(cur.left)
        self._publish(Message(topic, payload, min(qos, 1), retain))
        if qos == 1:
            session.send(PUBACK, 0, packet_id.to_bytes(2, "big"))
        elif qos == 2:
            session.send(PUBREC, 0, packet_id.to_bytes(2, "big"))

    def _on_subscribe(self, session: Session, body: bytes) -> None:
        cur = _Cursor(body)
        packet_id = cur.u16()
        if session.version == MQTT5:
            cur.skip_properties()
        granted = bytearray()
        to_send: list[tuple[Message, int]] = []
        while cur.left:
            topic_filter = _plain_filter(cur.string())
            options = cur.byte()
            qos = min(options & 0x03, 1)
            retain_handling = (options >> 4) & 0x03 if session.version == MQTT5 else 0
            retain_as_published = bool(options & 0x08) and session.version == MQTT5
            is_new = topic_filter not in session.subscriptions
            session.subscriptions[topic_filter] = Subscription(qos, retain_as_published)
            granted.append(qos)
            if retain_handling == 0 or (retain_handling == 1 and is_new):
                to_send += [
                    (message, qos)
                    for topic, message in self._retained.items()
                    if topic_matches(topic_filter, topic)
                ]
        props = b"\x00" if session.version == MQTT5 else b""
        session.send(SUBACK, 0, packet_id.to_bytes(2, "big") + props + bytes(granted))
        for message, qos in to_send:
            self._deliver(session, message, min(message.qos, qos), retain=True)

    def _on_unsubscribe(self, session: Session, body: bytes) -> None:
        cur = _Cursor(body)
        packet_id = cur.u16()
        if session.version == MQTT5:
            cur.skip_properties()
        codes = bytearray()
        while cur.left:
            found = session.subscriptions.pop(_plain_filter(cur.string()), None)
            codes.append(0x00 if found is not None else 0x11)
        reply = packet_id.to_bytes(2, "big")
        if session.version == MQTT5:
            reply += b"\x00" + bytes(codes)
        session.send(UNSUBACK, 0, reply)

    # -- routing -------------------------------------------------------------------------

    def _publish(self, message: Message) -> None:
        if message.retain:
            if message.payload:
                self._retained[message.topic] = message
            else:
                self._retained.pop(message.topic, None)
        for session in list(self._sessions.values()):
            best: Subscription | None = None
            for topic_filter, sub in session.subscriptions.items():
                if topic_matches(topic_filter, message.topic) and (
                    best is None or sub.qos > best.qos
                ):
                    best = sub
            if best is not None:
                retain = message.retain and best.retain_as_published
                self._deliver(session, message, min(message.qos, best.qos), retain=retain)

    @staticmethod
    def _deliver(session: Session, message: Message, qos: int, *, retain: bool) -> None:
        body = _string(message.topic)
        if qos:
            body += next(session.packet_ids).to_bytes(2, "big")
        if session.version == MQTT5:
            body += b"\x00"
        session.send(PUBLISH, (qos << 1) | int(retain), body + message.payload)
