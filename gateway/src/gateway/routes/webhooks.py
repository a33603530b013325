"""The tenant's webhook endpoints (docs/events.md, "Webhooks"), for its admin credentials: create (the signing
secret shown once), list, change, rotate the secret with an overlap, disable and enable, delete; every delivery
attempt of an endpoint; an event of the log sent again by hand. The tenant and environment come from the admin
credential. One call to the events service each."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import Field
from rewards.events.v1 import events_pb2

from gateway.auth import AdminCaller
from gateway.openapi import BACKEND, problems, security
from gateway.routes import Cursor, Services, next_cursor
from gateway.routes.admin import scope_of
from gateway.schemas import ApiModel

router = APIRouter(prefix="/v1/admin/webhooks", tags=["admin"])
ADMIN = security(BACKEND)
_FORBIDDEN = "FORBIDDEN: not an admin credential"
_NOT_FOUND = "NOT_FOUND: no webhook endpoint of this environment has this id"
MAX_TYPES = 20

EndpointId = Annotated[str, Path(alias="id", min_length=1, max_length=64)]
EventTypes = Annotated[list[str], Field(max_length=MAX_TYPES, description="the event types delivered "
                                                                          "(docs/events.md); empty: every type")]
Url = Annotated[str, Field(min_length=1, max_length=2048, description="where events are POSTed: https://")]
Description = Annotated[str, Field(max_length=200)]


def _time(stamp: Timestamp, present: bool = True) -> datetime | None:
    return stamp.ToDatetime(tzinfo=UTC) if present else None


class WebhookEndpoint(ApiModel):
    id: str
    url: str
    event_types: list[str] = Field(description="the types delivered; empty: every type")
    description: str
    enabled: bool
    disabled_reason: str = Field(description="why it is disabled: a 410, failing for too long, an operator")
    created_at: datetime
    updated_at: datetime
    previous_secret_until: datetime | None = Field(
        description="during a rotation's overlap: the previous secret signs beside the new one until then")
    failing_since: datetime | None = Field(description="the first failure since the last success, if failing")

    @classmethod
    def from_proto(cls, e: events_pb2.WebhookEndpoint) -> WebhookEndpoint:
        return cls(id=e.id, url=e.url, event_types=list(e.event_types), description=e.description,
                   enabled=e.enabled, disabled_reason=e.disabled_reason, created_at=_time(e.created_at),
                   updated_at=_time(e.updated_at),
                   previous_secret_until=_time(e.previous_secret_until, e.HasField("previous_secret_until")),
                   failing_since=_time(e.failing_since, e.HasField("failing_since")))


class NewWebhookEndpoint(ApiModel):
    url: Url
    event_types: EventTypes = Field(default_factory=list)
    description: Description = ""


class WebhookEndpointWithSecret(ApiModel):
    endpoint: WebhookEndpoint
    secret: str = Field(description="whsec_<base64>, for the receiver's Standard Webhooks library: shown here "
                                    "once, never again")


class WebhookEndpointList(ApiModel):
    endpoints: list[WebhookEndpoint]


class WebhookEndpointChanges(ApiModel):
    """Only the fields sent change."""

    url: Url | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    enabled: bool | None = Field(default=None, description="false: no delivery until true again (its pending "
                                                           "deliveries wait, within their retry window)")


class SecretRotation(ApiModel):
    overlap_seconds: int = Field(default=0, ge=0, le=7 * 24 * 3600,
                                 description="how long the previous secret keeps signing beside the new one; 0: "
                                             "the service's WEBHOOK_ROTATION_OVERLAP_SECONDS (a day)")


class WebhookAttempt(ApiModel):
    event_id: str = Field(description="the webhook-id header (the event's id)")
    attempt: int = Field(description="of its delivery, from 1 (a resend starts again at 1)")
    attempted_at: datetime
    status_code: int = Field(description="the answer's HTTP status; 0: no answer (see error)")
    latency_ms: int
    error: str

    @classmethod
    def from_proto(cls, a: events_pb2.WebhookAttempt) -> WebhookAttempt:
        return cls(event_id=a.event_id, attempt=a.attempt, attempted_at=a.attempted_at.ToDatetime(tzinfo=UTC),
                   status_code=a.status_code, latency_ms=a.latency_ms, error=a.error)


class WebhookAttemptList(ApiModel):
    attempts: list[WebhookAttempt] = Field(description="newest first")
    next_cursor: str | None = None


class Resend(ApiModel):
    event_id: str = Field(min_length=1, max_length=36, description="an event of this environment's log")


@router.post("", response_model=WebhookEndpointWithSecret, status_code=201, operation_id="adminCreateWebhookEndpoint",
             openapi_extra=ADMIN, responses=problems(
                 401, 413, 503, s403=_FORBIDDEN,
                 s422="VALIDATION_ERROR: a URL that is not https://, an unknown event type, more than 20 endpoints"))
async def create_endpoint(body: NewWebhookEndpoint, caller: AdminCaller,
                          services: Services) -> WebhookEndpointWithSecret:
    """A new endpoint, enabled: every event of the types named (or of every type) stored from now on is POSTed
    to it, signed with the secret in this answer (shown only here)."""
    reply = await services.events.create_webhook_endpoint(events_pb2.CreateWebhookEndpointRequest(
        scope=scope_of(caller).to_proto(), url=body.url, event_types=body.event_types, description=body.description))
    return WebhookEndpointWithSecret(endpoint=WebhookEndpoint.from_proto(reply.endpoint), secret=reply.secret)


@router.get("", response_model=WebhookEndpointList, operation_id="adminListWebhookEndpoints", openapi_extra=ADMIN,
            responses=problems(401, 503, s403=_FORBIDDEN))
async def list_endpoints(caller: AdminCaller, services: Services) -> WebhookEndpointList:
    reply = await services.events.list_webhook_endpoints(events_pb2.ListWebhookEndpointsRequest(
        scope=scope_of(caller).to_proto()))
    return WebhookEndpointList(endpoints=[WebhookEndpoint.from_proto(e) for e in reply.endpoints])


@router.get("/{id}", response_model=WebhookEndpoint, operation_id="adminGetWebhookEndpoint", openapi_extra=ADMIN,
            responses=problems(401, 422, 503, s403=_FORBIDDEN, s404=_NOT_FOUND))
async def get_endpoint(endpoint_id: EndpointId, caller: AdminCaller, services: Services) -> WebhookEndpoint:
    reply = await services.events.get_webhook_endpoint(events_pb2.GetWebhookEndpointRequest(
        scope=scope_of(caller).to_proto(), endpoint_id=endpoint_id))
    return WebhookEndpoint.from_proto(reply.endpoint)


@router.patch("/{id}", response_model=WebhookEndpoint, operation_id="adminUpdateWebhookEndpoint",
              openapi_extra=ADMIN, responses=problems(
                  401, 413, 503, s403=_FORBIDDEN, s404=_NOT_FOUND,
                  s422="VALIDATION_ERROR: nothing to change, a URL that is not https://, an unknown event type"))
async def update_endpoint(endpoint_id: EndpointId, body: WebhookEndpointChanges, caller: AdminCaller,
                          services: Services) -> WebhookEndpoint:
    """Changes the fields sent, all or none. `enabled: false` disables it, `true` enables it again (and forgets
    its run of failures)."""
    sent = [name for name in ("url", "event_types", "description", "enabled") if name in body.model_fields_set
            and getattr(body, name) is not None]
    reply = await services.events.update_webhook_endpoint(events_pb2.UpdateWebhookEndpointRequest(
        scope=scope_of(caller).to_proto(), update_mask=sent, endpoint=events_pb2.WebhookEndpoint(
            id=endpoint_id, url=body.url or "", event_types=body.event_types or [],
            description=body.description or "", enabled=bool(body.enabled))))
    return WebhookEndpoint.from_proto(reply.endpoint)


@router.post("/{id}/rotate-secret", response_model=WebhookEndpointWithSecret,
             operation_id="adminRotateWebhookSecret", openapi_extra=ADMIN,
             responses=problems(401, 413, 422, 503, s403=_FORBIDDEN, s404=_NOT_FOUND))
async def rotate_secret(endpoint_id: EndpointId, caller: AdminCaller, services: Services,
                        body: SecretRotation | None = None) -> WebhookEndpointWithSecret:
    """A new signing secret (shown only here). During the overlap every delivery carries two signatures, by the
    new secret and by the previous one, so the receiver can switch at any moment within it."""
    reply = await services.events.rotate_webhook_secret(events_pb2.RotateWebhookSecretRequest(
        scope=scope_of(caller).to_proto(), endpoint_id=endpoint_id,
        overlap_seconds=body.overlap_seconds if body else 0))
    return WebhookEndpointWithSecret(endpoint=WebhookEndpoint.from_proto(reply.endpoint), secret=reply.secret)


@router.delete("/{id}", status_code=204, response_class=Response, operation_id="adminDeleteWebhookEndpoint",
               openapi_extra=ADMIN, responses=problems(401, 422, 503, s403=_FORBIDDEN, s404=_NOT_FOUND))
async def delete_endpoint(endpoint_id: EndpointId, caller: AdminCaller, services: Services) -> Response:
    """Deletes the endpoint with its pending deliveries and its attempts."""
    await services.events.delete_webhook_endpoint(events_pb2.DeleteWebhookEndpointRequest(
        scope=scope_of(caller).to_proto(), endpoint_id=endpoint_id))
    return Response(status_code=204)


@router.get("/{id}/attempts", response_model=WebhookAttemptList, operation_id="adminListWebhookAttempts",
            openapi_extra=ADMIN, responses=problems(401, 422, 503, s403=_FORBIDDEN, s404=_NOT_FOUND))
async def list_attempts(endpoint_id: EndpointId, caller: AdminCaller, services: Services,
                        limit: Annotated[int, Query(ge=1, le=500, description="page size")] = 50,
                        cursor: Cursor = None) -> WebhookAttemptList:
    """Every POST made to the endpoint, newest first: the event, the answer's status, how long it took, what
    went wrong."""
    reply = await services.events.list_webhook_attempts(events_pb2.ListWebhookAttemptsRequest(
        scope=scope_of(caller).to_proto(), endpoint_id=endpoint_id, page_size=limit, page_token=cursor or ""))
    return WebhookAttemptList(attempts=[WebhookAttempt.from_proto(a) for a in reply.attempts],
                              next_cursor=next_cursor(reply.next_page_token))


@router.post("/{id}/resend", status_code=202, response_class=Response, operation_id="adminResendWebhookEvent",
             openapi_extra=ADMIN, responses=problems(
                 401, 413, 503, s403=_FORBIDDEN,
                 s404="NOT_FOUND: no such endpoint, or no such event in this environment's log",
                 s422="VALIDATION_ERROR: the endpoint is disabled"))
async def resend_event(endpoint_id: EndpointId, body: Resend, caller: AdminCaller, services: Services) -> Response:
    """Sends the event again (the same webhook-id, so a receiver that had it drops the repeat), soon, retried
    like any delivery."""
    await services.events.resend_webhook_event(events_pb2.ResendWebhookEventRequest(
        scope=scope_of(caller).to_proto(), endpoint_id=endpoint_id, event_id=body.event_id))
    return Response(status_code=202)
