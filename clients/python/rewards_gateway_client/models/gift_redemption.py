from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="GiftRedemption")


@_attrs_define
class GiftRedemption:
    """The redemption record, with exactly the page's fields.

    Attributes:
        id (str):
        gift_id (str):
        user_id (str):
        gift_name (str):
        gift_image_url (None | str):
        points_spent (int):
        sar_value (float | int | None):
        point_id (str):
        redemption_value (None | str):
        order_status (str): Pending, Completed, Cancelled or Failed
        delivery_status (None | str): Pending, Shipped, Delivered; null: nothing to deliver
        customer_name (None | str):
        customer_phone (None | str):
        delivery_name (None | str):
        delivery_phone (None | str):
        delivery_city (None | str):
        delivery_address (None | str):
        created_at (datetime.datetime | None):
        completed_at (datetime.datetime | None):
        cancelled_at (datetime.datetime | None):
        redemption_message (None | str):
    """

    id: str
    gift_id: str
    user_id: str
    gift_name: str
    gift_image_url: None | str
    points_spent: int
    sar_value: float | int | None
    point_id: str
    redemption_value: None | str
    order_status: str
    delivery_status: None | str
    customer_name: None | str
    customer_phone: None | str
    delivery_name: None | str
    delivery_phone: None | str
    delivery_city: None | str
    delivery_address: None | str
    created_at: datetime.datetime | None
    completed_at: datetime.datetime | None
    cancelled_at: datetime.datetime | None
    redemption_message: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        gift_id = self.gift_id

        user_id = self.user_id

        gift_name = self.gift_name

        gift_image_url: None | str
        gift_image_url = self.gift_image_url

        points_spent = self.points_spent

        sar_value: float | int | None
        sar_value = self.sar_value

        point_id = self.point_id

        redemption_value: None | str
        redemption_value = self.redemption_value

        order_status = self.order_status

        delivery_status: None | str
        delivery_status = self.delivery_status

        customer_name: None | str
        customer_name = self.customer_name

        customer_phone: None | str
        customer_phone = self.customer_phone

        delivery_name: None | str
        delivery_name = self.delivery_name

        delivery_phone: None | str
        delivery_phone = self.delivery_phone

        delivery_city: None | str
        delivery_city = self.delivery_city

        delivery_address: None | str
        delivery_address = self.delivery_address

        created_at: None | str
        if isinstance(self.created_at, datetime.datetime):
            created_at = self.created_at.isoformat()
        else:
            created_at = self.created_at

        completed_at: None | str
        if isinstance(self.completed_at, datetime.datetime):
            completed_at = self.completed_at.isoformat()
        else:
            completed_at = self.completed_at

        cancelled_at: None | str
        if isinstance(self.cancelled_at, datetime.datetime):
            cancelled_at = self.cancelled_at.isoformat()
        else:
            cancelled_at = self.cancelled_at

        redemption_message: None | str
        redemption_message = self.redemption_message

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "giftId": gift_id,
                "userId": user_id,
                "giftName": gift_name,
                "giftImageUrl": gift_image_url,
                "pointsSpent": points_spent,
                "sarValue": sar_value,
                "pointId": point_id,
                "redemptionValue": redemption_value,
                "orderStatus": order_status,
                "deliveryStatus": delivery_status,
                "customerName": customer_name,
                "customerPhone": customer_phone,
                "deliveryName": delivery_name,
                "deliveryPhone": delivery_phone,
                "deliveryCity": delivery_city,
                "deliveryAddress": delivery_address,
                "createdAt": created_at,
                "completedAt": completed_at,
                "cancelledAt": cancelled_at,
                "redemptionMessage": redemption_message,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        gift_id = d.pop("giftId")

        user_id = d.pop("userId")

        gift_name = d.pop("giftName")

        def _parse_gift_image_url(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        gift_image_url = _parse_gift_image_url(d.pop("giftImageUrl"))

        points_spent = d.pop("pointsSpent")

        def _parse_sar_value(data: object) -> float | int | None:
            if data is None:
                return data
            return cast(float | int | None, data)

        sar_value = _parse_sar_value(d.pop("sarValue"))

        point_id = d.pop("pointId")

        def _parse_redemption_value(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        redemption_value = _parse_redemption_value(d.pop("redemptionValue"))

        order_status = d.pop("orderStatus")

        def _parse_delivery_status(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        delivery_status = _parse_delivery_status(d.pop("deliveryStatus"))

        def _parse_customer_name(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        customer_name = _parse_customer_name(d.pop("customerName"))

        def _parse_customer_phone(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        customer_phone = _parse_customer_phone(d.pop("customerPhone"))

        def _parse_delivery_name(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        delivery_name = _parse_delivery_name(d.pop("deliveryName"))

        def _parse_delivery_phone(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        delivery_phone = _parse_delivery_phone(d.pop("deliveryPhone"))

        def _parse_delivery_city(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        delivery_city = _parse_delivery_city(d.pop("deliveryCity"))

        def _parse_delivery_address(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        delivery_address = _parse_delivery_address(d.pop("deliveryAddress"))

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

        def _parse_completed_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                completed_at_type_0 = datetime.datetime.fromisoformat(data)

                return completed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        completed_at = _parse_completed_at(d.pop("completedAt"))

        def _parse_cancelled_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                cancelled_at_type_0 = datetime.datetime.fromisoformat(data)

                return cancelled_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        cancelled_at = _parse_cancelled_at(d.pop("cancelledAt"))

        def _parse_redemption_message(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        redemption_message = _parse_redemption_message(d.pop("redemptionMessage"))

        gift_redemption = cls(
            id=id,
            gift_id=gift_id,
            user_id=user_id,
            gift_name=gift_name,
            gift_image_url=gift_image_url,
            points_spent=points_spent,
            sar_value=sar_value,
            point_id=point_id,
            redemption_value=redemption_value,
            order_status=order_status,
            delivery_status=delivery_status,
            customer_name=customer_name,
            customer_phone=customer_phone,
            delivery_name=delivery_name,
            delivery_phone=delivery_phone,
            delivery_city=delivery_city,
            delivery_address=delivery_address,
            created_at=created_at,
            completed_at=completed_at,
            cancelled_at=cancelled_at,
            redemption_message=redemption_message,
        )

        gift_redemption.additional_properties = d
        return gift_redemption

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
