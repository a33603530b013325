"""The running system for e2e tests: embedded PostgreSQL and NATS and the five services as real processes,
on free ports in a temporary folder, seeded with the demo tenant once per session."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from local_runner.demo import seed
from local_runner.infra import free_port
from local_runner.platform import Platform
from local_runner.settings import REPLICATED, RunnerSettings


def _free_settings(run_dir: Path, replicas: int = 1, mtls: bool = False, nats_replicas: int = 1) -> RunnerSettings:
    return RunnerSettings(
        run_dir=run_dir, gateway_port=free_port(), catalog_port=free_port(), wallet_port=free_port(),
        redemption_port=free_port(), fulfillment_port=free_port(), events_port=free_port(),
        partner_port=free_port(),
        replicas=replicas, replica_ports={svc: [free_port() for _ in range(replicas - 1)] for svc in REPLICATED},
        mtls=mtls,
        postgres_port=free_port(),
        nats_port=free_port(), nats_monitor_port=free_port(), nats_url=None, database_urls={},
        nats_replicas=nats_replicas,
        nats_node_ports=[(free_port(), free_port(), free_port()) for _ in range(nats_replicas)],
        start_timeout=120.0, seed_demo=True,
        service_env={"LOG_LEVEL": "INFO", "SAGA_RECOVERY_INTERVAL_SECONDS": "2", "SAGA_STALE_SECONDS": "10",
                     "RECONCILE_INTERVAL_SECONDS": "2", "RECONCILE_AFTER_SECONDS": "8",
                     # fulfillment: a provider that is down is tried again within seconds, not half a minute
                     "ACK_WAIT_SECONDS": "3", "PROVIDER_MAX_ATTEMPTS": "2",
                     # events: a webhook receiver that is down is tried again within a second
                     "WEBHOOK_RETRY_BASE_SECONDS": "0.3", "WEBHOOK_RETRY_MAX_INTERVAL_SECONDS": "1",
                     "WEBHOOK_DELIVERY_INTERVAL_SECONDS": "0.2", "WEBHOOK_TIMEOUT_SECONDS": "2",
                     # redemption: an undecided review hold is rejected (refunded) within seconds, so the
                     # termination invariant never waits on one for long
                     "REVIEW_HOLD_SECONDS": "15", "REVIEW_TIMEOUT_INTERVAL_SECONDS": "1",
                     # wallet: a lot whose expiry passed is expired by the sweep within a second
                     "LOT_EXPIRY_SECONDS": "1"},
    )


@contextlib.contextmanager
def _running_platform(request: pytest.FixtureRequest, service_env: dict[str, str] | None = None,
                      replicas: int = 1, mtls: bool = False, nats_replicas: int = 1) -> Iterator[Platform]:
    run_dir = Path(tempfile.mkdtemp(prefix="rewards-e2e-"))
    settings = _free_settings(run_dir, replicas, mtls, nats_replicas)
    settings.service_env.update(service_env or {})
    p = Platform(settings, say=lambda m: print(f"[e2e] {m}"))
    try:
        p.start()
        yield p
    except Exception:
        for spec in p.specs():
            print(p.log_tail(spec.name, 60))
        raise
    finally:
        p.stop()
        # The services' logs are what a failure needs: keep them then, and only then.
        if request.session.testsfailed:
            print(f"[e2e] logs kept in {run_dir / 'logs'}")
        else:
            shutil.rmtree(run_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def platform(request: pytest.FixtureRequest) -> Iterator[Platform]:
    with _running_platform(request) as p:
        yield p


@pytest.fixture(scope="session")
def another_platform(
        request: pytest.FixtureRequest) -> Callable[..., contextlib.AbstractContextManager[Platform]]:
    """Starts a platform of its own with extra service settings (OTEL_*, ...), `replicas` processes of the gateway
    and of every gRPC service, mutual TLS between the services when `mtls`, and a NATS cluster of `nats_replicas`
    nodes (every stream on each), for a module that needs them: about 20 s (more with replicas), so only where the
    shared one cannot do."""
    return lambda service_env, replicas=1, mtls=False, nats_replicas=1: _running_platform(
        request, service_env, replicas, mtls, nats_replicas)


@pytest.fixture(scope="session")
def operator_of() -> Callable[[Platform, dict[str, Any]], Operator]:
    """An Operator of another platform (see another_platform), seeded with local_runner.demo.seed."""
    return lambda platform, demo: Operator(platform.gateway_url, demo)


@pytest.fixture(scope="session")
def demo(platform: Platform) -> dict[str, Any]:
    return seed(platform)


@pytest.fixture
def gateway(platform: Platform) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.gateway_url, timeout=20.0) as client:
        yield client


Redeems = list[tuple[dict[str, str], dict[str, Any]]]  # (headers, body) of each POST /v1/redemptions


@pytest.fixture
def redeem_at_once(platform: Platform) -> Callable[[Redeems], list[httpx.Response]]:
    """Sends every redeem at the same moment, as many clients would, and answers their responses in order."""
    async def send(requests: Redeems) -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=60.0) as client:
            return list(await asyncio.gather(*(client.post("/v1/redemptions", headers=h, json=b)
                                               for h, b in requests)))

    return lambda requests: asyncio.run(send(requests))


class Operator:
    """The demo tenant's operator and back end, through the gateway: items, grants, player tokens."""

    def __init__(self, gateway_url: str, demo: dict[str, Any]) -> None:
        self.demo = demo
        self.http = httpx.Client(base_url=gateway_url, timeout=20.0, headers={"x-api-key": demo["api_key"]})

    def create_item(self, **fields: Any) -> dict[str, Any]:
        body = {"id": f"it-{uuid.uuid4().hex[:10]}", "name": "Test item", "prices": [{"pointType": "gems", "amount": 10}],
                "stock": 100, "fulfillmentStrategy": "manual", **fields}
        r = self.http.post("/v1/admin/items", json=body)
        assert r.status_code == 201, r.text
        return r.json()

    def grant(self, player: str, amount: int, point_type: str = "gems", expires_at: str | None = None) -> None:
        body: dict[str, Any] = {"pointType": point_type, "amount": amount}
        if expires_at is not None:
            body["expiresAt"] = expires_at
        r = self.http.post(f"/v1/admin/players/{player}/grants", headers={"Idempotency-Key": uuid.uuid4().hex},
                           json=body)
        assert r.status_code == 201, r.text

    def token(self, player: str, **claims: Any) -> str:
        r = self.http.post("/v1/auth/token", headers={"x-client-id": self.demo["client_id"],
                                                     "x-client-secret": self.demo["client_secret"]},
                           json={"player_id": player, **claims})
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    def new_player(self, gems: int = 0, **claims: Any) -> tuple[str, dict[str, str]]:
        """A fresh player with a balance, and the headers of its player token."""
        player = f"p-{uuid.uuid4().hex[:12]}"
        if gems:
            self.grant(player, gems)
        return player, {"Authorization": f"Bearer {self.token(player, **claims)}"}


