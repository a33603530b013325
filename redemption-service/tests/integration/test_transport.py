"""The servicer over real gRPC (errors as rich status, deadlines), the outbox relay on a real NATS JetStream, and
the service process itself: it migrates and serves even while NATS is unreachable."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from local_runner.infra import free_port
from redemption_service.grpc_api import RedemptionApi
from rewards.common.v1 import common_pb2
from rewards.fulfillment.v1 import fulfillment_pb2
from rewards.redemption.v1 import redemption_pb2, redemption_pb2_grpc
from service_kit.errors import ErrorCode, from_rpc_error
from service_kit.grpc_server import ServingInterceptor
from service_kit.messaging import JOBS_STREAM, JOBS_SUBJECT, JetStreamLink
from service_kit.sealing import new_key


@pytest.fixture
async def stub(system):  # type: ignore[no-untyped-def]
    server = grpc.aio.server(interceptors=[ServingInterceptor()])
    redemption_pb2_grpc.add_RedemptionServiceServicer_to_server(RedemptionApi(system.redemptions), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    yield redemption_pb2_grpc.RedemptionServiceStub(channel)
    await channel.close()
    await server.stop(0)


async def test_redeem_get_and_cancel_over_grpc(system, stub) -> None:  # type: ignore[no-untyped-def]
    response = await stub.Redeem(system.request(comment="hi"), timeout=5)
    redemption = response.redemption
    assert not response.replayed
    assert redemption.status == redemption_pb2.REDEMPTION_STATUS_OPEN
    assert (redemption.cost, redemption.item_name, redemption.fulfillment_strategy, redemption.comment) == \
        (150, "Item voucher", "code_pool", "hi")
    assert redemption.scope.environment == common_pb2.ENVIRONMENT_LIVE and redemption.created_at.seconds > 0
    replay = await stub.Redeem(system.request(comment="hi"), timeout=5)
    assert replay.replayed and replay.redemption == redemption

    got = await stub.GetRedemption(redemption_pb2.GetRedemptionRequest(
        scope=system.scope(), redemption_id=str(redemption.number), player_id="p1"), timeout=5)
    assert got.redemption.id == redemption.id
    canceled = await stub.CancelRedemption(redemption_pb2.CancelRedemptionRequest(
        scope=system.scope(), redemption_id=redemption.id), timeout=5)
    assert canceled.redemption.status == redemption_pb2.REDEMPTION_STATUS_CANCELED
    assert canceled.redemption.canceled_at.seconds > 0
    listed = await stub.ListRedemptions(redemption_pb2.ListRedemptionsRequest(scope=system.scope()), timeout=5)
    assert [r.id for r in listed.redemptions] == [redemption.id]


async def test_refusals_travel_as_rich_status(system, stub) -> None:  # type: ignore[no-untyped-def]
    system.wallet.balances["p1"] = 10
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.Redeem(system.request(), timeout=5)
    error = from_rpc_error(refused.value)
    assert error is not None and error.code is ErrorCode.INSUFFICIENT_BALANCE
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await stub.Redeem(system.request(key="x" * 201), timeout=5)
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    quote = await stub.QuoteRedemption(redemption_pb2.QuoteRedemptionRequest(
        scope=system.scope(), player=common_pb2.PlayerContext(player_id="p1"), item_id="voucher"), timeout=5)
    assert (quote.eligible, quote.reason, quote.balance) == (False, "INSUFFICIENT_BALANCE", 10)


async def test_a_redeem_whose_caller_gave_up_still_finishes(system, stub) -> None:  # type: ignore[no-untyped-def]
    system.wallet.debit_delay_seconds = 0.5
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await stub.Redeem(system.request(key="impatient"), timeout=0.2)
    assert gone.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    await asyncio.sleep(0.8)
    replay = await stub.Redeem(system.request(key="impatient"), timeout=5)
    assert replay.replayed and replay.redemption.status == redemption_pb2.REDEMPTION_STATUS_OPEN
    assert system.wallet.calls.count("DebitPoints") == 1


async def test_the_relay_publishes_each_job_once_with_its_event_id(system, nats_server) -> None:  # type: ignore[no-untyped-def]
    redemption, _ = await system.calls.redeem(system.request())
    link = JetStreamLink(nats_server.url, "redemption-test")
    try:
        assert await system.publish_jobs(link) == 1
        assert await system.publish_jobs(link) == 0
        js = await link.jetstream()
        message = await js.get_last_msg(JOBS_STREAM, JOBS_SUBJECT)
        job = fulfillment_pb2.FulfillmentJob.FromString(message.data)
        assert job.redemption_id == redemption.id
        assert message.headers is not None and message.headers["Nats-Msg-Id"] == job.event_id
        row = (await system.sql("SELECT event_id, published_at FROM outbox"))[0]
        assert row.event_id == job.event_id and row.published_at is not None
    finally:
        await link.close()


async def test_the_service_serves_while_nats_is_unreachable(migrated_database: str) -> None:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": migrated_database, "GRPC_HOST": "127.0.0.1", "GRPC_PORT": str(port),
           "NATS_URL": f"nats://127.0.0.1:{free_port()}", "LOG_LEVEL": "WARNING",
           "CODE_ENCRYPTION_KEYS": new_key()}
    process = subprocess.Popen([sys.executable, "-m", "redemption_service"], env=env,  # noqa: ASYNC220 (starts, never waits)
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            answer = await health.Check(health_pb2.HealthCheckRequest(), timeout=60, wait_for_ready=True)
            assert answer.status == health_pb2.HealthCheckResponse.SERVING
            stub = redemption_pb2_grpc.RedemptionServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as missing:
                await stub.GetRedemption(redemption_pb2.GetRedemptionRequest(
                    scope=common_pb2.Scope(tenant_id="t", environment=common_pb2.ENVIRONMENT_LIVE),
                    redemption_id="nope"), timeout=5)
            assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr.decode()[-2000:]
