from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="MarketplaceProblemDetails")


@_attrs_define
class MarketplaceProblemDetails:
    """Every error of the marketplace: ASP.NET Core's ProblemDetails (RFC 9457) with the page's statuses, our
    stable code, and the request id as traceId and requestId.

        Attributes:
            type_ (str):
            title (str):
            status (int):
            detail (str):
            instance (None | str):
            code (str):
            trace_id (str):
            request_id (str):
    """

    type_: str
    title: str
    status: int
    detail: str
    instance: None | str
    code: str
    trace_id: str
    request_id: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        type_ = self.type_

        title = self.title

        status = self.status

        detail = self.detail

        instance: None | str
        instance = self.instance

        code = self.code

        trace_id = self.trace_id

        request_id = self.request_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "type": type_,
                "title": title,
                "status": status,
                "detail": detail,
                "instance": instance,
                "code": code,
                "traceId": trace_id,
                "requestId": request_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        type_ = d.pop("type")

        title = d.pop("title")

        status = d.pop("status")

        detail = d.pop("detail")

        def _parse_instance(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        instance = _parse_instance(d.pop("instance"))

        code = d.pop("code")

        trace_id = d.pop("traceId")

        request_id = d.pop("requestId")

        marketplace_problem_details = cls(
            type_=type_,
            title=title,
            status=status,
            detail=detail,
            instance=instance,
            code=code,
            trace_id=trace_id,
            request_id=request_id,
        )

        marketplace_problem_details.additional_properties = d
        return marketplace_problem_details

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
