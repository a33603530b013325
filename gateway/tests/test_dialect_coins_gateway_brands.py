"""Brand ids (migration 0002): the operator commands that set them, and the constraints behind them."""

from __future__ import annotations

import asyncio
import json

import pytest
from service_kit.db import create_engine
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from gateway import admin


def _one_json_object(out: str) -> dict:
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    return json.loads(lines[0])


def test_brand_commands(new_database, capsys, monkeypatch):
    url = new_database("gateway_brands")
    monkeypatch.setenv("DATABASE_URL", url)

    def ok(*args: str) -> dict:
        assert admin.main(list(args)) == 0
        return _one_json_object(capsys.readouterr().out)

    def refused(*args: str) -> str:
        assert admin.main(list(args)) == 1
        captured = capsys.readouterr()
        assert captured.out == ""
        return captured.err

    assert ok("create-tenant", "--id", "demo", "--name", "Demo Store") == {"tenant_id": "demo", "name": "Demo Store"}
    assert ok("set-brand-id", "--tenant", "demo", "--brand-id", "1") == {"tenant_id": "demo", "brand_id": 1}
    assert ok("set-brand-id", "--tenant", "demo", "--brand-id", "1") == {"tenant_id": "demo", "brand_id": 1}
    assert ok("create-tenant", "--id", "acme", "--brand-id", "2") == {"tenant_id": "acme", "name": "acme",
                                                                       "brand_id": 2}
    assert "already belongs" in refused("create-tenant", "--id", "other", "--brand-id", "1")
    assert "already belongs" in refused("set-brand-id", "--tenant", "acme", "--brand-id", "1")
    assert "no tenant" in refused("set-brand-id", "--tenant", "nobody", "--brand-id", "3")
    assert "between" in refused("set-brand-id", "--tenant", "acme", "--brand-id", "-1")
    assert "between" in refused("create-tenant", "--id", "big", "--brand-id", str(2**31))
    ok("create-tenant", "--id", "plain")
    ok("set-brand-id", "--tenant", "demo", "--brand-id", "5")  # a tenant's brand may change
    tenants = {t["tenant_id"]: t["brand_id"] for t in ok("list-tenants")["tenants"]}
    assert tenants == {"acme": 2, "demo": 5, "plain": None}


def test_the_database_keeps_brand_ids_unique_and_not_negative(new_database, capsys, monkeypatch):
    url = new_database("gateway_brands")
    monkeypatch.setenv("DATABASE_URL", url)
    assert admin.main(["create-tenant", "--id", "a", "--brand-id", "7"]) == 0
    capsys.readouterr()

    async def attempt(sql: str) -> None:
        engine = create_engine(url, pool_size=1)
        try:
            async with engine.begin() as conn:
                await conn.execute(text(sql))
        finally:
            await engine.dispose()

    with pytest.raises(IntegrityError, match="uq_tenants_brand_id"):
        asyncio.run(attempt("INSERT INTO tenants (id, name, brand_id) VALUES ('b', 'b', 7)"))
    with pytest.raises(IntegrityError, match="ck_tenants_brand_id_not_negative"):
        asyncio.run(attempt("INSERT INTO tenants (id, name, brand_id) VALUES ('c', 'c', -2)"))
    # Many tenants without a brand do not collide.
    asyncio.run(attempt("INSERT INTO tenants (id, name) VALUES ('d', 'd'), ('e', 'e')"))
