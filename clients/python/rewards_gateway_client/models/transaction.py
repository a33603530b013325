from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="Transaction")


@_attrs_define
class Transaction:
    """
    Attributes:
        id (int):
        player_id (str):
        point_type (str):
        kind (str): grant, debit, refund, adjustment or expire
        amount (int): signed minor units: credits positive, debits negative
        display (str):
        balance_after (int):
        scale (int):
        reference (str):
        description (str):
        created_at (datetime.datetime | None):
    """

    id: int
    player_id: str
    point_type: str
    kind: str
    amount: int
    display: str
    balance_after: int
    scale: int
    reference: str
    description: str
    created_at: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        player_id = self.player_id

        point_type = self.point_type

        kind = self.kind

        amount = self.amount

        display = self.display

        balance_after = self.balance_after

        scale = self.scale

        reference = self.reference

        description = self.description

        created_at: None | str
        if isinstance(self.created_at, datetime.datetime):
            created_at = self.created_at.isoformat()
        else:
            created_at = self.created_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "playerId": player_id,
                "pointType": point_type,
                "kind": kind,
                "amount": amount,
                "display": display,
                "balanceAfter": balance_after,
                "scale": scale,
                "reference": reference,
                "description": description,
                "createdAt": created_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        player_id = d.pop("playerId")

        point_type = d.pop("pointType")

        kind = d.pop("kind")

        amount = d.pop("amount")

        display = d.pop("display")

        balance_after = d.pop("balanceAfter")

        scale = d.pop("scale")

        reference = d.pop("reference")

        description = d.pop("description")

        def _parse_created_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                created_at_type_0 = datetime.datetime.fromisoformat(data)

                return created_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        created_at = _parse_created_at(d.pop("createdAt"))

        transaction = cls(
            id=id,
            player_id=player_id,
            point_type=point_type,
            kind=kind,
            amount=amount,
            display=display,
            balance_after=balance_after,
            scale=scale,
            reference=reference,
            description=description,
            created_at=created_at,
        )

        transaction.additional_properties = d
        return transaction

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
