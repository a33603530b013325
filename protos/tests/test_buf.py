"""buf (the buf-bin wheel) on the contracts: `buf lint` with protos/buf.yaml's rules, and `buf breaking` against the
protos/ of the main branch (its committed files, taken with `git archive`), so a change that would break a deployed
client or server (a field renumbered, a type changed, an RPC removed) fails here before it lands."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

PROTOS = Path(__file__).resolve().parents[1]
ROOT = PROTOS.parent
BASE = "main"


def buf() -> str:
    found = Path(sys.executable).parent / "buf"
    if found.exists():
        return str(found)
    which = shutil.which("buf")
    if not which:
        pytest.fail("buf is missing: `make install` installs it (buf-bin, in requirements-dev.lock)")
    return which


def test_buf_lint_passes() -> None:
    done = subprocess.run([buf(), "lint"], cwd=PROTOS, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def _base_protos(into: Path) -> Path:
    for ref in (BASE, f"origin/{BASE}"):
        archive = subprocess.run(["git", "archive", "--format=tar", ref, "--", "protos"], cwd=ROOT,
                                 capture_output=True, timeout=60, check=False)
        if archive.returncode == 0:
            with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
                tar.extractall(into, filter="data")
            return into / "protos"
    pytest.fail(f"no {BASE} branch to compare the protos with: {archive.stderr.decode().strip()}")


def test_buf_breaking_against_main(tmp_path: Path) -> None:
    against = _base_protos(tmp_path)
    done = subprocess.run([buf(), "breaking", ".", "--against", str(against)], cwd=PROTOS, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_buf_breaking_finds_a_renumbered_field(tmp_path: Path) -> None:
    # Guards the guard: the check above must fail on a real break.
    changed = tmp_path / "changed"
    shutil.copytree(PROTOS, changed, ignore=shutil.ignore_patterns("build", "tests", "*.py", "*.pyi", "__pycache__"))
    proto = changed / "rewards" / "common" / "v1" / "common.proto"
    text = proto.read_text()
    renumbered = text.replace("string tenant_id = 1;", "string tenant_id = 9;")
    assert renumbered != text
    proto.write_text(renumbered)
    done = subprocess.run([buf(), "breaking", ".", "--against", str(PROTOS)], cwd=changed, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode != 0 and "tenant_id" in done.stdout + done.stderr


def test_buf_lint_finds_an_uncommented_message(tmp_path: Path) -> None:
    # Guards the comment rules: a message or field added without a leading comment fails the lint.
    changed = tmp_path / "changed"
    shutil.copytree(PROTOS, changed, ignore=shutil.ignore_patterns("build", "tests", "*.py", "*.pyi", "__pycache__"))
    proto = changed / "rewards" / "common" / "v1" / "common.proto"
    proto.write_text(proto.read_text() + "\nmessage Undocumented {\n  string what = 1;\n}\n")
    done = subprocess.run([buf(), "lint"], cwd=changed, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode != 0
    assert 'Message "Undocumented"' in done.stdout and 'Field "what"' in done.stdout, done.stdout + done.stderr
