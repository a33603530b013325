from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="Quote")


@_attrs_define
class Quote:
    """
    Attributes:
        eligible (bool):
        reason (None | str): the error code a redemption would fail with
        offer_id (str):
        variant_id (None | str):
        point_type (str):
        points_price (int):
        scale (int):
        display (str):
        balance (int):
        balance_display (str):
        stock_left (int | None): null: unlimited
        remaining_allowance (int | None): null: unlimited
        shipping_address_required (bool):
        customer_info_required (bool):
        quote_id (None | str): send it as the redemption's `quoteId` to pay this price for this variant until
            `expiresAt`, once; null when the offer refused the player
        expires_at (datetime.datetime | None): the end of the quote's price lock
    """

    eligible: bool
    reason: None | str
    offer_id: str
    variant_id: None | str
    point_type: str
    points_price: int
    scale: int
    display: str
    balance: int
    balance_display: str
    stock_left: int | None
    remaining_allowance: int | None
    shipping_address_required: bool
    customer_info_required: bool
    quote_id: None | str
    expires_at: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        eligible = self.eligible

        reason: None | str
        reason = self.reason

        offer_id = self.offer_id

        variant_id: None | str
        variant_id = self.variant_id

        point_type = self.point_type

        points_price = self.points_price

        scale = self.scale

        display = self.display

        balance = self.balance

        balance_display = self.balance_display

        stock_left: int | None
        stock_left = self.stock_left

        remaining_allowance: int | None
        remaining_allowance = self.remaining_allowance

        shipping_address_required = self.shipping_address_required

        customer_info_required = self.customer_info_required

        quote_id: None | str
        quote_id = self.quote_id

        expires_at: None | str
        if isinstance(self.expires_at, datetime.datetime):
            expires_at = self.expires_at.isoformat()
        else:
            expires_at = self.expires_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "eligible": eligible,
                "reason": reason,
                "offerId": offer_id,
                "variantId": variant_id,
                "pointType": point_type,
                "pointsPrice": points_price,
                "scale": scale,
                "display": display,
                "balance": balance,
                "balanceDisplay": balance_display,
                "stockLeft": stock_left,
                "remainingAllowance": remaining_allowance,
                "shippingAddressRequired": shipping_address_required,
                "customerInfoRequired": customer_info_required,
                "quoteId": quote_id,
                "expiresAt": expires_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        eligible = d.pop("eligible")

        def _parse_reason(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        reason = _parse_reason(d.pop("reason"))

        offer_id = d.pop("offerId")

        def _parse_variant_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        variant_id = _parse_variant_id(d.pop("variantId"))

        point_type = d.pop("pointType")

        points_price = d.pop("pointsPrice")

        scale = d.pop("scale")

        display = d.pop("display")

        balance = d.pop("balance")

        balance_display = d.pop("balanceDisplay")

        def _parse_stock_left(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        stock_left = _parse_stock_left(d.pop("stockLeft"))

        def _parse_remaining_allowance(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        remaining_allowance = _parse_remaining_allowance(d.pop("remainingAllowance"))

        shipping_address_required = d.pop("shippingAddressRequired")

        customer_info_required = d.pop("customerInfoRequired")

        def _parse_quote_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        quote_id = _parse_quote_id(d.pop("quoteId"))

        def _parse_expires_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                expires_at_type_0 = datetime.datetime.fromisoformat(data)

                return expires_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        expires_at = _parse_expires_at(d.pop("expiresAt"))

        quote = cls(
            eligible=eligible,
            reason=reason,
            offer_id=offer_id,
            variant_id=variant_id,
            point_type=point_type,
            points_price=points_price,
            scale=scale,
            display=display,
            balance=balance,
            balance_display=balance_display,
            stock_left=stock_left,
            remaining_allowance=remaining_allowance,
            shipping_address_required=shipping_address_required,
            customer_info_required=customer_info_required,
            quote_id=quote_id,
            expires_at=expires_at,
        )

        quote.additional_properties = d
        return quote

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
