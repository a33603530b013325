from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.gems_store_shipping_address import GemsStoreShippingAddress


T = TypeVar("T", bound="StoreRedeemRequest")


@_attrs_define
class StoreRedeemRequest:
    """
    Attributes:
        store_item_id (int | str): the item id, as an integer or its text
        shipping_address (GemsStoreShippingAddress | None | Unset): required when the item is shipped (physical) or sent
            to a provider (webhook)
    """

    store_item_id: int | str
    shipping_address: GemsStoreShippingAddress | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.gems_store_shipping_address import GemsStoreShippingAddress  # noqa: PLC0415

        store_item_id: int | str
        store_item_id = self.store_item_id

        shipping_address: dict[str, Any] | None | Unset
        if isinstance(self.shipping_address, Unset):
            shipping_address = UNSET
        elif isinstance(self.shipping_address, GemsStoreShippingAddress):
            shipping_address = self.shipping_address.to_dict()
        else:
            shipping_address = self.shipping_address

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "store_item_id": store_item_id,
            }
        )
        if shipping_address is not UNSET:
            field_dict["shipping_address"] = shipping_address

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.gems_store_shipping_address import GemsStoreShippingAddress  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_store_item_id(data: object) -> int | str:
            return cast(int | str, data)

        store_item_id = _parse_store_item_id(d.pop("store_item_id"))

        def _parse_shipping_address(data: object) -> GemsStoreShippingAddress | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                shipping_address_type_0 = GemsStoreShippingAddress.from_dict(data)

                return shipping_address_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(GemsStoreShippingAddress | None | Unset, data)

        shipping_address = _parse_shipping_address(d.pop("shipping_address", UNSET))

        store_redeem_request = cls(
            store_item_id=store_item_id,
            shipping_address=shipping_address,
        )

        store_redeem_request.additional_properties = d
        return store_redeem_request

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
