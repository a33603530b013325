from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="WebhookAttempt")


@_attrs_define
class WebhookAttempt:
    """
    Attributes:
        event_id (str): the webhook-id header (the event's id)
        attempt (int): of its delivery, from 1 (a resend starts again at 1)
        attempted_at (datetime.datetime):
        status_code (int): the answer's HTTP status; 0: no answer (see error)
        latency_ms (int):
        error (str):
    """

    event_id: str
    attempt: int
    attempted_at: datetime.datetime
    status_code: int
    latency_ms: int
    error: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        event_id = self.event_id

        attempt = self.attempt

        attempted_at = self.attempted_at.isoformat()

        status_code = self.status_code

        latency_ms = self.latency_ms

        error = self.error

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "eventId": event_id,
                "attempt": attempt,
                "attemptedAt": attempted_at,
                "statusCode": status_code,
                "latencyMs": latency_ms,
                "error": error,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        event_id = d.pop("eventId")

        attempt = d.pop("attempt")

        attempted_at = datetime.datetime.fromisoformat(d.pop("attemptedAt"))

        status_code = d.pop("statusCode")

        latency_ms = d.pop("latencyMs")

        error = d.pop("error")

        webhook_attempt = cls(
            event_id=event_id,
            attempt=attempt,
            attempted_at=attempted_at,
            status_code=status_code,
            latency_ms=latency_ms,
            error=error,
        )

        webhook_attempt.additional_properties = d
        return webhook_attempt

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
