"""The kit's server answers gRPC reflection in v1 (what current grpcurl, Postman and buf curl ask first) and in
v1alpha (older clients), through a real reflection client: each lists the services, and describes a service's
file with its dependencies, so a client can build calls with no .proto at hand."""

from __future__ import annotations

import asyncio
import os
import signal
import socket

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha import reflection_pb2
from rewards.wallet.v1 import wallet_pb2
from service_kit import reflection
from service_kit.grpc_server import serve

WALLET = wallet_pb2.DESCRIPTOR.services_by_name["WalletService"].full_name


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ask(channel: grpc.aio.Channel, service: str):
    """A reflection stream on `service` (v1 or v1alpha): same messages on the wire, so v1alpha's classes serve."""
    return channel.stream_stream(f"/{service}/{reflection.METHOD}",
                                 request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
                                 response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)


@pytest.mark.parametrize("service", [reflection.V1_SERVICE_NAME, reflection.V1ALPHA_SERVICE_NAME])
async def test_reflection_lists_and_describes_the_services(service: str) -> None:
    port, ready = _free_port(), asyncio.Event()
    server = asyncio.create_task(serve(name="reflection-test", host="127.0.0.1", port=port,
                                       add_services=lambda _server: [WALLET], ready=ready, grace_seconds=0.5))
    try:
        await asyncio.wait_for(ready.wait(), 10)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = _ask(channel, service)(iter([
                reflection_pb2.ServerReflectionRequest(list_services=""),
                reflection_pb2.ServerReflectionRequest(file_containing_symbol=WALLET),
                reflection_pb2.ServerReflectionRequest(file_containing_symbol=reflection.V1_SERVICE_NAME),
            ]), timeout=5)
            answers = [answer async for answer in call]
        listed = {s.name for s in answers[0].list_services_response.service}
        assert {WALLET, "grpc.health.v1.Health", reflection.V1_SERVICE_NAME,
                reflection.V1ALPHA_SERVICE_NAME} <= listed
        files = [descriptor_pb2.FileDescriptorProto.FromString(raw)
                 for raw in answers[1].file_descriptor_response.file_descriptor_proto]
        wallet = next(f for f in files if f.package == "rewards.wallet.v1")
        assert "WalletService" in [s.name for s in wallet.service]
        assert set(wallet.dependency) <= {f.name for f in files}   # its imports come along
        v1 = descriptor_pb2.FileDescriptorProto.FromString(
            answers[2].file_descriptor_response.file_descriptor_proto[0])
        assert (v1.package, [s.name for s in v1.service]) == ("grpc.reflection.v1", ["ServerReflection"])
    finally:
        os.kill(os.getpid(), signal.SIGTERM)   # the server's own graceful stop
        await asyncio.wait_for(server, 10)
