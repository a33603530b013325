"""gateway queries: tenants, credentials and signing keys. Secrets are made here, returned once, and only
their sha256 hashes are written (they are 256-bit random, so a fast hash is enough)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import api_clients, api_keys, signing_keys, tenants

ENVIRONMENTS = ("live", "sandbox")


class RefusedChange(Exception):
    """An operator command that cannot apply (a duplicate tenant, an unknown client...)."""


@dataclass(frozen=True, slots=True)
class Credential:
    """A verified back-end credential: which tenant and environment it acts in, and whether it may administer."""

    kind: str          # "client" or "api_key"
    id: str
    tenant_id: str
    environment: str
    admin: bool


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def _row(row: Any) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row._mapping.items()}


# ---- tenants -------------------------------------------------------------------------------------------------

MAX_BRAND_ID = 2**31 - 1  # the column is a PostgreSQL integer


def _require_brand_id(brand_id: int) -> None:
    if not 0 <= brand_id <= MAX_BRAND_ID:
        raise RefusedChange(f"brand id must be between 0 and {MAX_BRAND_ID}")


def _brand_taken(exc: IntegrityError) -> bool:
    return "uq_tenants_brand_id" in str(exc.orig)


async def create_tenant(session: AsyncSession, tenant_id: str, name: str, brand_id: int | None = None) -> None:
    if brand_id is not None:
        _require_brand_id(brand_id)
    try:
        created = await session.scalar(
            insert(tenants).values(id=tenant_id, name=name, brand_id=brand_id)
            .on_conflict_do_nothing(index_elements=[tenants.c.id]).returning(tenants.c.id))
    except IntegrityError as exc:
        if _brand_taken(exc):
            raise RefusedChange(f"brand id {brand_id} already belongs to another tenant") from None
        raise
    if created is None:
        raise RefusedChange(f"tenant {tenant_id!r} already exists")


async def set_brand_id(session: AsyncSession, tenant_id: str, brand_id: int) -> None:
    """Gives a tenant its brand id (replacing any it had); harmless to repeat."""
    _require_brand_id(brand_id)
    try:
        changed = await session.scalar(update(tenants).where(tenants.c.id == tenant_id).values(brand_id=brand_id)
                                       .returning(tenants.c.id))
    except IntegrityError as exc:
        if _brand_taken(exc):
            raise RefusedChange(f"brand id {brand_id} already belongs to another tenant") from None
        raise
    if changed is None:
        raise RefusedChange(f"no tenant {tenant_id!r}")


async def tenant_for_brand(session: AsyncSession, brand_id: int) -> str | None:
    if not 0 <= brand_id <= MAX_BRAND_ID:
        return None
    found: str | None = await session.scalar(select(tenants.c.id).where(tenants.c.brand_id == brand_id))
    return found


async def list_tenants(session: AsyncSession) -> list[dict[str, Any]]:
    rows = await session.execute(select(tenants.c.id.label("tenant_id"), tenants.c.name, tenants.c.brand_id,
                                        tenants.c.created_at).order_by(tenants.c.id))
    return [_row(r) for r in rows]


async def _require_tenant(session: AsyncSession, tenant_id: str) -> None:
    if await session.scalar(select(tenants.c.id).where(tenants.c.id == tenant_id)) is None:
        raise RefusedChange(f"no tenant {tenant_id!r}")


def _require_environment(environment: str) -> None:
    if environment not in ENVIRONMENTS:
        raise RefusedChange(f"environment must be one of {', '.join(ENVIRONMENTS)}")


# ---- API clients ---------------------------------------------------------------------------------------------

async def create_client(session: AsyncSession, tenant_id: str, environment: str, name: str,
                        admin: bool) -> tuple[str, str]:
    """Returns (client_id, client_secret); the secret is not kept."""
    _require_environment(environment)
    await _require_tenant(session, tenant_id)
    client_id = "cl_" + secrets.token_hex(10)
    secret = new_secret()
    await session.execute(insert(api_clients).values(client_id=client_id, tenant_id=tenant_id,
                                                     environment=environment, name=name,
                                                     secret_hash=hash_secret(secret), admin=admin))
    return client_id, secret


async def rotate_client_secret(session: AsyncSession, client_id: str) -> str:
    secret = new_secret()
    changed = await session.scalar(
        update(api_clients)
        .where(api_clients.c.client_id == client_id, api_clients.c.revoked_at.is_(None))
        .values(secret_hash=hash_secret(secret), secret_rotated_at=func.now())
        .returning(api_clients.c.client_id))
    if changed is None:
        raise RefusedChange(f"no active client {client_id!r}")
    return secret


async def revoke_client(session: AsyncSession, client_id: str) -> None:
    found = await session.scalar(
        update(api_clients).where(api_clients.c.client_id == client_id)
        .values(revoked_at=func.coalesce(api_clients.c.revoked_at, func.now()))
        .returning(api_clients.c.client_id))
    if found is None:
        raise RefusedChange(f"no client {client_id!r}")


async def list_clients(session: AsyncSession, tenant_id: str) -> dict[str, list[dict[str, Any]]]:
    await _require_tenant(session, tenant_id)
    clients = await session.execute(
        select(api_clients.c.client_id, api_clients.c.environment, api_clients.c.name, api_clients.c.admin,
               api_clients.c.created_at, api_clients.c.secret_rotated_at, api_clients.c.revoked_at)
        .where(api_clients.c.tenant_id == tenant_id).order_by(api_clients.c.created_at))
    keys = await session.execute(
        select(api_keys.c.key_id, api_keys.c.environment, api_keys.c.name, api_keys.c.admin,
               api_keys.c.created_at, api_keys.c.revoked_at)
        .where(api_keys.c.tenant_id == tenant_id).order_by(api_keys.c.created_at))
    return {"clients": [_row(r) for r in clients], "api_keys": [_row(r) for r in keys]}


async def verify_client(session: AsyncSession, client_id: str, secret: str) -> Credential | None:
    row = (await session.execute(select(api_clients).where(api_clients.c.client_id == client_id))).first()
    # Hash even when the client is unknown, so the answer takes the same time either way.
    presented = hash_secret(secret)
    stored = row.secret_hash if row is not None else hash_secret("")
    if not hmac.compare_digest(presented, stored) or row is None or row.revoked_at is not None:
        return None
    return Credential("client", row.client_id, row.tenant_id, row.environment, row.admin)


# ---- API keys ------------------------------------------------------------------------------------------------

def split_api_key(api_key: str) -> tuple[str, str] | None:
    """An API key reads "<key_id>.<secret>": the id finds the row, the secret is compared with its hash."""
    key_id, dot, secret = api_key.partition(".")
    if not dot or not key_id or not secret:
        return None
    return key_id, secret


async def create_api_key(session: AsyncSession, tenant_id: str, environment: str, name: str,
                         admin: bool) -> tuple[str, str]:
    """Returns (key_id, api_key); the key is not kept."""
    _require_environment(environment)
    await _require_tenant(session, tenant_id)
    key_id = "key_" + secrets.token_hex(10)
    api_key = f"{key_id}.{new_secret()}"
    await session.execute(insert(api_keys).values(key_id=key_id, tenant_id=tenant_id, environment=environment,
                                                  name=name, key_hash=hash_secret(api_key), admin=admin))
    return key_id, api_key


async def revoke_api_key(session: AsyncSession, key_id: str) -> None:
    found = await session.scalar(
        update(api_keys).where(api_keys.c.key_id == key_id)
        .values(revoked_at=func.coalesce(api_keys.c.revoked_at, func.now()))
        .returning(api_keys.c.key_id))
    if found is None:
        raise RefusedChange(f"no API key {key_id!r}")


async def verify_api_key(session: AsyncSession, api_key: str) -> Credential | None:
    parts = split_api_key(api_key)
    if parts is None:
        return None
    row = (await session.execute(select(api_keys).where(api_keys.c.key_id == parts[0]))).first()
    presented = hash_secret(api_key)
    stored = row.key_hash if row is not None else hash_secret("")
    if not hmac.compare_digest(presented, stored) or row is None or row.revoked_at is not None:
        return None
    return Credential("api_key", row.key_id, row.tenant_id, row.environment, row.admin)


async def credential_in_force(session: AsyncSession, kind: str, credential_id: str) -> Credential | None:
    """The credential verified earlier (an operator's console session names it), unless revoked since."""
    if kind == "api_key":
        row = (await session.execute(select(api_keys).where(api_keys.c.key_id == credential_id))).first()
        return None if row is None or row.revoked_at is not None else \
            Credential("api_key", row.key_id, row.tenant_id, row.environment, row.admin)
    if kind == "client":
        row = (await session.execute(select(api_clients).where(api_clients.c.client_id == credential_id))).first()
        return None if row is None or row.revoked_at is not None else \
            Credential("client", row.client_id, row.tenant_id, row.environment, row.admin)
    return None


# ---- signing keys --------------------------------------------------------------------------------------------

def _new_kid() -> str:
    return "k_" + secrets.token_hex(8)


async def ensure_signing_key(session: AsyncSession) -> None:
    """Makes an active key when there is none (a fresh database); a no-op otherwise, even when racing."""
    if await session.scalar(select(signing_keys.c.kid).where(signing_keys.c.status == "active")) is not None:
        return
    await session.execute(
        insert(signing_keys).values(kid=_new_kid(), secret=new_secret(), status="active")
        .on_conflict_do_nothing(index_elements=["status"], index_where=signing_keys.c.status == "active"))


async def rotate_signing_key(session: AsyncSession) -> str:
    """A new key signs from now on; the one it replaces keeps verifying until it is retired."""
    await session.execute(update(signing_keys).where(signing_keys.c.status == "active")
                          .values(status="verifying", rotated_at=func.now()))
    kid = _new_kid()
    await session.execute(insert(signing_keys).values(kid=kid, secret=new_secret(), status="active"))
    return kid


async def retire_signing_key(session: AsyncSession, kid: str) -> None:
    status = await session.scalar(select(signing_keys.c.status).where(signing_keys.c.kid == kid).with_for_update())
    if status is None:
        raise RefusedChange(f"no signing key {kid!r}")
    if status == "active":
        raise RefusedChange(f"signing key {kid!r} is the active one: rotate-signing-key first")
    await session.execute(update(signing_keys).where(signing_keys.c.kid == kid, signing_keys.c.status != "retired")
                          .values(status="retired", secret="", retired_at=func.now()))


async def list_signing_keys(session: AsyncSession) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(signing_keys.c.kid, signing_keys.c.status, signing_keys.c.created_at, signing_keys.c.rotated_at,
               signing_keys.c.retired_at).order_by(signing_keys.c.created_at))
    return [_row(r) for r in rows]


async def usable_signing_keys(session: AsyncSession) -> tuple[str | None, dict[str, str]]:
    """(the active kid, {kid: secret} of every key that verifies)."""
    rows = (await session.execute(select(signing_keys.c.kid, signing_keys.c.secret, signing_keys.c.status)
                                  .where(signing_keys.c.status.in_(("active", "verifying"))))).all()
    active = next((r.kid for r in rows if r.status == "active"), None)
    return active, {r.kid: r.secret for r in rows}
