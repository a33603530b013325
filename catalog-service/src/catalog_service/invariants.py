"""The catalog's own checks and stock gauges, run by background tasks (never on the hot path, never at scrape time).

Invariant `reservations_counted`: every player's count of an item equals the reservations it holds. A reservation
takes a unit of the player's count and of the item's stock in one statement, and its release gives both back in
one statement, so a count that disagrees with its held reservations means a unit taken or given back twice, or
lost. (The stock itself cannot be checked against its start from this database alone: an operator may set it, and
only adjustments are journaled; the e2e invariants check it against the initial stock they know.) One plain SELECT a
round: the next BATCH counts in primary-key order (a sweep that wraps around), each compared through
`ix_reservations_held` (migration 0004).

Gauge `rewards_items_stock{state}`: active items with counted stock that is out (0) or low (below the item's own
low-stock threshold, or LOW_STOCK_THRESHOLD for an item without one: the threshold of the item.stock_low event).
One read of the items table, every SAMPLE_SECONDS: the catalog's size, not its traffic."""

from __future__ import annotations

from prometheus_client import Gauge
from service_kit.invariants import SweepRound
from service_kit.pgpool import PgPool

RESERVATIONS_COUNTED = "reservations_counted"
BATCH = 2000
SAMPLE_SECONDS = 15.0

ITEMS_STOCK = Gauge("rewards_items_stock", "Active items whose counted stock is low or out", ["state"])

_START = ("", "", "", "")

_CHECK = """
WITH swept AS (
    SELECT tenant_id, environment, item_id, player_id, count FROM player_counts
     WHERE (tenant_id, environment, item_id, player_id) > ($1, $2, $3, $4)
     ORDER BY tenant_id, environment, item_id, player_id LIMIT $5
), broken AS (
    SELECT * FROM swept c
     WHERE c.count <> (SELECT count(*) FROM reservations r
                        WHERE r.tenant_id = c.tenant_id AND r.environment = c.environment
                          AND r.item_id = c.item_id AND r.player_id = c.player_id AND r.state = 'held')
), last_swept AS (
    SELECT * FROM swept ORDER BY tenant_id DESC, environment DESC, item_id DESC, player_id DESC LIMIT 1
)
SELECT (SELECT array_agg(concat_ws('/', tenant_id, environment, item_id, player_id)) FROM broken) AS broken,
       (SELECT count(*) FROM swept) AS swept,
       (SELECT ARRAY[tenant_id, environment, item_id, player_id]::text[] FROM last_swept) AS last_key
"""

STOCK_LEVELS = """
SELECT count(*) FILTER (WHERE stock = 0) AS out,
       count(*) FILTER (WHERE stock > 0 AND stock < coalesce(low_stock_threshold, $1)) AS low
  FROM items WHERE status = 'active' AND stock IS NOT NULL
"""


class ReservationSweep:
    checks = (RESERVATIONS_COUNTED,)

    def __init__(self, pool: PgPool, batch: int = BATCH) -> None:
        self.pool = pool
        self.batch = batch
        self._after: tuple[str, ...] = _START

    async def round(self) -> SweepRound:
        row = await self.pool.fetchrow(_CHECK, *self._after, self.batch)
        assert row is not None
        done = row["swept"] < self.batch
        self._after = _START if done or row["last_key"] is None else tuple(row["last_key"])
        return SweepRound({RESERVATIONS_COUNTED: set(row["broken"] or ())}, cycle_done=done)


async def sample_stock_levels(pool: PgPool, low_threshold: int) -> tuple[int, int]:
    """(out, low) now, and the gauges set to them."""
    row = await pool.fetchrow(STOCK_LEVELS, low_threshold)
    assert row is not None
    ITEMS_STOCK.labels("out").set(row["out"])
    ITEMS_STOCK.labels("low").set(row["low"])
    return row["out"], row["low"]
