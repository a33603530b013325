"""The runner's psql helper takes statements of any size (the soak's invariants list every redemption id)."""

from __future__ import annotations


def test_a_statement_larger_than_one_argument_runs(postgres) -> None:  # type: ignore[no-untyped-def]
    ids = ",".join(f"('{n:036d}')" for n in range(5_000))   # about 200 KB: more than one argv string may hold
    assert postgres.psql(f"SELECT count(*) FROM (VALUES {ids}) AS v(id)").strip() == "5000"
    assert postgres.psql("SELECT 1; SELECT 2").split() == ["1", "2"]
