from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.store_redemption_status import StoreRedemptionStatus

if TYPE_CHECKING:
    from ..models.fulfillment_data import FulfillmentData


T = TypeVar("T", bound="StoreRedemption")


@_attrs_define
class StoreRedemption:
    """
    Attributes:
        id (int): the redemption number
        status (StoreRedemptionStatus):
        gem_cost_at_time (int):
        fulfillment_data (FulfillmentData | None): the code and PIN of a voucher; null otherwise
    """

    id: int
    status: StoreRedemptionStatus
    gem_cost_at_time: int
    fulfillment_data: FulfillmentData | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.fulfillment_data import FulfillmentData  # noqa: PLC0415

        id = self.id

        status = self.status.value

        gem_cost_at_time = self.gem_cost_at_time

        fulfillment_data: dict[str, Any] | None
        if isinstance(self.fulfillment_data, FulfillmentData):
            fulfillment_data = self.fulfillment_data.to_dict()
        else:
            fulfillment_data = self.fulfillment_data

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "status": status,
                "gem_cost_at_time": gem_cost_at_time,
                "fulfillment_data": fulfillment_data,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.fulfillment_data import FulfillmentData  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        status = StoreRedemptionStatus(d.pop("status"))

        gem_cost_at_time = d.pop("gem_cost_at_time")

        def _parse_fulfillment_data(data: object) -> FulfillmentData | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                fulfillment_data_type_0 = FulfillmentData.from_dict(data)

                return fulfillment_data_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(FulfillmentData | None, data)

        fulfillment_data = _parse_fulfillment_data(d.pop("fulfillment_data"))

        store_redemption = cls(
            id=id,
            status=status,
            gem_cost_at_time=gem_cost_at_time,
            fulfillment_data=fulfillment_data,
        )

        store_redemption.additional_properties = d
        return store_redemption

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
