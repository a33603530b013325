from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.fulfillment_result_data_type_0 import FulfillmentResultDataType0


T = TypeVar("T", bound="FulfillmentResult")


@_attrs_define
class FulfillmentResult:
    """
    Attributes:
        code (None | str):
        pin (None | str):
        financial_ref_id (int | None):
        tracking_number (None | str):
        provider_reference (None | str):
        data (FulfillmentResultDataType0 | None):
    """

    code: None | str
    pin: None | str
    financial_ref_id: int | None
    tracking_number: None | str
    provider_reference: None | str
    data: FulfillmentResultDataType0 | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.fulfillment_result_data_type_0 import FulfillmentResultDataType0  # noqa: PLC0415

        code: None | str
        code = self.code

        pin: None | str
        pin = self.pin

        financial_ref_id: int | None
        financial_ref_id = self.financial_ref_id

        tracking_number: None | str
        tracking_number = self.tracking_number

        provider_reference: None | str
        provider_reference = self.provider_reference

        data: dict[str, Any] | None
        if isinstance(self.data, FulfillmentResultDataType0):
            data = self.data.to_dict()
        else:
            data = self.data

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "code": code,
                "pin": pin,
                "financialRefId": financial_ref_id,
                "trackingNumber": tracking_number,
                "providerReference": provider_reference,
                "data": data,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.fulfillment_result_data_type_0 import FulfillmentResultDataType0  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_code(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        code = _parse_code(d.pop("code"))

        def _parse_pin(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        pin = _parse_pin(d.pop("pin"))

        def _parse_financial_ref_id(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        financial_ref_id = _parse_financial_ref_id(d.pop("financialRefId"))

        def _parse_tracking_number(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        tracking_number = _parse_tracking_number(d.pop("trackingNumber"))

        def _parse_provider_reference(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        provider_reference = _parse_provider_reference(d.pop("providerReference"))

        def _parse_data(data: object) -> FulfillmentResultDataType0 | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                data_type_0 = FulfillmentResultDataType0.from_dict(data)

                return data_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(FulfillmentResultDataType0 | None, data)

        data = _parse_data(d.pop("data"))

        fulfillment_result = cls(
            code=code,
            pin=pin,
            financial_ref_id=financial_ref_id,
            tracking_number=tracking_number,
            provider_reference=provider_reference,
            data=data,
        )

        fulfillment_result.additional_properties = d
        return fulfillment_result

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
