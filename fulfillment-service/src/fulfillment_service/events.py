"""The fulfillment events for the tenants (service_kit.domain_events, docs/events.md): a shipment shipped or
delivered, a job waiting for an operator. Each goes to this service's outbox in the transaction of the move it
reports (sealed like every row there, and opened by the one relay as it publishes), with an id made from the
redemption, so a move made again (a redelivered job) writes nothing new. Never a code or PIN: the data is named
fields of the job."""

from __future__ import annotations

from typing import Any

from service_kit import domain_events
from service_kit.db import note_outbox_write
from service_kit.scope import Scope
from service_kit.tracing import outbox_context
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillment_service.models import event_outbox
from fulfillment_service.vault import Vault


async def add(session: AsyncSession, vault: Vault, event_type: str, scope: Scope, redemption_id: str,
              **data: Any) -> None:
    event_id, subject, payload = domain_events.build(event_type, scope, redemption_id,
                                                     {"redemption_id": redemption_id, **data})
    await session.execute(
        insert(event_outbox).values(event_id=event_id, subject=subject, payload=vault.seal_bytes(payload),
                              trace_context=outbox_context())
        .on_conflict_do_nothing(index_elements=["event_id"]))
    note_outbox_write(session)
