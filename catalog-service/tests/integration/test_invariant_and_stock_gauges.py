"""The catalog checks its own counts: a player's count that disagrees with the reservations it holds is counted and
logged; the stock gauges count the active items that are low or out, and follow a reservation of the last unit."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from catalog_service.invariants import (
    RESERVATIONS_COUNTED,
    ReservationSweep,
    sample_stock_levels,
)
from prometheus_client import REGISTRY
from service_kit.invariants import InvariantChecks
from sqlalchemy import text

LABELS = {"service": "catalog-service", "check": RESERVATIONS_COUNTED}


def violations() -> float | None:
    return REGISTRY.get_sample_value("rewards_invariant_violations", LABELS)


async def test_counts_that_agree_read_zero(catalog: Any) -> None:
    item = await catalog.create(stock=5, per_player_limit=3)
    await catalog.reserve(str(uuid.uuid4()), item.id, catalog.player("p1"))
    released = str(uuid.uuid4())
    await catalog.reserve(released, item.id, catalog.player("p2"))
    await catalog.release(released)
    checks = InvariantChecks("catalog-service", [ReservationSweep(catalog.pool, batch=100_000)])
    assert await checks.run_once() == {RESERVATIONS_COUNTED: 0}
    assert violations() == 0
    assert REGISTRY.get_sample_value("rewards_invariant_last_run_timestamp_seconds",
                                     {"service": "catalog-service"}) > 0


async def test_a_count_changed_behind_the_service_is_a_violation_until_repaired(
        catalog: Any, caplog: pytest.LogCaptureFixture) -> None:
    item = await catalog.create(stock=5)
    await catalog.reserve(str(uuid.uuid4()), item.id, catalog.player("p1"))
    checks = InvariantChecks("catalog-service", [ReservationSweep(catalog.pool, batch=100_000)])
    assert (await checks.run_once())[RESERVATIONS_COUNTED] == 0

    async def shift(delta: int) -> None:
        async with catalog.engine.begin() as conn:
            await conn.execute(text(
                "UPDATE player_counts SET count = count + :d WHERE tenant_id = :t AND item_id = :i"),
                {"d": delta, "t": catalog.scope.tenant_id, "i": item.id})

    await shift(1)   # as if a release had given the unit back to the stock but not to the count
    try:
        with caplog.at_level(logging.ERROR, logger="service_kit.invariants"):
            assert (await checks.run_once())[RESERVATIONS_COUNTED] == 1
        assert violations() == 1
        assert any(getattr(r, "check", "") == RESERVATIONS_COUNTED for r in caplog.records
                   if r.levelno == logging.ERROR)
    finally:
        await shift(-1)
    await checks.run_once()
    await checks.run_once()   # a whole cycle without it
    assert violations() == 0


async def test_the_check_reads_through_indexes(catalog: Any) -> None:
    item = await catalog.create(stock=5)
    await catalog.reserve(str(uuid.uuid4()), item.id, catalog.player("p1"))
    sweep = ReservationSweep(catalog.pool, batch=10)
    with catalog.pool.counting() as trips:
        await sweep.round()
    assert await catalog.pool.tables_read_without_index(trips.calls) == []


async def test_low_and_out_of_stock_items_are_counted(catalog: Any) -> None:
    out_before, low_before = await sample_stock_levels(catalog.pool, low_threshold=10)
    await catalog.create(stock=0)
    last_one = await catalog.create(stock=1)
    await catalog.create(stock=50)                 # plenty
    await catalog.create()                         # unlimited: never low
    assert await sample_stock_levels(catalog.pool, low_threshold=10) == (out_before + 1, low_before + 1)
    assert REGISTRY.get_sample_value("rewards_items_stock", {"state": "out"}) == out_before + 1
    assert REGISTRY.get_sample_value("rewards_items_stock", {"state": "low"}) == low_before + 1
    await catalog.reserve(str(uuid.uuid4()), last_one.id, catalog.player("p1"))
    assert await sample_stock_levels(catalog.pool, low_threshold=10) == (out_before + 2, low_before)
