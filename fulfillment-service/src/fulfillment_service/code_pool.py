"""Code pools: upload (sealed, de-duplicated by fingerprint), take one atomically, count and sample."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from service_kit.scope import Scope
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillment_service.models import code_pool
from fulfillment_service.vault import Vault, mask_code


@dataclass(frozen=True, slots=True)
class NewCode:
    code: str
    pin: str
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class AssignedCode:
    code_id: int
    code: str
    pin: str


@dataclass(frozen=True, slots=True)
class PoolStatus:
    available: int
    assigned: int
    expired: int
    low_threshold: int
    masked_sample: list[str]

    @property
    def low(self) -> bool:
        return self.available < self.low_threshold


def _in_pool(scope: Scope, item_id: str):  # type: ignore[no-untyped-def]
    return and_(code_pool.c.tenant_id == scope.tenant_id, code_pool.c.environment == scope.environment,
                code_pool.c.item_id == item_id)


_usable = or_(code_pool.c.expires_at.is_(None), code_pool.c.expires_at > func.now())


async def add_codes(session: AsyncSession, vault: Vault, scope: Scope, item_id: str,
                    codes: list[NewCode]) -> tuple[int, int]:
    """Returns (added, duplicates). A code already in the pool (or twice in the upload) is counted, not added."""
    rows = [
        {"tenant_id": scope.tenant_id, "environment": scope.environment, "item_id": item_id,
         "code_encrypted": vault.seal(c.code), "pin_encrypted": vault.seal(c.pin) if c.pin else None,
         "code_hash": vault.fingerprint(c.code), "expires_at": c.expires_at}
        for c in codes
    ]
    added = 0
    # Chunks keep each statement under PostgreSQL's bind-parameter limit.
    for start in range(0, len(rows), 1000):
        stmt = (insert(code_pool).values(rows[start:start + 1000])
                .on_conflict_do_nothing(constraint="uq_code_pool_code").returning(code_pool.c.id))
        added += len((await session.execute(stmt)).all())
    return added, len(rows) - added


async def take_code(session: AsyncSession, vault: Vault, scope: Scope, item_id: str,
                    redemption_id: str) -> AssignedCode | None:
    """Assigns one unused, unexpired code to the redemption in one statement; None when the pool is empty.
    SKIP LOCKED lets concurrent workers take different codes instead of queueing on the same row."""
    pick = (select(code_pool.c.id)
            .where(_in_pool(scope, item_id), code_pool.c.assigned_to.is_(None), _usable)
            .order_by(code_pool.c.id).limit(1).with_for_update(skip_locked=True).scalar_subquery())
    row = (await session.execute(
        update(code_pool).where(code_pool.c.id == pick)
        .values(assigned_to=redemption_id, assigned_at=func.now())
        .returning(code_pool.c.id, code_pool.c.code_encrypted, code_pool.c.pin_encrypted))).first()
    if row is None:
        return None
    pin = vault.unseal(row.pin_encrypted) if row.pin_encrypted is not None else ""
    return AssignedCode(code_id=row.id, code=vault.unseal(row.code_encrypted), pin=pin)


async def pool_status(session: AsyncSession, vault: Vault, scope: Scope, item_id: str, low_threshold: int,
                      sample_size: int = 3) -> PoolStatus:
    free = code_pool.c.assigned_to.is_(None)
    counts = (await session.execute(
        select(func.count().filter(and_(free, _usable)).label("available"),
               func.count().filter(code_pool.c.assigned_to.is_not(None)).label("assigned"),
               func.count().filter(and_(free, ~_usable)).label("expired"))
        .where(_in_pool(scope, item_id)))).one()
    sample = (await session.scalars(
        select(code_pool.c.code_encrypted).where(_in_pool(scope, item_id), free, _usable)
        .order_by(code_pool.c.id).limit(sample_size))).all()
    return PoolStatus(available=counts.available, assigned=counts.assigned, expired=counts.expired,
                      low_threshold=low_threshold, masked_sample=[mask_code(vault.unseal(s)) for s in sample])
