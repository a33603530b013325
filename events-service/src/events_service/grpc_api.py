"""The EventsService servicer: proto <-> domain values (domain.py), and one use case (event_log.py) per
RPC, nothing else. DomainError travels up to the kit's interceptor,
which turns it into a rich status."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from rewards.events.v1 import events_pb2, events_pb2_grpc
from service_kit.pgpool import PgPool
from service_kit.scope import Scope

from events_service import domain, event_log


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    vault: event_log.SecretVault       # seals the secrets it makes (WEBHOOK_SECRET_KEYS)
    allow_http: bool = False
    allow_private_addresses: bool = False
    rotation_overlap_seconds: float = 86400.0
    retry_for_seconds: float = domain.RETRY_FOR_SECONDS

    @classmethod
    def of(cls, settings: Any) -> WebhookSettings:
        return cls(event_log.SecretVault.from_setting(settings.webhook_secret_keys.get_secret_value()),
                   settings.webhook_allow_http, settings.webhook_allow_private_addresses,
                   settings.webhook_rotation_overlap_seconds, settings.webhook_retry_for_seconds)


def _time(at: datetime | None) -> Timestamp | None:
    if at is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(at)
    return stamp


def _endpoint(e: domain.Endpoint) -> events_pb2.WebhookEndpoint:
    return events_pb2.WebhookEndpoint(
        id=e.id, url=e.url, event_types=e.event_types, description=e.description, enabled=e.enabled,
        disabled_reason=e.disabled_reason, created_at=_time(e.created_at), updated_at=_time(e.updated_at),
        previous_secret_until=_time(e.previous_secret_until), failing_since=_time(e.failing_since))


def _attempt(a: domain.Attempt) -> events_pb2.WebhookAttempt:
    return events_pb2.WebhookAttempt(event_id=a.event_id, attempted_at=_time(a.attempted_at),
                                     status_code=a.status_code, latency_ms=a.latency_ms, error=a.error,
                                     attempt=a.attempt)


def _event(event: domain.LoggedEvent) -> events_pb2.Event:
    message = events_pb2.Event(id=event.id, type=event.type, version=event.version, tenant_id=event.tenant_id,
                               environment=Scope(event.tenant_id, event.environment).to_proto().environment,
                               data_json=domain.data_json(event), cursor=event.cursor)
    message.time.FromDatetime(event.time)
    return message


class EventsApi(events_pb2_grpc.EventsServiceServicer):
    def __init__(self, pool: PgPool, hooks: WebhookSettings,
                 wake_delivery: Callable[[], None] = lambda: None) -> None:
        self.pool = pool
        self.hooks = hooks
        self.wake_delivery = wake_delivery

    async def ListEvents(self, request: events_pb2.ListEventsRequest,
                         context: grpc.aio.ServicerContext) -> events_pb2.ListEventsResponse:
        found = await event_log.page(self.pool, Scope.from_proto(request.scope), after=request.after,
                                     types=list(request.types), limit=request.limit,
                                     redemption_id=request.redemption_id)
        return events_pb2.ListEventsResponse(events=[_event(e) for e in found.events],
                                             next_cursor=found.next_cursor, has_more=found.has_more)

    # ---- webhook endpoints ----------------------------------------------------------------------------------

    async def CreateWebhookEndpoint(self, request: events_pb2.CreateWebhookEndpointRequest,
                                    context: grpc.aio.ServicerContext) -> events_pb2.CreateWebhookEndpointResponse:
        endpoint, secret = await event_log.create(
            self.pool, Scope.from_proto(request.scope), self.hooks.vault, url=request.url,
            event_types=list(request.event_types), description=request.description,
            allow_http=self.hooks.allow_http, allow_private=self.hooks.allow_private_addresses)
        return events_pb2.CreateWebhookEndpointResponse(endpoint=_endpoint(endpoint), secret=secret)

    async def ListWebhookEndpoints(self, request: events_pb2.ListWebhookEndpointsRequest,
                                   context: grpc.aio.ServicerContext) -> events_pb2.ListWebhookEndpointsResponse:
        found = await event_log.list_all(self.pool, Scope.from_proto(request.scope))
        return events_pb2.ListWebhookEndpointsResponse(endpoints=[_endpoint(e) for e in found])

    async def GetWebhookEndpoint(self, request: events_pb2.GetWebhookEndpointRequest,
                                 context: grpc.aio.ServicerContext) -> events_pb2.GetWebhookEndpointResponse:
        found = await event_log.get(self.pool, Scope.from_proto(request.scope), request.endpoint_id)
        return events_pb2.GetWebhookEndpointResponse(endpoint=_endpoint(found))

    async def UpdateWebhookEndpoint(self, request: events_pb2.UpdateWebhookEndpointRequest,
                                    context: grpc.aio.ServicerContext) -> events_pb2.UpdateWebhookEndpointResponse:
        e = request.endpoint
        changed = await event_log.update(
            self.pool, Scope.from_proto(request.scope), e.id, mask=list(request.update_mask), url=e.url,
            event_types=list(e.event_types), description=e.description, enabled=e.enabled,
            allow_http=self.hooks.allow_http, allow_private=self.hooks.allow_private_addresses)
        if changed.enabled and "enabled" in request.update_mask:
            self.wake_delivery()   # its pending deliveries are due again
        return events_pb2.UpdateWebhookEndpointResponse(endpoint=_endpoint(changed))

    async def RotateWebhookSecret(self, request: events_pb2.RotateWebhookSecretRequest,
                                  context: grpc.aio.ServicerContext) -> events_pb2.RotateWebhookSecretResponse:
        overlap = request.overlap_seconds or self.hooks.rotation_overlap_seconds
        endpoint, secret = await event_log.rotate_secret(self.pool, Scope.from_proto(request.scope), self.hooks.vault,
                                                        request.endpoint_id, overlap)
        return events_pb2.RotateWebhookSecretResponse(endpoint=_endpoint(endpoint), secret=secret)

    async def DeleteWebhookEndpoint(self, request: events_pb2.DeleteWebhookEndpointRequest,
                                    context: grpc.aio.ServicerContext) -> events_pb2.DeleteWebhookEndpointResponse:
        await event_log.delete(self.pool, Scope.from_proto(request.scope), request.endpoint_id)
        return events_pb2.DeleteWebhookEndpointResponse()

    async def ListWebhookAttempts(self, request: events_pb2.ListWebhookAttemptsRequest,
                                  context: grpc.aio.ServicerContext) -> events_pb2.ListWebhookAttemptsResponse:
        found, token = await event_log.attempts(self.pool, Scope.from_proto(request.scope), request.endpoint_id,
                                               page_size=request.page_size, page_token=request.page_token)
        return events_pb2.ListWebhookAttemptsResponse(attempts=[_attempt(a) for a in found], next_page_token=token)

    async def ResendWebhookEvent(self, request: events_pb2.ResendWebhookEventRequest,
                                 context: grpc.aio.ServicerContext) -> events_pb2.ResendWebhookEventResponse:
        await event_log.resend(self.pool, Scope.from_proto(request.scope), request.endpoint_id, request.event_id,
                              self.hooks.retry_for_seconds)
        self.wake_delivery()
        return events_pb2.ResendWebhookEventResponse()
