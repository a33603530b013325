"""The invariants of issue 6, read straight from each service's database (the APIs are not trusted): used by
the reliability tests (tests-e2e/reliability) and by the soak (`python -m local_runner.soak`).

Each check raises AssertionError naming what broke; `eventually` polls a check within a stated bound."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# After the faults stop, every redemption must settle within this (stale sagas are recovered after
# SAGA_STALE_SECONDS, re-published jobs after RECONCILE_AFTER_SECONDS; the crash scenarios shorten both).
SETTLE_SECONDS = 45.0
PAID = ("OPEN", "AWAITING_VENDOR", "AWAITING_CUSTOMER", "PURCHASED", "COMPLETED", "AWAITING_APPROVAL")
# Documented waiting states: a vendor, a customer or a shipment decides when they end. A review hold
# (AWAITING_APPROVAL) is not one of them: an operator decides it or, after REVIEW_HOLD_SECONDS (short in the
# suites), the timeout rejects it with its refund, so termination waits for it to be CANCELED or to go on.
WAITING = ("AWAITING_VENDOR", "AWAITING_CUSTOMER", "PURCHASED")
TERMINAL = ("COMPLETED", "CANCELED", "FAILED")


def eventually(check: Callable[[], Any], within: float, what: str, every: float = 0.25) -> Any:
    """check() once it stops raising AssertionError; fails with its last message after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        try:
            return check()
        except AssertionError as exc:
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not true after {within:.0f}s: {exc}") from exc
        time.sleep(every)


