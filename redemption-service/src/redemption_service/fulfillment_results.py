"""Fulfillment results: the durable pull consumer on rewards.fulfillment.result, and what each result does to its
redemption.

Each result is applied in one transaction with its processed-events record (keyed on the event id: a duplicate is
acked with no effect), and acked only after the commit. A FAILED result persists the cancel request in that
transaction; then the cancel saga runs after its request (saga/cancel.py: refund, release, CANCELED); if the process
dies halfway, saga recovery resumes it from the same definition. Codes and PINs are never logged, and are stored sealed (codes.py).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import DecodeError
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from rewards.fulfillment.v1 import fulfillment_pb2
from service_kit.contract import DEFAULT_FAILURE_CODE
from service_kit.errors import DomainError
from service_kit.failpoints import failpoint
from service_kit.messaging import RESULTS_STREAM, RESULTS_SUBJECT, DurableConsumer, JetStreamLink
from service_kit.messaging_metrics import note_delivery
from service_kit.scope import Scope
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from redemption_service import repository
from redemption_service.codes import Codes
from redemption_service.domain import Outcome, Redemption, ResultPlan
from redemption_service.fulfillment_waits import FulfillmentWaits

if TYPE_CHECKING:
    from redemption_service.redemptions import Redemptions

log = logging.getLogger(__name__)

MAX_EVENT_ID_LENGTH = 64
MAX_REDEMPTION_ID_LENGTH = 36
DEFAULT_FAILURE_MESSAGE = "the item could not be delivered; the points were refunded"


class MalformedResult(Exception):
    """A message that is no FulfillmentResult we can apply: it is terminated, never redelivered."""


@dataclass(frozen=True, slots=True)
class ReceivedResult:
    event_id: str
    redemption_id: str
    scope: Scope
    outcome: Outcome
    sequence: int
    result: fulfillment_pb2.FulfillmentResult

    def fulfillment(self) -> dict[str, Any]:
        """The delivery's data as the redemption keeps it (the fields of redemption.v1.Fulfillment that are set)."""
        r = self.result
        fields: dict[str, Any] = {"code": r.code, "pin": r.pin, "financial_ref_id": r.financial_ref_id,
                                  "tracking_number": r.tracking_number, "provider_reference": r.provider_reference}
        if r.HasField("data"):
            fields["data"] = MessageToDict(r.data)
        return {name: value for name, value in fields.items() if value}

    def failure(self) -> tuple[str, str]:
        return (self.result.failure_code or DEFAULT_FAILURE_CODE)[:64], \
            (self.result.failure_message or DEFAULT_FAILURE_MESSAGE)[:1000]


def read_result(data: bytes, header_event_id: str | None = None) -> ReceivedResult:
    try:
        result = fulfillment_pb2.FulfillmentResult.FromString(data)
    except DecodeError as exc:
        raise MalformedResult(f"not a FulfillmentResult: {exc}") from None
    return received_result(result, header_event_id)


def received_result(result: fulfillment_pb2.FulfillmentResult, header_event_id: str | None = None) -> ReceivedResult:
    """A result as fulfillment-service sent it (over NATS, or in a FulfilNow answer), checked."""
    event_id = result.event_id or header_event_id or ""
    if not event_id or len(event_id) > MAX_EVENT_ID_LENGTH:
        raise MalformedResult("event_id is empty or too long")
    if not result.redemption_id or len(result.redemption_id) > MAX_REDEMPTION_ID_LENGTH:
        raise MalformedResult("redemption_id is empty or too long")
    try:
        scope = Scope.from_proto(result.scope)
    except DomainError as exc:
        raise MalformedResult(exc.message) from None
    if result.outcome == fulfillment_pb2.RESULT_OUTCOME_UNSPECIFIED or \
            result.outcome not in fulfillment_pb2.ResultOutcome.values():
        raise MalformedResult(f"unknown outcome {result.outcome}")
    if result.sequence < 1:
        raise MalformedResult("sequence must be 1 or more")
    outcome = Outcome(fulfillment_pb2.ResultOutcome.Name(result.outcome).removeprefix("RESULT_OUTCOME_"))
    return ReceivedResult(event_id, result.redemption_id, scope, outcome, result.sequence, result)


@dataclass(frozen=True, slots=True)
class Applied:
    """What applying a result did. `kind` is a ResultPlan value, or duplicate / unknown."""

    kind: str
    redemption: Redemption | None = None   # after the change (for a compensation: with its cancel requested)
    reason: str = ""

    @property
    def changed(self) -> bool:
        return self.kind in (ResultPlan.APPLY.value, ResultPlan.ACKNOWLEDGE.value, ResultPlan.COMPENSATE.value) \
            and self.redemption is not None


