"""What `make run` prints: the real paths of its RUN_DIR (not `.run/...` when RUN_DIR is elsewhere), and the
operator CLI ready to paste, which works as printed (on a real PostgreSQL database)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from local_runner.demo import examples, operator_cli
from local_runner.platform import DATABASES, Platform
from local_runner.settings import RunnerSettings

ROOT = Path(__file__).resolve().parents[1]
DEMO = {"gateway_url": "http://127.0.0.1:8001", "player_token": "t", "client_id": "c", "client_secret": "s",
        "api_key": "k", "operator_cli": "DATABASE_URL=x python -m gateway.admin"}


def test_the_banner_prints_the_run_dirs_real_paths(tmp_path: Path) -> None:
    elsewhere = examples(DEMO, tmp_path / "run")
    assert ".run/" not in elsewhere
    assert f"all of this is in {tmp_path / 'run' / 'demo.json'}" in elsewhere
    assert f"Logs: {tmp_path / 'run' / 'logs'}/" in elsewhere
    assert f"Forget everything: RUN_DIR={tmp_path / 'run'} make reset" in elsewhere
    default = examples(DEMO, Path.cwd() / ".run")
    assert "all of this is in .run/demo.json" in default and "Logs: .run/logs/" in default
    assert "Forget everything: make reset\n" in default
    assert "\n  DATABASE_URL=x python -m gateway.admin list-tenants\n" in default


def test_the_printed_operator_cli_works_as_printed(tmp_path: Path, new_database: Callable[[str], str]) -> None:
    platform = Platform(RunnerSettings(run_dir=tmp_path, database_urls={db: new_database(db) for db in DATABASES}),
                        say=lambda _: None)
    platform.start_postgres()   # every database given: it only takes their URLs
    command = operator_cli(platform)
    assert command.startswith(f"DATABASE_URL={platform.database_urls['gateway']} ") and command.endswith(
        " -m gateway.admin")
    done = subprocess.run(["bash", "-c", f"{command} list-tenants"], cwd=ROOT, capture_output=True, text=True,
                          check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"tenants": []}
