from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="CodeReveal")


@_attrs_define
class CodeReveal:
    """
    Attributes:
        id (int):
        redemption_id (str):
        viewer (str):
        viewer_id (str):
        action (str):
        revealed_at (datetime.datetime):
    """

    id: int
    redemption_id: str
    viewer: str
    viewer_id: str
    action: str
    revealed_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        redemption_id = self.redemption_id

        viewer = self.viewer

        viewer_id = self.viewer_id

        action = self.action

        revealed_at = self.revealed_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "redemptionId": redemption_id,
                "viewer": viewer,
                "viewerId": viewer_id,
                "action": action,
                "revealedAt": revealed_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        redemption_id = d.pop("redemptionId")

        viewer = d.pop("viewer")

        viewer_id = d.pop("viewerId")

        action = d.pop("action")

        revealed_at = datetime.datetime.fromisoformat(d.pop("revealedAt"))

        code_reveal = cls(
            id=id,
            redemption_id=redemption_id,
            viewer=viewer,
            viewer_id=viewer_id,
            action=action,
            revealed_at=revealed_at,
        )

        code_reveal.additional_properties = d
        return code_reveal

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
