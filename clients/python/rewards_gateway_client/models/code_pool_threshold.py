from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="CodePoolThreshold")


@_attrs_define
class CodePoolThreshold:
    """PUT /v1/admin/items/{id}/codes/threshold.

    Attributes:
        low_threshold (int | None): the pool is low below this; null: back to LOW_POOL_THRESHOLD
    """

    low_threshold: int | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        low_threshold: int | None
        low_threshold = self.low_threshold

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "lowThreshold": low_threshold,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_low_threshold(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        low_threshold = _parse_low_threshold(d.pop("lowThreshold"))

        code_pool_threshold = cls(
            low_threshold=low_threshold,
        )

        code_pool_threshold.additional_properties = d
        return code_pool_threshold

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
