"""The wallet's invariants: every balance equals the sum of its ledger rows and is not negative; it equals the sum
of its lots' remaining points too (each lot's 0 <= remaining <= granted is a CHECK); and what each debit took from
the lots (lot_takes) is its amount.

One statement a round, plain reads through indexes: the accounts touched by the ledger rows written since the last
round (the primary key's range, at most the newest BATCH rows: fresh damage is seen at once) and the next BATCH accounts in
primary-key order (the sweep, which wraps around: a balance changed behind the ledger's back is found within a
cycle); each candidate's ledger is summed through `ix_ledger_account_newest`."""

from __future__ import annotations

from service_kit.invariants import SweepRound
from service_kit.pgpool import PgPool

BALANCE_MATCHES_LEDGER = "balance_matches_ledger"
BALANCE_MATCHES_LOTS = "balance_matches_lots"
DEBIT_MATCHES_LOT_TAKES = "debit_matches_lot_takes"
BATCH = 2000

_START = ("", "", "", "")

_CHECK = """
WITH recent AS (
    SELECT id, tenant_id, environment, player_id, point_type, kind, reference, amount FROM ledger_entries
     WHERE id > GREATEST($1, (SELECT max(id) FROM ledger_entries) - $2) ORDER BY id LIMIT $2
), swept AS (
    SELECT tenant_id, environment, player_id, point_type FROM accounts
     WHERE (tenant_id, environment, player_id, point_type) > ($3, $4, $5, $6)
     ORDER BY tenant_id, environment, player_id, point_type LIMIT $2
), candidates AS (
    SELECT tenant_id, environment, player_id, point_type FROM recent
    UNION
    SELECT tenant_id, environment, player_id, point_type FROM swept
), broken AS (
    SELECT a.tenant_id, a.environment, a.player_id, a.point_type
      FROM candidates c
      JOIN accounts a USING (tenant_id, environment, player_id, point_type)
     WHERE a.balance < 0 OR a.balance <> (
           SELECT COALESCE(SUM(l.amount), 0) FROM ledger_entries l
            WHERE l.tenant_id = a.tenant_id AND l.environment = a.environment
              AND l.player_id = a.player_id AND l.point_type = a.point_type)
), unlike_lots AS (
    SELECT a.tenant_id, a.environment, a.player_id, a.point_type
      FROM candidates c
      JOIN accounts a USING (tenant_id, environment, player_id, point_type)
     WHERE a.balance <> (
           SELECT COALESCE(SUM(p.remaining), 0) FROM point_lots p
            WHERE p.tenant_id = a.tenant_id AND p.environment = a.environment
              AND p.player_id = a.player_id AND p.point_type = a.point_type)
), untaken AS (
    SELECT r.tenant_id, r.environment, r.reference FROM recent r
     WHERE r.kind = 'debit' AND -r.amount <> (
           SELECT COALESCE(SUM(t.amount), 0) FROM lot_takes t
            WHERE t.tenant_id = r.tenant_id AND t.environment = r.environment AND t.kind = 'debit'
              AND t.reference = r.reference)
), last_swept AS (
    SELECT * FROM swept ORDER BY tenant_id DESC, environment DESC, player_id DESC, point_type DESC LIMIT 1
)
SELECT (SELECT array_agg(concat_ws('/', tenant_id, environment, player_id, point_type)) FROM broken) AS broken,
       (SELECT array_agg(concat_ws('/', tenant_id, environment, player_id, point_type)) FROM unlike_lots)
           AS unlike_lots,
       (SELECT array_agg(concat_ws('/', tenant_id, environment, reference)) FROM untaken) AS untaken,
       (SELECT max(id) FROM recent) AS last_id,
       (SELECT count(*) FROM swept) AS swept,
       (SELECT ARRAY[tenant_id, environment, player_id, point_type]::text[] FROM last_swept) AS last_account
"""


class LedgerSweep:
    """Each round checks the accounts of the newest ledger rows and the next slice of all accounts."""

    checks = (BALANCE_MATCHES_LEDGER, BALANCE_MATCHES_LOTS, DEBIT_MATCHES_LOT_TAKES)

    def __init__(self, pool: PgPool, batch: int = BATCH) -> None:
        self.pool = pool
        self.batch = batch
        self._last_id = 0
        self._after: tuple[str, str, str, str] = _START

    async def round(self) -> SweepRound:
        row = await self.pool.fetchrow(_CHECK, self._last_id, self.batch, *self._after)
        assert row is not None
        if row["last_id"] is not None:
            self._last_id = row["last_id"]
        done = row["swept"] < self.batch
        self._after = _START if done or row["last_account"] is None else tuple(row["last_account"])  # type: ignore[assignment]
        return SweepRound({BALANCE_MATCHES_LEDGER: set(row["broken"] or ()),
                           BALANCE_MATCHES_LOTS: set(row["unlike_lots"] or ()),
                           DEBIT_MATCHES_LOT_TAKES: set(row["untaken"] or ())}, cycle_done=done)
