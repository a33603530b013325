"""The expiry sweep: a background round (server.py, `every(LOT_EXPIRY_SECONDS)`) that expires the lots whose
expiry has passed, each with an `expire` ledger entry, so every balance stays the sum of its ledger and of its
lots. Safe with several replicas: each account is expired in its own short transaction behind its row's lock,
taken with SKIP LOCKED (an account another replica or a debit holds is left for the next round). Cheap when idle:
one probe of a partial index that holds only lots with points left and an expiry."""

from __future__ import annotations

import logging

from prometheus_client import Counter
from service_kit.pgpool import PgPool

from wallet_service import repository

log = logging.getLogger(__name__)

LOTS_EXPIRED = Counter("rewards_wallet_lots_expired_total", "Lots whose points the expiry sweep expired")
POINTS_EXPIRED = Counter("rewards_wallet_points_expired_total",
                         "Minor units expired by the expiry sweep, of every point type")
# Accounts one round reads at a time; a round goes on while it finds a full batch and expires something.
BATCH = 200


class LotExpiry:
    def __init__(self, pool: PgPool, batch: int = BATCH) -> None:
        self.pool = pool
        self.batch = batch

    async def round(self) -> repository.Expired:
        """Expires what has lapsed now; returns the lots and points expired."""
        lots = points = 0
        while True:
            accounts = await repository.lapsed_accounts(self.pool, self.batch)
            done_now = 0
            for account in accounts:
                expired = await repository.expire_lots(self.pool, account)
                if expired is not None and expired.lots:
                    done_now += 1
                    lots += expired.lots
                    points += expired.points
            if len(accounts) < self.batch or done_now == 0:
                break
        if lots:
            LOTS_EXPIRED.inc(lots)
            POINTS_EXPIRED.inc(points)
            log.info("lots expired", extra={"lots": lots, "points": points})
        return repository.Expired(lots=lots, points=points)
