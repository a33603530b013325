from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="CodePool")


@_attrs_define
class CodePool:
    """
    Attributes:
        available (int):
        assigned (int):
        expired (int):
        low_threshold (int):
        own_threshold (bool): lowThreshold is the pool's own (PUT .../codes/threshold); false: the fulfillment service's
            LOW_POOL_THRESHOLD
        low (bool): available is below lowThreshold (a code_pool.low event when a claim crosses it)
        masked_sample (list[str]): a few available codes, masked
    """

    available: int
    assigned: int
    expired: int
    low_threshold: int
    own_threshold: bool
    low: bool
    masked_sample: list[str]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        available = self.available

        assigned = self.assigned

        expired = self.expired

        low_threshold = self.low_threshold

        own_threshold = self.own_threshold

        low = self.low

        masked_sample = self.masked_sample

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "available": available,
                "assigned": assigned,
                "expired": expired,
                "lowThreshold": low_threshold,
                "ownThreshold": own_threshold,
                "low": low,
                "maskedSample": masked_sample,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        available = d.pop("available")

        assigned = d.pop("assigned")

        expired = d.pop("expired")

        low_threshold = d.pop("lowThreshold")

        own_threshold = d.pop("ownThreshold")

        low = d.pop("low")

        masked_sample = cast(list[str], d.pop("maskedSample"))

        code_pool = cls(
            available=available,
            assigned=assigned,
            expired=expired,
            low_threshold=low_threshold,
            own_threshold=own_threshold,
            low=low,
            masked_sample=masked_sample,
        )

        code_pool.additional_properties = d
        return code_pool

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
