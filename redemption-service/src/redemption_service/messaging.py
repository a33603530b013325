"""The NATS JetStream connection. Serving never waits for it: the outbox relay and the results consumer ask for it
and, while NATS is unreachable, it retries with backoff in the background (paid redemptions sit safely in the
outbox meanwhile, and results in their stream)."""

from __future__ import annotations

import asyncio
import logging
import random

from nats.aio.client import Client
from nats.js import JetStreamContext
from service_kit.messaging import connect, ensure_streams

log = logging.getLogger(__name__)


class NatsLink:
    def __init__(self, url: str, name: str = "redemption-service") -> None:
        self.url = url
        self.name = name
        self.client: Client | None = None
        self._js: JetStreamContext | None = None
        self._connecting = asyncio.Lock()  # the relay and the consumer share one connection

    async def jetstream(self) -> JetStreamContext:
        """Connects (and declares the streams) on first use, retrying with jittered backoff until it works."""
        delay = 0.5
        async with self._connecting:
            while self._js is None:
                await self._try_connect(delay)
                delay = min(delay * 2, 15.0)
        return self._js

    async def _try_connect(self, delay: float) -> None:
        client: Client | None = None
        try:
            client = await connect(self.url, self.name)
            js = client.jetstream()
            await ensure_streams(js)
            self.client, self._js = client, js
            log.info("nats connected", extra={"url": self.url})
        except Exception as exc:  # noqa: BLE001 - any failure to connect is retried
            log.warning("nats unreachable; retrying", extra={"error": repr(exc), "retry_in": round(delay, 2)})
            if client is not None and not client.is_closed:
                await client.close()
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))

    async def close(self) -> None:
        if self.client is not None and not self.client.is_closed:
            await self.client.close()
