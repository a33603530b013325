"""Jobs delivered by a call to someone else: a provider (`webhook`) or the tenant's bonus engine (`bonus`,
`free_rounds`).

No transaction is open during the call: the attempt is recorded and committed, the provider is called (with
the redemption id as Idempotency-Key, so a crash between the call and the commit is safe to retry), then the
outcome and its result are written in one transaction, only if the job has no outcome yet (a callback or an
operator may have settled it meanwhile).

An attempt is a lease: recording it names this attempt the job's lease holder until now + PROVIDER_LEASE_SECONDS,
and only while no other attempt holds a live lease. So one replica calls the provider for a job at a time: a
second delivery (a copy re-published by redemption-service's reconciler, a redelivery, RetryJob) that finds a
live lease calls nothing and is tried again when the lease ends. The call is cut off before its lease ends, and
the outcome is written only by the attempt that still holds the lease; a lease that ran out (its replica died or
hung) is taken over by the next attempt, and the old holder, if it wakes, writes nothing."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from typing import Any

from google.protobuf.json_format import MessageToDict
from rewards.fulfillment.v1 import fulfillment_pb2
from service_kit.failpoints import failpoint
from service_kit.scope import Scope
from sqlalchemy.ext.asyncio import async_sessionmaker

from fulfillment_service import repository
from fulfillment_service.domain import CALLABLE_STATES, Job, JobState, Strategy
from fulfillment_service.metrics import ATTEMPTS, PROVIDER_ERRORS
from fulfillment_service.provider_calls import ProviderAnswer, ProviderClient, ProviderUnreachable, valid_provider_url
from fulfillment_service.results import Outcome, publish_result, record_failure
from fulfillment_service.vault import Vault

log = logging.getLogger("fulfillment_service.provider_jobs")

DEFAULT_LEASE_SECONDS = 90.0
# The call is abandoned this share of its lease in: the lease's clock (the database's) started a commit earlier.
CALL_SHARE_OF_LEASE = 0.9
# Who holds a lease, for an operator reading the job row: this process, then the attempt.
_HOLDER_PREFIX = f"{socket.gethostname()[:64]}:{os.getpid()}"


def new_lease_holder() -> str:
    return f"{_HOLDER_PREFIX}:{uuid.uuid4().hex}"[-128:]


@dataclass(frozen=True, slots=True)
class Delivery:
    """What one delivery of a provider job came to."""

    settled: bool            # nothing more for this delivery to do: ack it (an outcome, or another holder's job)
    retry_in: float = 0.0    # not settled: deliver again no sooner than this (a live lease's remaining time)


SETTLED = Delivery(True)


class InvalidJob(ValueError):
    """The job cannot be delivered as configured (no URL, no game...): it fails at once, and is refunded."""


@dataclass(frozen=True, slots=True)
class ProviderCall:
    strategy: str
    url: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the provider's answer means for the job."""

    outcome: str                       # completed, accepted, failed
    code: str = ""
    pin: str = ""
    reference: str = ""
    financial_ref_id: int = 0
    failure_code: str = ""
    failure_message: str = ""


def _config(job: fulfillment_pb2.FulfillmentJob) -> dict[str, Any]:
    return MessageToDict(job.config) if job.HasField("config") else {}


