"""The wallet's operations, each one transaction: validate, then move points and write the ledger row together.

Idempotency rests on the ledger's unique (scope, kind, reference): a repeat finds the first entry and replays it;
a concurrent duplicate that loses the race on the unique constraint rolls back and replays the winner's entry.
A saga's debit and refund also meet on saga_outcomes' primary key (see repository.DEBIT), which is what lets a
debit be one statement: no advisory lock, no BEGIN and no COMMIT.
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
from prometheus_client import Counter
from service_kit import domain_events, page_tokens
from service_kit.db import autocommit_sessions
from service_kit.errors import DomainError, ErrorCode
from service_kit.pgpool import PgPool
from service_kit.scope import Scope
from service_kit.validation import optional_text, require_text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wallet_service import repository
from wallet_service.domain import (
    MAX_DESCRIPTION,
    MAX_PLAYER_ID,
    MAX_POINT_TYPE_NAME,
    MAX_REFERENCE,
    Account,
    EntryKind,
    LedgerEntry,
    Movement,
    Player,
    PlayerStatus,
    PointType,
    Refund,
    TransactionPage,
    lot_expiry,
    page_size_of,
    require_adjustment_amount,
    require_lifetime,
    require_point_type_code,
    require_positive_amount,
    require_scale,
)

# The tenants' event of each movement an operator or a back end makes (grants and adjustments; a redemption's
# debit and refund are told by the redemption's own events).
EVENT_OF = {EntryKind.GRANT: domain_events.POINTS_GRANTED, EntryKind.ADJUSTMENT: domain_events.POINTS_ADJUSTED}

DEBITS_RUN_AGAIN = Counter("rewards_wallet_debits_run_again_total",
                           "Debits run a second time behind the account's lock: a lot they read had changed since")


async def _require_point_type(session: AsyncSession, scope: Scope, code: str) -> PointType:
    found = await repository.point_type_of(session, scope, code)
    if found is None:
        raise DomainError(ErrorCode.INVALID_POINT_TYPE, f"unknown point type {code!r}")
    return found


def _same_movement(previous: LedgerEntry, player_id: str, point_type: str, amount: int, what: str) -> LedgerEntry:
    """The earlier entry when the repeat asks for the same movement; IDEMPOTENCY_KEY_REUSED otherwise."""
    if previous.player_id != player_id or previous.point_type != point_type or previous.amount != amount:
        raise DomainError(ErrorCode.IDEMPOTENCY_KEY_REUSED,
                          f"this {what} was already used for another player, point type or amount")
    return previous


def _already_compensated(saga_id: str) -> DomainError:
    return DomainError(ErrorCode.VALIDATION_ERROR,
                       f"saga already compensated: saga {saga_id!r} was refunded before this debit")


class Wallet:
    """pool: the hot path (debits, refunds, the reads of every page view), SQL text constants in autocommit.
    sessions: the cold admin paths (point types, players, grants, adjustments), SQLAlchemy on a small pool."""

    def __init__(self, pool: PgPool, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.pool = pool
        self.sessions = sessions
        self.reads = autocommit_sessions(sessions)   # reads need no common snapshot: no BEGIN, no ROLLBACK

    # --- point types and players ----------------------------------------------------------------------------

    async def define_point_type(self, scope: Scope, code: str, name: str, scale: int,
                                lifetime_seconds: int = 0) -> PointType:
        require_point_type_code(code, "point_type.code")
        optional_text(name, "point_type.name", MAX_POINT_TYPE_NAME)
        require_scale(scale)
        require_lifetime(lifetime_seconds)
        async with self.sessions.begin() as session:
            stored = await repository.insert_point_type(session, scope, code, name.strip() or code, scale,
                                                        lifetime_seconds)
            if stored.scale != scale:
                # Balances are kept in the type's minor units: a new scale would silently rescale every one.
                raise DomainError(ErrorCode.VALIDATION_ERROR,
                                  f"point type {code!r} has scale {stored.scale}; its scale cannot change")
        return stored

    async def list_point_types(self, scope: Scope) -> list[PointType]:
        async with self.reads() as session:
            return await repository.list_point_types(session, scope)

    async def upsert_player(self, scope: Scope, player_id: str, status: PlayerStatus | None) -> PlayerStatus:
        require_text(player_id, "player_id", MAX_PLAYER_ID)
        async with self.sessions.begin() as session:
            return await repository.upsert_player(session, scope, player_id, status)

    async def get_player(self, scope: Scope, player_id: str) -> Player:
        require_text(player_id, "player_id", MAX_PLAYER_ID)
        found = await repository.player_with_balances(self.pool, scope, player_id)
        if found is None:
            raise DomainError(ErrorCode.PLAYER_NOT_FOUND, f"no player {player_id!r}")
        return Player(player_id, *found)

    # --- movements ------------------------------------------------------------------------------------------

    async def grant_points(self, scope: Scope, player_id: str, point_type: str, amount: int, idempotency_key: str,
                           description: str, expires_at: datetime | None = None) -> Movement:
        """Credits a player, creating them (active) when unknown. Suspended players may still receive points.
        The points make one lot, expiring at expires_at (which must be ahead when the grant is new), else after
        the point type's lifetime, else never. A repeat of the key answers the first grant, even once its expiry
        has passed (a retry of a call that timed out must find it)."""
        require_text(player_id, "player_id", MAX_PLAYER_ID)
        require_point_type_code(point_type)
        require_positive_amount(amount)
        require_text(idempotency_key, "idempotency_key", MAX_REFERENCE)
        optional_text(description, "description", MAX_DESCRIPTION)
        now = datetime.now(UTC)
        try:
            async with self.sessions.begin() as session:
                defined = await _require_point_type(session, scope, point_type)
                scale = defined.scale
                previous = await repository.movement(session, scope, EntryKind.GRANT, idempotency_key)
                if previous is not None:
                    return Movement(_same_movement(previous, player_id, point_type, amount, "idempotency_key"),
                                    replayed=True)
                expiry = lot_expiry(expires_at, defined.lifetime_seconds, now)   # refused before any write
                await repository.ensure_player(session, scope, player_id)
                balance = await repository.credit_account(session, scope, player_id, point_type, amount)
                await repository.add_lot(session, scope, player_id, point_type, amount, expiry, EntryKind.GRANT,
                                         idempotency_key)
                entry = await repository.append_entry(
                    session, scope, player_id=player_id, point_type=point_type, kind=EntryKind.GRANT,
                    amount=amount, balance_after=balance, reference=idempotency_key, description=description,
                    scale=scale)
                await repository.add_event(session, EVENT_OF[entry.kind], scope, entry)
                return Movement(entry, replayed=False)
        except IntegrityError as exc:
            if not repository.is_duplicate_movement(exc):
                raise
        winner = await self._winner(scope, EntryKind.GRANT, idempotency_key)
        return Movement(_same_movement(winner, player_id, point_type, amount, "idempotency_key"), replayed=True)

    async def adjust_points(self, scope: Scope, player_id: str, point_type: str, amount: int, idempotency_key: str,
                            description: str) -> Movement:
        """An operator's correction, signed; never takes a balance below zero. The player must exist. A positive
        one makes a never-expiring lot; a negative one takes from the spendable lots like a debit."""
        require_text(player_id, "player_id", MAX_PLAYER_ID)
        require_point_type_code(point_type)
        require_adjustment_amount(amount)
        require_text(idempotency_key, "idempotency_key", MAX_REFERENCE)
        optional_text(description, "description", MAX_DESCRIPTION)
        try:
            async with self.sessions.begin() as session:
                scale = (await _require_point_type(session, scope, point_type)).scale
                previous = await repository.movement(session, scope, EntryKind.ADJUSTMENT, idempotency_key)
                if previous is not None:
                    return Movement(_same_movement(previous, player_id, point_type, amount, "idempotency_key"),
                                    replayed=True)
                if await repository.player_status(session, scope, player_id) is None:
                    raise DomainError(ErrorCode.PLAYER_NOT_FOUND, f"no player {player_id!r}")
                if amount > 0:
                    balance: int | None = await repository.credit_account(session, scope, player_id, point_type,
                                                                          amount)
                    await repository.add_lot(session, scope, player_id, point_type, amount, None,
                                             EntryKind.ADJUSTMENT, idempotency_key)
                else:
                    balance = await repository.take_from_account(session, scope, player_id, point_type, -amount,
                                                                 EntryKind.ADJUSTMENT, idempotency_key)
                if balance is None:
                    raise DomainError(ErrorCode.INSUFFICIENT_BALANCE,
                                      f"the {point_type} balance (its lots not expired) does not cover an"
                                      f" adjustment of {amount}")
                entry = await repository.append_entry(
                    session, scope, player_id=player_id, point_type=point_type, kind=EntryKind.ADJUSTMENT,
                    amount=amount, balance_after=balance, reference=idempotency_key, description=description,
                    scale=scale)
                await repository.add_event(session, EVENT_OF[entry.kind], scope, entry)
                return Movement(entry, replayed=False)
        except IntegrityError as exc:
            if not repository.is_duplicate_movement(exc):
                raise
        winner = await self._winner(scope, EntryKind.ADJUSTMENT, idempotency_key)
        return Movement(_same_movement(winner, player_id, point_type, amount, "idempotency_key"), replayed=True)

    async def debit_points(self, scope: Scope, saga_id: str, player_id: str, point_type: str, amount: int,
                           description: str) -> Movement:
        """The saga's charge, idempotent on saga_id; refused when the saga was already compensated, the player
        is unknown or not active (the saga no longer asks GetPlayer first), or the balance does not cover it.

        The hot path of every redemption: one statement in autocommit (repository.DEBIT), one round trip. The
        replays and refusals that a concurrent call may explain read the saga once more."""
        require_text(saga_id, "saga_id", MAX_REFERENCE)
        require_text(player_id, "player_id", MAX_PLAYER_ID)
        require_point_type_code(point_type)
        require_positive_amount(amount)
        optional_text(description, "description", MAX_DESCRIPTION)
        try:
            try:
                seen = await repository.debit(self.pool, scope, saga_id, player_id, point_type, amount,
                                              description)
            except asyncpg.CheckViolationError as exc:
                if not repository.lots_moved_meanwhile(exc):
                    raise
                # A lot it read had changed before the account's lock was had (see repository.DEBIT): nothing
                # was written; once more, behind the lock, where the lots read are current.
                DEBITS_RUN_AGAIN.inc()
                seen = await repository.debit(self.pool, scope, saga_id, player_id, point_type, amount,
                                              description, locked=True)
        except asyncpg.UniqueViolationError as exc:
            if not repository.lost_a_race(exc):
                raise
            # A duplicate (or this saga's refund) committed after the statement began: it wrote nothing.
            return await self._settled_debit(scope, saga_id, player_id, point_type, amount)
        if seen.entry_id is not None:
            assert seen.balance_after is not None and seen.scale is not None
            return Movement(LedgerEntry(id=seen.entry_id, player_id=player_id, point_type=point_type,
                                        kind=EntryKind.DEBIT, amount=-amount, balance_after=seen.balance_after,
                                        reference=saga_id, description=description, created_at=seen.created_at,
                                        scale=seen.scale), replayed=False)
        if seen.settled is not None:
            return await self._settled_debit(scope, saga_id, player_id, point_type, amount)
        if seen.player_status is None:
            raise DomainError(ErrorCode.PLAYER_NOT_FOUND, f"no player {player_id!r}")
        if seen.player_status is not PlayerStatus.ACTIVE:
            raise DomainError(ErrorCode.PLAYER_INACTIVE, f"player {player_id!r} is {seen.player_status.value}")
        if seen.scale is None:
            raise DomainError(ErrorCode.INVALID_POINT_TYPE, f"unknown point type {point_type!r}")
        # The balance did not cover it, as the statement saw it after waiting for the account's row lock: a
        # duplicate of this saga that held the lock may have taken the points, so the saga is read again.
        return await self._settled_debit(scope, saga_id, player_id, point_type, amount,
                                         unsettled=DomainError(ErrorCode.INSUFFICIENT_BALANCE,
                                                               f"the {point_type} balance does not cover {amount}"))

    async def _settled_debit(self, scope: Scope, saga_id: str, player_id: str, point_type: str, amount: int,
                             unsettled: DomainError | None = None) -> Movement:
        """The answer for a saga settled before this call: a replay of its debit, or its refusal."""
        outcome, debit = await repository.saga_settlement(self.pool, scope, saga_id)
        if outcome == "given_up":
            raise _already_compensated(saga_id)
        if debit is not None:
            return Movement(_same_movement(debit, player_id, point_type, -amount, "saga_id"), replayed=True)
        if unsettled is not None:
            raise unsettled
        raise RuntimeError(f"debit of saga {saga_id!r} lost a unique race but no settled saga is visible")

    async def refund_debit(self, scope: Scope, saga_id: str, reason: str) -> Refund:
        """The saga's compensation: gives back exactly what its debit took, once. With no debit, nothing moves,
        and the saga is marked so that a debit arriving later is refused. Player status does not matter.
        One statement (repository.REFUND); a replay, or a debit that landed meanwhile, costs one more."""
        require_text(saga_id, "saga_id", MAX_REFERENCE)
        optional_text(reason, "reason", MAX_DESCRIPTION)
        description = reason or f"refund of saga {saga_id}"
        # Twice at most: a second pass runs only after a debit in flight committed, which it then sees.
        for _ in range(2):
            try:
                done = await repository.refund(self.pool, scope, saga_id, description, reason)
            except asyncpg.UniqueViolationError as exc:
                if not repository.lost_a_race(exc):
                    raise
                break   # a concurrent refund of the saga committed first: replay it
            if done.entry is not None:
                return Refund(done.entry, replayed=False)
            if done.given_up:
                return Refund(None, replayed=False)
            if done.refunded:
                break
            if not done.debited:
                # The saga was settled when the 'given_up' insert ran: given up before (a harmless repeat), or
                # debited by a call in flight that has now committed.
                outcome, _ = await repository.saga_settlement(self.pool, scope, saga_id)
                if outcome == "given_up":
                    return Refund(None, replayed=False)
        previous = await repository.movement_now(self.pool, scope, EntryKind.REFUND, saga_id)
        if previous is None:
            raise RuntimeError(f"refund of saga {saga_id!r} lost a unique race but no winning row is visible")
        return Refund(previous, replayed=True)

    async def _winner(self, scope: Scope, kind: EntryKind, reference: str) -> LedgerEntry:
        """The entry of the transaction that beat ours to the unique constraint (committed, hence visible)."""
        async with self.reads() as session:
            entry = await repository.movement(session, scope, kind, reference)
        if entry is None:
            raise RuntimeError(f"{kind.value} {reference!r} lost a unique race but no winning row is visible")
        return entry

    # --- reads ----------------------------------------------------------------------------------------------

    async def balances(self, scope: Scope, player_id: str) -> list[Account]:
        require_text(player_id, "player_id", MAX_PLAYER_ID)
        return await repository.balances(self.pool, scope, player_id)

    async def transactions(self, scope: Scope, player_id: str, point_type: str, page_size: int,
                           page_token: str) -> TransactionPage:
        """A page of the player's entries, newest first. The cursor is an id, so rows written meanwhile (always
        newer) never shift a page: walking every page yields each entry exactly once."""
        require_text(player_id, "player_id", MAX_PLAYER_ID)
        if point_type:
            require_point_type_code(point_type)
        limit = page_size_of(page_size)
        [before_id] = page_tokens.decode(page_token, (int,), query=(player_id, point_type)) or [None]
        rows = await repository.entries_page(self.pool, scope, player_id, point_type, before_id, limit + 1)
        if rows is None:
            raise DomainError(ErrorCode.INVALID_POINT_TYPE, f"unknown point type {point_type!r}")
        page = rows[:limit]
        next_token = page_tokens.encode([page[-1].id], query=(player_id, point_type)) if len(rows) > limit else ""
        return TransactionPage(page, next_token)
