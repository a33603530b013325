"""The committed client (clients/python) and document (clients/openapi.json) are exactly what the gateway's routes
generate: a route, model or error changed without `make clients` fails here."""

from __future__ import annotations

import filecmp
import importlib
import importlib.util
import pkgutil
import sys
from pathlib import Path

CLIENTS = Path(__file__).resolve().parents[1] / "clients"
# What installing or running the client leaves beside it (the client's own .gitignore keeps them out of git).
NOT_GENERATED = {"__pycache__", ".ruff_cache", "build", "dist"}


def _load_generator():
    spec = importlib.util.spec_from_file_location("clients_generate", CLIENTS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["clients_generate"] = module
    spec.loader.exec_module(module)
    return module


def _files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file()
                  and not NOT_GENERATED & set(p.parts) and not any(part.endswith(".egg-info") for part in p.parts))


def test_the_committed_client_is_what_the_document_generates(tmp_path: Path) -> None:
    _load_generator().generate(tmp_path)
    assert filecmp.cmp(tmp_path / "openapi.json", CLIENTS / "openapi.json", shallow=False), \
        "clients/openapi.json differs from the document the gateway serves: run `make clients`"
    fresh, committed = _files(tmp_path / "python"), _files(CLIENTS / "python")
    assert fresh == committed, "generated files differ from the committed ones: run `make clients`"
    drifted = [str(p) for p in fresh if not filecmp.cmp(tmp_path / "python" / p, CLIENTS / "python" / p,
                                                        shallow=False)]
    assert not drifted, f"stale generated client (run `make clients`): {drifted}"


def test_every_module_of_the_client_imports() -> None:
    import rewards_gateway_client

    names = [m.name for m in pkgutil.walk_packages(rewards_gateway_client.__path__, "rewards_gateway_client.")]
    for name in names:
        importlib.import_module(name)
    assert "rewards_gateway_client.api.redemptions.create_redemption" in names
    assert "rewards_gateway_client.api.gems_store_seed_000.gems_store_redeem" in names
    assert "rewards_gateway_client.api.coins_gateway_seed_001.coins_gateway_redeem_points" in names
    assert "rewards_gateway_client.api.marketplace_seed_002.marketplace_redeem_gift" in names
