"""The kit's contracts: a DomainError crosses a real gRPC call with its code intact, a crash becomes INTERNAL
without details, the request id reaches the server, and settings name what is missing."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from service_kit.errors import DomainError, ErrorCode, from_rpc_error
from service_kit.grpc_client import call_idempotent, call_metadata, open_channel
from service_kit.grpc_server import ServingInterceptor
from service_kit.logs import request_id_var
from service_kit.settings import ServiceSettings, load_settings

seen_request_ids: list[str] = []


class Refusing(health_pb2_grpc.HealthServicer):
    async def Check(self, request, context):  # type: ignore[no-untyped-def]
        seen_request_ids.append(request_id_var.get())
        if request.service == "refuse":
            raise DomainError(ErrorCode.OUT_OF_STOCK, "no stock left", {"item_id": "12"})
        if request.service == "crash":
            raise RuntimeError("secret internals")
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)


@pytest.fixture
async def stub():
    server = grpc.aio.server(interceptors=[ServingInterceptor()])
    health_pb2_grpc.add_HealthServicer_to_server(Refusing(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = open_channel(f"127.0.0.1:{port}")
    yield health_pb2_grpc.HealthStub(channel)
    await channel.close()
    await server.stop(0)


async def test_domain_error_round_trip(stub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Check(health_pb2.HealthCheckRequest(service="refuse"), timeout=2)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    err = from_rpc_error(caught.value)
    assert err is not None and err.code is ErrorCode.OUT_OF_STOCK
    assert err.message == "no stock left" and err.metadata == {"item_id": "12"}


async def test_crash_is_internal_without_details(stub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Check(health_pb2.HealthCheckRequest(service="crash"), timeout=2)
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    assert "secret" not in (caught.value.details() or "")
    assert from_rpc_error(caught.value) is None


async def test_request_id_travels_in_metadata(stub) -> None:
    token = request_id_var.set("req-123")
    try:
        await stub.Check(health_pb2.HealthCheckRequest(), timeout=2, metadata=call_metadata())
    finally:
        request_id_var.reset(token)
    assert seen_request_ids[-1] == "req-123"


async def test_idempotent_calls_retry_transient_failures_only() -> None:
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata())
        return "ok"

    assert await call_idempotent(flaky) == "ok" and calls == 3

    refused = 0

    async def refusing() -> str:
        nonlocal refused
        refused += 1
        raise grpc.aio.AioRpcError(grpc.StatusCode.FAILED_PRECONDITION, grpc.aio.Metadata(), grpc.aio.Metadata())

    with pytest.raises(grpc.aio.AioRpcError):
        await call_idempotent(refusing)
    assert refused == 1


async def test_idempotent_calls_stop_after_their_attempts_and_their_time(monkeypatch) -> None:
    waits: list[float] = []

    async def no_sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", no_sleep)
    calls = 0

    async def down() -> str:
        nonlocal calls
        calls += 1
        raise grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata())

    with pytest.raises(grpc.aio.AioRpcError):
        await call_idempotent(down, attempts=4)
    # Four calls, three jittered waits, each within its doubling bound (0.05 s, 0.1 s, 0.2 s).
    assert calls == 4 and len(waits) == 3
    assert all(0 <= w <= bound for w, bound in zip(waits, (0.05, 0.1, 0.2), strict=True))
    calls = 0
    with pytest.raises(grpc.aio.AioRpcError):
        await call_idempotent(down, attempts=1)
    assert calls == 1
    calls = 0
    with pytest.raises(grpc.aio.AioRpcError):
        await call_idempotent(down, attempts=4, total_seconds=0)
    assert calls == 1


def test_missing_setting_is_named(monkeypatch, capsys) -> None:
    class Needs(ServiceSettings):
        database_url: str

    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(SystemExit):
        load_settings(Needs)
    assert "missing required setting DATABASE_URL" in capsys.readouterr().err


def test_nul_characters_are_found_at_any_depth() -> None:
    from google.protobuf import struct_pb2
    from rewards.common.v1 import common_pb2
    from rewards.redemption.v1 import redemption_pb2
    from service_kit.grpc_server import nul_field

    clean = redemption_pb2.RedeemRequest(item_id="12", comment="fine", player=common_pb2.PlayerContext(segments=["a"]))
    assert nul_field(clean) is None
    assert nul_field(redemption_pb2.RedeemRequest(comment="a\x00b")) == "comment"
    assert nul_field(redemption_pb2.RedeemRequest(player=common_pb2.PlayerContext(segments=["ok", "x\x00"]))) \
        == "player.segments"
    assert nul_field(redemption_pb2.RedeemRequest(
        shipping_address=common_pb2.ShippingAddress(city="\x00"))) == "shipping_address.city"
    details = struct_pb2.Struct()
    details.update({"page": {"tags": ["ok", "bad\x00"]}})
    assert nul_field(redemption_pb2.RedeemRequest(trigger_details=details)) is not None
    keyed = struct_pb2.Struct()
    keyed.update({"k\x00": 1})
    assert nul_field(redemption_pb2.RedeemRequest(trigger_details=keyed)) == "trigger_details.fields"


async def test_a_nul_character_is_refused_before_the_handler(stub) -> None:
    calls = len(seen_request_ids)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Check(health_pb2.HealthCheckRequest(service="x\x00"), timeout=2)
    err = from_rpc_error(caught.value)
    assert err is not None and err.code is ErrorCode.VALIDATION_ERROR and "service" in err.message
    assert len(seen_request_ids) == calls
