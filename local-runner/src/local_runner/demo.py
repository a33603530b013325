"""Demo data for `make run`: a tenant with an API client, players with balances, items of every kind, a pool of
voucher codes, a webhook endpoint of the sandbox to the demo partner's receiver, and a fresh player token. Made
with the operators' own tools: the gateway's admin command for the tenant and its credentials, the services' gRPC
APIs for the rest. Safe to run again: what exists is kept."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import grpc
import httpx
from google.protobuf import struct_pb2
from rewards.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from rewards.common.v1 import common_pb2
from rewards.events.v1 import events_pb2, events_pb2_grpc
from rewards.fulfillment.v1 import fulfillment_pb2, fulfillment_pb2_grpc
from rewards.wallet.v1 import wallet_pb2, wallet_pb2_grpc

from local_runner.platform import Platform

TENANT = "demo"
ENVIRONMENT = "sandbox"
SCOPE = common_pb2.Scope(tenant_id=TENANT, environment=common_pb2.ENVIRONMENT_SANDBOX)
PLAYERS = {"player-1": {"gems": 5_000, "coins": 100_000}, "player-2": {"gems": 300, "coins": 5_050}}
TIMEOUT = 5.0

S = catalog_pb2


def _config(**values: Any) -> struct_pb2.Struct:
    st = struct_pb2.Struct()
    st.update(values)
    return st


def demo_items() -> list[catalog_pb2.Item]:
    gems = lambda n: [S.Price(point_type="gems", amount=n)]
    return [
        S.Item(id="12", name="Amazon gift card 10 EUR", description="A voucher code and PIN, delivered at once.",
               image_url="https://example.com/amazon.png", status=S.ITEM_STATUS_ACTIVE, prices=gems(150),
               stock=100, per_player_limit=0, fulfillment_strategy=S.FULFILLMENT_STRATEGY_CODE_POOL,
               face_value=1000, face_currency="EUR", redemption_message="Enjoy your voucher!"),
        S.Item(id="99", name="Logo T-shirt", description="Shipped to your address.",
               image_url="https://example.com/tshirt.png", status=S.ITEM_STATUS_ACTIVE, prices=gems(500), stock=20,
               per_player_limit=2, fulfillment_strategy=S.FULFILLMENT_STRATEGY_PHYSICAL,
               shipping_address_required=True, redemption_message="Your T-shirt is on its way."),
        S.Item(id="507f1f77bcf86cd799439011", name="Cash bonus 10", description="A bonus credited to your account.",
               status=S.ITEM_STATUS_ACTIVE, prices=[S.Price(point_type="coins", amount=10_000)],
               unlimited_stock=True, fulfillment_strategy=S.FULFILLMENT_STRATEGY_BONUS,
               fulfillment_config=_config(bonus_amount=10, currency="EUR")),
        S.Item(id="507f1f77bcf86cd799439012", name="Free spins on Starburst", status=S.ITEM_STATUS_ACTIVE,
               prices=[S.Price(point_type="coins", amount=2_000)], unlimited_stock=True,
               variants=[S.Variant(id="20", name="20 rounds", rounds=20, prices=[S.Price(point_type="coins", amount=2_000)]),
                         S.Variant(id="50", name="50 rounds", rounds=50, prices=[S.Price(point_type="coins", amount=4_500)]),
                         S.Variant(id="100", name="100 rounds", rounds=100, prices=[S.Price(point_type="coins", amount=8_000)])],
               fulfillment_strategy=S.FULFILLMENT_STRATEGY_FREE_ROUNDS, fulfillment_config=_config(game_id="starburst")),
        S.Item(id="vip-dinner", name="Dinner with the team", description="An experience booked with a vendor.",
               status=S.ITEM_STATUS_ACTIVE, prices=gems(2_000), stock=5, per_player_limit=1,
               customer_info_required=True, fulfillment_strategy=S.FULFILLMENT_STRATEGY_MANUAL,
               targeting=S.Targeting(private=True, segments=["vip"])),
    ]


def shown(path: Path) -> str:
    """A path as the banner shows it: relative to the current folder when inside it (`.run/demo.json`), else in
    full (RUN_DIR elsewhere)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def operator_cli(platform: Platform) -> str:
    """The operator CLI (`python -m gateway.admin`) of this run, ready to paste and to append a command to: the
    gateway's DATABASE_URL and this Python."""
    database_url = platform.service_env(platform.spec("gateway"))["DATABASE_URL"]
    return f"DATABASE_URL={shlex.quote(database_url)} {shlex.quote(shown(Path(sys.executable)))} -m gateway.admin"


def _admin(platform: Platform, *args: str) -> dict[str, Any]:
    env = platform.service_env(platform.spec("gateway"))
    r = subprocess.run([sys.executable, "-m", "gateway.admin", *args], env=env, capture_output=True, text=True,
                       check=False, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"gateway.admin {' '.join(args[:1])} failed: {r.stderr.strip() or r.stdout.strip()}")
    return json.loads(r.stdout)


def _tenant_exists(platform: Platform) -> bool:
    tenants = _admin(platform, "list-tenants")
    return any(t.get("tenant_id") == TENANT for t in tenants.get("tenants", []))


