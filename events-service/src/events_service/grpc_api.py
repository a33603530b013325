"""The EventsService servicer: proto <-> the log, nothing else. DomainError travels up to the kit's interceptor,
which turns it into a rich status."""

from __future__ import annotations

import grpc
from rewards.events.v1 import events_pb2, events_pb2_grpc
from service_kit.pgpool import PgPool
from service_kit.scope import Scope

from events_service import log as event_log


def _event(event: event_log.LoggedEvent) -> events_pb2.Event:
    message = events_pb2.Event(id=event.id, type=event.type, version=event.version, tenant_id=event.tenant_id,
                               environment=Scope(event.tenant_id, event.environment).to_proto().environment,
                               data_json=event_log.data_json(event), cursor=event.cursor)
    message.time.FromDatetime(event.time)
    return message


class EventsApi(events_pb2_grpc.EventsServiceServicer):
    def __init__(self, pool: PgPool) -> None:
        self.pool = pool

    async def ListEvents(self, request: events_pb2.ListEventsRequest,
                         context: grpc.aio.ServicerContext) -> events_pb2.ListEventsResponse:
        found = await event_log.page(self.pool, Scope.from_proto(request.scope), after=request.after,
                                     types=list(request.types), limit=request.limit)
        return events_pb2.ListEventsResponse(events=[_event(e) for e in found.events],
                                             next_cursor=found.next_cursor, has_more=found.has_more)
