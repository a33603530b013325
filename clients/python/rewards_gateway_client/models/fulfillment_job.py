from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="FulfillmentJob")


@_attrs_define
class FulfillmentJob:
    """
    Attributes:
        redemption_id (str):
        item_id (str):
        strategy (str): code_pool, webhook, physical, bonus, free_rounds or manual
        state (str): PENDING, RUNNING, WAITING, SUCCEEDED or FAILED
        attempts (int):
        last_error (None | str):
        next_attempt_at (datetime.datetime | None):
        delivery_status (None | str):
        tracking_number (None | str):
        created_at (datetime.datetime | None):
        updated_at (datetime.datetime | None):
    """

    redemption_id: str
    item_id: str
    strategy: str
    state: str
    attempts: int
    last_error: None | str
    next_attempt_at: datetime.datetime | None
    delivery_status: None | str
    tracking_number: None | str
    created_at: datetime.datetime | None
    updated_at: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        redemption_id = self.redemption_id

        item_id = self.item_id

        strategy = self.strategy

        state = self.state

        attempts = self.attempts

        last_error: None | str
        last_error = self.last_error

        next_attempt_at: None | str
        if isinstance(self.next_attempt_at, datetime.datetime):
            next_attempt_at = self.next_attempt_at.isoformat()
        else:
            next_attempt_at = self.next_attempt_at

        delivery_status: None | str
        delivery_status = self.delivery_status

        tracking_number: None | str
        tracking_number = self.tracking_number

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

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "redemptionId": redemption_id,
                "itemId": item_id,
                "strategy": strategy,
                "state": state,
                "attempts": attempts,
                "lastError": last_error,
                "nextAttemptAt": next_attempt_at,
                "deliveryStatus": delivery_status,
                "trackingNumber": tracking_number,
                "createdAt": created_at,
                "updatedAt": updated_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        redemption_id = d.pop("redemptionId")

        item_id = d.pop("itemId")

        strategy = d.pop("strategy")

        state = d.pop("state")

        attempts = d.pop("attempts")

        def _parse_last_error(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        last_error = _parse_last_error(d.pop("lastError"))

        def _parse_next_attempt_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                next_attempt_at_type_0 = datetime.datetime.fromisoformat(data)

                return next_attempt_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        next_attempt_at = _parse_next_attempt_at(d.pop("nextAttemptAt"))

        def _parse_delivery_status(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        delivery_status = _parse_delivery_status(d.pop("deliveryStatus"))

        def _parse_tracking_number(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        tracking_number = _parse_tracking_number(d.pop("trackingNumber"))

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

        fulfillment_job = cls(
            redemption_id=redemption_id,
            item_id=item_id,
            strategy=strategy,
            state=state,
            attempts=attempts,
            last_error=last_error,
            next_attempt_at=next_attempt_at,
            delivery_status=delivery_status,
            tracking_number=tracking_number,
            created_at=created_at,
            updated_at=updated_at,
        )

        fulfillment_job.additional_properties = d
        return fulfillment_job

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
