"""Mutual TLS between the services (service_kit.mtls), on the kit's real server (serve) and channels: the callers a
service allows are answered; a service it does not allow is refused PERMISSION_DENIED; a call without a
certificate, with one of another CA, or in plain text fails the handshake; health answers any certified caller,
and the plain-text health port answers health only. Certificates from the runner's local CA."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from local_runner.certificates import issue
from local_runner.infra import free_port
from service_kit.grpc_client import open_channel
from service_kit.grpc_server import serve
from service_kit.mtls import ServerSecurity, TlsFiles, tls_of

METHOD = "/test.Wallet/Debit"


def _files(folder: Path, identity: str) -> TlsFiles:
    issued = issue(folder, identity)
    tls = TlsFiles.from_paths(str(issued.certificate), str(issued.key), str(issued.ca))
    assert tls is not None
    return tls


@pytest.fixture
async def wallet(tmp_path: Path) -> AsyncIterator[SimpleNamespace]:
    """A server that calls itself wallet-service, open to redemption-service only, with a plain health port."""
    ca = tmp_path / "tls"
    security = ServerSecurity(_files(ca, "wallet-service"), frozenset({"redemption-service"}), free_port())
    port, ready = free_port(), asyncio.Event()

    def add_services(server: grpc.aio.Server) -> list[str]:
        async def debit(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            return b"debited"
        server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
            "test.Wallet", {"Debit": grpc.unary_unary_rpc_method_handler(debit)})])
        return ["test.Wallet"]

    task = asyncio.create_task(serve(name="wallet-service", host="127.0.0.1", port=port, add_services=add_services,
                                     security=security, ready=ready, grace_seconds=0))
    await asyncio.wait_for(ready.wait(), 10)
    yield SimpleNamespace(port=port, health_port=security.health_port, ca=ca, folder=tmp_path)
    os.kill(os.getpid(), signal.SIGTERM)   # serve's own graceful stop
    await asyncio.wait_for(task, 10)


async def _debit(channel: grpc.aio.Channel) -> bytes:
    try:
        return bytes(await channel.unary_unary(METHOD)(b"", timeout=3))
    finally:
        await channel.close()


async def _health(channel: grpc.aio.Channel) -> int:
    try:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=3)
        return int(reply.status)
    finally:
        await channel.close()


async def test_an_allowed_caller_is_answered_and_another_service_is_refused(wallet) -> None:
    target = f"127.0.0.1:{wallet.port}"
    redemption = _files(wallet.ca, "redemption-service")
    assert await _debit(open_channel(target, tls=redemption, server_name="wallet-service")) == b"debited"

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _debit(open_channel(target, tls=_files(wallet.ca, "catalog-service"), server_name="wallet-service"))
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "catalog-service may not call /test.Wallet/Debit" in (refused.value.details() or "")
    # Health answers any caller the CA signed (the runner checks it with a certificate of its own).
    serving = health_pb2.HealthCheckResponse.SERVING
    assert await _health(open_channel(target, tls=_files(wallet.ca, "catalog-service"),
                                      server_name="wallet-service")) == serving


async def test_a_call_without_a_certificate_of_the_ca_never_reaches_the_service(wallet) -> None:
    target = f"127.0.0.1:{wallet.port}"
    ca = (wallet.ca / "ca.pem").read_bytes()
    no_certificate = grpc.aio.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=ca),
                                             options=[("grpc.ssl_target_name_override", "wallet-service")])
    stranger = _files(wallet.folder / "another-ca", "redemption-service")   # the right name, another CA
    foreign = grpc.aio.secure_channel(target, grpc.ssl_channel_credentials(ca, stranger.key, stranger.certificate),
                                      options=[("grpc.ssl_target_name_override", "wallet-service")])
    for channel in (no_certificate, foreign, grpc.aio.insecure_channel(target)):
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await _debit(channel)
        assert failed.value.code() == grpc.StatusCode.UNAVAILABLE, failed.value


async def test_the_caller_checks_the_server_is_the_service_it_called(wallet) -> None:
    redemption = _files(wallet.ca, "redemption-service")
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await _debit(open_channel(f"127.0.0.1:{wallet.port}", tls=redemption, server_name="catalog-service"))
    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_the_plain_health_port_answers_health_and_nothing_else(wallet) -> None:
    target = f"127.0.0.1:{wallet.health_port}"
    assert await _health(grpc.aio.insecure_channel(target)) == health_pb2.HealthCheckResponse.SERVING
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _debit(grpc.aio.insecure_channel(target))
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_tls_settings_are_all_or_none_and_name_what_is_missing(tmp_path: Path, capsys) -> None:
    assert tls_of(SimpleNamespace(grpc_tls_cert_file="", grpc_tls_key_file="", grpc_tls_ca_file="")) is None
    issued = issue(tmp_path, "gateway")
    with pytest.raises(SystemExit):
        tls_of(SimpleNamespace(grpc_tls_cert_file=str(issued.certificate), grpc_tls_key_file="",
                               grpc_tls_ca_file=str(issued.ca)))
    assert "GRPC_TLS_KEY_FILE not set" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        tls_of(SimpleNamespace(grpc_tls_cert_file=str(issued.certificate), grpc_tls_key_file=str(tmp_path / "no"),
                               grpc_tls_ca_file=str(issued.ca)))
    assert "GRPC_TLS_KEY_FILE: cannot read" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        ServerSecurity.from_settings(SimpleNamespace(
            grpc_tls_cert_file=str(issued.certificate), grpc_tls_key_file=str(issued.key),
            grpc_tls_ca_file=str(issued.ca), grpc_allowed_callers=" , ", grpc_health_port=0))
    assert "GRPC_ALLOWED_CALLERS is empty" in capsys.readouterr().err
