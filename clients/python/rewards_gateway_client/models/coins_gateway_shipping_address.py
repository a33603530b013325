from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="CoinsGatewayShippingAddress")


@_attrs_define
class CoinsGatewayShippingAddress:
    """Not on the seed page: physical items here need an address, so a client may send one.

    Attributes:
        name (str | Unset):  Default: ''.
        line1 (str | Unset):  Default: ''.
        line2 (str | Unset):  Default: ''.
        city (str | Unset):  Default: ''.
        state (str | Unset):  Default: ''.
        postal_code (str | Unset):  Default: ''.
        country (str | Unset):  Default: ''.
        phone (str | Unset):  Default: ''.
    """

    name: str | Unset = ""
    line1: str | Unset = ""
    line2: str | Unset = ""
    city: str | Unset = ""
    state: str | Unset = ""
    postal_code: str | Unset = ""
    country: str | Unset = ""
    phone: str | Unset = ""
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        line1 = self.line1

        line2 = self.line2

        city = self.city

        state = self.state

        postal_code = self.postal_code

        country = self.country

        phone = self.phone

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if name is not UNSET:
            field_dict["name"] = name
        if line1 is not UNSET:
            field_dict["line1"] = line1
        if line2 is not UNSET:
            field_dict["line2"] = line2
        if city is not UNSET:
            field_dict["city"] = city
        if state is not UNSET:
            field_dict["state"] = state
        if postal_code is not UNSET:
            field_dict["postal_code"] = postal_code
        if country is not UNSET:
            field_dict["country"] = country
        if phone is not UNSET:
            field_dict["phone"] = phone

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name", UNSET)

        line1 = d.pop("line1", UNSET)

        line2 = d.pop("line2", UNSET)

        city = d.pop("city", UNSET)

        state = d.pop("state", UNSET)

        postal_code = d.pop("postal_code", UNSET)

        country = d.pop("country", UNSET)

        phone = d.pop("phone", UNSET)

        coins_gateway_shipping_address = cls(
            name=name,
            line1=line1,
            line2=line2,
            city=city,
            state=state,
            postal_code=postal_code,
            country=country,
            phone=phone,
        )

        coins_gateway_shipping_address.additional_properties = d
        return coins_gateway_shipping_address

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
