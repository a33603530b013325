from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.admin_upload_codes_json_body_code_input import AdminUploadCodesJsonBodyCodeInput


T = TypeVar("T", bound="AdminUploadCodesJsonBody")


@_attrs_define
class AdminUploadCodesJsonBody:
    """
    Attributes:
        codes (list[AdminUploadCodesJsonBodyCodeInput]):
    """

    codes: list[AdminUploadCodesJsonBodyCodeInput]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        codes = []
        for codes_item_data in self.codes:
            codes_item = codes_item_data.to_dict()
            codes.append(codes_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "codes": codes,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.admin_upload_codes_json_body_code_input import AdminUploadCodesJsonBodyCodeInput  # noqa: PLC0415

        d = dict(src_dict)
        codes = []
        _codes = d.pop("codes")
        for codes_item_data in _codes:
            codes_item = AdminUploadCodesJsonBodyCodeInput.from_dict(codes_item_data)

            codes.append(codes_item)

        admin_upload_codes_json_body = cls(
            codes=codes,
        )

        admin_upload_codes_json_body.additional_properties = d
        return admin_upload_codes_json_body

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
