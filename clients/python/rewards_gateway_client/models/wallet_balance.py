from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.points_lot import PointsLot


T = TypeVar("T", bound="WalletBalance")


@_attrs_define
class WalletBalance:
    """
    Attributes:
        point_type (str):
        amount (int): minor units
        scale (int):
        display (str): decimal string, e.g. "150.50"
        lots (list[PointsLot]): the lots holding the balance, in the order debits take them: soonest expiry first,
            never-expiring last
        expiring_within_30_days (int): minor units of the lots that expire within 30 days
        expiring_within_30_days_display (str):
    """

    point_type: str
    amount: int
    scale: int
    display: str
    lots: list[PointsLot]
    expiring_within_30_days: int
    expiring_within_30_days_display: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        point_type = self.point_type

        amount = self.amount

        scale = self.scale

        display = self.display

        lots = []
        for lots_item_data in self.lots:
            lots_item = lots_item_data.to_dict()
            lots.append(lots_item)

        expiring_within_30_days = self.expiring_within_30_days

        expiring_within_30_days_display = self.expiring_within_30_days_display

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "pointType": point_type,
                "amount": amount,
                "scale": scale,
                "display": display,
                "lots": lots,
                "expiringWithin30Days": expiring_within_30_days,
                "expiringWithin30DaysDisplay": expiring_within_30_days_display,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.points_lot import PointsLot  # noqa: PLC0415

        d = dict(src_dict)
        point_type = d.pop("pointType")

        amount = d.pop("amount")

        scale = d.pop("scale")

        display = d.pop("display")

        lots = []
        _lots = d.pop("lots")
        for lots_item_data in _lots:
            lots_item = PointsLot.from_dict(lots_item_data)

            lots.append(lots_item)

        expiring_within_30_days = d.pop("expiringWithin30Days")

        expiring_within_30_days_display = d.pop("expiringWithin30DaysDisplay")

        wallet_balance = cls(
            point_type=point_type,
            amount=amount,
            scale=scale,
            display=display,
            lots=lots,
            expiring_within_30_days=expiring_within_30_days,
            expiring_within_30_days_display=expiring_within_30_days_display,
        )

        wallet_balance.additional_properties = d
        return wallet_balance

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