def _whole(value: Any, name: str) -> int:
    """Struct numbers are doubles: accept only whole ones (money is integer minor units)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise InvalidJob(f"{name} must be a whole number")
    return int(value)


def _url(config: dict[str, Any], fallback: str) -> str:
    url = str(config.get("url") or fallback or "")
    if not url:
        raise InvalidJob("no provider url: set the item's fulfillment_config url")
    if not valid_provider_url(url):
        raise InvalidJob("the provider url is not an http(s) url")
    return url


def provider_call_for(job: fulfillment_pb2.FulfillmentJob, bonus_engine_url: str) -> ProviderCall:
    config = _config(job)
    if job.strategy == Strategy.WEBHOOK:
        return ProviderCall(Strategy.WEBHOOK, _url(config, ""), {
            "redemption_id": job.redemption_id, "item_id": job.item_id, "variant_id": job.variant_id,
            "rounds": job.rounds, "player_id": job.player_id,
            "shipping_address": MessageToDict(job.shipping_address, preserving_proto_field_name=True)
            if job.HasField("shipping_address") else None,
            "customer_info": MessageToDict(job.customer_info, preserving_proto_field_name=True)
            if job.HasField("customer_info") else None,
            "face_value": job.face_value, "face_currency": job.face_currency,
        })
    url = _url(config, bonus_engine_url)
    if job.strategy == Strategy.BONUS:
        amount = _whole(config["bonus_amount"], "bonus_amount") if "bonus_amount" in config else job.face_value
        currency = str(config.get("currency") or job.face_currency)
        if amount <= 0 or not currency:
            raise InvalidJob("a bonus needs a positive amount and a currency")
        return ProviderCall(Strategy.BONUS, url, {"player_id": job.player_id, "redemption_id": job.redemption_id,
                                                  "kind": "bonus", "amount": amount, "currency": currency})
    if job.strategy == Strategy.FREE_ROUNDS:
        game_id = config.get("game_id")
        if game_id in (None, ""):
            raise InvalidJob("free rounds need the item's fulfillment_config game_id")
        if isinstance(game_id, float) and game_id == int(game_id):
            game_id = int(game_id)
        if job.rounds <= 0:
            raise InvalidJob("free rounds need a positive number of rounds")
        return ProviderCall(Strategy.FREE_ROUNDS, url, {
            "player_id": job.player_id, "redemption_id": job.redemption_id, "kind": "free_rounds",
            "rounds": job.rounds, "game_id": game_id})
    raise InvalidJob(f"strategy {job.strategy!r} is not delivered by a provider call")


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    return "" if value is None else str(value)


def read_answer(call: ProviderCall, answer: ProviderAnswer) -> Verdict:
    """A 2xx we cannot read raises ProviderUnreachable: the provider may have acted, so the job is tried again
    (same Idempotency-Key) rather than refunded."""
    body = answer.body
    if not answer.ok:
        if call.strategy != Strategy.WEBHOOK and body.get("code") == "GAME_NOT_AVAILABLE":
            return Verdict("failed", failure_code="GAME_NOT_AVAILABLE",
                           failure_message=_text(body, "message") or "the game is not available")
        return Verdict("failed", failure_code="PROVIDER_REJECTED",
                       failure_message=f"provider answered {answer.status_code}: "
                                       f"{_text(body, 'message') or _text(body, 'code')}".rstrip(": "))
    if call.strategy == Strategy.WEBHOOK:
        status = body.get("status")
        if status == "completed":
            return Verdict("completed", code=_text(body, "code"), pin=_text(body, "pin"),
                           reference=_text(body, "reference"))
        if status == "accepted":
            return Verdict("accepted", reference=_text(body, "reference"))
        if status == "failed":
            return Verdict("failed", failure_code="PROVIDER_REJECTED",
                           failure_message=_text(body, "reason") or "the provider refused the job")
        raise ProviderUnreachable(f"provider answered {answer.status_code} without a known status")
    reference_id = body.get("reference_id")
    if isinstance(reference_id, bool) or not isinstance(reference_id, int):
        raise ProviderUnreachable(f"bonus engine answered {answer.status_code} without an integer reference_id")
    return Verdict("completed", financial_ref_id=reference_id)


async def apply_verdict(session, vault: Vault, scope: Scope, redemption_id: str,  # type: ignore[no-untyped-def]
                        verdict: Verdict) -> None:
    if verdict.outcome == "completed":
        event_id = await publish_result(
            session, vault, scope, redemption_id, Outcome.RESULT_OUTCOME_COMPLETED, code=verdict.code,
            pin=verdict.pin, provider_reference=verdict.reference, financial_ref_id=verdict.financial_ref_id)
        # Codes stay out of the job row (the outbox payload is sealed); references are not secret.
        await repository.settle_job(
            session, scope, redemption_id, state=JobState.SUCCEEDED, outcome="COMPLETED", result_event_id=event_id,
            result_data={"reference": verdict.reference, "financial_ref_id": verdict.financial_ref_id},
            provider_reference=verdict.reference)
        log.info("provider delivered", extra={"redemption_id": redemption_id})
    elif verdict.outcome == "accepted":
        event_id = await publish_result(session, vault, scope, redemption_id,
                                        Outcome.RESULT_OUTCOME_AWAITING_VENDOR, provider_reference=verdict.reference)
        await repository.settle_job(session, scope, redemption_id, state=JobState.WAITING, outcome="AWAITING_VENDOR",
                                    result_event_id=event_id, result_data={"reference": verdict.reference},
                                    provider_reference=verdict.reference)
        log.info("provider accepted; awaiting its callback", extra={"redemption_id": redemption_id})
    else:
        await record_failure(session, vault, scope, redemption_id, verdict.failure_code, verdict.failure_message,
                             verdict.failure_message)


class ProviderDelivery:
    def __init__(self, sessions: async_sessionmaker, vault: Vault, client: ProviderClient, *,
                 bonus_engine_url: str, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        self.sessions = sessions
        self.vault = vault
        self.client = client
        self.bonus_engine_url = bonus_engine_url
        self.lease_seconds = lease_seconds

    async def deliver(self, scope: Scope, job: fulfillment_pb2.FulfillmentJob, *, final: bool,
                      retry_delay: float, states: tuple[JobState, ...] = CALLABLE_STATES) -> Delivery:
        """Calls the provider once (with its bounded retries) under a lease, and records what came of it.
        Settled when the job has an outcome, or when another attempt is responsible for it (it holds the
        lease, or took it over from this one); not settled when the job should be tried again on a later
        delivery (never when `final`), with `retry_in` the time left on another attempt's live lease."""
        rid = job.redemption_id
        try:
            call = provider_call_for(job, self.bonus_engine_url)
        except InvalidJob as exc:
            async with self.sessions.begin() as session:
                if await repository.lock_job(session, scope, rid) is not None:
                    await record_failure(session, self.vault, scope, rid, "INVALID_JOB", str(exc), str(exc))
            return SETTLED
        holder = new_lease_holder()
        async with self.sessions.begin() as session:
            start = await repository.start_attempt(session, scope, rid, states, holder=holder,
                                                   lease_seconds=self.lease_seconds)
        if not start.started:
            if not start.busy_for:
                return SETTLED  # settled already: never call the provider twice for an outcome we have
            # Another attempt is calling the provider now. On the last delivery this one is acked: the holder
            # records the outcome (or, if it died, the reconciler's next copy of the job takes the lapsed lease).
            log.info("provider call in progress elsewhere; not calling",
                     extra={"redemption_id": rid, "lease_left_seconds": round(start.busy_for, 3), "final": final})
            return SETTLED if final else Delivery(False, start.busy_for)
        try:
            async with asyncio.timeout(self.lease_seconds * CALL_SHARE_OF_LEASE):
                answer = await self.client.post(call.url, call.payload, idempotency_key=rid,
                                                strategy=call.strategy)
            # The provider acted and answered, nothing is recorded: the next delivery calls it again with the
            # same Idempotency-Key.
            failpoint("fulfillment.after_provider_answer")
            try:
                verdict = read_answer(call, answer)
            except ProviderUnreachable:
                PROVIDER_ERRORS.labels(call.strategy, "malformed").inc()
                raise
            if not answer.ok:
                PROVIDER_ERRORS.labels(call.strategy, "rejected").inc()
        except (ProviderUnreachable, TimeoutError) as exc:
            ATTEMPTS.labels(call.strategy, "unreachable").inc()
            error = str(exc) if isinstance(exc, ProviderUnreachable) else "the provider call outlasted its lease"
            log.warning("provider unreachable", extra={"redemption_id": rid, "error": error, "final": final})
            async with self.sessions.begin() as session:
                if final:
                    job_row = await repository.lock_job(session, scope, rid)
                    if self._holds(job_row, holder):
                        await record_failure(session, self.vault, scope, rid, "PROVIDER_UNAVAILABLE",
                                             "the provider could not be reached after every delivery attempt",
                                             error)
                    elif job_row is not None and job_row.state in CALLABLE_STATES:
                        self._lost(rid)
                elif not await repository.postpone_job(session, scope, rid, error, retry_delay, holder=holder):
                    self._lost(rid)
            return Delivery(final)
        ATTEMPTS.labels(call.strategy, verdict.outcome).inc()
        async with self.sessions.begin() as session:
            job_row = await repository.lock_job(session, scope, rid)
            if self._holds(job_row, holder):
                await apply_verdict(session, self.vault, scope, rid, verdict)
            elif job_row is not None and job_row.state in CALLABLE_STATES:
                self._lost(rid)
                # Delivered again later: it finds the new holder's outcome, or calls again (same key).
                return Delivery(final)
        return SETTLED

    @staticmethod
    def _holds(job_row: Job | None, holder: str) -> bool:
        """The job still has no outcome and this attempt still holds its lease: it may write the outcome."""
        return job_row is not None and job_row.holds_lease(holder)

    @staticmethod
    def _lost(redemption_id: str) -> None:
        # The lease ran out and another attempt took it over: that attempt's outcome is the job's.
        log.warning("provider lease lost; this attempt's outcome is dropped", extra={"redemption_id": redemption_id})
