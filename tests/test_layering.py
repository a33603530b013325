"""The layering rule (README, "Inside a service"), read from each service's source: SQL text and SQLAlchemy
statement building only in repository.py (and in the modules that keep the statements of their own background
loop, or define the schema), no statement run and no transaction opened by the servicer, a pure domain.py, and
use-case modules that take no message of their own service. The services listed in LOOP_MODULES (and
USE_CASE_CONTRACTS) follow it; one that does not yet is not listed (README says where)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Where statements may be, beside every service's repository.py (the statements of the calls) and models.py (the
# schema): the modules of its own background loops.
LOOP_MODULES = {
    "catalog": {"invariants.py"},                 # the invariant checks and their gauges
    "wallet": {"invariants.py"},
    "redemption": {"outbox.py", "metrics.py"},    # the outbox's relay statements, the gauges' samplers
    "fulfillment": {"outbox.py", "metrics.py"},   # the results relay, the gauges' samplers
    "events": {"delivery.py", "reseal.py"},       # the webhook delivery loop, the secrets' re-sealing
}
SQL = re.compile(r"\b(SELECT\b[\s\S]*\bFROM|INSERT\s+INTO|UPDATE\s+\w+(\s+AS\s+\w+)?\s+SET|DELETE\s+FROM|"
                 r"ON\s+CONFLICT|RETURNING)\b")
RUNS_A_STATEMENT = {"execute", "fetch", "fetchrow", "fetchval", "scalar", "scalars"}
OPENS_A_TRANSACTION = {"begin", "transaction"}
# What the domain may not import: the database, the network, proto.
IMPURE = ("sqlalchemy", "asyncpg", "grpc", "google.protobuf", "rewards", "httpx", "httpcore", "nats",
          "service_kit.pgpool", "service_kit.db", "service_kit.messaging", "service_kit.grpc_server")
# Each service's use-case modules and the contracts they may import: only the protos of the services they call, as
# those clients speak them (redemption's quote and saga call catalog, wallet and fulfillment, and pass on the common
# messages of a request), never their own service's messages nor protobuf: grpc_api reads the requests into domain
# values and makes the answers proto. fulfillment is not listed: a job event reaches fulfilment.py as its
# FulfillmentJob (README, "Where the tree still departs from the rule").
USE_CASE_CONTRACTS = {
    "catalog": ({"catalog.py"}, set()),
    "wallet": ({"wallet.py"}, set()),
    "redemption": ({"redemptions.py"}, {"rewards.catalog.v1", "rewards.common.v1", "rewards.fulfillment.v1",
                                        "rewards.wallet.v1"}),
    "events": ({"event_log.py"}, set()),
}


def _package(service: str) -> Path:
    return ROOT / f"{service}-service" / "src" / f"{service}_service"


def _checked_modules() -> list[Path]:
    return sorted(p for service, loops in LOOP_MODULES.items() for p in _package(service).glob("*.py")
                  if p.name not in {"repository.py", "models.py", *loops})


def _docstrings(tree: ast.Module) -> set[int]:
    """The ids of the docstring nodes (module, class, function): prose, not statements."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _sql_found(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    prose = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose \
                and SQL.search(node.value):
            found.append(f"{path.parent.name}/{path.name}:{node.lineno}: SQL text {node.value.strip()[:60]!r}")
        elif isinstance(node, ast.JoinedStr) and SQL.search(ast.unparse(node)):
            found.append(f"{path.parent.name}/{path.name}:{node.lineno}: SQL text in an f-string")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy") \
                and node.module not in ("sqlalchemy.ext.asyncio", "sqlalchemy.exc"):
            found.append(f"{path.parent.name}/{path.name}:{node.lineno}: builds statements with {node.module}")
        elif isinstance(node, ast.Import) and any(a.name.startswith("sqlalchemy") for a in node.names):
            found.append(f"{path.parent.name}/{path.name}:{node.lineno}: imports sqlalchemy")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in RUNS_A_STATEMENT and _runs_on_the_database(node.func.value):
            found.append(f"{path.parent.name}/{path.name}:{node.lineno}: runs a statement ({ast.unparse(node.func)})")
    return found


def _runs_on_the_database(receiver: ast.expr) -> bool:
    """A pool, a transaction or a session (a NATS subscription also fetches)."""
    name = ast.unparse(receiver).rsplit(".", 1)[-1]
    return name in {"pool", "tx", "conn", "connection", "session", "db"}


@pytest.mark.parametrize("path", _checked_modules(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_statement_outside_the_repository_and_the_loops(path: Path) -> None:
    assert _sql_found(path) == []


@pytest.mark.parametrize("service", sorted(LOOP_MODULES))
def test_the_check_finds_what_it_looks_for(service: str) -> None:
    repository = _sql_found(_package(service) / "repository.py")
    assert any("SQL text" in f for f in repository) and any("runs a statement" in f for f in repository)
    assert any("with sqlalchemy" in f for f in _sql_found(_package(service) / "models.py"))


@pytest.mark.parametrize("service", sorted(LOOP_MODULES))
def test_the_servicer_opens_no_transaction(service: str) -> None:
    tree = ast.parse((_package(service) / "grpc_api.py").read_text())
    opened = [ast.unparse(n.func) for n in ast.walk(tree)
              if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in OPENS_A_TRANSACTION]
    assert opened == []


@pytest.mark.parametrize("service", sorted(LOOP_MODULES))
def test_the_domain_imports_no_io(service: str) -> None:
    tree = ast.parse((_package(service) / "domain.py").read_text())
    imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    imported += [n.module or "" for n in tree.body if isinstance(n, ast.ImportFrom)]  # TYPE_CHECKING ones aside
    assert [m for m in imported if m.startswith(IMPURE)] == []


def _foreign_contracts(path: Path, allowed: set[str]) -> list[str]:
    """The contract (rewards.*) and protobuf modules path imports beyond the allowed ones."""
    tree = ast.parse(path.read_text())
    imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    imported += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    return [m for m in imported if m.startswith(("rewards", "google.protobuf")) and m not in allowed]


@pytest.mark.parametrize("path", [_package(service) / name for service, (names, _) in USE_CASE_CONTRACTS.items()
                                  for name in sorted(names)], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_use_cases_take_no_message_of_their_own(path: Path) -> None:
    assert _foreign_contracts(path, USE_CASE_CONTRACTS[path.parent.name.removesuffix("_service")][1]) == []


def test_the_contract_check_finds_what_it_looks_for() -> None:
    """The servicer reads the requests as redemptions.py once did itself: its own messages, MessageToDict."""
    found = _foreign_contracts(_package("redemption") / "grpc_api.py", USE_CASE_CONTRACTS["redemption"][1])
    assert {"rewards.redemption.v1", "google.protobuf.json_format"} <= set(found)
