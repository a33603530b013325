from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="Targeting")


@_attrs_define
class Targeting:
    """
    Attributes:
        private (bool | Unset):  Default: False.
        segments (list[str] | Unset):
        countries (list[str] | Unset):
        min_level (int | Unset):  Default: 0.
    """

    private: bool | Unset = False
    segments: list[str] | Unset = UNSET
    countries: list[str] | Unset = UNSET
    min_level: int | Unset = 0
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        private = self.private

        segments: list[str] | Unset = UNSET
        if not isinstance(self.segments, Unset):
            segments = self.segments

        countries: list[str] | Unset = UNSET
        if not isinstance(self.countries, Unset):
            countries = self.countries

        min_level = self.min_level

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if private is not UNSET:
            field_dict["private"] = private
        if segments is not UNSET:
            field_dict["segments"] = segments
        if countries is not UNSET:
            field_dict["countries"] = countries
        if min_level is not UNSET:
            field_dict["minLevel"] = min_level

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        private = d.pop("private", UNSET)

        segments = cast(list[str], d.pop("segments", UNSET))

        countries = cast(list[str], d.pop("countries", UNSET))

        min_level = d.pop("minLevel", UNSET)

        targeting = cls(
            private=private,
            segments=segments,
            countries=countries,
            min_level=min_level,
        )

        targeting.additional_properties = d
        return targeting

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