def partner_webhook_url(platform: Platform) -> str:
    """The demo partner's webhook receiver (local_runner.demo_partner, POST /webhooks)."""
    return f"http://{platform.s.host}:{platform.s.partner_port}/webhooks"


def _write_private(path: Path, text: str) -> None:
    """Writes a file only its owner reads, whole or not at all (its reader never sees half of it)."""
    part = path.with_name(path.name + ".part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(part, path)


def seed_partner_webhook(platform: Platform) -> dict[str, str]:
    """The demo tenant's sandbox endpoint to the demo partner's receiver, every event type, made once: a second
    run finds it (by the id kept, else by its URL) and keeps it, moving it to this run's partner port and enabling
    it again if need be. Its secret, answered once, goes to the file the partner reads
    (Platform.partner_webhook_file, owner-only), never to a log or demo.json; a kept endpoint whose secret that
    file lost gets a new one (a rotation). Answers the endpoint's id and url."""
    path = platform.partner_webhook_file
    kept: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    url = partner_webhook_url(platform)
    with platform.channel(f"{platform.s.host}:{platform.s.events_port}", "events-service") as ch:
        events = events_pb2_grpc.EventsServiceStub(ch)
        endpoints = events.ListWebhookEndpoints(events_pb2.ListWebhookEndpointsRequest(scope=SCOPE),
                                                timeout=TIMEOUT).endpoints
        endpoint = (next((e for e in endpoints if e.id == kept.get("endpoint_id")), None)
                    or next((e for e in endpoints if e.url == url), None))
        secret = kept.get("secret", "")
        if endpoint is None:
            made = events.CreateWebhookEndpoint(events_pb2.CreateWebhookEndpointRequest(
                scope=SCOPE, url=url, description="the demo partner's receiver (make run)"), timeout=TIMEOUT)
            endpoint, secret = made.endpoint, made.secret
        elif endpoint.id != kept.get("endpoint_id") or not secret:
            # Its secret is not known here any more: a new one, the old one signing no longer (1 s).
            rotated = events.RotateWebhookSecret(events_pb2.RotateWebhookSecretRequest(
                scope=SCOPE, endpoint_id=endpoint.id, overlap_seconds=1), timeout=TIMEOUT)
            endpoint, secret = rotated.endpoint, rotated.secret
        if {"endpoint_id": endpoint.id, "secret": secret} != kept:
            _write_private(path, json.dumps({"endpoint_id": endpoint.id, "secret": secret}) + "\n")
        if endpoint.url != url or not endpoint.enabled:
            events.UpdateWebhookEndpoint(events_pb2.UpdateWebhookEndpointRequest(
                scope=SCOPE, endpoint=events_pb2.WebhookEndpoint(id=endpoint.id, url=url, enabled=True),
                update_mask=["url", "enabled"]), timeout=TIMEOUT)
    return {"endpoint_id": endpoint.id, "url": url}


def seed(platform: Platform, partner_webhook: bool = True) -> dict[str, Any]:
    """The demo tenant and its data (see the module); `partner_webhook=False`: without the endpoint to the demo
    partner (a benchmark, whose machine should not also carry the webhooks of every redemption)."""
    demo_file = platform.run_dir / "demo.json"
    demo: dict[str, Any] = json.loads(demo_file.read_text()) if demo_file.exists() else {}
    if not demo.get("client_secret") or not _tenant_exists(platform):
        if not _tenant_exists(platform):
            _admin(platform, "create-tenant", "--id", TENANT, "--name", "Demo Store")
        client = _admin(platform, "create-client", "--tenant", TENANT, "--environment", ENVIRONMENT,
                        "--name", "demo-backend", "--admin")
        key = _admin(platform, "create-api-key", "--tenant", TENANT, "--environment", ENVIRONMENT,
                     "--name", "demo-operator", "--admin")
        demo = {"tenant_id": TENANT, "environment": ENVIRONMENT, "client_id": client["client_id"],
                "client_secret": client["client_secret"], "api_key": key["api_key"]}
    # Seed 001's clients name the tenant by an integer brand id in the path.
    _admin(platform, "set-brand-id", "--tenant", TENANT, "--brand-id", "1")
    demo["brand_id"] = 1

    h = platform.s.host
    with platform.channel(f"{h}:{platform.s.wallet_port}", "wallet-service") as ch:
        wallet = wallet_pb2_grpc.WalletServiceStub(ch)
        for code, name, scale in (("gems", "Gems", 0), ("coins", "Coins", 2)):
            wallet.DefinePointType(wallet_pb2.DefinePointTypeRequest(
                scope=SCOPE, point_type=wallet_pb2.PointType(code=code, name=name, scale=scale)), timeout=TIMEOUT)
        for player, balances in PLAYERS.items():
            for point_type, amount in balances.items():
                wallet.GrantPoints(wallet_pb2.GrantPointsRequest(
                    scope=SCOPE, player_id=player, point_type=point_type, amount=amount,
                    idempotency_key=f"demo-welcome-{player}-{point_type}", description="Welcome bonus"),
                    timeout=TIMEOUT)

    with platform.channel(f"{h}:{platform.s.catalog_port}", "catalog-service") as ch:
        catalog = catalog_pb2_grpc.CatalogServiceStub(ch)
        for item in demo_items():
            try:
                catalog.CreateItem(catalog_pb2.CreateItemRequest(scope=SCOPE, item=item), timeout=TIMEOUT)
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
                    raise

    with platform.channel(f"{h}:{platform.s.fulfillment_port}", "fulfillment-service") as ch:
        pool = fulfillment_pb2_grpc.FulfillmentServiceStub(ch)
        codes = [fulfillment_pb2.CodeInput(code=f"AMZN-DEMO-{i:04d}", pin=f"{(i * 7919) % 10000:04d}")
                 for i in range(1, 101)]
        pool.UploadCodes(fulfillment_pb2.UploadCodesRequest(scope=SCOPE, item_id="12", codes=codes), timeout=TIMEOUT)

    if partner_webhook:
        hook = seed_partner_webhook(platform)
        demo["partner_webhook"] = {**hook, "received": f"http://{h}:{platform.s.partner_port}/webhooks/received"}

    token = httpx.post(f"{platform.gateway_url}/v1/auth/token",
                       headers={"x-client-id": demo["client_id"], "x-client-secret": demo["client_secret"]},
                       json={"player_id": "player-1", "ttl_seconds": 12 * 3600}, timeout=TIMEOUT)
    token.raise_for_status()
    demo.update({
        "gateway_url": platform.gateway_url,
        "players": list(PLAYERS),
        "player_id": "player-1",
        "player_token": token.json()["access_token"],
        "player_token_expires_at": int(time.time()) + 12 * 3600,
        "items": {item.id: item.name for item in demo_items()},
        "gateway_urls": platform.gateway_urls,
        # Channel targets: `host:port`, or with REPLICAS above 1 the list of every replica (`ipv4:h:p1,h:p2`).
        "grpc": {service: platform.target(service) for service in ("catalog", "wallet", "redemption", "fulfillment")},
        # The operators' tool for tenants, API clients and keys (gateway/README.md): append a command.
        "operator_cli": operator_cli(platform),
    })
    demo_file.write_text(json.dumps(demo, indent=2) + "\n")
    demo_file.chmod(0o600)
    return demo


def _partner_example(demo: dict[str, Any]) -> str:
    hook = demo.get("partner_webhook")
    if not hook:
        return ""
    return f"""  # The same events at the demo partner, pushed by the demo's webhook endpoint: its receiver verifies each
  # delivery's signature (Standard Webhooks) and lists their ids and types, once per webhook-id
  curl -s {hook['received']}

"""


def examples(demo: dict[str, Any], run_dir: Path) -> str:
    g, t = demo["gateway_url"], demo["player_token"]
    demo_json, logs = shown(run_dir / "demo.json"), shown(run_dir / "logs")
    reset = "make reset" if shown(run_dir) == ".run" else f"RUN_DIR={shlex.quote(shown(run_dir))} make reset"
    return f"""
Example requests (the player token is valid for 12 hours; all of this is in {demo_json}):

  export TOKEN={t}

  # The player's balances
  curl -s {g}/v1/wallet/balances -H "Authorization: Bearer $TOKEN"

  # What the player may redeem now
  curl -s {g}/v1/items -H "Authorization: Bearer $TOKEN"

  # Redeem the voucher (item 12); the same Idempotency-Key never charges twice
  curl -s -X POST {g}/v1/redemptions -H "Authorization: Bearer $TOKEN" \\
       -H "Idempotency-Key: demo-$(date +%s)" -H "Content-Type: application/json" -d '{{"offer":"12"}}'

  # The player's redemptions, newest first
  curl -s {g}/v1/redemptions -H "Authorization: Bearer $TOKEN"

  # Mint a new player token with the demo back end's credentials
  curl -s -X POST {g}/v1/auth/token -H "x-client-id: {demo['client_id']}" \\
       -H "x-client-secret: {demo['client_secret']}" -H "Content-Type: application/json" -d '{{"player_id":"player-2"}}'

  # The tenant's event log (docs/events.md), oldest first: page on with after=<nextCursor>
  curl -s "{g}/v1/events?limit=20" -H "x-api-key: {demo['api_key']}"

{_partner_example(demo)}  # The same events pushed, signed (Standard Webhooks), to a receiver of yours: the secret is shown once
  curl -s -X POST {g}/v1/admin/webhooks -H "x-api-key: {demo['api_key']}" -H "Content-Type: application/json" \\
       -d '{{"url":"http://127.0.0.1:9999/hooks","eventTypes":["redemption.completed"]}}'

Demo storefront (sign in as a demo player): {g}/store
Operator console (sign in with the demo operator's admin API key, api_key in {demo_json}): {g}/console
  export API_KEY={demo['api_key']}

Operator CLI (tenants, API clients, keys: gateway/README.md; operator_cli in {demo_json}):
  {demo['operator_cli']} list-tenants

OpenAPI: {g}/docs    Logs: {logs}/    Stop: Ctrl-C    Forget everything: {reset}
"""