async def apply_result(session: AsyncSession, received: ReceivedResult, codes: Codes) -> Applied:
    """The result's effect, in the caller's transaction; its code and PIN are stored sealed by codes."""
    if not await repository.record_processed_event(session, received.event_id, received.redemption_id,
                                                   received.outcome.value, received.sequence):
        return Applied("duplicate")
    redemption = await repository.lock_redemption(session, received.redemption_id)
    if redemption is None or Scope(redemption.tenant_id, redemption.environment) != received.scope:
        return Applied("unknown", reason="no such redemption in this scope")
    move = redemption.fulfillment_result(received.outcome, received.sequence)
    if move.plan is ResultPlan.COMPENSATE:
        code, message = received.failure()
        await repository.apply_fulfillment_result(session, redemption.id, sequence=received.sequence)
        requested = await repository.request_cancel(session, redemption.id, message, failure_code=code)
        return Applied(move.plan.value, requested)
    if move.plan is ResultPlan.ACKNOWLEDGE:
        # The status stays; the sequence still moves, so an older result arriving later is stale.
        acknowledged = await repository.apply_fulfillment_result(session, redemption.id, sequence=received.sequence)
        return Applied(move.plan.value, acknowledged)
    if move.plan is ResultPlan.APPLY:
        updated = await repository.apply_fulfillment_result(
            session, redemption.id, sequence=received.sequence, status=move.status,
            delivery_status=move.delivery_status, fulfillment=codes.seal(received.fulfillment()))
        return Applied(move.plan.value, updated)
    return Applied(move.plan.value, redemption, move.reason)


def consumer_config(name: str, ack_wait: float, max_deliveries: int) -> ConsumerConfig:
    return ConsumerConfig(
        name=name, durable_name=name, filter_subject=RESULTS_SUBJECT, ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL, ack_wait=ack_wait, max_deliver=max_deliveries, max_ack_pending=1000,
    )


class FulfillmentResultConsumer:
    def __init__(self, sessions: async_sessionmaker, link: JetStreamLink, redemptions: Redemptions,
                 waits: FulfillmentWaits, *, consumer_name: str, fetch_batch: int, ack_wait: float,
                 max_deliveries: int) -> None:
        self.sessions = sessions
        self.link = link
        self.redemptions = redemptions
        self.waits = waits
        self.config = consumer_config(consumer_name, ack_wait, max_deliveries)
        self.fetch_batch = fetch_batch
        self.max_deliveries = max_deliveries
        self._compensations: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        await DurableConsumer(self.link.jetstream, RESULTS_STREAM, self.config, self.take, batch=self.fetch_batch,
                              what="result", stream_replicas=self.link.stream_replicas).run()

    async def take(self, msg: Msg) -> None:
        note_delivery("redemption-service", self.config.durable_name or "", msg)
        try:
            received = read_result(msg.data, (msg.headers or {}).get("Nats-Msg-Id"))
        except MalformedResult as exc:
            log.error("malformed fulfillment result terminated",
                      extra={"reason": str(exc), "stream_seq": msg.metadata.sequence.stream})
            await msg.term()
            return
        about = {"redemption_id": received.redemption_id, "event_id": received.event_id,
                 "outcome": received.outcome.value, "sequence": received.sequence}
        try:
            async with self.sessions.begin() as session:
                applied = await apply_result(session, received, self.redemptions.codes)
        except Exception:
            delivered = msg.metadata.num_delivered
            log.exception("fulfillment result not applied", extra={**about, "delivery": delivered})
            if delivered >= self.max_deliveries:
                # Still OPEN without a result: the reconciler re-publishes the job, and fulfillment answers
                # with its recorded result again.
                log.error("fulfillment result gave up after every delivery; left to the reconciler", extra=about)
                await msg.term()
            else:
                await msg.nak(delay=min(2.0 ** delivered, 30.0))
            return
        # The result is applied and committed, the ack not sent: its redelivery must change nothing.
        failpoint("redemption.after_result_commit")
        self._report(applied, about)
        if applied.kind == ResultPlan.COMPENSATE.value and applied.redemption is not None:
            self._start_compensation(applied.redemption)
        elif applied.changed:
            self.waits.result_applied(received.redemption_id)
        # After the commit. If this ack is lost, the redelivery is a duplicate and is acked with no effect.
        await msg.ack()

    def _report(self, applied: Applied, about: dict[str, Any]) -> None:
        if applied.kind == ResultPlan.CONFLICT.value:
            log.warning("fulfillment result conflicts with the redemption; ignored",
                        extra={**about, "reason": applied.reason})
        elif applied.kind == "unknown":
            log.warning("fulfillment result for an unknown redemption; ignored", extra=about)
        elif applied.kind == ResultPlan.COMPENSATE.value:
            log.info("fulfillment failed; refunding", extra=about)
        elif applied.kind == ResultPlan.APPLY.value:
            log.info("fulfillment result applied", extra=about)
        elif applied.kind == ResultPlan.ACKNOWLEDGE.value:
            log.info("fulfillment took the job; it waits", extra=about)
        else:
            log.info("fulfillment result ignored", extra={**about, "kind": applied.kind, "reason": applied.reason})

    def _start_compensation(self, redemption: Redemption) -> None:
        """The cancel saga after its persisted request (refund, release, CANCELED), off the fetch loop: a slow
        wallet must not hold up other results. If this does not finish, recovery resumes it."""
        task = asyncio.create_task(self._refund(redemption))
        self._compensations.add(task)
        task.add_done_callback(self._compensations.discard)

    async def _refund(self, redemption: Redemption) -> None:
        try:
            await self.redemptions.refund_and_release(redemption, redemption.cancel_reason)
        except Exception:
            log.warning("refund after a failed fulfillment did not finish; left to recovery", exc_info=True,
                        extra={"redemption_id": redemption.id})
        finally:
            self.waits.result_applied(redemption.id)

    async def settle(self) -> None:
        """Waits for the refunds under way (tests, and a graceful stop)."""
        while self._compensations:
            await asyncio.gather(*self._compensations, return_exceptions=True)
