"""The committed generated code is exactly what the .proto files generate: no drift."""

import filecmp
import importlib.util
import sys
from pathlib import Path

PROTOS = Path(__file__).resolve().parents[1]


def _load_generator():
    spec = importlib.util.spec_from_file_location("protos_generate", PROTOS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["protos_generate"] = module
    spec.loader.exec_module(module)
    return module


def test_generated_code_matches_protos(tmp_path: Path) -> None:
    generate = _load_generator()
    generate.generate(tmp_path)
    fresh = sorted(p.relative_to(tmp_path) for p in (tmp_path / "rewards").rglob("*") if p.is_file())
    committed = sorted(p.relative_to(PROTOS) for p in (PROTOS / "rewards").rglob("*")
                       if p.is_file() and p.suffix in {".py", ".pyi"} and "__pycache__" not in p.parts)
    assert fresh == committed, "generated files differ from the committed ones: run `make protos`"
    drifted = [str(p) for p in fresh if not filecmp.cmp(tmp_path / p, PROTOS / p, shallow=False)]
    assert not drifted, f"stale generated code (run `make protos`): {drifted}"


def test_every_service_contract_is_importable() -> None:
    from rewards.catalog.v1 import catalog_pb2_grpc
    from rewards.fulfillment.v1 import fulfillment_pb2
    from rewards.redemption.v1 import redemption_pb2_grpc
    from rewards.wallet.v1 import wallet_pb2_grpc

    assert catalog_pb2_grpc.CatalogServiceStub
    assert wallet_pb2_grpc.WalletServiceStub
    assert redemption_pb2_grpc.RedemptionServiceStub
    assert fulfillment_pb2.FulfillmentJob.DESCRIPTOR.fields_by_name["event_id"]


def test_protobuf_floor_is_the_version_the_code_was_generated_for() -> None:
    """Generated code refuses an older protobuf runtime at import (ValidateProtobufRuntimeVersion): the package's
    lowest allowed protobuf must be the one named in every *_pb2.py."""
    import re
    import tomllib

    generated = {re.search(r"^# Protobuf Python Version: (\S+)$", p.read_text(), re.MULTILINE).group(1)
                 for p in (PROTOS / "rewards").rglob("*_pb2.py")}
    assert len(generated) == 1, generated
    dependencies = tomllib.loads((PROTOS / "pyproject.toml").read_text())["project"]["dependencies"]
    protobuf = next(d for d in dependencies if d.startswith("protobuf"))
    assert re.search(r">=([\d.]+)", protobuf).group(1) == generated.pop(), protobuf
