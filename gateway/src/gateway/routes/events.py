"""The tenant's event log (docs/events.md): what happened to its redemptions, shipments and points, replayable by
cursor, so a system that was down reads everything it missed. For the tenant's back ends (an API key or client
credentials of the tenant, admin or not; never a player token); the tenant and environment come from the
credential. One call to the events service."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field
from rewards.events.v1 import events_pb2
from service_kit.scope import Scope

from gateway.auth import BackendCaller
from gateway.openapi import BACKEND, problems, security
from gateway.routes import Services
from gateway.schemas import ApiModel

router = APIRouter()
MAX_TYPES = 20
_ENVIRONMENTS = {1: "live", 2: "sandbox"}


class Event(ApiModel):
    id: str = Field(description="the event's id: deterministic, the same on every delivery; be idempotent on it")
    type: str = Field(description="redemption.created, redemption.completed, ... (docs/events.md)")
    version: int = Field(description="the version of `data`'s shape for this type")
    time: datetime = Field(description="when the change was committed")
    tenant: str
    environment: str = Field(description="live or sandbox")
    data: dict[str, Any] = Field(description="the payload of the type (never a code or PIN)")
    cursor: str = Field(description="this event's place in the log: `after` resumes behind it")

    @classmethod
    def from_proto(cls, e: events_pb2.Event) -> Event:
        return cls(id=e.id, type=e.type, version=e.version, time=e.time.ToDatetime(tzinfo=UTC),
                   tenant=e.tenant_id, environment=_ENVIRONMENTS.get(e.environment, ""),
                   data=json.loads(e.data_json or "{}"), cursor=e.cursor)


class EventPage(ApiModel):
    events: list[Event] = Field(description="oldest first, in the order the log received them")
    next_cursor: str = Field(description="give it as `after` to read on (the request's `after` when none came)")
    has_more: bool = Field(description="more events are there now behind nextCursor")


def _types(values: list[str] | None) -> list[str]:
    """`types=a,b` and `types=a&types=b` alike."""
    found = [t.strip() for value in values or [] for t in value.split(",") if t.strip()]
    return found


@router.get("/v1/events", response_model=EventPage, tags=["events"], operation_id="listEvents",
            openapi_extra=security(BACKEND),
            responses=problems(401, 422, 503, s403="FORBIDDEN: a player token"))
async def list_events(
    caller: BackendCaller, services: Services,
    after: Annotated[str, Query(max_length=32, description="nextCursor of the previous page, or an event's cursor; "
                                                            "empty: from the oldest event kept (30 days)")] = "",
    types: Annotated[list[str] | None, Query(max_length=1300, description="only these types, comma-separated "
                                                                           "or repeated")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="page size")] = 100,
    redemption_id: Annotated[str, Query(alias="redemptionId", max_length=64,
                                        description="only the events about this redemption (its id)")] = "",
) -> EventPage:
    """The tenant's events after a cursor, oldest first: read with `after=nextCursor` until `hasMore` is false,
    keep the last `nextCursor`, and start from it next time."""
    reply = await services.events.list_events(events_pb2.ListEventsRequest(
        scope=Scope(caller.tenant_id, caller.environment).to_proto(), after=after, types=_types(types)[:MAX_TYPES + 1],
        limit=limit, redemption_id=redemption_id))
    return EventPage(events=[Event.from_proto(e) for e in reply.events], next_cursor=reply.next_cursor,
                     has_more=reply.has_more)