def first_truthy(check: Callable[[], Any], within: float, what: str, every: float = 0.25) -> Any:
    """check()'s first truthy answer; fails with its last answer after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {within:.0f}s (last: {last!r})")
        time.sleep(every)


def _in(values: list[str]) -> str:
    return "(" + ",".join("'" + v.replace("'", "''") + "'" for v in values) + ")" if values else "(NULL)"


@dataclass
class Ledger:
    """The items the reliability scenarios created, with their initial stock, and the invariants over them."""

    databases: Any
    operator: Any
    initial_stock: dict[str, int] = field(default_factory=dict)
    say: Callable[[str], None] = lambda m: print(f"[reliability] {m}")

    # ---- setup ---------------------------------------------------------------------------------------------

    def item(self, stock: int, price: int = 10, codes: int | None = None, strategy: str = "code_pool",
             **fields: Any) -> str:
        """An item with `stock` units; a code pool gets `codes` codes (default: one per unit)."""
        created = self.operator.create_item(stock=stock, prices=[{"pointType": "gems", "amount": price}],
                                            fulfillmentStrategy=strategy, **fields)
        item_id = str(created["id"])
        self.initial_stock[item_id] = stock
        if strategy == "code_pool" and (codes if codes is not None else stock) > 0:
            n = codes if codes is not None else stock
            r = self.operator.http.post(f"/v1/admin/items/{item_id}/codes", json={
                "codes": [{"code": f"{item_id}-{uuid.uuid4().hex[:12]}"} for _ in range(n)]})
            assert r.status_code in (200, 201), r.text
        return item_id

    # ---- reading -------------------------------------------------------------------------------------------

    def redemptions(self) -> list[dict[str, str]]:
        rows = self.databases.rows("redemption", f"""
            SELECT r.id, r.item_id, r.status, COALESCE(s.state, ''), r.fulfillment_strategy
            FROM redemptions r LEFT JOIN sagas s ON s.id = r.id
            WHERE r.item_id IN {_in(list(self.initial_stock))}""")
        return [dict(zip(("id", "item", "status", "saga", "strategy"), row)) for row in rows]

    def _ledger_counts(self, ids: list[str]) -> dict[tuple[str, str], int]:
        rows = self.databases.rows("wallet", f"""
            SELECT reference, kind, count(*) FROM ledger_entries
            WHERE kind IN ('debit', 'refund') AND reference IN {_in(ids)} GROUP BY reference, kind""")
        return {(ref, kind): int(n) for ref, kind, n in rows}

    # ---- the invariants ------------------------------------------------------------------------------------

    def assert_conserved(self) -> None:
        """Every balance equals its ledger and is not negative; per tenant and environment, what was granted
        (and adjusted) equals the balances plus what was spent net of refunds plus what expired. In lots: every
        balance equals the sum of its lots' remaining points; each lot's granted points are what remains, what
        expired and what is out in takes not given back; each debit took its amount from the lots, and each
        refund gave back exactly its debit."""
        broken = self.databases.rows("wallet", """
            SELECT a.tenant_id, a.environment, a.player_id, a.point_type, a.balance, COALESCE(SUM(l.amount), 0)
            FROM accounts a LEFT JOIN ledger_entries l USING (tenant_id, environment, player_id, point_type)
            GROUP BY a.tenant_id, a.environment, a.player_id, a.point_type, a.balance
            HAVING a.balance <> COALESCE(SUM(l.amount), 0) OR a.balance < 0""")
        assert not broken, f"balances that differ from their ledger: {broken}"
        broken = self.databases.rows("wallet", """
            WITH l AS (SELECT tenant_id, environment,
                         COALESCE(SUM(amount) FILTER (WHERE kind IN ('grant', 'adjustment')), 0) AS granted,
                         COALESCE(-SUM(amount) FILTER (WHERE kind IN ('debit', 'refund')), 0) AS spent_net,
                         COALESCE(-SUM(amount) FILTER (WHERE kind = 'expire'), 0) AS expired
                       FROM ledger_entries GROUP BY tenant_id, environment),
                 b AS (SELECT tenant_id, environment, SUM(balance) AS balances FROM accounts
                       GROUP BY tenant_id, environment)
            SELECT l.tenant_id, l.environment, l.granted, b.balances, l.spent_net, l.expired
            FROM l JOIN b USING (tenant_id, environment)
            WHERE l.granted <> b.balances + l.spent_net + l.expired""")
        assert not broken, f"points created or lost (tenant, env, granted, balances, spent net, expired): {broken}"
        self.assert_lots_conserved()

    def assert_lots_conserved(self) -> None:
        """The lots' side of conservation (wallet migration 0005): balance == sum of lots; per lot, granted ==
        remaining + expired + takes not given back; a debit's takes add up to it; a refund gives back its debit."""
        broken = self.databases.rows("wallet", """
            SELECT a.tenant_id, a.environment, a.player_id, a.point_type, a.balance, COALESCE(SUM(p.remaining), 0)
            FROM accounts a LEFT JOIN point_lots p USING (tenant_id, environment, player_id, point_type)
            GROUP BY a.tenant_id, a.environment, a.player_id, a.point_type, a.balance
            HAVING a.balance <> COALESCE(SUM(p.remaining), 0)""")
        assert not broken, f"balances that differ from their lots: {broken}"
        broken = self.databases.rows("wallet", """
            WITH taken_out AS (
                SELECT t.lot_id, SUM(t.amount) AS amount FROM lot_takes t
                WHERE t.kind = 'adjustment' OR NOT EXISTS (
                      SELECT FROM ledger_entries r WHERE r.tenant_id = t.tenant_id AND r.environment = t.environment
                         AND r.kind = 'refund' AND r.reference = t.reference)
                GROUP BY t.lot_id)
            SELECT p.id, p.granted, p.remaining, p.expired, COALESCE(o.amount, 0)
            FROM point_lots p LEFT JOIN taken_out o ON o.lot_id = p.id
            WHERE p.remaining < 0 OR p.remaining > p.granted
               OR p.granted <> p.remaining + p.expired + COALESCE(o.amount, 0)""")
        assert not broken, f"lots whose points were created or lost (id, granted, remaining, expired, out): {broken}"
        broken = self.databases.rows("wallet", """
            SELECT d.tenant_id, d.reference, -d.amount, COALESCE(SUM(t.amount), 0), r.amount
            FROM ledger_entries d
            LEFT JOIN lot_takes t ON t.tenant_id = d.tenant_id AND t.environment = d.environment
                                 AND t.kind = 'debit' AND t.reference = d.reference
            LEFT JOIN ledger_entries r ON r.tenant_id = d.tenant_id AND r.environment = d.environment
                                      AND r.kind = 'refund' AND r.reference = d.reference
            WHERE d.kind = 'debit'
            GROUP BY d.tenant_id, d.reference, d.amount, r.amount
            HAVING -d.amount <> COALESCE(SUM(t.amount), 0) OR (r.amount IS NOT NULL AND r.amount <> -d.amount)""")
        assert not broken, f"debits whose lot takes or refund differ from their amount: {broken}"

    def assert_terminated(self) -> None:
        """Every redemption is COMPLETED, CANCELED, FAILED or in a documented waiting state (AWAITING_VENDOR,
        AWAITING_CUSTOMER, PURCHASED, or OPEN with its fulfillment job waiting), with its saga settled; a review
        hold (AWAITING_APPROVAL) is not settled until it is decided or its timeout rejected it."""
        redemptions = self.redemptions()
        # OPEN whose fulfillment job waits for an operator or a provider (manual, webhook): a waiting state too.
        open_ids = [r["id"] for r in redemptions if r["status"] == "OPEN"]
        waiting_jobs = {rid for (rid,) in self.databases.rows("fulfillment", f"""
            SELECT redemption_id FROM jobs WHERE state = 'waiting' AND redemption_id IN {_in(open_ids)}""")}
        stuck = [r for r in redemptions
                 if (r["status"] not in TERMINAL + WAITING and r["id"] not in waiting_jobs)
                 or r["saga"] not in ("confirmed", "failed", "canceled", "")
                 or (r["status"] in WAITING and r["saga"] != "confirmed")]
        assert not stuck, f"redemptions not settled: {stuck[:10]} ({len(stuck)} in all)"

    def assert_charged_once(self) -> None:
        """Paid: one debit, no refund. Canceled: one debit and exactly one refund. Failed: nothing kept."""
        redemptions = self.redemptions()
        counts = self._ledger_counts([r["id"] for r in redemptions])
        wrong = []
        for r in redemptions:
            debits, refunds = counts.get((r["id"], "debit"), 0), counts.get((r["id"], "refund"), 0)
            expected = {"CANCELED": [(1, 1)], "FAILED": [(0, 0), (1, 1)]}.get(r["status"], [(1, 0)])
            if (debits, refunds) not in expected:
                wrong.append((r["id"], r["status"], f"debits={debits}", f"refunds={refunds}"))
        assert not wrong, f"redemptions charged wrongly: {wrong[:10]} ({len(wrong)} in all)"

    def assert_stock_kept(self) -> None:
        """Initial stock = stock left + units held by paid redemptions; a reservation is held exactly when its
        redemption is paid (released when it failed or was canceled)."""
        items = list(self.initial_stock)
        left = {i: int(s) for i, s in self.databases.rows("catalog", f"""
            SELECT id, stock FROM items WHERE id IN {_in(items)} AND stock IS NOT NULL""")}
        held: dict[str, str] = {}
        counted: dict[str, int] = {}
        for saga, item, state, stock_counted in self.databases.rows("catalog", f"""
                SELECT saga_id, item_id, state, stock_counted FROM reservations WHERE item_id IN {_in(items)}"""):
            held[saga] = state
            if state == "held" and stock_counted == "t":
                counted[item] = counted.get(item, 0) + 1
        wrong_stock = [(i, s, left.get(i), counted.get(i, 0)) for i, s in self.initial_stock.items()
                       if s != left.get(i, -1) + counted.get(i, 0)]
        assert not wrong_stock, f"stock created or lost (item, initial, left, held): {wrong_stock}"
        mismatched = [(r["id"], r["status"], held.get(r["id"])) for r in self.redemptions()
                      if (r["status"] in PAID) != (held.get(r["id"]) == "held")]
        assert not mismatched, f"reservations that disagree with their redemption: {mismatched[:10]}"

    def assert_codes_once(self) -> None:
        """Each pool code is assigned at most once, each completed code-pool redemption has exactly one, and no
        code went to a redemption that was never paid."""
        twice = self.databases.rows("fulfillment", """
            SELECT tenant_id, environment, assigned_to, count(*) FROM code_pool WHERE assigned_to IS NOT NULL
            GROUP BY tenant_id, environment, assigned_to HAVING count(*) > 1""")
        assert not twice, f"redemptions holding several codes: {twice}"
        completed = [r["id"] for r in self.redemptions() if r["status"] == "COMPLETED" and r["strategy"] == "code_pool"]
        codes = dict(self.databases.rows("fulfillment", f"""
            SELECT assigned_to, count(*) FROM code_pool WHERE assigned_to IN {_in(completed)} GROUP BY assigned_to"""))
        missing = [r for r in completed if codes.get(r) != "1"]
        assert not missing, f"completed code-pool redemptions without exactly one code: {missing[:10]}"
        given_back = self.databases.rows("fulfillment", f"""
            SELECT c.assigned_to FROM code_pool c WHERE c.item_id IN {_in(list(self.initial_stock))}
            AND c.assigned_to IS NOT NULL""")
        statuses = {r["id"]: r["status"] for r in self.redemptions()}
        # Not CANCELED either: a cancel voids the job in fulfillment first, so a cancel and a code assignment
        # never both win.
        extra = [(a, statuses.get(a)) for (a,) in given_back if statuses.get(a) not in ("COMPLETED", "OPEN")]
        assert not extra, f"codes assigned to redemptions not paid or canceled: {extra[:10]}"

    def codes_spent_on_canceled(self) -> int:
        """Codes assigned to redemptions that were canceled (the soak reports it; 0 since a cancel voids the job
        first)."""
        canceled = [r["id"] for r in self.redemptions() if r["status"] == "CANCELED"]
        return int(self.databases.rows("fulfillment", f"""
            SELECT count(*) FROM code_pool WHERE assigned_to IN {_in(canceled)}""")[0][0])

    def assert_all(self, within: float = SETTLE_SECONDS) -> None:
        """Termination within the bound, then every other invariant."""
        started = time.monotonic()
        eventually(self.assert_terminated, within, "termination")
        self.assert_conserved()
        self.assert_charged_once()
        self.assert_stock_kept()
        self.assert_codes_once()
        self.say(f"invariants hold ({len(self.redemptions())} redemptions, settled in "
              f"{time.monotonic() - started:.1f}s)")



# Strategies delivered by a call to a provider or a bonus engine (with the redemption id as Idempotency-Key).
PROVIDER_STRATEGIES = ("webhook", "bonus", "free_rounds")


def assert_provider_effects(ledger: Ledger, deliveries: Callable[[str], dict[str, int]]) -> None:
    """Exactly once at the provider: `deliveries(redemption_id)` is what the provider saw for that Idempotency-Key
    ({"calls": n, "effects": n}, e.g. the demo partner's /faults/deliveries/{key}). A completed redemption had
    exactly one effect however often it was called; a refunded one (CANCELED, FAILED) had none."""
    wrong = []
    for r in ledger.redemptions():
        if r["strategy"] not in PROVIDER_STRATEGIES or r["status"] not in ("COMPLETED", "CANCELED", "FAILED"):
            continue
        seen = deliveries(r["id"])
        expected = 1 if r["status"] == "COMPLETED" else 0
        if seen.get("effects") != expected:
            wrong.append((r["id"], r["status"], seen))
    assert not wrong, f"provider effects not exactly once (id, status, calls/effects): {wrong[:10]}"
