"""The canonical admin API's review holds: the rules of a tenant or an item, and an operator's decision."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field
from rewards.redemption.v1 import redemption_pb2

from gateway.schemas.common import MAX_MINOR_UNITS, ApiModel, timestamp

MAX_PER_HOUR = 10_000
MAX_DAYS = 3_650


class ReviewRules(ApiModel):
    """When a redemption is held for review after its stock and points are taken. A rule left out, 0 or false
    does not apply; any rule that applies holds it (AWAITING_APPROVAL) until an operator decides."""

    max_redemptions_per_hour: int = Field(default=0, ge=0, le=MAX_PER_HOUR,
                                          description="held when the player already has more than this many "
                                                      "redemptions in the last hour; 0: no such rule")
    cost_over: int = Field(default=0, ge=0, le=MAX_MINOR_UNITS,
                           description="held when the cost (minor units) is over this; 0: no such rule")
    player_younger_than_days: int = Field(default=0, ge=0, le=MAX_DAYS,
                                          description="held when the player was first seen fewer than this many "
                                                      "days ago; 0: no such rule")
    always_review: bool = Field(default=False, description="hold every redemption (an item marked always review)")

    def to_proto(self) -> redemption_pb2.ReviewRules:
        return redemption_pb2.ReviewRules(max_redemptions_per_hour=self.max_redemptions_per_hour,
                                          cost_over=self.cost_over,
                                          player_younger_than_days=self.player_younger_than_days,
                                          always_review=self.always_review)

    @classmethod
    def from_proto(cls, r: redemption_pb2.ReviewRules) -> ReviewRules:
        return cls(max_redemptions_per_hour=r.max_redemptions_per_hour, cost_over=r.cost_over,
                   player_younger_than_days=r.player_younger_than_days, always_review=r.always_review)


class ReviewRuleSet(ApiModel):
    offer_id: str | None = Field(description="null: the tenant's rules, for every item")
    rules: ReviewRules
    updated_at: datetime | None = Field(description="null: no rules stored (removed)")

    @classmethod
    def from_proto(cls, r: redemption_pb2.ReviewRuleSet) -> ReviewRuleSet:
        return cls(offer_id=r.item_id or None, rules=ReviewRules.from_proto(r.rules),
                   updated_at=timestamp(r, "updated_at"))


class ReviewRuleList(ApiModel):
    rule_sets: list[ReviewRuleSet] = Field(description="the tenant's first, then each item's by id")


class ReviewDecision(ApiModel):
    note: str = Field(default="", max_length=1000,
                      description="kept with the decision (a rejection's reason; empty: a default)")
