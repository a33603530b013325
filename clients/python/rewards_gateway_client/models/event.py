from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.event_data import EventData


T = TypeVar("T", bound="Event")


@_attrs_define
class Event:
    """
    Attributes:
        id (str): the event's id: deterministic, the same on every delivery; be idempotent on it
        type_ (str): redemption.created, redemption.completed, ... (docs/events.md)
        version (int): the version of `data`'s shape for this type
        time (datetime.datetime): when the change was committed
        tenant (str):
        environment (str): live or sandbox
        data (EventData): the payload of the type (never a code or PIN)
        cursor (str): this event's place in the log: `after` resumes behind it
    """

    id: str
    type_: str
    version: int
    time: datetime.datetime
    tenant: str
    environment: str
    data: EventData
    cursor: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        type_ = self.type_

        version = self.version

        time = self.time.isoformat()

        tenant = self.tenant

        environment = self.environment

        data = self.data.to_dict()

        cursor = self.cursor

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "type": type_,
                "version": version,
                "time": time,
                "tenant": tenant,
                "environment": environment,
                "data": data,
                "cursor": cursor,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.event_data import EventData  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        type_ = d.pop("type")

        version = d.pop("version")

        time = datetime.datetime.fromisoformat(d.pop("time"))

        tenant = d.pop("tenant")

        environment = d.pop("environment")

        data = EventData.from_dict(d.pop("data"))

        cursor = d.pop("cursor")

        event = cls(
            id=id,
            type_=type_,
            version=version,
            time=time,
            tenant=tenant,
            environment=environment,
            data=data,
            cursor=cursor,
        )

        event.additional_properties = d
        return event

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
