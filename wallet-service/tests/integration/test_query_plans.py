"""Every statement of the wallet's hot paths reads its tables through an index (service_kit.query_plans).

The hot path runs SQL text constants on the PgPool, which the engine never sees: each constant of the repository
is EXPLAINed with sample parameters of a real tenant (sequential scans off). The admin paths still go through
SQLAlchemy: a grant's statements are captured from the engine and EXPLAINed the same way."""

from __future__ import annotations

import uuid

from service_kit.query_plans import Statement, captured_statements, tables_read_without_index
from wallet_service import repository


def _hot_statements(tenant: str, saga: str) -> dict[str, tuple[object, ...]]:
    """Each SQL constant of the hot path, by name, with parameters that match rows of the test's tenant."""
    scope = (tenant, "live")
    return {
        "BALANCES": (*scope, "p1"),
        "PLAYER_WITH_BALANCES": (*scope, "p1"),
        "ENTRIES_PAGE": (*scope, "p1", 2**63 - 1, 21),
        "ENTRIES_PAGE_OF_TYPE": (*scope, "p1", "gems", 2**63 - 1, 21),
        "MOVEMENT": (*scope, "debit", saga),
        "SAGA_SETTLEMENT": (*scope, saga),
        "DEBIT": (*scope, str(uuid.uuid4()), "p1", "gems", 40, ""),
        "REFUND": (*scope, saga, "refund", ""),
        "LOCK_ACCOUNT": (*scope, "p1", "gems"),
        "LAPSED_ACCOUNTS": (100,),
        "LOCK_ACCOUNT_OR_SKIP": (*scope, "p1", "gems"),
        "EXPIRE_LOTS": (*scope, "p1", "gems"),
    }


async def test_the_hot_statements_use_indexes(w) -> None:  # type: ignore[no-untyped-def]
    await w.define("gems")
    await w.grant("p1", 500)
    saga = str(uuid.uuid4())
    await w.debit(saga, "p1", 40)
    statements = _hot_statements(w.scope.tenant_id, saga)
    constants = {name for name, value in vars(repository).items() if name.isupper() and isinstance(value, str)
                 and value.lstrip().upper().startswith(("SELECT", "WITH"))}
    assert constants == set(statements), "every SQL constant of the hot path needs sample parameters here"
    planned = [Statement(getattr(repository, name), params) for name, params in statements.items()]
    assert await tables_read_without_index(w.engine, planned) == []


async def test_the_admin_statements_use_indexes(w) -> None:  # type: ignore[no-untyped-def]
    await w.define("gems")
    await w.grant("p1", 500)
    with captured_statements(w.engine) as statements:
        await w.grant("p1", 100)
        await w.adjust("p1", -5)
    assert len(statements) >= 8, [s.sql for s in statements]
    assert await tables_read_without_index(w.engine, statements) == []
