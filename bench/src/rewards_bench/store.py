"""The system under load: the platform started as `make run` starts it (on free ports in a temporary folder, demo
tenant seeded), then a store made for the benchmark through the operators' own routes: code-pool items with their
codes, and players with enough points and a token each."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from local_runner.demo import seed
from local_runner.infra import free_port
from local_runner.platform import Platform
from local_runner.settings import REPLICATED, RunnerSettings

TIMEOUT = 30.0
CODES_PER_UPLOAD = 5_000   # the gateway takes at most 10,000 codes and 2 MB per request


def start_platform(say: Any = print, replicas: int = 1) -> Platform:
    """The platform on free ports; `replicas` processes of the gateway and of every gRPC service (REPLICAS)."""
    run_dir = Path(tempfile.mkdtemp(prefix="rewards-bench-"))
    settings = RunnerSettings(
        run_dir=run_dir, gateway_port=free_port(), catalog_port=free_port(), wallet_port=free_port(),
        redemption_port=free_port(), fulfillment_port=free_port(), events_port=free_port(),
        partner_port=free_port(),
        postgres_port=free_port(), nats_port=free_port(), nats_monitor_port=free_port(), nats_url=None,
        database_urls={}, start_timeout=120.0, seed_demo=True, replicas=replicas,
        replica_ports={svc: [free_port() for _ in range(replicas - 1)] for svc in REPLICATED})
    platform = Platform(settings, say=lambda m: say(f"[platform] {m}"))
    try:
        platform.start()
    except Exception:
        platform.stop()
        raise
    return platform


@dataclass
class Store:
    gateway_url: str
    demo: dict[str, Any]
    spread_items: list[str] = field(default_factory=list)
    hot_item: str = ""
    players: list[str] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)
    empty_player_token: str = ""     # a player with no account: its balances read is one trivial wallet call

    def bearer(self, player: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[player]}"}


class Operator:
    def __init__(self, http: httpx.AsyncClient, demo: dict[str, Any]) -> None:
        self.http = http
        self.demo = demo
        self.admin = {"x-api-key": demo["api_key"]}

    async def create_code_item(self, item_id: str, stock: int) -> None:
        r = await self.http.post("/v1/admin/items", headers=self.admin, json={
            "id": item_id, "name": f"Bench voucher {item_id}", "prices": [{"pointType": "gems", "amount": 1}],
            "stock": stock, "fulfillmentStrategy": "code_pool"})
        if r.status_code != 201:
            raise RuntimeError(f"creating item {item_id}: {r.status_code} {r.text}")

    async def upload_codes(self, item_id: str, count: int) -> None:
        for start in range(0, count, CODES_PER_UPLOAD):
            codes = [{"code": f"B-{item_id}-{i:07d}", "pin": f"{i % 10000:04d}"}
                     for i in range(start, min(count, start + CODES_PER_UPLOAD))]
            r = await self.http.post(f"/v1/admin/items/{item_id}/codes", headers=self.admin, json={"codes": codes})
            if r.status_code not in (200, 201):
                raise RuntimeError(f"uploading codes of {item_id}: {r.status_code} {r.text}")

    async def grant(self, player: str, gems: int) -> None:
        r = await self.http.post(f"/v1/admin/players/{player}/grants", json={"pointType": "gems", "amount": gems},
                                 headers={**self.admin, "Idempotency-Key": f"bench-grant-{player}"})
        if r.status_code not in (200, 201):
            raise RuntimeError(f"granting {player}: {r.status_code} {r.text}")

    async def token(self, player: str) -> str:
        r = await self.http.post("/v1/auth/token", json={"player_id": player, "ttl_seconds": 6 * 3600},
                                 headers={"x-client-id": self.demo["client_id"],
                                          "x-client-secret": self.demo["client_secret"]})
        if r.status_code != 200:
            raise RuntimeError(f"token for {player}: {r.status_code} {r.text}")
        return str(r.json()["access_token"])


async def _bounded(jobs: list[Any], parallel: int = 8) -> list[Any]:
    gate = asyncio.Semaphore(parallel)

    async def one(job: Any) -> Any:
        async with gate:
            return await job

    return list(await asyncio.gather(*(one(j) for j in jobs)))


async def prepare_store(platform: Platform, *, spread_items: int, codes_per_spread_item: int, hot_codes: int,
                        players: int, gems_per_player: int) -> Store:
    # No endpoint to the demo partner: its webhooks would share this machine's CPUs with what is measured.
    demo = seed(platform, partner_webhook=False)
    run = uuid.uuid4().hex[:6]
    store = Store(gateway_url=platform.gateway_url, demo=demo,
                  spread_items=[f"bench-{run}-{i:03d}" for i in range(spread_items)], hot_item=f"bench-{run}-hot",
                  players=[f"bench-{run}-p{i:05d}" for i in range(players)])
    async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=TIMEOUT) as http:
        op = Operator(http, demo)
        await _bounded([op.create_code_item(i, codes_per_spread_item) for i in store.spread_items])
        await op.create_code_item(store.hot_item, hot_codes)
        # Codes are encrypted one by one in fulfillment: uploads run two at a time to leave it some air.
        await _bounded([op.upload_codes(i, codes_per_spread_item) for i in store.spread_items], parallel=2)
        await op.upload_codes(store.hot_item, hot_codes)
        await _bounded([op.grant(p, gems_per_player) for p in store.players])
        tokens = await _bounded([op.token(p) for p in store.players])
        store.tokens = dict(zip(store.players, tokens))
        store.empty_player_token = await op.token(f"bench-{run}-nobody")
    return store
