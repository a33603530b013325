from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.point_type import PointType


T = TypeVar("T", bound="PointTypeList")


@_attrs_define
class PointTypeList:
    """
    Attributes:
        point_types (list[PointType]):
    """

    point_types: list[PointType]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        point_types = []
        for point_types_item_data in self.point_types:
            point_types_item = point_types_item_data.to_dict()
            point_types.append(point_types_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "pointTypes": point_types,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.point_type import PointType  # noqa: PLC0415

        d = dict(src_dict)
        point_types = []
        _point_types = d.pop("pointTypes")
        for point_types_item_data in _point_types:
            point_types_item = PointType.from_dict(point_types_item_data)

            point_types.append(point_types_item)

        point_type_list = cls(
            point_types=point_types,
        )

        point_type_list.additional_properties = d
        return point_type_list

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
