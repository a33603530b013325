"""The NATS connection, made lazily and retried: an unreachable NATS delays the consumer and the relay, never
the gRPC server (health, admin calls) that runs beside them. The kit's connect() already retries an unreachable
server every second (it reconnects forever); the backoff here covers the rest (JetStream not enabled or not
answering while the streams are declared)."""

from __future__ import annotations

import asyncio
import logging
import random

from nats.aio.client import Client
from nats.js import JetStreamContext
from service_kit.messaging import connect, ensure_streams, keep_cancellation

log = logging.getLogger("fulfillment_service.broker")

JETSTREAM_TIMEOUT_SECONDS = 5.0



class Broker:
    def __init__(self, url: str, name: str, *, max_backoff: float = 10.0) -> None:
        self.url = url
        self.name = name
        self.max_backoff = max_backoff
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._lock = asyncio.Lock()

    @property
    def is_connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    async def jetstream(self) -> JetStreamContext:
        """The JetStream context, once connected and the streams are declared; waits (retrying) until then."""
        async with self._lock:
            if self._js is None:
                self._js = await self._connect_with_backoff()
        return self._js

    async def _connect_with_backoff(self) -> JetStreamContext:
        delay = 0.25
        while True:
            try:
                if self._nc is None or self._nc.is_closed:
                    self._nc = await connect(self.url, self.name)
                js = self._nc.jetstream(timeout=JETSTREAM_TIMEOUT_SECONDS)
                await ensure_streams(js)
                log.info("nats ready", extra={"url": self.url})
                return js
            except Exception as exc:  # any failure to reach NATS is retried; cancellation still propagates
                keep_cancellation()
                log.warning("nats not ready; retrying", extra={"error": repr(exc), "retry_in": round(delay, 2)})
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                delay = min(delay * 2, self.max_backoff)

    async def close(self) -> None:
        if self._nc is not None and not self._nc.is_closed:
            try:
                await asyncio.wait_for(self._nc.close(), timeout=5)
            except Exception as exc:  # shutting down: note it and go on
                log.warning("nats close failed", extra={"error": repr(exc)})
