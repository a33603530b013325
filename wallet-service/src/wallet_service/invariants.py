"""The wallet's invariant: every balance equals the sum of its ledger rows and is not negative.

One statement a round, plain reads through indexes: the accounts touched by the ledger rows written since the last
round (the primary key's range, at most the newest BATCH rows: fresh damage is seen at once) and the next BATCH accounts in
primary-key order (the sweep, which wraps around: a balance changed behind the ledger's back is found within a
cycle); each candidate's ledger is summed through `ix_ledger_account_newest`."""

from __future__ import annotations

from service_kit.invariants import SweepRound
from service_kit.pgpool import PgPool

BALANCE_MATCHES_LEDGER = "balance_matches_ledger"
BATCH = 2000

_START = ("", "", "", "")

_CHECK = """
WITH recent AS (
    SELECT id, tenant_id, environment, player_id, point_type FROM ledger_entries
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
), last_swept AS (
    SELECT * FROM swept ORDER BY tenant_id DESC, environment DESC, player_id DESC, point_type DESC LIMIT 1
)
SELECT (SELECT array_agg(concat_ws('/', tenant_id, environment, player_id, point_type)) FROM broken) AS broken,
       (SELECT max(id) FROM recent) AS last_id,
       (SELECT count(*) FROM swept) AS swept,
       (SELECT ARRAY[tenant_id, environment, player_id, point_type]::text[] FROM last_swept) AS last_account
"""


class LedgerSweep:
    """Each round checks the accounts of the newest ledger rows and the next slice of all accounts."""

    checks = (BALANCE_MATCHES_LEDGER,)

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
        return SweepRound({BALANCE_MATCHES_LEDGER: set(row["broken"] or ())}, cycle_done=done)
