"""Fixtures: the gateway's real PostgreSQL database (migrated once per session), small in-process gRPC fakes
of the four services on a free port, and the app served through httpx's ASGI transport with its lifespan."""

from __future__ import annotations

import importlib
import sys

# pytest's importlib mode names this file "gateway.tests.conftest" and registers the folder gateway/ (no
# __init__.py) as a namespace package "gateway", which shadows the installed package of the same name.
if getattr(sys.modules.get("gateway"), "__file__", None) is None:
    sys.modules.pop("gateway", None)
    importlib.import_module("gateway")

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
import httpx
import pytest
from gateway.app import MIGRATIONS, create_app
from gateway.config import Settings
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from local_runner.infra import Postgres, free_port
from rewards.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from rewards.fulfillment.v1 import fulfillment_pb2, fulfillment_pb2_grpc
from rewards.redemption.v1 import redemption_pb2, redemption_pb2_grpc
from rewards.wallet.v1 import wallet_pb2, wallet_pb2_grpc
from service_kit.db import upgrade_database
from service_kit.grpc_server import ServingInterceptor

from gateway import repository

Handler = Callable[[Any], Awaitable[Any]]

SERVICES = [
    (catalog_pb2, "CatalogService", catalog_pb2_grpc.CatalogServiceServicer,
     catalog_pb2_grpc.add_CatalogServiceServicer_to_server),
    (wallet_pb2, "WalletService", wallet_pb2_grpc.WalletServiceServicer,
     wallet_pb2_grpc.add_WalletServiceServicer_to_server),
    (redemption_pb2, "RedemptionService", redemption_pb2_grpc.RedemptionServiceServicer,
     redemption_pb2_grpc.add_RedemptionServiceServicer_to_server),
    (fulfillment_pb2, "FulfillmentService", fulfillment_pb2_grpc.FulfillmentServiceServicer,
     fulfillment_pb2_grpc.add_FulfillmentServiceServicer_to_server),
]


@dataclass
class Call:
    method: str
    request: Any
    metadata: dict[str, str]


@dataclass
class FakeServices:
    """Every RPC of the four services on one port; a test sets handlers[method] for the few it needs."""

    port: int
    handlers: dict[str, Handler] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def on(self, method: str, reply: Any) -> None:
        """Answer `method` with a fixed reply, or by calling reply(request), or by raising it (a DomainError), or
        with a bare status (a grpc.StatusCode: no ErrorInfo, as a proxy or a dying server would answer)."""
        async def handler(request: Any) -> Any:
            if isinstance(reply, BaseException):
                raise reply
            if isinstance(reply, grpc.StatusCode):
                return reply
            return reply(request) if callable(reply) else reply
        self.handlers[method] = handler

    def requests(self, method: str) -> list[Any]:
        return [c.request for c in self.calls if c.method == method]


def _servicer(base: type, module: Any, service: str, fake: FakeServices) -> Any:
    methods: dict[str, Any] = {}
    for method in module.DESCRIPTOR.services_by_name[service].methods:
        async def rpc(self: Any, request: Any, context: grpc.aio.ServicerContext, _name: str = method.name) -> Any:
            fake.calls.append(Call(_name, request, dict(context.invocation_metadata() or ())))
            handler = fake.handlers.get(_name)
            if handler is None:
                await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"fake has no {_name}")
            result = await handler(request)
            if isinstance(result, grpc.StatusCode):
                await context.abort(result, f"bare {result.name}")
            return result
        methods[method.name] = rpc
    return type(f"Fake{service}", (base,), methods)()


@pytest.fixture
async def fake_services() -> AsyncIterator[FakeServices]:
    fake = FakeServices(free_port())
    server = grpc.aio.server(interceptors=[ServingInterceptor()])
    for module, service, base, add in SERVICES:
        add(_servicer(base, module, service, fake), server)
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    await health.set("", health_pb2.HealthCheckResponse.SERVING)
    server.add_insecure_port(fake.address)
    await server.start()
    yield fake
    await server.stop(0)


@pytest.fixture(scope="session")
def gateway_database(postgres: Postgres) -> str:
    postgres.drop_database("gateway_tests")
    url = postgres.ensure_database("gateway_tests")
    upgrade_database(MIGRATIONS, url)
    return url


def settings_for(database_url: str, address: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(database_url=database_url, catalog_addr=address, wallet_addr=address,
                                  redemption_addr=address, fulfillment_addr=address, migrate_on_start=False,
                                  signing_key_cache_seconds=0, credential_cache_seconds=0,
                                  upstream_timeout_seconds=2, db_pool_size=2)
    values.update(overrides)
    return Settings(**values)


@dataclass
class Gateway:
    client: httpx.AsyncClient
    app: Any
    tenant: str
    admin_key: str          # sandbox, admin
    player_key: str         # sandbox, not admin
    client_id: str          # sandbox, not admin
    client_secret: str

    async def token(self, player_id: str, **body: Any) -> str:
        reply = await self.client.post("/v1/auth/token", json={"player_id": player_id, **body},
                                       headers={"x-client-id": self.client_id, "x-client-secret": self.client_secret})
        assert reply.status_code == 200, reply.text
        return str(reply.json()["access_token"])

    def admin(self) -> dict[str, str]:
        return {"x-api-key": self.admin_key}


async def open_gateway(settings: Settings) -> AsyncIterator[Gateway]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        tenant = "t_" + uuid.uuid4().hex[:10]
        async with app.state.sessions.begin() as session:
            await repository.create_tenant(session, tenant, "Test tenant")
            _, admin_key = await repository.create_api_key(session, tenant, "sandbox", "ops", True)
            _, player_key = await repository.create_api_key(session, tenant, "sandbox", "backend", False)
            client_id, secret = await repository.create_client(session, tenant, "sandbox", "backend", False)
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 5555))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield Gateway(client, app, tenant, admin_key, player_key, client_id, secret)


@pytest.fixture
async def gateway(gateway_database: str, fake_services: FakeServices) -> AsyncIterator[Gateway]:
    async for gw in open_gateway(settings_for(gateway_database, fake_services.address)):
        yield gw


def _fresh_engine_rows(url: str, sql: str, pairs: bool = False) -> Any:
    """Reads rows with a throwaway engine (from a sync test)."""
    import asyncio

    from service_kit.db import create_engine
    from sqlalchemy import text

    async def read() -> Any:
        engine = create_engine(url, pool_size=1)
        try:
            async with engine.connect() as conn:
                rows = (await conn.execute(text(sql))).all()
        finally:
            await engine.dispose()
        return [tuple(r) for r in rows] if pairs else " ".join(str(v) for r in rows for v in r)

    return asyncio.run(read())
