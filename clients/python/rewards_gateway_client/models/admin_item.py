from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.admin_item_fulfillment_config_type_0 import AdminItemFulfillmentConfigType0
    from ..models.price import Price
    from ..models.targeting import Targeting
    from ..models.variant import Variant


T = TypeVar("T", bound="AdminItem")


@_attrs_define
class AdminItem:
    """An item as an operator sees it: everything, including targeting and how it is fulfilled.

    Attributes:
        id (str):
        name (str):
        description (str):
        image_url (None | str):
        points_price (int | None): the default price, in minor units of pointType
        point_type (None | str):
        prices (list[Price]):
        variants (list[Variant]):
        unlimited_stock (bool):
        stock (int | None): left to redeem; null when unlimited
        per_player_limit (int | None): null: no limit
        available_from (datetime.datetime | None):
        available_until (datetime.datetime | None):
        shipping_address_required (bool):
        customer_info_required (bool):
        redemption_message (None | str):
        face_value (int | None):
        face_currency (None | str):
        status (str):
        targeting (Targeting):
        fulfillment_strategy (None | str):
        fulfillment_config (AdminItemFulfillmentConfigType0 | None):
        low_stock_threshold (int | None): counted stock below this is low (an item.stock_low event when a change crosses
            it); null: the catalog's LOW_STOCK_THRESHOLD
        created_at (datetime.datetime | None):
        updated_at (datetime.datetime | None):
        redeemed_count (int | None | Unset):
    """

    id: str
    name: str
    description: str
    image_url: None | str
    points_price: int | None
    point_type: None | str
    prices: list[Price]
    variants: list[Variant]
    unlimited_stock: bool
    stock: int | None
    per_player_limit: int | None
    available_from: datetime.datetime | None
    available_until: datetime.datetime | None
    shipping_address_required: bool
    customer_info_required: bool
    redemption_message: None | str
    face_value: int | None
    face_currency: None | str
    status: str
    targeting: Targeting
    fulfillment_strategy: None | str
    fulfillment_config: AdminItemFulfillmentConfigType0 | None
    low_stock_threshold: int | None
    created_at: datetime.datetime | None
    updated_at: datetime.datetime | None
    redeemed_count: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.admin_item_fulfillment_config_type_0 import AdminItemFulfillmentConfigType0  # noqa: PLC0415

        id = self.id

        name = self.name

        description = self.description

        image_url: None | str
        image_url = self.image_url

        points_price: int | None
        points_price = self.points_price

        point_type: None | str
        point_type = self.point_type

        prices = []
        for prices_item_data in self.prices:
            prices_item = prices_item_data.to_dict()
            prices.append(prices_item)

        variants = []
        for variants_item_data in self.variants:
            variants_item = variants_item_data.to_dict()
            variants.append(variants_item)

        unlimited_stock = self.unlimited_stock

        stock: int | None
        stock = self.stock

        per_player_limit: int | None
        per_player_limit = self.per_player_limit

        available_from: None | str
        if isinstance(self.available_from, datetime.datetime):
            available_from = self.available_from.isoformat()
        else:
            available_from = self.available_from

        available_until: None | str
        if isinstance(self.available_until, datetime.datetime):
            available_until = self.available_until.isoformat()
        else:
            available_until = self.available_until

        shipping_address_required = self.shipping_address_required

        customer_info_required = self.customer_info_required

        redemption_message: None | str
        redemption_message = self.redemption_message

        face_value: int | None
        face_value = self.face_value

        face_currency: None | str
        face_currency = self.face_currency

        status = self.status

        targeting = self.targeting.to_dict()

        fulfillment_strategy: None | str
        fulfillment_strategy = self.fulfillment_strategy

        fulfillment_config: dict[str, Any] | None
        if isinstance(self.fulfillment_config, AdminItemFulfillmentConfigType0):
            fulfillment_config = self.fulfillment_config.to_dict()
        else:
            fulfillment_config = self.fulfillment_config

        low_stock_threshold: int | None
        low_stock_threshold = self.low_stock_threshold

        created_at: None | str
        if isinstance(self.created_at, datetime.datetime):
            created_at = self.created_at.isoformat()
        else:
            created_at = self.created_at

        updated_at: None | str
        if isinstance(self.updated_at, datetime.datetime):
            updated_at = self.updated_at.isoformat()
        else:
            updated_at = self.updated_at

        redeemed_count: int | None | Unset
        if isinstance(self.redeemed_count, Unset):
            redeemed_count = UNSET
        else:
            redeemed_count = self.redeemed_count

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "name": name,
                "description": description,
                "imageUrl": image_url,
                "pointsPrice": points_price,
                "pointType": point_type,
                "prices": prices,
                "variants": variants,
                "unlimitedStock": unlimited_stock,
                "stock": stock,
                "perPlayerLimit": per_player_limit,
                "availableFrom": available_from,
                "availableUntil": available_until,
                "shippingAddressRequired": shipping_address_required,
                "customerInfoRequired": customer_info_required,
                "redemptionMessage": redemption_message,
                "faceValue": face_value,
                "faceCurrency": face_currency,
                "status": status,
                "targeting": targeting,
                "fulfillmentStrategy": fulfillment_strategy,
                "fulfillmentConfig": fulfillment_config,
                "lowStockThreshold": low_stock_threshold,
                "createdAt": created_at,
                "updatedAt": updated_at,
            }
        )
        if redeemed_count is not UNSET:
            field_dict["redeemedCount"] = redeemed_count

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.admin_item_fulfillment_config_type_0 import AdminItemFulfillmentConfigType0  # noqa: PLC0415
        from ..models.price import Price  # noqa: PLC0415
        from ..models.targeting import Targeting  # noqa: PLC0415
        from ..models.variant import Variant  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name")

        description = d.pop("description")

        def _parse_image_url(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        image_url = _parse_image_url(d.pop("imageUrl"))

        def _parse_points_price(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        points_price = _parse_points_price(d.pop("pointsPrice"))

        def _parse_point_type(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        point_type = _parse_point_type(d.pop("pointType"))

        prices = []
        _prices = d.pop("prices")
        for prices_item_data in _prices:
            prices_item = Price.from_dict(prices_item_data)

            prices.append(prices_item)

        variants = []
        _variants = d.pop("variants")
        for variants_item_data in _variants:
            variants_item = Variant.from_dict(variants_item_data)

            variants.append(variants_item)

        unlimited_stock = d.pop("unlimitedStock")

        def _parse_stock(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        stock = _parse_stock(d.pop("stock"))

        def _parse_per_player_limit(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        per_player_limit = _parse_per_player_limit(d.pop("perPlayerLimit"))

        def _parse_available_from(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                available_from_type_0 = datetime.datetime.fromisoformat(data)

                return available_from_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        available_from = _parse_available_from(d.pop("availableFrom"))

        def _parse_available_until(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                available_until_type_0 = datetime.datetime.fromisoformat(data)

                return available_until_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        available_until = _parse_available_until(d.pop("availableUntil"))

        shipping_address_required = d.pop("shippingAddressRequired")

        customer_info_required = d.pop("customerInfoRequired")

        def _parse_redemption_message(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        redemption_message = _parse_redemption_message(d.pop("redemptionMessage"))

        def _parse_face_value(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        face_value = _parse_face_value(d.pop("faceValue"))

        def _parse_face_currency(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        face_currency = _parse_face_currency(d.pop("faceCurrency"))

        status = d.pop("status")

        targeting = Targeting.from_dict(d.pop("targeting"))

        def _parse_fulfillment_strategy(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        fulfillment_strategy = _parse_fulfillment_strategy(d.pop("fulfillmentStrategy"))

        def _parse_fulfillment_config(data: object) -> AdminItemFulfillmentConfigType0 | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                fulfillment_config_type_0 = AdminItemFulfillmentConfigType0.from_dict(data)

                return fulfillment_config_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(AdminItemFulfillmentConfigType0 | None, data)

        fulfillment_config = _parse_fulfillment_config(d.pop("fulfillmentConfig"))

        def _parse_low_stock_threshold(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        low_stock_threshold = _parse_low_stock_threshold(d.pop("lowStockThreshold"))

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

        def _parse_updated_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                updated_at_type_0 = datetime.datetime.fromisoformat(data)

                return updated_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        updated_at = _parse_updated_at(d.pop("updatedAt"))

        def _parse_redeemed_count(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        redeemed_count = _parse_redeemed_count(d.pop("redeemedCount", UNSET))

        admin_item = cls(
            id=id,
            name=name,
            description=description,
            image_url=image_url,
            points_price=points_price,
            point_type=point_type,
            prices=prices,
            variants=variants,
            unlimited_stock=unlimited_stock,
            stock=stock,
            per_player_limit=per_player_limit,
            available_from=available_from,
            available_until=available_until,
            shipping_address_required=shipping_address_required,
            customer_info_required=customer_info_required,
            redemption_message=redemption_message,
            face_value=face_value,
            face_currency=face_currency,
            status=status,
            targeting=targeting,
            fulfillment_strategy=fulfillment_strategy,
            fulfillment_config=fulfillment_config,
            low_stock_threshold=low_stock_threshold,
            created_at=created_at,
            updated_at=updated_at,
            redeemed_count=redeemed_count,
        )

        admin_item.additional_properties = d
        return admin_item

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
