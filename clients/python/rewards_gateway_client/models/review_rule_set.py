from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.review_rules import ReviewRules


T = TypeVar("T", bound="ReviewRuleSet")


@_attrs_define
class ReviewRuleSet:
    """
    Attributes:
        offer_id (None | str): null: the tenant's rules, for every item
        rules (ReviewRules): When a redemption is held for review after its stock and points are taken. A rule left out,
            0 or false
            does not apply; any rule that applies holds it (AWAITING_APPROVAL) until an operator decides.
        updated_at (datetime.datetime | None): null: no rules stored (removed)
    """

    offer_id: None | str
    rules: ReviewRules
    updated_at: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        offer_id: None | str
        offer_id = self.offer_id

        rules = self.rules.to_dict()

        updated_at: None | str
        if isinstance(self.updated_at, datetime.datetime):
            updated_at = self.updated_at.isoformat()
        else:
            updated_at = self.updated_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "offerId": offer_id,
                "rules": rules,
                "updatedAt": updated_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.review_rules import ReviewRules  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_offer_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        offer_id = _parse_offer_id(d.pop("offerId"))

        rules = ReviewRules.from_dict(d.pop("rules"))

        def _parse_updated_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                updated_at_type_0 = datetime.datetime.fromisoformat(data)

                return updated_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        updated_at = _parse_updated_at(d.pop("updatedAt"))

        review_rule_set = cls(
            offer_id=offer_id,
            rules=rules,
            updated_at=updated_at,
        )

        review_rule_set.additional_properties = d
        return review_rule_set

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
