from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.coins_gateway_shipping_address import CoinsGatewayShippingAddress
    from ..models.redeem_points_request_trigger_details_type_0 import RedeemPointsRequestTriggerDetailsType0


T = TypeVar("T", bound="RedeemPointsRequest")


@_attrs_define
class RedeemPointsRequest:
    """
    Attributes:
        shop_item_id (int | str): the shop item's id (a 24-hex ObjectId, or any id)
        rounds (int | None | Unset): the free-rounds tier, for items with several
        trigger_source (None | str | Unset):  Default: 'MANUAL'.
        trigger_details (None | RedeemPointsRequestTriggerDetailsType0 | Unset):
        comment (None | str | Unset):
        uuid (None | str | Unset): idempotency key: a repeat answers the first response, already_processed
        shipping_address (CoinsGatewayShippingAddress | None | Unset): not on the seed page
    """

    shop_item_id: int | str
    rounds: int | None | Unset = UNSET
    trigger_source: None | str | Unset = "MANUAL"
    trigger_details: None | RedeemPointsRequestTriggerDetailsType0 | Unset = UNSET
    comment: None | str | Unset = UNSET
    uuid: None | str | Unset = UNSET
    shipping_address: CoinsGatewayShippingAddress | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.coins_gateway_shipping_address import CoinsGatewayShippingAddress  # noqa: PLC0415
        from ..models.redeem_points_request_trigger_details_type_0 import RedeemPointsRequestTriggerDetailsType0  # noqa: PLC0415

        shop_item_id: int | str
        shop_item_id = self.shop_item_id

        rounds: int | None | Unset
        if isinstance(self.rounds, Unset):
            rounds = UNSET
        else:
            rounds = self.rounds

        trigger_source: None | str | Unset
        if isinstance(self.trigger_source, Unset):
            trigger_source = UNSET
        else:
            trigger_source = self.trigger_source

        trigger_details: dict[str, Any] | None | Unset
        if isinstance(self.trigger_details, Unset):
            trigger_details = UNSET
        elif isinstance(self.trigger_details, RedeemPointsRequestTriggerDetailsType0):
            trigger_details = self.trigger_details.to_dict()
        else:
            trigger_details = self.trigger_details

        comment: None | str | Unset
        if isinstance(self.comment, Unset):
            comment = UNSET
        else:
            comment = self.comment

        uuid: None | str | Unset
        if isinstance(self.uuid, Unset):
            uuid = UNSET
        else:
            uuid = self.uuid

        shipping_address: dict[str, Any] | None | Unset
        if isinstance(self.shipping_address, Unset):
            shipping_address = UNSET
        elif isinstance(self.shipping_address, CoinsGatewayShippingAddress):
            shipping_address = self.shipping_address.to_dict()
        else:
            shipping_address = self.shipping_address

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "shop_item_id": shop_item_id,
            }
        )
        if rounds is not UNSET:
            field_dict["rounds"] = rounds
        if trigger_source is not UNSET:
            field_dict["trigger_source"] = trigger_source
        if trigger_details is not UNSET:
            field_dict["trigger_details"] = trigger_details
        if comment is not UNSET:
            field_dict["comment"] = comment
        if uuid is not UNSET:
            field_dict["uuid"] = uuid
        if shipping_address is not UNSET:
            field_dict["shipping_address"] = shipping_address

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.coins_gateway_shipping_address import CoinsGatewayShippingAddress  # noqa: PLC0415
        from ..models.redeem_points_request_trigger_details_type_0 import RedeemPointsRequestTriggerDetailsType0  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_shop_item_id(data: object) -> int | str:
            return cast(int | str, data)

        shop_item_id = _parse_shop_item_id(d.pop("shop_item_id"))

        def _parse_rounds(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        rounds = _parse_rounds(d.pop("rounds", UNSET))

        def _parse_trigger_source(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        trigger_source = _parse_trigger_source(d.pop("trigger_source", UNSET))

        def _parse_trigger_details(data: object) -> None | RedeemPointsRequestTriggerDetailsType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                trigger_details_type_0 = RedeemPointsRequestTriggerDetailsType0.from_dict(data)

                return trigger_details_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RedeemPointsRequestTriggerDetailsType0 | Unset, data)

        trigger_details = _parse_trigger_details(d.pop("trigger_details", UNSET))

        def _parse_comment(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        comment = _parse_comment(d.pop("comment", UNSET))

        def _parse_uuid(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        uuid = _parse_uuid(d.pop("uuid", UNSET))

        def _parse_shipping_address(data: object) -> CoinsGatewayShippingAddress | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                shipping_address_type_0 = CoinsGatewayShippingAddress.from_dict(data)

                return shipping_address_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CoinsGatewayShippingAddress | None | Unset, data)

        shipping_address = _parse_shipping_address(d.pop("shipping_address", UNSET))

        redeem_points_request = cls(
            shop_item_id=shop_item_id,
            rounds=rounds,
            trigger_source=trigger_source,
            trigger_details=trigger_details,
            comment=comment,
            uuid=uuid,
            shipping_address=shipping_address,
        )

        redeem_points_request.additional_properties = d
        return redeem_points_request

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
