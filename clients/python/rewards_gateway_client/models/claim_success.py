from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.claim_result import ClaimResult


T = TypeVar("T", bound="ClaimSuccess")


@_attrs_define
class ClaimSuccess:
    """
    Attributes:
        data (ClaimResult):
        status (Literal['success'] | Unset):  Default: 'success'.
        message (str | Unset):  Default: 'Successfully claimed coins'.
    """

    data: ClaimResult
    status: Literal["success"] | Unset = "success"
    message: str | Unset = "Successfully claimed coins"
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = self.data.to_dict()

        status = self.status

        message = self.message

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "data": data,
            }
        )
        if status is not UNSET:
            field_dict["status"] = status
        if message is not UNSET:
            field_dict["message"] = message

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.claim_result import ClaimResult  # noqa: PLC0415

        d = dict(src_dict)
        data = ClaimResult.from_dict(d.pop("data"))

        status = cast(Literal["success"] | Unset, d.pop("status", UNSET))
        if status != "success" and not isinstance(status, Unset):
            raise ValueError(f"status must match const 'success', got '{status}'")

        message = d.pop("message", UNSET)

        claim_success = cls(
            data=data,
            status=status,
            message=message,
        )

        claim_success.additional_properties = d
        return claim_success

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
