from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="RedeemGift")


@_attrs_define
class RedeemGift:
    """
    Attributes:
        gift_id (str):
        point_id (None | str | Unset): omitted: the gift's first eligible point type
        customer_name (None | str | Unset):
        customer_phone (None | str | Unset):
        delivery_name (None | str | Unset):
        delivery_phone (None | str | Unset):
        delivery_city (None | str | Unset):
        delivery_address (None | str | Unset):
        delivery_country (None | str | Unset): not on the page; default SA
    """

    gift_id: str
    point_id: None | str | Unset = UNSET
    customer_name: None | str | Unset = UNSET
    customer_phone: None | str | Unset = UNSET
    delivery_name: None | str | Unset = UNSET
    delivery_phone: None | str | Unset = UNSET
    delivery_city: None | str | Unset = UNSET
    delivery_address: None | str | Unset = UNSET
    delivery_country: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        gift_id = self.gift_id

        point_id: None | str | Unset
        if isinstance(self.point_id, Unset):
            point_id = UNSET
        else:
            point_id = self.point_id

        customer_name: None | str | Unset
        if isinstance(self.customer_name, Unset):
            customer_name = UNSET
        else:
            customer_name = self.customer_name

        customer_phone: None | str | Unset
        if isinstance(self.customer_phone, Unset):
            customer_phone = UNSET
        else:
            customer_phone = self.customer_phone

        delivery_name: None | str | Unset
        if isinstance(self.delivery_name, Unset):
            delivery_name = UNSET
        else:
            delivery_name = self.delivery_name

        delivery_phone: None | str | Unset
        if isinstance(self.delivery_phone, Unset):
            delivery_phone = UNSET
        else:
            delivery_phone = self.delivery_phone

        delivery_city: None | str | Unset
        if isinstance(self.delivery_city, Unset):
            delivery_city = UNSET
        else:
            delivery_city = self.delivery_city

        delivery_address: None | str | Unset
        if isinstance(self.delivery_address, Unset):
            delivery_address = UNSET
        else:
            delivery_address = self.delivery_address

        delivery_country: None | str | Unset
        if isinstance(self.delivery_country, Unset):
            delivery_country = UNSET
        else:
            delivery_country = self.delivery_country

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "giftId": gift_id,
            }
        )
        if point_id is not UNSET:
            field_dict["pointId"] = point_id
        if customer_name is not UNSET:
            field_dict["customerName"] = customer_name
        if customer_phone is not UNSET:
            field_dict["customerPhone"] = customer_phone
        if delivery_name is not UNSET:
            field_dict["deliveryName"] = delivery_name
        if delivery_phone is not UNSET:
            field_dict["deliveryPhone"] = delivery_phone
        if delivery_city is not UNSET:
            field_dict["deliveryCity"] = delivery_city
        if delivery_address is not UNSET:
            field_dict["deliveryAddress"] = delivery_address
        if delivery_country is not UNSET:
            field_dict["deliveryCountry"] = delivery_country

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        gift_id = d.pop("giftId")

        def _parse_point_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        point_id = _parse_point_id(d.pop("pointId", UNSET))

        def _parse_customer_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        customer_name = _parse_customer_name(d.pop("customerName", UNSET))

        def _parse_customer_phone(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        customer_phone = _parse_customer_phone(d.pop("customerPhone", UNSET))

        def _parse_delivery_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        delivery_name = _parse_delivery_name(d.pop("deliveryName", UNSET))

        def _parse_delivery_phone(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        delivery_phone = _parse_delivery_phone(d.pop("deliveryPhone", UNSET))

        def _parse_delivery_city(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        delivery_city = _parse_delivery_city(d.pop("deliveryCity", UNSET))

        def _parse_delivery_address(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        delivery_address = _parse_delivery_address(d.pop("deliveryAddress", UNSET))

        def _parse_delivery_country(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        delivery_country = _parse_delivery_country(d.pop("deliveryCountry", UNSET))

        redeem_gift = cls(
            gift_id=gift_id,
            point_id=point_id,
            customer_name=customer_name,
            customer_phone=customer_phone,
            delivery_name=delivery_name,
            delivery_phone=delivery_phone,
            delivery_city=delivery_city,
            delivery_address=delivery_address,
            delivery_country=delivery_country,
        )

        redeem_gift.additional_properties = d
        return redeem_gift

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
