from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="PointType")


@_attrs_define
class PointType:
    """
    Attributes:
        code (str):
        name (str):
        scale (int):
        lifetime_seconds (int | Unset): how long a lot granted without expiresAt lives; 0: never Default: 0.
    """

    code: str
    name: str
    scale: int
    lifetime_seconds: int | Unset = 0
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        code = self.code

        name = self.name

        scale = self.scale

        lifetime_seconds = self.lifetime_seconds

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "code": code,
                "name": name,
                "scale": scale,
            }
        )
        if lifetime_seconds is not UNSET:
            field_dict["lifetimeSeconds"] = lifetime_seconds

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        code = d.pop("code")

        name = d.pop("name")

        scale = d.pop("scale")

        lifetime_seconds = d.pop("lifetimeSeconds", UNSET)

        point_type = cls(
            code=code,
            name=name,
            scale=scale,
            lifetime_seconds=lifetime_seconds,
        )

        point_type.additional_properties = d
        return point_type

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
