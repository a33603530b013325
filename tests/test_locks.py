"""The lock files (lock.py): each matches what its inputs compile to now (a changed requirements-*.txt or
pyproject.toml without `make locks` fails here, naming the lock and showing the diff), `make run`'s lock holds no
test or benchmark tool, and every lock pins the dev lock's versions: what is tested is what runs and ships."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import lock

PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s\\;]+)", re.MULTILINE)


def pins(path: Path) -> dict[str, str]:
    return {name.lower(): version for name, version in PIN.findall(path.read_text())}


def test_every_lock_matches_its_inputs() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "lock.py"), "--check"], check=False, capture_output=True,
                          text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr


def test_make_run_installs_no_test_or_benchmark_tool() -> None:
    run = pins(ROOT / "requirements-run.lock")
    for tool in ("pytest", "hypothesis", "schemathesis", "playwright", "ruff", "grpcio-tools", "matplotlib",
                 "openapi-python-client", "rewards-bench"):
        assert tool not in run, tool
    editable = re.findall(r"^-e (\S+)$", (ROOT / "requirements-run.lock").read_text(), re.MULTILINE)
    assert sorted(editable) == sorted(f"./{p}" for p in ("protos", "libs/service-kit", "local-runner",
                                                          *lock.IMAGES))


def test_every_lock_pins_the_dev_locks_versions() -> None:
    dev = pins(ROOT / lock.DEV_LOCK)
    for each in lock.locks():
        found = pins(ROOT / each.output)
        assert found, each.output
        assert {n: v for n, v in found.items() if dev.get(n) != v} == {}, each.output


def test_each_image_lock_has_hashes_and_none_of_the_projects_own_packages() -> None:
    for folder in lock.IMAGES:
        text = (ROOT / folder / "requirements.lock").read_text()
        entries = re.split(r"\n(?=[A-Za-z0-9])", text[text.index("\n", text.index("make locks")) + 1:])
        assert entries and all("--hash=sha256:" in entry for entry in entries), folder
        assert not any(name.startswith("rewards-") for name in pins(ROOT / folder / "requirements.lock")), folder