@pytest.fixture(scope="session")
def operator(platform: Platform, demo: dict[str, Any]) -> Iterator[Operator]:
    op = Operator(platform.gateway_url, demo)
    yield op
    op.http.close()


class Databases:
    """Each service's own database, read straight (the invariants do not trust the APIs)."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    def rows(self, service_db: str, sql: str) -> list[list[str]]:
        assert self.platform.postgres is not None
        out = self.platform.postgres.psql(sql, database=service_db)
        return [line.split("|") for line in out.splitlines() if line]

    def value(self, service_db: str, sql: str) -> str:
        rows = self.rows(service_db, sql)
        return rows[0][0] if rows else ""

    def assert_wallet_conserved(self) -> None:
        """Every balance equals the sum of its ledger rows and of its lots, and none is below zero."""
        broken = self.rows("wallet", """
            SELECT a.tenant_id, a.environment, a.player_id, a.point_type, a.balance, COALESCE(SUM(l.amount), 0)
            FROM accounts a LEFT JOIN ledger_entries l USING (tenant_id, environment, player_id, point_type)
            GROUP BY a.tenant_id, a.environment, a.player_id, a.point_type, a.balance
            HAVING a.balance <> COALESCE(SUM(l.amount), 0) OR a.balance < 0""")
        assert not broken, f"balances that differ from their ledger: {broken}"
        broken = self.rows("wallet", """
            SELECT a.tenant_id, a.environment, a.player_id, a.point_type, a.balance, COALESCE(SUM(p.remaining), 0)
            FROM accounts a LEFT JOIN point_lots p USING (tenant_id, environment, player_id, point_type)
            GROUP BY a.tenant_id, a.environment, a.player_id, a.point_type, a.balance
            HAVING a.balance <> COALESCE(SUM(p.remaining), 0)""")
        assert not broken, f"balances that differ from their lots: {broken}"


@pytest.fixture(scope="session")
def databases(platform: Platform) -> Databases:
    return Databases(platform)


@pytest.fixture(scope="session")
def databases_of() -> Callable[[Platform], Databases]:
    """The Databases of another platform (see another_platform)."""
    return Databases


def restart_with(platform, name: str, env: dict[str, str] | None = None) -> None:
    """Restarts one service (SIGKILL if it still runs) with extra settings, e.g. FAILPOINTS."""
    proc = platform.procs.get(name)
    if proc is not None:
        if proc.poll() is None:
            platform.kill_service(name)
        else:
            platform.procs.pop(name)
    # The runner applies its own service_env last: swap it for this one start.
    shared = platform.s.service_env
    platform.s.service_env = {**shared, **(env or {})}
    try:
        platform.start_service(platform.spec(name))
    finally:
        platform.s.service_env = shared
    platform.wait_healthy([name])


@pytest.fixture(scope="session")
def restart() -> Callable[..., None]:
    return restart_with
