"""python -m gateway.admin <command>: the operator's tool for tenants, credentials and signing keys.

Reads DATABASE_URL, applies the migrations, prints one JSON object on stdout. Secrets are shown once, here,
and never again: only their hashes are stored. A refused command exits 1 with the reason on stderr."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from service_kit.db import create_engine, session_maker, upgrade_database
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import repository
from gateway.repository import RefusedChange

MIGRATIONS = Path(__file__).parent / "migrations"

Command = Callable[[AsyncSession, argparse.Namespace], Awaitable[dict[str, Any]]]


async def create_tenant(s: AsyncSession, a: argparse.Namespace) -> dict[str, Any]:
    await repository.create_tenant(s, a.id, a.name or a.id, a.brand_id)
    created: dict[str, Any] = {"tenant_id": a.id, "name": a.name or a.id}
    if a.brand_id is not None:
        created["brand_id"] = a.brand_id
    return created


async def set_brand_id(s: AsyncSession, a: argparse.Namespace) -> dict[str, Any]:
    await repository.set_brand_id(s, a.tenant, a.brand_id)
    return {"tenant_id": a.tenant, "brand_id": a.brand_id}


async def list_tenants(s: AsyncSession, a: argparse.Namespace) -> dict[str, Any]:
    return {"tenants": await repository.list_tenants(s)}


async def create_client(s: AsyncSession, a: argparse.Namespace) -> dict[str, Any]:
    client_id, secret = await repository.create_client(s, a.tenant, a.environment, a.name, a.admin)
    return {"client_id": client_id, "client_secret": secret, "tenant_id": a.tenant, "environment": a.environment,
            "name": a.name, "admin": a.admin}


async def rotate_client_secret(s: AsyncSession, a: argparse.Namespace) -> dict[str, Any]:
    return {"client_id": a.client_id, "client_secret": await repository.rotate_client_secret(s, a.client_id)}


async def revoke_client(s: AsyncSession, a: argparse.Namespace) -> dict[str, Any]:
    await repository.revoke_client(s, a.client_id)
    return {"client_id": a.client_id, "revoked": True}


async def list_clients(s: AsyncSession, a: argparse.Namespace) -> dict[str, Any]:
    return {"tenant_id": a.tenant, **await repository.list_clients(s, a.tenant)}


async def create_api_key(s: AsyncSession, a: argparse.Namespace) -> dict[str, Any]:
    key_id, api_key = await repository.create_api_key(s, a.tenant, a.environment, a.name, a.admin)
    return {"key_id": key_id, "api_key": api_key, "tenant_id": a.tenant, "environment": a.environment,
            "name": a.name, "admin": a.admin}


async def revoke_api_key(s: AsyncSession, a: argparse.Namespace) -> dict[str, Any]:
    await repository.revoke_api_key(s, a.key_id)
    return {"key_id": a.key_id, "revoked": True}


async def rotate_signing_key(s: AsyncSession, a: argparse.Namespace) -> dict[str, Any]:
    return {"kid": await repository.rotate_signing_key(s)}


async def retire_signing_key(s: AsyncSession, a: argparse.Namespace) -> dict[str, Any]:
    await repository.retire_signing_key(s, a.kid)
    return {"kid": a.kid, "retired": True}


async def list_signing_keys(s: AsyncSession, a: argparse.Namespace) -> dict[str, Any]:
    return {"signing_keys": await repository.list_signing_keys(s)}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m gateway.admin", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    def command(name: str, run: Command, help_text: str) -> argparse.ArgumentParser:
        c = sub.add_parser(name, help=help_text)
        c.set_defaults(run=run)
        return c

    c = command("create-tenant", create_tenant, "create a tenant")
    c.add_argument("--id", required=True)
    c.add_argument("--name", default="")
    c.add_argument("--brand-id", type=int, default=None, help="the integer seed 001 clients name the tenant by")
    c = command("set-brand-id", set_brand_id, "give a tenant its brand id (seed 001's /{brand_id} paths)")
    c.add_argument("--tenant", required=True)
    c.add_argument("--brand-id", type=int, required=True)
    command("list-tenants", list_tenants, "list tenants")
    for name, run, what in (("create-client", create_client, "an API client (client id and secret)"),
                            ("create-api-key", create_api_key, "an API key")):
        c = command(name, run, f"create {what} for one tenant environment")
        c.add_argument("--tenant", required=True)
        c.add_argument("--environment", required=True, choices=repository.ENVIRONMENTS)
        c.add_argument("--name", required=True)
        c.add_argument("--admin", action="store_true", help="may call the admin routes")
    c = command("rotate-client-secret", rotate_client_secret, "give a client a new secret (the old one stops)")
    c.add_argument("--client-id", required=True)
    c = command("revoke-client", revoke_client, "revoke a client")
    c.add_argument("--client-id", required=True)
    c = command("list-clients", list_clients, "list a tenant's clients and API keys (no secrets)")
    c.add_argument("--tenant", required=True)
    c = command("revoke-api-key", revoke_api_key, "revoke an API key")
    c.add_argument("--key-id", required=True)
    command("rotate-signing-key", rotate_signing_key, "sign new tokens with a new key; the old one still verifies")
    c = command("retire-signing-key", retire_signing_key, "stop accepting tokens signed with a rotated-out key")
    c.add_argument("--kid", required=True)
    command("list-signing-keys", list_signing_keys, "list token signing keys (no secrets)")
    return p


async def _run(url: str, args: argparse.Namespace) -> dict[str, Any]:
    engine = create_engine(url, pool_size=1)
    try:
        async with session_maker(engine).begin() as session:
            result: dict[str, Any] = await args.run(session, args)
            return result
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    url = os.environ.get("DATABASE_URL")
    if not url:
        sys.stderr.write("configuration error: missing required setting DATABASE_URL\n")
        return 2
    upgrade_database(MIGRATIONS, url)
    try:
        result = asyncio.run(_run(url, args))
    except RefusedChange as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
