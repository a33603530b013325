"""The lock files, compiled by `uv pip compile` from the inputs (`make locks` writes them; `--check` compiles into a
temporary folder and says which lock no longer matches its inputs, as tests/test_locks.py does):

- requirements-dev.lock, from requirements-dev.txt: everything `make test` installs (the project's packages
  editable, the test and benchmark tools), exact pins;
- requirements-run.lock, from requirements-run.txt: what `make run` installs (the services and the local runner,
  no test or benchmark stack), exact pins taken from the dev lock;
- <service>/requirements.lock: the third-party packages of that service's image (protos, the service kit and the
  service, whose own packages are installed from the build context with --no-deps), with hashes, so the
  Dockerfile installs them with `pip install --require-hashes`; also the dev lock's versions.

Every lock but the dev one is constrained to the dev lock, so one set of versions is tested and shipped. A lock
keeps its pins while they still satisfy the inputs (uv prefers the versions of the output file it rewrites): only
a changed input, or `make locks UPGRADE=1`, moves a version. Resolved for Python 3.11 on Linux (the images'
python:3.11-slim); an image lock lists the hashes of every file of each version, so other architectures build too.
"""

from __future__ import annotations

import argparse
import difflib
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent
UV = Path(sys.executable).parent / "uv"
COMMAND = "make locks"
TARGET = ["--python-version", "3.11", "--python-platform", "linux"]
DEV_LOCK = "requirements-dev.lock"
# The services' images: each installs protos, the service kit and its own folder (see its Dockerfile).
IMAGES = {"catalog-service": "rewards-catalog-service", "wallet-service": "rewards-wallet-service",
          "redemption-service": "rewards-redemption-service", "fulfillment-service": "rewards-fulfillment-service",
          "events-service": "rewards-events-service", "gateway": "rewards-gateway"}
SHARED = {"protos": "rewards-protos", "libs/service-kit": "rewards-service-kit"}
TIMEOUT_SECONDS = 120


@dataclass
class Lock:
    output: str            # relative to ROOT
    inputs: str            # the requirements text uv compiles (paths relative to ROOT)
    extra: list[str] = field(default_factory=list)
    constrained: bool = True


def locks() -> list[Lock]:
    found = [Lock(DEV_LOCK, (ROOT / "requirements-dev.txt").read_text(), constrained=False),
             Lock("requirements-run.lock", (ROOT / "requirements-run.txt").read_text())]
    for folder, name in IMAGES.items():
        own = {**SHARED, folder: name}
        found.append(Lock(f"{folder}/requirements.lock", "".join(f"./{path}\n" for path in own),
                          extra=["--generate-hashes", *(f"--no-emit-package={n}" for n in own.values())]))
    return found


def dev_constraints(dev_lock: Path, into: Path) -> Path:
    """The dev lock's pins without its editable lines (a constraint cannot be a local project)."""
    pins = [line for line in dev_lock.read_text().splitlines() if line and not line.startswith(("-e", " ", "#"))]
    into.write_text("\n".join(pins) + "\n")
    return into


def compile_lock(lock: Lock, output: Path, constraints: Path | None, upgrade: bool) -> None:
    command = [str(UV), "pip", "compile", "--quiet", "-", "-o", str(output), "--custom-compile-command", COMMAND,
               # No "# via" lines: they would name the temporary constraints file of a --check.
               "--no-annotate", *TARGET, *lock.extra]
    if constraints is not None and lock.constrained:
        command += ["--constraint", str(constraints)]
    if upgrade:
        command.append("--upgrade")
    done = subprocess.run(command, check=False, input=lock.inputs, text=True, capture_output=True, cwd=ROOT,
                          timeout=TIMEOUT_SECONDS)
    if done.returncode != 0:
        raise SystemExit(f"uv pip compile for {lock.output} failed:\n{done.stderr}")


def build(into: Path, upgrade: bool) -> None:
    """Compiles every lock into `into` (the same relative paths), starting from the copies already there."""
    dev = next(lock for lock in locks() if lock.output == DEV_LOCK)
    compile_lock(dev, into / DEV_LOCK, None, upgrade)
    constraints = dev_constraints(into / DEV_LOCK, into / ".dev-constraints.txt")
    for lock in locks():
        if lock.output != DEV_LOCK:
            (into / lock.output).parent.mkdir(parents=True, exist_ok=True)
            compile_lock(lock, into / lock.output, constraints, upgrade)
    constraints.unlink()


def check() -> list[str]:
    """The locks that differ from what their inputs compile to now (each with its diff)."""
    drifted = []
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        for lock in locks():
            committed = ROOT / lock.output
            if not committed.exists():
                drifted.append(f"{lock.output} is missing: run `make locks`")
                continue
            (scratch / lock.output).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(committed, scratch / lock.output)   # its pins are the preferences
        build(scratch, upgrade=False)
        for lock in locks():
            committed = ROOT / lock.output
            if not committed.exists():
                continue
            want, have = (scratch / lock.output).read_text(), committed.read_text()
            if want != have:
                diff = "".join(difflib.unified_diff(have.splitlines(True), want.splitlines(True),
                                                    lock.output, f"{lock.output} (compiled now)", n=1))
                shown = "".join(diff.splitlines(True)[:40])
                drifted.append(f"{lock.output} does not match its inputs: run `make locks`\n{shown}")
    return drifted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compile into a temporary folder and compare")
    parser.add_argument("--upgrade", action="store_true", help="let every version move to the newest allowed")
    args = parser.parse_args()
    if args.check:
        drifted = check()
        for message in drifted:
            print(message, file=sys.stderr)
        raise SystemExit(1 if drifted else 0)
    build(ROOT, upgrade=args.upgrade)
    print("locks written: " + ", ".join(lock.output for lock in locks()))


if __name__ == "__main__":
    main()
