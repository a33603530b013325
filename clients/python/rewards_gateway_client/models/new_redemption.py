from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.customer_info import CustomerInfo
    from ..models.new_redemption_trigger_details_type_0 import NewRedemptionTriggerDetailsType0
    from ..models.shipping_address import ShippingAddress


T = TypeVar("T", bound="NewRedemption")


@_attrs_define
class NewRedemption:
    """
    Attributes:
        offer (str): the item id (itemId is accepted too)
        variant_id (str | Unset):  Default: ''.
        rounds (int | Unset):  Default: 0.
        point_type (str | Unset):  Default: ''.
        external_user_id (None | str | Unset): the player, when a back-end credential acts for one
        shipping_address (None | ShippingAddress | Unset):
        customer_info (CustomerInfo | None | Unset):
        comment (str | Unset):  Default: ''.
        trigger_source (str | Unset):  Default: ''.
        trigger_details (NewRedemptionTriggerDetailsType0 | None | Unset):
        quote_id (None | str | Unset): a quote's `quoteId`: pay the quoted price for the quoted variant and point type,
            even if the offer's price changed since (refused with QUOTE_EXPIRED, QUOTE_NOT_YOURS, QUOTE_ALREADY_USED,
            QUOTE_MISMATCH, QUOTE_NOT_FOUND)
    """

    offer: str
    variant_id: str | Unset = ""
    rounds: int | Unset = 0
    point_type: str | Unset = ""
    external_user_id: None | str | Unset = UNSET
    shipping_address: None | ShippingAddress | Unset = UNSET
    customer_info: CustomerInfo | None | Unset = UNSET
    comment: str | Unset = ""
    trigger_source: str | Unset = ""
    trigger_details: NewRedemptionTriggerDetailsType0 | None | Unset = UNSET
    quote_id: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.customer_info import CustomerInfo  # noqa: PLC0415
        from ..models.new_redemption_trigger_details_type_0 import NewRedemptionTriggerDetailsType0  # noqa: PLC0415
        from ..models.shipping_address import ShippingAddress  # noqa: PLC0415

        offer = self.offer

        variant_id = self.variant_id

        rounds = self.rounds

        point_type = self.point_type

        external_user_id: None | str | Unset
        if isinstance(self.external_user_id, Unset):
            external_user_id = UNSET
        else:
            external_user_id = self.external_user_id

        shipping_address: dict[str, Any] | None | Unset
        if isinstance(self.shipping_address, Unset):
            shipping_address = UNSET
        elif isinstance(self.shipping_address, ShippingAddress):
            shipping_address = self.shipping_address.to_dict()
        else:
            shipping_address = self.shipping_address

        customer_info: dict[str, Any] | None | Unset
        if isinstance(self.customer_info, Unset):
            customer_info = UNSET
        elif isinstance(self.customer_info, CustomerInfo):
            customer_info = self.customer_info.to_dict()
        else:
            customer_info = self.customer_info

        comment = self.comment

        trigger_source = self.trigger_source

        trigger_details: dict[str, Any] | None | Unset
        if isinstance(self.trigger_details, Unset):
            trigger_details = UNSET
        elif isinstance(self.trigger_details, NewRedemptionTriggerDetailsType0):
            trigger_details = self.trigger_details.to_dict()
        else:
            trigger_details = self.trigger_details

        quote_id: None | str | Unset
        if isinstance(self.quote_id, Unset):
            quote_id = UNSET
        else:
            quote_id = self.quote_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "offer": offer,
            }
        )
        if variant_id is not UNSET:
            field_dict["variantId"] = variant_id
        if rounds is not UNSET:
            field_dict["rounds"] = rounds
        if point_type is not UNSET:
            field_dict["pointType"] = point_type
        if external_user_id is not UNSET:
            field_dict["externalUserID"] = external_user_id
        if shipping_address is not UNSET:
            field_dict["shippingAddress"] = shipping_address
        if customer_info is not UNSET:
            field_dict["customerInfo"] = customer_info
        if comment is not UNSET:
            field_dict["comment"] = comment
        if trigger_source is not UNSET:
            field_dict["triggerSource"] = trigger_source
        if trigger_details is not UNSET:
            field_dict["triggerDetails"] = trigger_details
        if quote_id is not UNSET:
            field_dict["quoteId"] = quote_id

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.customer_info import CustomerInfo  # noqa: PLC0415
        from ..models.new_redemption_trigger_details_type_0 import NewRedemptionTriggerDetailsType0  # noqa: PLC0415
        from ..models.shipping_address import ShippingAddress  # noqa: PLC0415

        d = dict(src_dict)
        offer = d.pop("offer")

        variant_id = d.pop("variantId", UNSET)

        rounds = d.pop("rounds", UNSET)

        point_type = d.pop("pointType", UNSET)

        def _parse_external_user_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        external_user_id = _parse_external_user_id(d.pop("externalUserID", UNSET))

        def _parse_shipping_address(data: object) -> None | ShippingAddress | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                shipping_address_type_0 = ShippingAddress.from_dict(data)

                return shipping_address_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ShippingAddress | Unset, data)

        shipping_address = _parse_shipping_address(d.pop("shippingAddress", UNSET))

        def _parse_customer_info(data: object) -> CustomerInfo | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                customer_info_type_0 = CustomerInfo.from_dict(data)

                return customer_info_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CustomerInfo | None | Unset, data)

        customer_info = _parse_customer_info(d.pop("customerInfo", UNSET))

        comment = d.pop("comment", UNSET)

        trigger_source = d.pop("triggerSource", UNSET)

        def _parse_trigger_details(data: object) -> NewRedemptionTriggerDetailsType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                trigger_details_type_0 = NewRedemptionTriggerDetailsType0.from_dict(data)

                return trigger_details_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(NewRedemptionTriggerDetailsType0 | None | Unset, data)

        trigger_details = _parse_trigger_details(d.pop("triggerDetails", UNSET))

        def _parse_quote_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        quote_id = _parse_quote_id(d.pop("quoteId", UNSET))

        new_redemption = cls(
            offer=offer,
            variant_id=variant_id,
            rounds=rounds,
            point_type=point_type,
            external_user_id=external_user_id,
            shipping_address=shipping_address,
            customer_info=customer_info,
            comment=comment,
            trigger_source=trigger_source,
            trigger_details=trigger_details,
            quote_id=quote_id,
        )

        new_redemption.additional_properties = d
        return new_redemption

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
