"""Generate the Python code of every .proto under rewards/ next to it (run: python protos/generate.py).

The generated files are committed; tests/test_protos_generated.py regenerates into a temporary folder and fails on drift.
"""

from __future__ import annotations

import sys
from pathlib import Path

from grpc_tools import protoc

HERE = Path(__file__).resolve().parent


def proto_files(root: Path = HERE) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in (root / "rewards").rglob("*.proto"))


def generate(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    include = Path(protoc.__file__).resolve().parent / "_proto"
    args = [
        "protoc",
        f"-I{HERE}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *proto_files(),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for package in {p.parent for p in (out_dir / "rewards").rglob("*_pb2.py")} | {out_dir / "rewards"}:
        # Namespace-free packages: every folder gets an __init__.py so setuptools finds it.
        d = package
        while d != out_dir:
            (d / "__init__.py").touch()
            d = d.parent


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
