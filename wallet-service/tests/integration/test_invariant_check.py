"""The wallet checks its own books: a balance that is not the sum of its ledger is counted and logged, whether a
ledger row was written behind the service's back (found among the newest rows) or a balance was changed without
one (found by the sweep over every account); repaired, the gauge reads 0 again."""

from __future__ import annotations

import logging
import time

import pytest
from prometheus_client import REGISTRY
from service_kit.invariants import InvariantChecks
from sqlalchemy import text
from wallet_service.invariants import (
    BALANCE_MATCHES_LEDGER,
    BALANCE_MATCHES_LOTS,
    DEBIT_MATCHES_LOT_TAKES,
    LedgerSweep,
)

from .conftest import WalletCalls

LABELS = {"service": "wallet-service", "check": BALANCE_MATCHES_LEDGER}


def violations() -> float | None:
    return REGISTRY.get_sample_value("rewards_invariant_violations", LABELS)


async def sql(w: WalletCalls, statement: str, **params: object) -> None:
    async with w.engine.begin() as conn:
        await conn.execute(text(statement), {"tenant": w.scope.tenant_id, **params})


async def test_books_that_balance_read_zero_and_the_run_is_stamped(w: WalletCalls) -> None:
    await w.define()
    await w.grant("p1", 100)
    await w.debit("saga-1", "p1", 30)
    checks = InvariantChecks("wallet-service", [LedgerSweep(w.pool)])
    before = time.time()
    assert await checks.run_once() == {BALANCE_MATCHES_LEDGER: 0, BALANCE_MATCHES_LOTS: 0,
                                       DEBIT_MATCHES_LOT_TAKES: 0}
    assert violations() == 0
    assert REGISTRY.get_sample_value("rewards_invariant_last_run_timestamp_seconds",
                                     {"service": "wallet-service"}) >= before


async def test_a_ledger_row_written_behind_the_service_is_a_violation_until_it_is_undone(
        w: WalletCalls, caplog: pytest.LogCaptureFixture) -> None:
    await w.define()
    await w.grant("p1", 100)
    checks = InvariantChecks("wallet-service", [LedgerSweep(w.pool)])
    await checks.run_once()   # the rows so far are behind the sweep's watermark now
    insert = """INSERT INTO ledger_entries (tenant_id, environment, player_id, point_type, kind, amount,
                                            balance_after, reference)
                VALUES (:tenant, 'live', 'p1', 'gems', 'adjustment', :amount, :after, :ref)"""
    await sql(w, insert, amount=7, after=107, ref="behind-the-back")
    with caplog.at_level(logging.ERROR, logger="service_kit.invariants"):
        assert (await checks.run_once())[BALANCE_MATCHES_LEDGER] == 1
    assert violations() == 1
    assert any(r.getMessage() == "invariant violated" and getattr(r, "check", "") == BALANCE_MATCHES_LEDGER
               for r in caplog.records)
    # The ledger is append-only: undone by a second row, and the books balance again.
    await sql(w, insert, amount=-7, after=100, ref="undo-behind-the-back")
    await checks.run_once()
    await checks.run_once()   # a whole cycle without it (the test database is one sweep slice)
    assert violations() == 0


async def test_a_balance_changed_without_a_ledger_row_is_found_by_the_sweep(w: WalletCalls) -> None:
    await w.define()
    await w.grant("p1", 100)
    checks = InvariantChecks("wallet-service", [LedgerSweep(w.pool, batch=100_000)])
    await checks.run_once()
    update = ("UPDATE accounts SET balance = balance + :delta"
              " WHERE tenant_id = :tenant AND environment = 'live' AND player_id = 'p1'")
    await sql(w, update, delta=5)
    try:
        assert (await checks.run_once())[BALANCE_MATCHES_LEDGER] == 1
        assert violations() == 1
    finally:
        await sql(w, update, delta=-5)
    await checks.run_once()
    await checks.run_once()
    assert violations() == 0


async def test_a_lot_changed_without_its_account_is_found_by_the_sweep(w: WalletCalls) -> None:
    await w.define()
    await w.grant("p1", 100)
    checks = InvariantChecks("wallet-service", [LedgerSweep(w.pool, batch=100_000)])
    update = ("UPDATE point_lots SET remaining = remaining + :delta"
              " WHERE tenant_id = :tenant AND environment = 'live' AND player_id = 'p1'")
    await sql(w, update, delta=-5)
    try:
        found = await checks.run_once()
        assert found[BALANCE_MATCHES_LOTS] == 1 and found[BALANCE_MATCHES_LEDGER] == 0
    finally:
        await sql(w, update, delta=5)
    assert (await checks.run_once())[BALANCE_MATCHES_LOTS] == 0


async def test_a_debit_whose_lot_takes_do_not_add_up_is_a_violation(w: WalletCalls) -> None:
    await w.define()
    await w.grant("p1", 100)
    await w.debit("saga-1", "p1", 30)
    checks = InvariantChecks("wallet-service", [LedgerSweep(w.pool)])
    await sql(w, "UPDATE lot_takes SET amount = amount - 1 WHERE tenant_id = :tenant AND reference = 'saga-1'")
    try:
        assert (await checks.run_once())[DEBIT_MATCHES_LOT_TAKES] == 1
    finally:
        await sql(w, "UPDATE lot_takes SET amount = amount + 1 WHERE tenant_id = :tenant AND reference = 'saga-1'")
