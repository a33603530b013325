"""Price locks: what a quote priced for a player (an item's variant, point type and price), honoured by the
reservation that names it until it expires, whatever the item's price has become.

Catalog stores the lock it priced, so a caller names a lock and never a price: a reservation pays the stored
price of a lock that is this player's, for this item, unexpired and not held by another saga. The reservation's own
statement claims the lock (stock.py, _RESERVE_QUOTED: after the item's row, in the lock order), so two sagas racing
with one lock cannot both hold it; a release gives the lock back (stock.py, _RELEASE), so a redemption that failed
or was canceled leaves the quote usable until it expires, as a failed redemption leaves its idempotency key.

A reservation without a lock reads nothing of this table: the hot path's one round trip stays one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from service_kit.errors import DomainError, ErrorCode
from service_kit.pgpool import PgPool
from service_kit.scope import Scope

from catalog_service.domain import Offer

MAX_LOCK_SECONDS = 86_400
MAX_LOCK_ID_LENGTH = 64

# A new lock; the same statement sweeps a few locks a day past their end (no loop of its own, bounded work).
_LOCK = """
WITH swept AS (
    DELETE FROM price_locks
     WHERE (tenant_id, environment, id) IN (
           SELECT tenant_id, environment, id FROM price_locks
            WHERE expires_at < now() - interval '1 day' LIMIT 20 FOR UPDATE SKIP LOCKED)
)
INSERT INTO price_locks (tenant_id, environment, id, player_id, item_id, variant_id, point_type, price, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(secs => $9))
RETURNING expires_at"""

_READ = """
SELECT player_id, item_id, variant_id, point_type, price, expires_at, saga_id, expires_at <= now() AS expired
  FROM price_locks
 WHERE tenant_id = $1 AND environment = $2 AND id = $3"""


@dataclass(frozen=True, slots=True)
class PriceLock:
    id: str
    player_id: str
    item_id: str
    variant_id: str
    point_type: str
    price: int
    expires_at: datetime
    saga_id: str | None
    expired: bool


async def lock_price(pool: PgPool, scope: Scope, *, player_id: str, item_id: str, offer: Offer,
                     seconds: int) -> tuple[str, datetime]:
    """Stores the offer's price and variant for the player for `seconds` (capped at a day): the lock's id and end."""
    lock_id = str(uuid.uuid4())
    seconds = max(1, min(seconds, MAX_LOCK_SECONDS))
    expires_at = await pool.fetchval(
        _LOCK, scope.tenant_id, scope.environment, lock_id, player_id, item_id,
        offer.variant.id if offer.variant else "", offer.price.point_type, offer.price.amount, float(seconds))
    return lock_id, expires_at


async def lock_for_reservation(pool: PgPool, scope: Scope, lock_id: str, *, saga_id: str, player_id: str,
                               item_id: str, variant_id: str, point_type: str) -> PriceLock:
    """The lock a reservation of this saga may pay with, or the refusal that says why not. A lock this saga
    already holds is answered as it is (a retried reservation: its stored snapshot answers)."""
    if len(lock_id) > MAX_LOCK_ID_LENGTH:
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"price_lock_id is longer than {MAX_LOCK_ID_LENGTH} characters")
    row = await pool.fetchrow(_READ, scope.tenant_id, scope.environment, lock_id) if _is_lock_id(lock_id) else None
    if row is None:
        raise DomainError(ErrorCode.QUOTE_NOT_FOUND, f"no quote {lock_id!r}")
    lock = PriceLock(lock_id, row["player_id"], row["item_id"], row["variant_id"], row["point_type"], row["price"],
                     row["expires_at"], row["saga_id"], row["expired"])
    if lock.player_id != player_id:
        raise DomainError(ErrorCode.QUOTE_NOT_YOURS, "this quote was given to another player")
    if lock.saga_id == saga_id:
        return lock
    if lock.item_id != item_id:
        raise DomainError(ErrorCode.QUOTE_MISMATCH, f"this quote is for item {lock.item_id!r}, not {item_id!r}")
    if variant_id and variant_id != lock.variant_id:
        raise DomainError(ErrorCode.QUOTE_MISMATCH, f"this quote is for variant {lock.variant_id!r}")
    if point_type and point_type != lock.point_type:
        raise DomainError(ErrorCode.QUOTE_MISMATCH, f"this quote is in {lock.point_type!r}")
    if lock.saga_id is not None:
        raise DomainError(ErrorCode.QUOTE_ALREADY_USED, "this quote was used by another redemption")
    if lock.expired:
        raise DomainError(ErrorCode.QUOTE_EXPIRED,
                          f"this quote expired at {lock.expires_at.astimezone(UTC).isoformat()}; ask for a new one")
    return lock


def _is_lock_id(value: str) -> bool:
    """Lock ids are UUIDs: anything else (a typo, a NUL byte PostgreSQL would refuse) is unknown, without a read."""
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False
