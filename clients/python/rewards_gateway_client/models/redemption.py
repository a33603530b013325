from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.customer_info import CustomerInfo
    from ..models.failure import Failure
    from ..models.fulfillment_result import FulfillmentResult
    from ..models.offer import Offer
    from ..models.redemption_trigger_details_type_0 import RedemptionTriggerDetailsType0
    from ..models.review_state import ReviewState
    from ..models.shipping_address import ShippingAddress


T = TypeVar("T", bound="Redemption")


@_attrs_define
class Redemption:
    """
    Attributes:
        id (str):
        number (int):
        player_id (str):
        offer (Offer):
        variant_id (None | str):
        rounds (int | None):
        status (str): SUBMITTED, OPEN, AWAITING_APPROVAL (paid, held for an operator's review), AWAITING_VENDOR,
            AWAITING_CUSTOMER, PURCHASED, COMPLETED, CANCELED or FAILED
        delivery_status (None | str):
        points_price (int):
        point_type (str):
        scale (int):
        display (str): pointsPrice as a decimal string
        fulfillment (FulfillmentResult):
        failure (Failure | None):
        shipping_address (None | ShippingAddress):
        customer_info (CustomerInfo | None):
        comment (None | str):
        trigger_source (None | str):
        trigger_details (None | RedemptionTriggerDetailsType0):
        transaction_id (int | None):
        balance_after (int | None):
        redemption_message (None | str):
        created_at (datetime.datetime | None):
        updated_at (datetime.datetime | None):
        completed_at (datetime.datetime | None):
        canceled_at (datetime.datetime | None):
        start_at (datetime.datetime | None | Unset):
        end_at (datetime.datetime | None | Unset):
        review (None | ReviewState | Unset): set when it was held for review
    """

    id: str
    number: int
    player_id: str
    offer: Offer
    variant_id: None | str
    rounds: int | None
    status: str
    delivery_status: None | str
    points_price: int
    point_type: str
    scale: int
    display: str
    fulfillment: FulfillmentResult
    failure: Failure | None
    shipping_address: None | ShippingAddress
    customer_info: CustomerInfo | None
    comment: None | str
    trigger_source: None | str
    trigger_details: None | RedemptionTriggerDetailsType0
    transaction_id: int | None
    balance_after: int | None
    redemption_message: None | str
    created_at: datetime.datetime | None
    updated_at: datetime.datetime | None
    completed_at: datetime.datetime | None
    canceled_at: datetime.datetime | None
    start_at: datetime.datetime | None | Unset = UNSET
    end_at: datetime.datetime | None | Unset = UNSET
    review: None | ReviewState | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.customer_info import CustomerInfo  # noqa: PLC0415
        from ..models.failure import Failure  # noqa: PLC0415
        from ..models.redemption_trigger_details_type_0 import RedemptionTriggerDetailsType0  # noqa: PLC0415
        from ..models.review_state import ReviewState  # noqa: PLC0415
        from ..models.shipping_address import ShippingAddress  # noqa: PLC0415

        id = self.id

        number = self.number

        player_id = self.player_id

        offer = self.offer.to_dict()

        variant_id: None | str
        variant_id = self.variant_id

        rounds: int | None
        rounds = self.rounds

        status = self.status

        delivery_status: None | str
        delivery_status = self.delivery_status

        points_price = self.points_price

        point_type = self.point_type

        scale = self.scale

        display = self.display

        fulfillment = self.fulfillment.to_dict()

        failure: dict[str, Any] | None
        if isinstance(self.failure, Failure):
            failure = self.failure.to_dict()
        else:
            failure = self.failure

        shipping_address: dict[str, Any] | None
        if isinstance(self.shipping_address, ShippingAddress):
            shipping_address = self.shipping_address.to_dict()
        else:
            shipping_address = self.shipping_address

        customer_info: dict[str, Any] | None
        if isinstance(self.customer_info, CustomerInfo):
            customer_info = self.customer_info.to_dict()
        else:
            customer_info = self.customer_info

        comment: None | str
        comment = self.comment

        trigger_source: None | str
        trigger_source = self.trigger_source

        trigger_details: dict[str, Any] | None
        if isinstance(self.trigger_details, RedemptionTriggerDetailsType0):
            trigger_details = self.trigger_details.to_dict()
        else:
            trigger_details = self.trigger_details

        transaction_id: int | None
        transaction_id = self.transaction_id

        balance_after: int | None
        balance_after = self.balance_after

        redemption_message: None | str
        redemption_message = self.redemption_message

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

        completed_at: None | str
        if isinstance(self.completed_at, datetime.datetime):
            completed_at = self.completed_at.isoformat()
        else:
            completed_at = self.completed_at

        canceled_at: None | str
        if isinstance(self.canceled_at, datetime.datetime):
            canceled_at = self.canceled_at.isoformat()
        else:
            canceled_at = self.canceled_at

        start_at: None | str | Unset
        if isinstance(self.start_at, Unset):
            start_at = UNSET
        elif isinstance(self.start_at, datetime.datetime):
            start_at = self.start_at.isoformat()
        else:
            start_at = self.start_at

        end_at: None | str | Unset
        if isinstance(self.end_at, Unset):
            end_at = UNSET
        elif isinstance(self.end_at, datetime.datetime):
            end_at = self.end_at.isoformat()
        else:
            end_at = self.end_at

        review: dict[str, Any] | None | Unset
        if isinstance(self.review, Unset):
            review = UNSET
        elif isinstance(self.review, ReviewState):
            review = self.review.to_dict()
        else:
            review = self.review

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "number": number,
                "playerId": player_id,
                "offer": offer,
                "variantId": variant_id,
                "rounds": rounds,
                "status": status,
                "deliveryStatus": delivery_status,
                "pointsPrice": points_price,
                "pointType": point_type,
                "scale": scale,
                "display": display,
                "fulfillment": fulfillment,
                "failure": failure,
                "shippingAddress": shipping_address,
                "customerInfo": customer_info,
                "comment": comment,
                "triggerSource": trigger_source,
                "triggerDetails": trigger_details,
                "transactionId": transaction_id,
                "balanceAfter": balance_after,
                "redemptionMessage": redemption_message,
                "createdAt": created_at,
                "updatedAt": updated_at,
                "completedAt": completed_at,
                "canceledAt": canceled_at,
            }
        )
        if start_at is not UNSET:
            field_dict["startAt"] = start_at
        if end_at is not UNSET:
            field_dict["endAt"] = end_at
        if review is not UNSET:
            field_dict["review"] = review

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.customer_info import CustomerInfo  # noqa: PLC0415
        from ..models.failure import Failure  # noqa: PLC0415
        from ..models.fulfillment_result import FulfillmentResult  # noqa: PLC0415
        from ..models.offer import Offer  # noqa: PLC0415
        from ..models.redemption_trigger_details_type_0 import RedemptionTriggerDetailsType0  # noqa: PLC0415
        from ..models.review_state import ReviewState  # noqa: PLC0415
        from ..models.shipping_address import ShippingAddress  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        number = d.pop("number")

        player_id = d.pop("playerId")

        offer = Offer.from_dict(d.pop("offer"))

        def _parse_variant_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        variant_id = _parse_variant_id(d.pop("variantId"))

        def _parse_rounds(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        rounds = _parse_rounds(d.pop("rounds"))

        status = d.pop("status")

        def _parse_delivery_status(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        delivery_status = _parse_delivery_status(d.pop("deliveryStatus"))

        points_price = d.pop("pointsPrice")

        point_type = d.pop("pointType")

        scale = d.pop("scale")

        display = d.pop("display")

        fulfillment = FulfillmentResult.from_dict(d.pop("fulfillment"))

        def _parse_failure(data: object) -> Failure | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                failure_type_0 = Failure.from_dict(data)

                return failure_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Failure | None, data)

        failure = _parse_failure(d.pop("failure"))

        def _parse_shipping_address(data: object) -> None | ShippingAddress:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                shipping_address_type_0 = ShippingAddress.from_dict(data)

                return shipping_address_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ShippingAddress, data)

        shipping_address = _parse_shipping_address(d.pop("shippingAddress"))

        def _parse_customer_info(data: object) -> CustomerInfo | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                customer_info_type_0 = CustomerInfo.from_dict(data)

                return customer_info_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CustomerInfo | None, data)

        customer_info = _parse_customer_info(d.pop("customerInfo"))

        def _parse_comment(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        comment = _parse_comment(d.pop("comment"))

        def _parse_trigger_source(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        trigger_source = _parse_trigger_source(d.pop("triggerSource"))

        def _parse_trigger_details(data: object) -> None | RedemptionTriggerDetailsType0:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                trigger_details_type_0 = RedemptionTriggerDetailsType0.from_dict(data)

                return trigger_details_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RedemptionTriggerDetailsType0, data)

        trigger_details = _parse_trigger_details(d.pop("triggerDetails"))

        def _parse_transaction_id(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        transaction_id = _parse_transaction_id(d.pop("transactionId"))

        def _parse_balance_after(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        balance_after = _parse_balance_after(d.pop("balanceAfter"))

        def _parse_redemption_message(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        redemption_message = _parse_redemption_message(d.pop("redemptionMessage"))

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

        def _parse_canceled_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                canceled_at_type_0 = datetime.datetime.fromisoformat(data)

                return canceled_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        canceled_at = _parse_canceled_at(d.pop("canceledAt"))

        def _parse_start_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                start_at_type_0 = datetime.datetime.fromisoformat(data)

                return start_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        start_at = _parse_start_at(d.pop("startAt", UNSET))

        def _parse_end_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                end_at_type_0 = datetime.datetime.fromisoformat(data)

                return end_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        end_at = _parse_end_at(d.pop("endAt", UNSET))

        def _parse_review(data: object) -> None | ReviewState | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                review_type_0 = ReviewState.from_dict(data)

                return review_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ReviewState | Unset, data)

        review = _parse_review(d.pop("review", UNSET))

        redemption = cls(
            id=id,
            number=number,
            player_id=player_id,
            offer=offer,
            variant_id=variant_id,
            rounds=rounds,
            status=status,
            delivery_status=delivery_status,
            points_price=points_price,
            point_type=point_type,
            scale=scale,
            display=display,
            fulfillment=fulfillment,
            failure=failure,
            shipping_address=shipping_address,
            customer_info=customer_info,
            comment=comment,
            trigger_source=trigger_source,
            trigger_details=trigger_details,
            transaction_id=transaction_id,
            balance_after=balance_after,
            redemption_message=redemption_message,
            created_at=created_at,
            updated_at=updated_at,
            completed_at=completed_at,
            canceled_at=canceled_at,
            start_at=start_at,
            end_at=end_at,
            review=review,
        )

        redemption.additional_properties = d
        return redemption

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
