from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ReviewRules")


@_attrs_define
class ReviewRules:
    """When a redemption is held for review after its stock and points are taken. A rule left out, 0 or false
    does not apply; any rule that applies holds it (AWAITING_APPROVAL) until an operator decides.

        Attributes:
            max_redemptions_per_hour (int | Unset): held when the player already has more than this many redemptions in the
                last hour; 0: no such rule Default: 0.
            cost_over (int | Unset): held when the cost (minor units) is over this; 0: no such rule Default: 0.
            player_younger_than_days (int | Unset): held when the player was first seen fewer than this many days ago; 0: no
                such rule Default: 0.
            always_review (bool | Unset): hold every redemption (an item marked always review) Default: False.
    """

    max_redemptions_per_hour: int | Unset = 0
    cost_over: int | Unset = 0
    player_younger_than_days: int | Unset = 0
    always_review: bool | Unset = False
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        max_redemptions_per_hour = self.max_redemptions_per_hour

        cost_over = self.cost_over

        player_younger_than_days = self.player_younger_than_days

        always_review = self.always_review

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if max_redemptions_per_hour is not UNSET:
            field_dict["maxRedemptionsPerHour"] = max_redemptions_per_hour
        if cost_over is not UNSET:
            field_dict["costOver"] = cost_over
        if player_younger_than_days is not UNSET:
            field_dict["playerYoungerThanDays"] = player_younger_than_days
        if always_review is not UNSET:
            field_dict["alwaysReview"] = always_review

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        max_redemptions_per_hour = d.pop("maxRedemptionsPerHour", UNSET)

        cost_over = d.pop("costOver", UNSET)

        player_younger_than_days = d.pop("playerYoungerThanDays", UNSET)

        always_review = d.pop("alwaysReview", UNSET)

        review_rules = cls(
            max_redemptions_per_hour=max_redemptions_per_hour,
            cost_over=cost_over,
            player_younger_than_days=player_younger_than_days,
            always_review=always_review,
        )

        review_rules.additional_properties = d
        return review_rules

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
