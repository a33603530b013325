"""Redeem calls waiting, in this process, for a fast fulfillment result. The results consumer rings the redemption's
bell when it applies a result; a result applied by another instance is seen by the waiter's database re-read."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager


class FulfillmentWaits:
    def __init__(self) -> None:
        self._bells: dict[str, asyncio.Event] = {}

    @contextmanager
    def expecting(self, redemption_id: str) -> Iterator[asyncio.Event]:
        """A bell for this redemption while the caller waits; registered before the job can go out, so a result
        that comes back fast is never missed."""
        bell = self._bells.setdefault(redemption_id, asyncio.Event())
        try:
            yield bell
        finally:
            self._bells.pop(redemption_id, None)

    def result_applied(self, redemption_id: str) -> None:
        bell = self._bells.get(redemption_id)
        if bell is not None:
            bell.set()

    def waiting(self) -> int:
        """How many Redeem calls are waiting now (not __len__: an empty registry must not be falsy)."""
        return len(self._bells)
