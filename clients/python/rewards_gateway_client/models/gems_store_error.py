from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.gems_store_field_error import GemsStoreFieldError


T = TypeVar("T", bound="GemsStoreError")


@_attrs_define
class GemsStoreError:
    """Every error of the gem store: FastAPI's `detail` (a sentence, or for a 422 the list of field errors), with
    our stable code and the request id beside it.

        Attributes:
            detail (list[GemsStoreFieldError] | str):
            code (str):
            request_id (str):
    """

    detail: list[GemsStoreFieldError] | str
    code: str
    request_id: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        detail: list[dict[str, Any]] | str
        if isinstance(self.detail, list):
            detail = []
            for detail_type_1_item_data in self.detail:
                detail_type_1_item = detail_type_1_item_data.to_dict()
                detail.append(detail_type_1_item)

        else:
            detail = self.detail

        code = self.code

        request_id = self.request_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "detail": detail,
                "code": code,
                "request_id": request_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.gems_store_field_error import GemsStoreFieldError  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_detail(data: object) -> list[GemsStoreFieldError] | str:
            try:
                if not isinstance(data, list):
                    raise TypeError()
                detail_type_1 = []
                _detail_type_1 = data
                for detail_type_1_item_data in _detail_type_1:
                    detail_type_1_item = GemsStoreFieldError.from_dict(detail_type_1_item_data)

                    detail_type_1.append(detail_type_1_item)

                return detail_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[GemsStoreFieldError] | str, data)

        detail = _parse_detail(d.pop("detail"))

        code = d.pop("code")

        request_id = d.pop("request_id")

        gems_store_error = cls(
            detail=detail,
            code=code,
            request_id=request_id,
        )

        gems_store_error.additional_properties = d
        return gems_store_error

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
