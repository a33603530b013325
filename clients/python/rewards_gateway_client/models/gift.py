from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.point_option import PointOption


T = TypeVar("T", bound="Gift")


@_attrs_define
class Gift:
    """
    Attributes:
        id (str):
        name (str):
        description (str):
        image_url (None | str):
        point_id (None | str): the default point type: used when a redeem omits pointId
        points (int | None): the price in pointId
        point_options (list[PointOption]): every eligible point type and its price
        sar_value (float | int | None): the face value, in units of faceCurrency
        face_currency (None | str):
        stock (int | None): left to redeem; null when unlimited
        max_redeem_per_user (int | None): null: no limit
        collect_customer_info (bool): true: redeem needs customerName and customerPhone
        delivery_required (bool): true: redeem needs deliveryName, deliveryPhone, deliveryCity and deliveryAddress
        status (str): always Active: a user is shown only gifts they may redeem now
        start_date (datetime.datetime | None):
        expiry_date (datetime.datetime | None):
        redemption_message (None | str):
        user_redeemed_count (int | None | Unset): gift details only
    """

    id: str
    name: str
    description: str
    image_url: None | str
    point_id: None | str
    points: int | None
    point_options: list[PointOption]
    sar_value: float | int | None
    face_currency: None | str
    stock: int | None
    max_redeem_per_user: int | None
    collect_customer_info: bool
    delivery_required: bool
    status: str
    start_date: datetime.datetime | None
    expiry_date: datetime.datetime | None
    redemption_message: None | str
    user_redeemed_count: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        name = self.name

        description = self.description

        image_url: None | str
        image_url = self.image_url

        point_id: None | str
        point_id = self.point_id

        points: int | None
        points = self.points

        point_options = []
        for point_options_item_data in self.point_options:
            point_options_item = point_options_item_data.to_dict()
            point_options.append(point_options_item)

        sar_value: float | int | None
        sar_value = self.sar_value

        face_currency: None | str
        face_currency = self.face_currency

        stock: int | None
        stock = self.stock

        max_redeem_per_user: int | None
        max_redeem_per_user = self.max_redeem_per_user

        collect_customer_info = self.collect_customer_info

        delivery_required = self.delivery_required

        status = self.status

        start_date: None | str
        if isinstance(self.start_date, datetime.datetime):
            start_date = self.start_date.isoformat()
        else:
            start_date = self.start_date

        expiry_date: None | str
        if isinstance(self.expiry_date, datetime.datetime):
            expiry_date = self.expiry_date.isoformat()
        else:
            expiry_date = self.expiry_date

        redemption_message: None | str
        redemption_message = self.redemption_message

        user_redeemed_count: int | None | Unset
        if isinstance(self.user_redeemed_count, Unset):
            user_redeemed_count = UNSET
        else:
            user_redeemed_count = self.user_redeemed_count

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "name": name,
                "description": description,
                "imageUrl": image_url,
                "pointId": point_id,
                "points": points,
                "pointOptions": point_options,
                "sarValue": sar_value,
                "faceCurrency": face_currency,
                "stock": stock,
                "maxRedeemPerUser": max_redeem_per_user,
                "collectCustomerInfo": collect_customer_info,
                "deliveryRequired": delivery_required,
                "status": status,
                "startDate": start_date,
                "expiryDate": expiry_date,
                "redemptionMessage": redemption_message,
            }
        )
        if user_redeemed_count is not UNSET:
            field_dict["userRedeemedCount"] = user_redeemed_count

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.point_option import PointOption  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name")

        description = d.pop("description")

        def _parse_image_url(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        image_url = _parse_image_url(d.pop("imageUrl"))

        def _parse_point_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        point_id = _parse_point_id(d.pop("pointId"))

        def _parse_points(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        points = _parse_points(d.pop("points"))

        point_options = []
        _point_options = d.pop("pointOptions")
        for point_options_item_data in _point_options:
            point_options_item = PointOption.from_dict(point_options_item_data)

            point_options.append(point_options_item)

        def _parse_sar_value(data: object) -> float | int | None:
            if data is None:
                return data
            return cast(float | int | None, data)

        sar_value = _parse_sar_value(d.pop("sarValue"))

        def _parse_face_currency(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        face_currency = _parse_face_currency(d.pop("faceCurrency"))

        def _parse_stock(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        stock = _parse_stock(d.pop("stock"))

        def _parse_max_redeem_per_user(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        max_redeem_per_user = _parse_max_redeem_per_user(d.pop("maxRedeemPerUser"))

        collect_customer_info = d.pop("collectCustomerInfo")

        delivery_required = d.pop("deliveryRequired")

        status = d.pop("status")

        def _parse_start_date(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                start_date_type_0 = datetime.datetime.fromisoformat(data)

                return start_date_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        start_date = _parse_start_date(d.pop("startDate"))

        def _parse_expiry_date(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                expiry_date_type_0 = datetime.datetime.fromisoformat(data)

                return expiry_date_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        expiry_date = _parse_expiry_date(d.pop("expiryDate"))

        def _parse_redemption_message(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        redemption_message = _parse_redemption_message(d.pop("redemptionMessage"))

        def _parse_user_redeemed_count(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        user_redeemed_count = _parse_user_redeemed_count(d.pop("userRedeemedCount", UNSET))

        gift = cls(
            id=id,
            name=name,
            description=description,
            image_url=image_url,
            point_id=point_id,
            points=points,
            point_options=point_options,
            sar_value=sar_value,
            face_currency=face_currency,
            stock=stock,
            max_redeem_per_user=max_redeem_per_user,
            collect_customer_info=collect_customer_info,
            delivery_required=delivery_required,
            status=status,
            start_date=start_date,
            expiry_date=expiry_date,
            redemption_message=redemption_message,
            user_redeemed_count=user_redeemed_count,
        )

        gift.additional_properties = d
        return gift

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
