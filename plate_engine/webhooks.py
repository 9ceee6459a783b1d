"""Webhooks: after each read, POST the answer to every configured target.

Each target has its own bounded queue and its own sender task, so a slow or dead target
delays only its own deliveries, and a read never waits for any of them: `submit` only
enqueues, and drops (with a warning) when a target's queue is full rather than growing.
A delivery is retried with exponential backoff after a connection error, a timeout,
a 429 or a 5xx. Logs name the target by its redacted URL and never show its headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import mimetypes
from dataclasses import dataclass
from typing import Any

import httpx

from .budget import Budget
from .responses import Json, webhook_payload
from .settings import WebhookSettings, WebhookTarget

_LOGGER = logging.getLogger(__name__)
_MAX_BACKOFF = 60.0


@dataclass(frozen=True, slots=True)
class _Delivery:
    body: Json  # the read's answer; each target wraps it in its own hook payload
    image: bytes | None
    filename: str


class _TargetSender:
    def __init__(
        self, target: WebhookTarget, settings: WebhookSettings, image_bytes: Budget
    ) -> None:
        self.target = target
        self._settings = settings
        self._image_bytes = image_bytes  # shared by all targets
        self.queue: asyncio.Queue[_Delivery] = asyncio.Queue(settings.queue)
        self.task: asyncio.Task[None] | None = None
        self.delivered = 0
        self.failed = 0
        self.dropped = 0

    def offer(self, delivery: _Delivery) -> None:
        # Images waiting are bounded in bytes too: 100 queued 10 MB uploads were 1 GB.
        size = len(delivery.image or b"")
        if self.queue.full() or not self._image_bytes.try_take(size):
            self.dropped += 1
            _LOGGER.warning(
                "webhook %d (%s): %d deliveries (%d image bytes) already waiting, "
                "dropping this one",
                self.target.id,
                self.target.safe_url,
                self.queue.qsize(),
                self._image_bytes.used,
            )
            return
        self.queue.put_nowait(delivery)

    async def run(self, client: httpx.AsyncClient) -> None:
        while True:
            delivery = await self.queue.get()
            try:
                await self._deliver(client, delivery)
            except Exception:  # a bug here must not end the sender; log it and go on
                self.failed += 1
                _LOGGER.exception("webhook %d (%s): delivery crashed", *self._who())
            finally:
                self._image_bytes.give(len(delivery.image or b""))
                self.queue.task_done()

    def _who(self) -> tuple[int, str]:
        return self.target.id, self.target.safe_url

    async def _deliver(self, client: httpx.AsyncClient, delivery: _Delivery) -> None:
        payload = webhook_payload(
            delivery.body, target=self.target.safe_url, hook_id=self.target.id
        )
        text = json.dumps(payload, separators=(",", ":"))
        attempts = self._settings.retries + 1
        for attempt in range(attempts):
            problem = await self._post(client, text, delivery)
            if problem is None:
                self.delivered += 1
                return
            retryable, reason = problem
            last = attempt == attempts - 1
            if not retryable or last:
                self.failed += 1
                _LOGGER.warning(
                    "webhook %d (%s): giving up after %d attempt(s): %s",
                    *self._who(),
                    attempt + 1,
                    reason,
                )
                return
            delay = min(self._settings.backoff * 2.0**attempt, _MAX_BACKOFF)
            _LOGGER.info(
                "webhook %d (%s): %s; retry %d in %.1f s", *self._who(), reason, attempt + 1, delay
            )
            await asyncio.sleep(delay)

    async def _post(
        self, client: httpx.AsyncClient, text: str, delivery: _Delivery
    ) -> tuple[bool, str] | None:
        """None on success, else (worth retrying, why)."""
        headers = dict(self.target.headers)
        kwargs: dict[str, Any]
        if self.target.image and delivery.image is not None:
            content_type = mimetypes.guess_type(delivery.filename)[0] or "image/jpeg"
            kwargs = {
                "data": {"json": text},
                "files": {"upload": (delivery.filename, delivery.image, content_type)},
            }
        else:
            headers["Content-Type"] = "application/json"
            kwargs = {"content": text.encode()}
        try:
            # Streamed and never read: only the status matters, and a target's answer
            # (however long) is not held in memory.
            async with client.stream(
                "POST", self.target.url, headers=headers, timeout=self._settings.timeout, **kwargs
            ) as response:
                status = response.status_code
        except httpx.TimeoutException:
            return True, f"no answer within {self._settings.timeout:g} s"
        except httpx.HTTPError as err:
            # The exception text can hold the URL; name only the error type.
            return True, f"cannot connect ({type(err).__name__})"
        if 200 <= status < 300:
            return None
        return (status == 429 or status >= 500), f"HTTP {status}"


class WebhookDispatcher:
    """Sends each read's answer to every target, from background tasks."""

    def __init__(self, settings: WebhookSettings) -> None:
        self.settings = settings
        images = Budget(settings.queue_image_bytes)
        self._senders = [_TargetSender(t, settings, images) for t in settings.targets]
        self._client: httpx.AsyncClient | None = None

    @property
    def targets(self) -> tuple[WebhookTarget, ...]:
        return self.settings.targets

    def describe(self) -> list[Json]:
        """The targets as /info/ lists them: no headers, redacted URLs."""
        return [{"id": t.id, "target": t.safe_url, "image": t.image} for t in self.targets]

    def stats(self) -> list[Json]:
        return [
            {
                "id": s.target.id,
                "delivered": s.delivered,
                "failed": s.failed,
                "dropped": s.dropped,
                "waiting": s.queue.qsize(),
            }
            for s in self._senders
        ]

    async def start(self) -> None:
        if not self._senders or self._client is not None:
            return
        # trust_env=False: targets are on the local network, not behind the env's proxy.
        self._client = httpx.AsyncClient(trust_env=False)
        for sender in self._senders:
            sender.task = asyncio.create_task(
                sender.run(self._client), name=f"webhook-{sender.target.id}"
            )

    def submit(self, body: Json, image: bytes | None, filename: str) -> None:
        """Queue `body` for every target; never waits."""
        if self._client is None:
            return
        for sender in self._senders:
            sender.offer(_Delivery(body, image if sender.target.image else None, filename))

    async def stop(self) -> None:
        """Give waiting deliveries `drain_timeout` seconds, then cancel what is left."""
        if self._client is None:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.settings.drain_timeout):
                await asyncio.gather(*(s.queue.join() for s in self._senders))
        tasks = [s.task for s in self._senders if s.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        left = sum(s.queue.qsize() for s in self._senders)
        if left:
            _LOGGER.warning("webhooks: %d deliveries not sent at shutdown", left)
        client, self._client = self._client, None
        await client.aclose()
