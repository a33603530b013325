from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.fail_data import FailData


T = TypeVar("T", bound="ClaimFail")


@_attrs_define
class ClaimFail:
    """status "fail": the request was refused (the page's 422 validation errors, and 401/403/404/413 here).

    Attributes:
        status (Literal['fail']):
        data (FailData):
        message (str):
        request_id (str):
    """

    status: Literal["fail"]
    data: FailData
    message: str
    request_id: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        status = self.status

        data = self.data.to_dict()

        message = self.message

        request_id = self.request_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "status": status,
                "data": data,
                "message": message,
                "request_id": request_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.fail_data import FailData  # noqa: PLC0415

        d = dict(src_dict)
        status = cast(Literal["fail"], d.pop("status"))
        if status != "fail":
            raise ValueError(f"status must match const 'fail', got '{status}'")

        data = FailData.from_dict(d.pop("data"))

        message = d.pop("message")

        request_id = d.pop("request_id")

        claim_fail = cls(
            status=status,
            data=data,
            message=message,
            request_id=request_id,
        )

        claim_fail.additional_properties = d
        return claim_fail

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
