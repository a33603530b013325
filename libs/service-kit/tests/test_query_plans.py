"""The plan check finds a statement that can only read its whole table, and passes one that an index answers,
however small the table."""

from __future__ import annotations

from service_kit.db import create_engine
from service_kit.query_plans import FullScan, captured_statements, tables_read_without_index
from sqlalchemy import text


async def test_a_statement_no_index_can_answer_is_found(new_database) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine(new_database("plans"))
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE entries (id bigint PRIMARY KEY, owner text, note text)"))
            await conn.execute(text("CREATE INDEX ix_entries_owner ON entries (owner)"))
            await conn.execute(text("INSERT INTO entries SELECT g, 'p' || g, 'n' FROM generate_series(1, 50) g"))
        with captured_statements(engine) as statements:
            async with engine.begin() as conn:
                await conn.execute(text("SELECT id FROM entries WHERE owner = :owner"), {"owner": "p7"})
                await conn.execute(text("UPDATE entries SET note = 'x' WHERE id = :id"), {"id": 7})
                await conn.execute(text("SELECT id FROM entries WHERE note = :note"), {"note": "n"})
        found = await tables_read_without_index(engine, statements)
        assert found == [FullScan("entries", "SELECT id FROM entries WHERE note = $1")]
    finally:
        await engine.dispose()
