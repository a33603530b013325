"""Tokens, credentials and who the player is: against the real gateway database and a fake wallet/redemption."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from datetime import datetime
from types import SimpleNamespace

import jwt
import pytest
from gateway.models import api_clients, api_keys
from rewards.common.v1 import common_pb2
from rewards.redemption.v1 import redemption_pb2
from rewards.wallet.v1 import wallet_pb2
from sqlalchemy import select

from gateway import auth, repository

from ..conftest import open_gateway, settings_for

BALANCES = "/v1/wallet/balances"


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def _active_key(gw) -> tuple[str, str]:
    async with gw.app.state.sessions() as session:
        active, secrets = await repository.usable_signing_keys(session)
    assert active is not None
    return active, secrets[active]


def _claims(gw, **overrides) -> dict:
    now = int(time.time())
    claims = {"sub": "p1", "tid": gw.tenant, "env": "sandbox", "iat": now, "exp": now + 300,
              "jti": uuid.uuid4().hex}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _serve_balances(fake_services) -> None:
    fake_services.on("GetBalances", wallet_pb2.GetBalancesResponse(
        accounts=[wallet_pb2.Account(point_type="coins", balance=15050, scale=2)]))


async def _balances_status(gw, token: str) -> int:
    reply = await gw.client.get(BALANCES, headers={"Authorization": f"Bearer {token}"})
    if reply.status_code == 401:
        assert reply.json()["code"] == "UNAUTHENTICATED"
        assert reply.headers["content-type"] == "application/problem+json"
    return reply.status_code


async def test_token_endpoint_mints_a_verifiable_token(gateway):
    gw = gateway
    reply = await gw.client.post("/v1/auth/token", json={"player_id": "p1", "segments": ["vip"], "country": "DE",
                                                          "level": 7, "ttl_seconds": 120},
                                 headers={"x-client-id": gw.client_id, "x-client-secret": gw.client_secret})
    assert reply.status_code == 200
    body = reply.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 120 and body["player_id"] == "p1"
    kid, secret = await _active_key(gw)
    assert jwt.get_unverified_header(body["access_token"])["kid"] == kid
    claims = jwt.decode(body["access_token"], secret, algorithms=["HS256"])
    assert claims["sub"] == "p1" and claims["tid"] == gw.tenant and claims["env"] == "sandbox"
    assert claims["segs"] == ["vip"] and claims["ctry"] == "DE" and claims["lvl"] == 7
    assert claims["exp"] - claims["iat"] == 120 and claims["jti"]


async def test_token_endpoint_takes_credentials_in_the_body_and_refuses_wrong_ones(gateway):
    gw = gateway
    ok = await gw.client.post("/v1/auth/token", json={"player_id": "p1", "client_id": gw.client_id,
                                                       "client_secret": gw.client_secret})
    assert ok.status_code == 200 and ok.json()["expires_in"] == 900
    for headers, body in (({"x-client-id": gw.client_id, "x-client-secret": "wrong"}, {}),
                          ({}, {"client_id": gw.client_id, "client_secret": gw.client_secret + "x"}),
                          ({}, {"client_id": "cl_unknown", "client_secret": "whatever"}),
                          ({}, {})):
        reply = await gw.client.post("/v1/auth/token", json={"player_id": "p1", **body}, headers=headers)
        assert reply.status_code == 401, (headers, body)
        assert reply.json()["code"] == "UNAUTHENTICATED"
    too_long = await gw.client.post("/v1/auth/token", json={"player_id": "p1", "ttl_seconds": 86401},
                                    headers={"x-client-id": gw.client_id, "x-client-secret": gw.client_secret})
    assert too_long.status_code == 422 and too_long.json()["code"] == "VALIDATION_ERROR"


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
async def test_bad_tokens_are_refused(gateway, fake_services):
    gw = gateway
    _serve_balances(fake_services)
    kid, secret = await _active_key(gw)
    good = jwt.encode(_claims(gw), secret, algorithm="HS256", headers={"kid": kid})
    assert await _balances_status(gw, good) == 200

    header, payload, signature = good.split(".")
    tampered_payload = _b64(_claims(gw, sub="someone-else"))
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    bad = {
        "tampered claims": f"{header}.{tampered_payload}.{signature}",
        "bad signature": f"{header}.{payload}.{flipped}",
        "expired": jwt.encode(_claims(gw, iat=int(time.time()) - 600, exp=int(time.time()) - 60), secret,
                              algorithm="HS256", headers={"kid": kid}),
        "alg none": f"{_b64({'alg': 'none', 'kid': kid, 'typ': 'JWT'})}.{payload}.",
        "alg HS512": jwt.encode(_claims(gw), secret, algorithm="HS512", headers={"kid": kid}),
        "alg RS256": f"{_b64({'alg': 'RS256', 'kid': kid, 'typ': 'JWT'})}.{payload}.{signature}",
        "unknown kid": jwt.encode(_claims(gw), secret, algorithm="HS256", headers={"kid": "k_nobody"}),
        "no kid": jwt.encode(_claims(gw), secret, algorithm="HS256"),
        "missing jti": jwt.encode(_claims(gw, jti=None), secret, algorithm="HS256", headers={"kid": kid}),
        "missing exp": jwt.encode(_claims(gw, exp=None), secret, algorithm="HS256", headers={"kid": kid}),
        "missing tid": jwt.encode(_claims(gw, tid=None), secret, algorithm="HS256", headers={"kid": kid}),
        "unknown env": jwt.encode(_claims(gw, env="staging"), secret, algorithm="HS256", headers={"kid": kid}),
        "segs not a list": jwt.encode(_claims(gw, segs="vip"), secret, algorithm="HS256", headers={"kid": kid}),
        "malformed": "not-a-token",
        "other secret": jwt.encode(_claims(gw), "x" * 43, algorithm="HS256", headers={"kid": kid}),
    }
    for name, token in bad.items():
        assert await _balances_status(gw, token) == 401, name
    # Only the good token reached the wallet.
    assert len(fake_services.requests("GetBalances")) == 1


async def test_rotation_keeps_old_tokens_valid_until_the_old_key_is_retired(gateway, fake_services):
    gw = gateway
    _serve_balances(fake_services)
    old_token = await gw.token("p1")
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    async with gw.app.state.sessions.begin() as session:
        new_kid = await repository.rotate_signing_key(session)
    new_token = await gw.token("p1")
    assert jwt.get_unverified_header(new_token)["kid"] == new_kid != old_kid
    assert await _balances_status(gw, old_token) == 200
    assert await _balances_status(gw, new_token) == 200
    async with gw.app.state.sessions.begin() as session:
        await repository.retire_signing_key(session, old_kid)
    assert await _balances_status(gw, old_token) == 401
    assert await _balances_status(gw, new_token) == 200


async def test_the_database_holds_only_hashes_of_secrets(gateway):
    gw = gateway
    async with gw.app.state.sessions() as session:
        client = (await session.execute(select(api_clients).where(api_clients.c.client_id == gw.client_id))).one()
        key_id = gw.admin_key.split(".")[0]
        key = (await session.execute(select(api_keys).where(api_keys.c.key_id == key_id))).one()
    assert gw.client_secret not in [str(v) for v in client]
    assert client.secret_hash == hashlib.sha256(gw.client_secret.encode()).hexdigest()
    assert gw.admin_key not in [str(v) for v in key]
    assert gw.admin_key.split(".", 1)[1] not in "".join(str(v) for v in key)
    assert key.key_hash == hashlib.sha256(gw.admin_key.encode()).hexdigest()


async def test_revoked_credentials_are_refused(gateway, fake_services):
    gw = gateway
    _serve_balances(fake_services)
    as_key = {"x-api-key": gw.player_key}
    as_client = {"x-client-id": gw.client_id, "x-client-secret": gw.client_secret}
    for headers in (as_key, as_client):
        assert (await gw.client.get(BALANCES, params={"externalUserID": "p1"}, headers=headers)).status_code == 200
    async with gw.app.state.sessions.begin() as session:
        await repository.revoke_api_key(session, gw.player_key.split(".")[0])
        await repository.revoke_client(session, gw.client_id)
    for headers in (as_key, as_client):
        reply = await gw.client.get(BALANCES, params={"externalUserID": "p1"}, headers=headers)
        assert reply.status_code == 401 and reply.json()["code"] == "UNAUTHENTICATED"
    token = await gw.client.post("/v1/auth/token", json={"player_id": "p1"}, headers=as_client)
    assert token.status_code == 401


async def test_admin_routes_need_an_admin_credential(gateway, fake_services):
    gw = gateway
    fake_services.on("ListPointTypes", wallet_pb2.ListPointTypesResponse(
        point_types=[wallet_pb2.PointType(code="gems", name="Gems", scale=0)]))
    path = "/v1/admin/point-types"
    assert (await gw.client.get(path)).status_code == 401
    assert (await gw.client.get(path, headers={"x-api-key": "key_x.nope"})).status_code == 401
    non_admin = await gw.client.get(path, headers={"x-api-key": gw.player_key})
    assert non_admin.status_code == 403 and non_admin.json()["code"] == "FORBIDDEN"
    client_creds = {"x-client-id": gw.client_id, "x-client-secret": gw.client_secret}
    assert (await gw.client.get(path, headers=client_creds)).status_code == 403
    player = await gw.client.get(path, headers={"Authorization": f"Bearer {await gw.token('p1')}"})
    assert player.status_code == 403
    ok = await gw.client.get(path, headers=gw.admin())
    assert ok.status_code == 200 and ok.json() == {"pointTypes": [{"code": "gems", "name": "Gems", "scale": 0,
                                                                  "lifetimeSeconds": 0}]}
    scope = fake_services.requests("ListPointTypes")[0].scope
    assert scope.tenant_id == gw.tenant and scope.environment == common_pb2.ENVIRONMENT_SANDBOX


async def test_the_player_comes_from_the_token_never_from_the_body_or_query(gateway, fake_services):
    gw = gateway
    _serve_balances(fake_services)
    fake_services.on("Redeem", lambda r: redemption_pb2.RedeemResponse(
        redemption=redemption_pb2.Redemption(id="r1", number=1, player_id=r.player.player_id, item_id=r.item_id)))
    token = await gw.token("alice", segments=["vip"], country="FR", level=3)
    auth = {"x-auth-token": token}
    reply = await gw.client.post("/v1/redemptions", json={"offer": "i1", "externalUserID": "mallory"}, headers=auth)
    assert reply.status_code == 201 and reply.json()["playerId"] == "alice"
    balances = await gw.client.get(BALANCES, params={"externalUserID": "mallory"}, headers=auth)
    assert balances.json()["playerId"] == "alice"
    redeem = fake_services.requests("Redeem")[0]
    assert redeem.player.player_id == "alice"
    assert list(redeem.player.segments) == ["vip"] and redeem.player.country == "FR" and redeem.player.level == 3
    assert redeem.player.client_ip == "203.0.113.7"
    assert fake_services.requests("GetBalances")[0].player_id == "alice"
    metadata = next(c.metadata for c in fake_services.calls if c.method == "Redeem")
    assert metadata["x-player-id"] == "alice" and metadata["x-tenant-id"] == gw.tenant


async def test_a_back_end_names_the_player_with_external_user_id(gateway, fake_services):
    gw = gateway
    _serve_balances(fake_services)
    fake_services.on("Redeem", lambda r: redemption_pb2.RedeemResponse(
        redemption=redemption_pb2.Redemption(id="r1", player_id=r.player.player_id)))
    key = {"x-api-key": gw.player_key}
    by_body = await gw.client.post("/v1/redemptions", json={"itemId": "i1", "externalUserID": "bob"}, headers=key)
    assert by_body.status_code == 201 and by_body.json()["playerId"] == "bob"
    by_query = await gw.client.get(BALANCES, params={"externalUserID": "carol"}, headers=key)
    assert by_query.json()["playerId"] == "carol"
    missing = await gw.client.get(BALANCES, headers=key)
    assert missing.status_code == 422 and missing.json()["code"] == "VALIDATION_ERROR"
    assert fake_services.requests("Redeem")[0].item_id == "i1"


def _clocks_at(monkeypatch, wall: float | None = None, monotonic: float | None = None) -> None:
    """Moves the gateway's clocks (its own, and PyJWT's) forward."""
    monkeypatch.setattr(auth, "time", SimpleNamespace(time=(lambda: wall) if wall else time.time,
                                                      monotonic=(lambda: monotonic) if monotonic else time.monotonic))
    if wall:
        class Later(datetime):
            @classmethod
            def now(cls, tz=None):  # type: ignore[override]
                return datetime.fromtimestamp(wall, tz)

        monkeypatch.setattr(jwt.api_jwt, "datetime", Later)


async def test_a_verified_token_is_remembered_and_still_expires(gateway, fake_services, monkeypatch):
    gw = gateway
    _serve_balances(fake_services)
    kid, secret = await _active_key(gw)
    token = jwt.encode(_claims(gw), secret, algorithm="HS256", headers={"kid": kid})
    decoded = []
    real_decode = jwt.decode
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: decoded.append(1) or real_decode(*a, **k))
    assert await _balances_status(gw, token) == 200
    assert await _balances_status(gw, token) == 200
    assert len(decoded) == 1  # the second call was not decoded again
    _clocks_at(monkeypatch, wall=time.time() + 300 + auth.CLOCK_LEEWAY_SECONDS + 1)
    reply = await gw.client.get(BALANCES, headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 401 and reply.json()["detail"] == "token expired"
    assert len(fake_services.requests("GetBalances")) == 2


def _one_character_changed(secret: str) -> str:
    """The secret with its last character replaced by a different one (appending "A" would leave a secret that
    already ends in "A" unchanged: one key in 16 does, and the test then failed at random)."""
    return secret[:-1] + ("B" if secret.endswith("A") else "A")


async def test_a_found_credential_is_remembered_for_the_cache_seconds_only(gateway_database, fake_services,
                                                                          monkeypatch):
    settings = settings_for(gateway_database, fake_services.address, credential_cache_seconds=60)
    async for gw in open_gateway(settings):
        _serve_balances(fake_services)

        async def status(headers: dict[str, str], gw=gw) -> int:
            return (await gw.client.get(BALANCES, params={"externalUserID": "p1"}, headers=headers)).status_code

        as_key = {"x-api-key": gw.player_key}
        as_client = {"x-client-id": gw.client_id, "x-client-secret": gw.client_secret}
        assert await status(as_key) == 200 and await status(as_client) == 200
        async with gw.app.state.sessions.begin() as session:
            await repository.revoke_api_key(session, gw.player_key.split(".")[0])
            await repository.revoke_client(session, gw.client_id)
        # Within the cache seconds the revocation is not seen yet; a wrong secret never passes for a right one.
        assert await status(as_key) == 200 and await status(as_client) == 200
        assert await status({"x-api-key": _one_character_changed(gw.player_key)}) == 401
        assert await status({**as_client, "x-client-secret": gw.client_secret + "x"}) == 401
        _clocks_at(monkeypatch, monotonic=time.monotonic() + 61)
        assert await status(as_key) == 401 and await status(as_client) == 401
