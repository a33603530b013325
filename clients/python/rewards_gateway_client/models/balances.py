from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.wallet_balance import WalletBalance


T = TypeVar("T", bound="Balances")


@_attrs_define
class Balances:
    """
    Attributes:
        player_id (str):
        balances (list[WalletBalance]):
    """

    player_id: str
    balances: list[WalletBalance]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        player_id = self.player_id

        balances = []
        for balances_item_data in self.balances:
            balances_item = balances_item_data.to_dict()
            balances.append(balances_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "playerId": player_id,
                "balances": balances,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.wallet_balance import WalletBalance  # noqa: PLC0415

        d = dict(src_dict)
        player_id = d.pop("playerId")

        balances = []
        _balances = d.pop("balances")
        for balances_item_data in _balances:
            balances_item = WalletBalance.from_dict(balances_item_data)

            balances.append(balances_item)

        balances = cls(
            player_id=player_id,
            balances=balances,
        )

        balances.additional_properties = d
        return balances

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
