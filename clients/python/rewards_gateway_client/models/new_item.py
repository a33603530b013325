from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.new_item_fulfillmentstrategy import NewItemFulfillmentstrategy
from ..models.new_item_status import NewItemStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.new_item_fulfillment_config_type_0 import NewItemFulfillmentConfigType0
    from ..models.price import Price
    from ..models.targeting import Targeting
    from ..models.variant import Variant


T = TypeVar("T", bound="NewItem")


@_attrs_define
class NewItem:
    """POST /v1/admin/items. id: an operator-chosen id (empty: generated).

    Attributes:
        name (str):
        prices (list[Price]):
        description (None | str | Unset):
        image_url (None | str | Unset):
        status (NewItemStatus | Unset):  Default: NewItemStatus.ACTIVE.
        available_from (datetime.datetime | None | Unset):
        available_until (datetime.datetime | None | Unset):
        variants (list[Variant] | None | Unset):
        unlimited_stock (bool | None | Unset):
        per_player_limit (int | None | Unset):
        targeting (None | Targeting | Unset):
        fulfillment_strategy (NewItemFulfillmentstrategy | Unset):  Default: NewItemFulfillmentstrategy.MANUAL.
        fulfillment_config (NewItemFulfillmentConfigType0 | None | Unset):
        shipping_address_required (bool | None | Unset):
        customer_info_required (bool | None | Unset):
        redemption_message (None | str | Unset):
        face_value (int | None | Unset):
        face_currency (None | str | Unset):
        low_stock_threshold (int | None | Unset): counted stock below this is low (item.stock_low); null: the catalog's
            LOW_STOCK_THRESHOLD
        id (str | Unset):  Default: ''.
        stock (int | Unset):  Default: 0.
    """

    name: str
    prices: list[Price]
    description: None | str | Unset = UNSET
    image_url: None | str | Unset = UNSET
    status: NewItemStatus | Unset = NewItemStatus.ACTIVE
    available_from: datetime.datetime | None | Unset = UNSET
    available_until: datetime.datetime | None | Unset = UNSET
    variants: list[Variant] | None | Unset = UNSET
    unlimited_stock: bool | None | Unset = UNSET
    per_player_limit: int | None | Unset = UNSET
    targeting: None | Targeting | Unset = UNSET
    fulfillment_strategy: NewItemFulfillmentstrategy | Unset = NewItemFulfillmentstrategy.MANUAL
    fulfillment_config: NewItemFulfillmentConfigType0 | None | Unset = UNSET
    shipping_address_required: bool | None | Unset = UNSET
    customer_info_required: bool | None | Unset = UNSET
    redemption_message: None | str | Unset = UNSET
    face_value: int | None | Unset = UNSET
    face_currency: None | str | Unset = UNSET
    low_stock_threshold: int | None | Unset = UNSET
    id: str | Unset = ""
    stock: int | Unset = 0
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.new_item_fulfillment_config_type_0 import NewItemFulfillmentConfigType0  # noqa: PLC0415
        from ..models.targeting import Targeting  # noqa: PLC0415

        name = self.name

        prices = []
        for prices_item_data in self.prices:
            prices_item = prices_item_data.to_dict()
            prices.append(prices_item)

        description: None | str | Unset
        if isinstance(self.description, Unset):
            description = UNSET
        else:
            description = self.description

        image_url: None | str | Unset
        if isinstance(self.image_url, Unset):
            image_url = UNSET
        else:
            image_url = self.image_url

        status: str | Unset = UNSET
        if not isinstance(self.status, Unset):
            status = self.status.value

        available_from: None | str | Unset
        if isinstance(self.available_from, Unset):
            available_from = UNSET
        elif isinstance(self.available_from, datetime.datetime):
            available_from = self.available_from.isoformat()
        else:
            available_from = self.available_from

        available_until: None | str | Unset
        if isinstance(self.available_until, Unset):
            available_until = UNSET
        elif isinstance(self.available_until, datetime.datetime):
            available_until = self.available_until.isoformat()
        else:
            available_until = self.available_until

        variants: list[dict[str, Any]] | None | Unset
        if isinstance(self.variants, Unset):
            variants = UNSET
        elif isinstance(self.variants, list):
            variants = []
            for variants_type_0_item_data in self.variants:
                variants_type_0_item = variants_type_0_item_data.to_dict()
                variants.append(variants_type_0_item)

        else:
            variants = self.variants

        unlimited_stock: bool | None | Unset
        if isinstance(self.unlimited_stock, Unset):
            unlimited_stock = UNSET
        else:
            unlimited_stock = self.unlimited_stock

        per_player_limit: int | None | Unset
        if isinstance(self.per_player_limit, Unset):
            per_player_limit = UNSET
        else:
            per_player_limit = self.per_player_limit

        targeting: dict[str, Any] | None | Unset
        if isinstance(self.targeting, Unset):
            targeting = UNSET
        elif isinstance(self.targeting, Targeting):
            targeting = self.targeting.to_dict()
        else:
            targeting = self.targeting

        fulfillment_strategy: str | Unset = UNSET
        if not isinstance(self.fulfillment_strategy, Unset):
            fulfillment_strategy = self.fulfillment_strategy.value

        fulfillment_config: dict[str, Any] | None | Unset
        if isinstance(self.fulfillment_config, Unset):
            fulfillment_config = UNSET
        elif isinstance(self.fulfillment_config, NewItemFulfillmentConfigType0):
            fulfillment_config = self.fulfillment_config.to_dict()
        else:
            fulfillment_config = self.fulfillment_config

        shipping_address_required: bool | None | Unset
        if isinstance(self.shipping_address_required, Unset):
            shipping_address_required = UNSET
        else:
            shipping_address_required = self.shipping_address_required

        customer_info_required: bool | None | Unset
        if isinstance(self.customer_info_required, Unset):
            customer_info_required = UNSET
        else:
            customer_info_required = self.customer_info_required

        redemption_message: None | str | Unset
        if isinstance(self.redemption_message, Unset):
            redemption_message = UNSET
        else:
            redemption_message = self.redemption_message

        face_value: int | None | Unset
        if isinstance(self.face_value, Unset):
            face_value = UNSET
        else:
            face_value = self.face_value

        face_currency: None | str | Unset
        if isinstance(self.face_currency, Unset):
            face_currency = UNSET
        else:
            face_currency = self.face_currency

        low_stock_threshold: int | None | Unset
        if isinstance(self.low_stock_threshold, Unset):
            low_stock_threshold = UNSET
        else:
            low_stock_threshold = self.low_stock_threshold

        id = self.id

        stock = self.stock

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "prices": prices,
            }
        )
        if description is not UNSET:
            field_dict["description"] = description
        if image_url is not UNSET:
            field_dict["imageUrl"] = image_url
        if status is not UNSET:
            field_dict["status"] = status
        if available_from is not UNSET:
            field_dict["availableFrom"] = available_from
        if available_until is not UNSET:
            field_dict["availableUntil"] = available_until
        if variants is not UNSET:
            field_dict["variants"] = variants
        if unlimited_stock is not UNSET:
            field_dict["unlimitedStock"] = unlimited_stock
        if per_player_limit is not UNSET:
            field_dict["perPlayerLimit"] = per_player_limit
        if targeting is not UNSET:
            field_dict["targeting"] = targeting
        if fulfillment_strategy is not UNSET:
            field_dict["fulfillmentStrategy"] = fulfillment_strategy
        if fulfillment_config is not UNSET:
            field_dict["fulfillmentConfig"] = fulfillment_config
        if shipping_address_required is not UNSET:
            field_dict["shippingAddressRequired"] = shipping_address_required
        if customer_info_required is not UNSET:
            field_dict["customerInfoRequired"] = customer_info_required
        if redemption_message is not UNSET:
            field_dict["redemptionMessage"] = redemption_message
        if face_value is not UNSET:
            field_dict["faceValue"] = face_value
        if face_currency is not UNSET:
            field_dict["faceCurrency"] = face_currency
        if low_stock_threshold is not UNSET:
            field_dict["lowStockThreshold"] = low_stock_threshold
        if id is not UNSET:
            field_dict["id"] = id
        if stock is not UNSET:
            field_dict["stock"] = stock

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.new_item_fulfillment_config_type_0 import NewItemFulfillmentConfigType0  # noqa: PLC0415
        from ..models.price import Price  # noqa: PLC0415
        from ..models.targeting import Targeting  # noqa: PLC0415
        from ..models.variant import Variant  # noqa: PLC0415

        d = dict(src_dict)
        name = d.pop("name")

        prices = []
        _prices = d.pop("prices")
        for prices_item_data in _prices:
            prices_item = Price.from_dict(prices_item_data)

            prices.append(prices_item)

        def _parse_description(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        description = _parse_description(d.pop("description", UNSET))

        def _parse_image_url(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        image_url = _parse_image_url(d.pop("imageUrl", UNSET))

        _status = d.pop("status", UNSET)
        status: NewItemStatus | Unset
        if isinstance(_status, Unset):
            status = UNSET
        else:
            status = NewItemStatus(_status)

        def _parse_available_from(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                available_from_type_0 = datetime.datetime.fromisoformat(data)

                return available_from_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        available_from = _parse_available_from(d.pop("availableFrom", UNSET))

        def _parse_available_until(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                available_until_type_0 = datetime.datetime.fromisoformat(data)

                return available_until_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        available_until = _parse_available_until(d.pop("availableUntil", UNSET))

        def _parse_variants(data: object) -> list[Variant] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                variants_type_0 = []
                _variants_type_0 = data
                for variants_type_0_item_data in _variants_type_0:
                    variants_type_0_item = Variant.from_dict(variants_type_0_item_data)

                    variants_type_0.append(variants_type_0_item)

                return variants_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[Variant] | None | Unset, data)

        variants = _parse_variants(d.pop("variants", UNSET))

        def _parse_unlimited_stock(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        unlimited_stock = _parse_unlimited_stock(d.pop("unlimitedStock", UNSET))

        def _parse_per_player_limit(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        per_player_limit = _parse_per_player_limit(d.pop("perPlayerLimit", UNSET))

        def _parse_targeting(data: object) -> None | Targeting | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                targeting_type_0 = Targeting.from_dict(data)

                return targeting_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Targeting | Unset, data)

        targeting = _parse_targeting(d.pop("targeting", UNSET))

        _fulfillment_strategy = d.pop("fulfillmentStrategy", UNSET)
        fulfillment_strategy: NewItemFulfillmentstrategy | Unset
        if isinstance(_fulfillment_strategy, Unset):
            fulfillment_strategy = UNSET
        else:
            fulfillment_strategy = NewItemFulfillmentstrategy(_fulfillment_strategy)

        def _parse_fulfillment_config(data: object) -> NewItemFulfillmentConfigType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                fulfillment_config_type_0 = NewItemFulfillmentConfigType0.from_dict(data)

                return fulfillment_config_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(NewItemFulfillmentConfigType0 | None | Unset, data)

        fulfillment_config = _parse_fulfillment_config(d.pop("fulfillmentConfig", UNSET))

        def _parse_shipping_address_required(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        shipping_address_required = _parse_shipping_address_required(d.pop("shippingAddressRequired", UNSET))

        def _parse_customer_info_required(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        customer_info_required = _parse_customer_info_required(d.pop("customerInfoRequired", UNSET))

        def _parse_redemption_message(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        redemption_message = _parse_redemption_message(d.pop("redemptionMessage", UNSET))

        def _parse_face_value(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        face_value = _parse_face_value(d.pop("faceValue", UNSET))

        def _parse_face_currency(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        face_currency = _parse_face_currency(d.pop("faceCurrency", UNSET))

        def _parse_low_stock_threshold(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        low_stock_threshold = _parse_low_stock_threshold(d.pop("lowStockThreshold", UNSET))

        id = d.pop("id", UNSET)

        stock = d.pop("stock", UNSET)

        new_item = cls(
            name=name,
            prices=prices,
            description=description,
            image_url=image_url,
            status=status,
            available_from=available_from,
            available_until=available_until,
            variants=variants,
            unlimited_stock=unlimited_stock,
            per_player_limit=per_player_limit,
            targeting=targeting,
            fulfillment_strategy=fulfillment_strategy,
            fulfillment_config=fulfillment_config,
            shipping_address_required=shipping_address_required,
            customer_info_required=customer_info_required,
            redemption_message=redemption_message,
            face_value=face_value,
            face_currency=face_currency,
            low_stock_threshold=low_stock_threshold,
            id=id,
            stock=stock,
        )

        new_item.additional_properties = d
        return new_item

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
