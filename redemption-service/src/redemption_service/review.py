"""Review holds: whether the redeem saga's pivot holds a redemption for an operator (the Review of saga/redeem.py),
from the tenant's and the item's rules that the accept statement read with the redemption.

A tenant without rules pays nothing here: no statement, no call. The lookups a rule needs run only when that rule
applies and the cheap rules (always review, the cost) did not hold it already: the count of the player's
redemptions in the last hour (one indexed statement) for a max-per-hour rule, GetPlayer (wallet's created_at) for
a player-age rule; both together when both apply."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from service_kit.pgpool import PgPool

from redemption_service import repository
from redemption_service.clients import Wallet
from redemption_service.domain import HoldReason
from redemption_service.metrics import REVIEW_HOLDS
from redemption_service.saga.redeem import RedeemOrder

SECONDS_PER_DAY = 86_400


class Reviewer:
    def __init__(self, pool: PgPool, wallet: Wallet) -> None:
        self.pool = pool
        self.wallet = wallet

    async def hold_reason(self, order: RedeemOrder) -> str:
        reason = await self._reason(order)
        if reason is not None:
            REVIEW_HOLDS.labels(reason.value).inc()
            return reason.value
        return ""

    async def _reason(self, order: RedeemOrder) -> HoldReason | None:
        if order.sandbox_review():
            return HoldReason.SANDBOX_REVIEW
        rules = order.review_rules
        if rules is None or rules.empty:
            return None
        assert order.reservation is not None
        cost = order.reservation.price.amount
        cheap = rules.reason_without_lookups(cost)
        if cheap is not None:
            return cheap
        recent, age = await asyncio.gather(
            self._recent(order) if rules.counts_recent else _none(),
            self._player_age_days(order) if rules.needs_player_age else _none())
        return rules.reason(cost, recent=recent, player_age_days=age)

    async def _recent(self, order: RedeemOrder) -> int:
        return await repository.count_recent_redemptions(self.pool, order.scope, order.player_id,
                                                         order.redemption_id)

    async def _player_age_days(self, order: RedeemOrder) -> float | None:
        player = await self.wallet.get_player(order.scope, order.player_id)
        if not player.HasField("created_at"):
            return None   # a wallet that does not say: the age rule cannot apply
        return (datetime.now(UTC) - player.created_at.ToDatetime(UTC)).total_seconds() / SECONDS_PER_DAY


async def _none() -> None:
    return None
