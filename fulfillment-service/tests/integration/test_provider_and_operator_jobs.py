"""Provider, bonus, physical and manual jobs end to end: a job on the jobs subject, a real HTTP provider
(Starlette under uvicorn, in this process, with scripted answers), results read from the results subject, and
the operators' RPCs."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import grpc
import pytest
import uvicorn
from fulfillment_service import repository
from fulfillment_service.models import jobs, outbox
from fulfillment_service.provider_calls import signature_for, signature_is_valid
from google.protobuf.struct_pb2 import Struct
from local_runner.infra import free_port
from local_runner.pytest_plugin import wait_until
from rewards.common.v1 import common_pb2
from rewards.fulfillment.v1 import fulfillment_pb2
from service_kit.messaging import RESULTS_SUBJECT
from service_kit.scope import Scope
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

SIGNING_SECRET = "test-signing-secret-0123456789"  # the service fixture's (conftest)
SCOPE = common_pb2.Scope(tenant_id="acme", environment=common_pb2.ENVIRONMENT_LIVE)

O = fulfillment_pb2
ADDRESS = common_pb2.ShippingAddress(name="Ann", line1="1 Main St", city="Oslo", postal_code="0150", country="NO")




async def all_published(sessions) -> bool:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        total = await session.scalar(select(func.count()).select_from(outbox))
        pending = await session.scalar(select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None)))
    return bool(total) and pending == 0


@dataclass
class Answer:
    status: int
    body: dict
    delay: float = 0.0
    headers: dict = field(default_factory=dict)


@dataclass
class FakeProvider:
    """Applies a request once per Idempotency-Key, as a real provider must; answers from a script."""

    port: int
    script: list[Answer] = field(default_factory=list)
    seen: list[tuple[dict, dict]] = field(default_factory=list)
    applied: dict[str, Answer] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/deliver"

    async def deliver(self, request: Request) -> JSONResponse:
        body = await request.body()
        headers = dict(request.headers)
        self.seen.append((headers, json.loads(body)))
        assert signature_is_valid(SIGNING_SECRET.encode(), headers["x-timestamp"], body, headers["x-signature"])
        key = headers["idempotency-key"]
        if key in self.applied:
            answer = self.applied[key]
        else:
            answer = self.script.pop(0) if self.script else Answer(200, {"status": "completed"})
            if 200 <= answer.status < 300:
                self.applied[key] = Answer(answer.status, answer.body)
        await asyncio.sleep(answer.delay)
        return JSONResponse(answer.body, answer.status, headers=answer.headers)


async def serve(provider: FakeProvider) -> tuple[uvicorn.Server, asyncio.Task]:
    app = Starlette(routes=[Route("/deliver", provider.deliver, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=provider.port, log_level="warning",
                                           lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    return server, task


@pytest.fixture
async def provider() -> AsyncIterator[FakeProvider]:
    fake = FakeProvider(free_port())
    server, task = await serve(fake)
    yield fake
    server.should_exit = True
    await task


def job(rid: str, strategy: str, *, config: dict | None = None, **fields) -> O.FulfillmentJob:  # type: ignore[no-untyped-def]
    cfg = Struct()
    cfg.update(config or {})
    return O.FulfillmentJob(event_id=f"job-{rid}", redemption_id=rid, scope=SCOPE, player_id="p1", item_id="it-1",
                            strategy=strategy, config=cfg, face_value=1000, face_currency="EUR", **fields)


async def results_for(bus, sessions, n: int) -> list[O.FulfillmentResult]:  # type: ignore[no-untyped-def]
    found: list[O.FulfillmentResult] = []

    async def enough() -> bool:
        if await all_published(sessions):
            found.extend(r for _, r in await bus.results(wait=0.2))
        return len(found) >= n

    await wait_until(enough, timeout=15, what=f"{n} results")
    found.extend(r for _, r in await bus.results(wait=0.3))  # and no more than n
    assert len(found) == n, found
    return sorted(found, key=lambda r: r.sequence)


async def job_row(sessions, rid: str):  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return (await session.execute(select(jobs).where(jobs.c.redemption_id == rid))).one()


async def test_a_webhook_that_completes_delivers_its_code_once(service, bus, sessions, provider):
    provider.script = [Answer(200, {"status": "completed", "code": "GIFT-1", "pin": "9", "reference": "pv-1"})]
    await bus.publish_job(job("r-w1", "webhook", config={"url": provider.url}, shipping_address=ADDRESS))

    [result] = await results_for(bus, sessions, 1)
    assert (result.outcome, result.code, result.pin, result.provider_reference, result.sequence) == \
        (O.RESULT_OUTCOME_COMPLETED, "GIFT-1", "9", "pv-1", 1)
    headers, body = provider.seen[0]
    assert headers["idempotency-key"] == "r-w1"
    assert (body["redemption_id"], body["face_value"], body["shipping_address"]["city"]) == ("r-w1", 1000, "Oslo")
    assert (await job_row(sessions, "r-w1")).state == "succeeded"


@pytest.mark.parametrize("first", [
    Answer(500, {}),
    Answer(429, {}, headers={"Retry-After": "0.2"}),
    Answer(200, {"status": "completed", "code": "LATE"}, delay=1.0),  # past the client's timeout
], ids=["5xx", "429", "timeout"])
async def test_transient_answers_are_retried_with_the_same_key_and_applied_once(service, bus, sessions, provider,
                                                                                first):
    provider.script = [first, Answer(200, {"status": "completed", "code": "LATE"})]
    started = time.monotonic()
    rid = f"r-t-{first.status}-{first.delay}"  # JetStream's duplicate window outlives a purge: one id per case
    await bus.publish_job(job(rid, "webhook", config={"url": provider.url}))

    [result] = await results_for(bus, sessions, 1)
    assert (result.outcome, result.code) == (O.RESULT_OUTCOME_COMPLETED, "LATE")
    assert [h["idempotency-key"] for h, _ in provider.seen] == [rid, rid]
    assert len(provider.applied) == 1
    if first.status == 429:
        assert time.monotonic() - started >= 0.2, "Retry-After is honoured"


async def test_an_accepted_job_waits_for_the_signed_callback(service, bus, sessions, provider):
    provider.script = [Answer(202, {"status": "accepted", "reference": "pv-9"})]
    await bus.publish_job(job("r-cb", "webhook", config={"url": provider.url}))
    [waiting] = await results_for(bus, sessions, 1)
    assert (waiting.outcome, waiting.provider_reference) == (O.RESULT_OUTCOME_AWAITING_VENDOR, "pv-9")
    assert (await job_row(sessions, "r-cb")).state == "waiting"

    body = json.dumps({"status": "completed", "code": "CB-1", "pin": "2"}).encode()
    now = str(int(time.time()))
    good = signature_for(SIGNING_SECRET.encode(), now, body)
    stale = str(int(time.time()) - 600)
    for signature, timestamp in ((good[:-1] + "0" if good[-1] != "0" else good[:-1] + "1", now),
                                 (signature_for(SIGNING_SECRET.encode(), stale, body), stale),
                                 (signature_for(b"another-secret", now, body), now)):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await service.stub.ProviderCallback(O.ProviderCallbackRequest(
                redemption_id="r-cb", body=body, signature=signature, timestamp=timestamp), timeout=5)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert (await job_row(sessions, "r-cb")).state == "waiting"

    request = O.ProviderCallbackRequest(redemption_id="r-cb", body=body, signature=good, timestamp=now)
    first = await service.stub.ProviderCallback(request, timeout=5)
    again = await service.stub.ProviderCallback(request, timeout=5)
    assert first.job.state == again.job.state == O.JOB_STATE_SUCCEEDED
    [done] = await results_for(bus, sessions, 1)
    assert (done.outcome, done.code, done.sequence) == (O.RESULT_OUTCOME_COMPLETED, "CB-1", 2)


async def test_a_rejection_yields_one_failed_result(service, bus, sessions, provider):
    provider.script = [Answer(400, {"message": "unknown sku"})]
    await bus.publish_job(job("r-bad", "webhook", config={"url": provider.url}))
    [result] = await results_for(bus, sessions, 1)
    assert (result.outcome, result.failure_code) == (O.RESULT_OUTCOME_FAILED, "PROVIDER_REJECTED")
    assert len(provider.seen) == 1


async def test_a_provider_down_then_up_is_called_again_on_a_later_delivery(service, bus, sessions):
    down = FakeProvider(free_port())
    await bus.publish_job(job("r-down", "webhook", config={"url": down.url}))

    async def postponed() -> bool:
        row = await job_row(sessions, "r-down") if await all_jobs(sessions) else None
        return row is not None and row.state == "pending" and row.attempts >= 1 and bool(row.last_error)

    await wait_until(postponed, what="the job to wait for its next delivery")
    row = await job_row(sessions, "r-down")
    assert row.next_attempt_at is not None
    server, task = await serve(down)
    try:
        [result] = await results_for(bus, sessions, 1)
    finally:
        server.should_exit = True
        await task
    assert result.outcome == O.RESULT_OUTCOME_COMPLETED
    assert (await job_row(sessions, "r-down")).attempts >= 2


async def all_jobs(sessions) -> int:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return len((await session.execute(select(jobs.c.redemption_id))).all())


async def test_a_provider_down_on_every_delivery_is_failed_and_refunded(service, bus, sessions):
    await bus.publish_job(job("r-gone", "webhook", config={"url": f"http://127.0.0.1:{free_port()}/x"}))
    [result] = await results_for(bus, sessions, 1)
    assert (result.outcome, result.failure_code) == (O.RESULT_OUTCOME_FAILED, "PROVIDER_UNAVAILABLE")
    row = await job_row(sessions, "r-gone")
    assert (row.state, row.attempts) == ("failed", 3)


async def test_bonus_and_free_rounds_call_the_bonus_engine(service, bus, sessions, provider):
    provider.script = [Answer(200, {"reference_id": 4711}),
                       Answer(422, {"code": "GAME_NOT_AVAILABLE"})]
    await bus.publish_job(job("r-b", "bonus", config={"url": provider.url, "bonus_amount": 500, "currency": "EUR"}))
    [bonus] = await results_for(bus, sessions, 1)
    assert (bonus.outcome, bonus.financial_ref_id) == (O.RESULT_OUTCOME_COMPLETED, 4711)
    assert provider.seen[0][1] == {"player_id": "p1", "redemption_id": "r-b", "kind": "bonus", "amount": 500,
                                   "currency": "EUR"}

    await bus.publish_job(job("r-fr", "free_rounds", config={"url": provider.url, "game_id": 77}, rounds=20))
    [rounds] = await results_for(bus, sessions, 1)
    assert (rounds.outcome, rounds.failure_code) == (O.RESULT_OUTCOME_FAILED, "GAME_NOT_AVAILABLE")
    assert provider.seen[1][1] == {"player_id": "p1", "redemption_id": "r-fr", "kind": "free_rounds",
                                   "rounds": 20, "game_id": 77}

    await bus.publish_job(job("r-nourl", "bonus"))
    [invalid] = await results_for(bus, sessions, 1)
    assert (invalid.outcome, invalid.failure_code) == (O.RESULT_OUTCOME_FAILED, "INVALID_JOB")


async def only_accepted(bus, sessions, sent: O.FulfillmentJob) -> None:  # type: ignore[no-untyped-def]
    """A job that waits for an operator publishes exactly one result, ACCEPTED on the results subject, and
    nothing more until the operator moves it (a redelivery of the job adds nothing)."""
    rid = sent.redemption_id
    [accepted] = await results_for(bus, sessions, 1)
    assert (accepted.redemption_id, accepted.outcome, accepted.sequence) == (rid, O.RESULT_OUTCOME_ACCEPTED, 1)
    async with sessions() as session:
        rows = (await session.execute(select(outbox.c.event_id, outbox.c.subject))).all()
    assert [tuple(r) for r in rows] == [(accepted.event_id, RESULTS_SUBJECT)]
    row = await job_row(sessions, rid)
    assert (row.state, row.result_event_id) == ("waiting", accepted.event_id)
    await bus.publish_job(sent, msg_id=f"again-{rid}")  # the same job event delivered once more
    assert await bus.results(wait=0.5) == []


def advance(rid: str, outcome: int, **kw) -> O.AdvanceJobRequest:  # type: ignore[no-untyped-def]
    return O.AdvanceJobRequest(scope=SCOPE, redemption_id=rid, outcome=outcome, **kw)


async def test_a_physical_job_ships_then_delivers(service, bus, sessions):
    shipment = job("r-ph", "physical", shipping_address=ADDRESS)
    await bus.publish_job(shipment)
    await only_accepted(bus, sessions, shipment)
    row = await job_row(sessions, "r-ph")
    assert (row.state, row.delivery_status, row.result_outcome) == ("waiting", "pending", "ACCEPTED")

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await service.stub.AdvanceJob(advance("r-ph", O.RESULT_OUTCOME_SHIPPED), timeout=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # no tracking number
    shipped = await service.stub.AdvanceJob(advance("r-ph", O.RESULT_OUTCOME_SHIPPED, tracking_number="TRK1"),
                                            timeout=5)
    assert (shipped.job.delivery_status, shipped.job.tracking_number) == ("shipped", "TRK1")
    delivered = await service.stub.AdvanceJob(advance("r-ph", O.RESULT_OUTCOME_DELIVERED), timeout=5)
    assert (delivered.job.state, delivered.job.delivery_status) == (O.JOB_STATE_SUCCEEDED, "delivered")
    results = await results_for(bus, sessions, 2)
    assert [(r.outcome, r.sequence, r.tracking_number) for r in results] == \
        [(O.RESULT_OUTCOME_SHIPPED, 2, "TRK1"), (O.RESULT_OUTCOME_DELIVERED, 3, "TRK1")]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await service.stub.FailJob(O.FailJobRequest(scope=SCOPE, redemption_id="r-ph", reason="x"), timeout=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_manual_job_moves_forward_only_and_can_be_failed(service, bus, sessions):
    booking = job("r-m", "manual")
    await bus.publish_job(booking)
    await only_accepted(bus, sessions, booking)
    with pytest.raises(grpc.aio.AioRpcError) as caught:  # ACCEPTED is the service's word, not an operator's move
        await service.stub.AdvanceJob(advance("r-m", O.RESULT_OUTCOME_ACCEPTED), timeout=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    await service.stub.AdvanceJob(advance("r-m", O.RESULT_OUTCOME_AWAITING_CUSTOMER), timeout=5)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await service.stub.AdvanceJob(advance("r-m", O.RESULT_OUTCOME_AWAITING_VENDOR), timeout=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    await service.stub.AdvanceJob(advance("r-m", O.RESULT_OUTCOME_PURCHASED), timeout=5)
    with pytest.raises(grpc.aio.AioRpcError):  # a failure needs a reason
        await service.stub.FailJob(O.FailJobRequest(scope=SCOPE, redemption_id="r-m"), timeout=5)
    other_tenant = common_pb2.Scope(tenant_id="other", environment=common_pb2.ENVIRONMENT_LIVE)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await service.stub.FailJob(O.FailJobRequest(scope=other_tenant, redemption_id="r-m", reason="x"), timeout=5)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    failed = await service.stub.FailJob(O.FailJobRequest(scope=SCOPE, redemption_id="r-m", reason="sold out"),
                                        timeout=5)
    assert failed.job.state == O.JOB_STATE_FAILED
    results = await results_for(bus, sessions, 3)
    assert [(r.outcome, r.sequence) for r in results] == [
        (O.RESULT_OUTCOME_AWAITING_CUSTOMER, 2), (O.RESULT_OUTCOME_PURCHASED, 3), (O.RESULT_OUTCOME_FAILED, 4)]
    assert results[-1].failure_message == "sold out"
    with pytest.raises(grpc.aio.AioRpcError):
        await service.stub.RetryJob(O.RetryJobRequest(scope=SCOPE, redemption_id="r-m"), timeout=5)


async def test_a_manual_job_taken_before_accepted_existed_is_acknowledged_when_asked_again(service, bus, sessions):
    legacy = job("r-old", "manual")
    async with sessions.begin() as session:  # as the service left it then: waiting, no result at all
        await repository.mark_event_processed(session, legacy.event_id)
        await repository.open_job(session, Scope("acme", "live"), "r-old", "it-1", "manual", legacy.event_id,
                                  legacy.SerializeToString(), state="waiting")
    asked_again = job("r-old", "manual")
    asked_again.event_id = "job-r-old-reconciled"  # redemption-service's reconciler re-publishes under a new id
    await bus.publish_job(asked_again)
    await only_accepted(bus, sessions, asked_again)


async def test_retry_job_calls_a_waiting_provider_now_and_refuses_a_succeeded_job(service, bus, sessions, provider):
    provider.script = [Answer(202, {"status": "accepted", "reference": "pv-2"})]
    await bus.publish_job(job("r-rt", "webhook", config={"url": provider.url}))
    await results_for(bus, sessions, 1)
    # The provider finished meanwhile; asked again with the same key, it now says so.
    provider.applied["r-rt"] = Answer(200, {"status": "completed", "code": "RT-1"})
    retried = await service.stub.RetryJob(O.RetryJobRequest(scope=SCOPE, redemption_id="r-rt"), timeout=10)
    assert retried.job.state == O.JOB_STATE_SUCCEEDED
    [done] = await results_for(bus, sessions, 1)
    assert (done.outcome, done.code, done.sequence) == (O.RESULT_OUTCOME_COMPLETED, "RT-1", 2)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await service.stub.RetryJob(O.RetryJobRequest(scope=SCOPE, redemption_id="r-rt"), timeout=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
