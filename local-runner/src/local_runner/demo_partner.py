"""The demo's partner systems, for `make run`: the tenant's bonus engine (bonus and free-rounds items) and a
voucher provider (webhook items). A real HTTP service on its own port that checks the platform's signature
(HMAC-SHA256 over "timestamp.body" with the shared secret) and answers once per Idempotency-Key.

python -m local_runner.demo_partner   (PORT, WEBHOOK_SIGNING_SECRET from the environment)
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import secrets
import time

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

UNAVAILABLE_GAMES = {"retired-game"}
MAX_SKEW_SECONDS = 300


def _verified(secret: bytes, request: Request, body: bytes) -> bool:
    timestamp = request.headers.get("x-timestamp", "")
    signature = request.headers.get("x-signature", "")
    try:
        fresh = abs(time.time() - float(timestamp)) <= MAX_SKEW_SECONDS
    except ValueError:
        return False
    expected = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return fresh and hmac.compare_digest(expected, signature.removeprefix("sha256="))


def create_app(secret: str) -> Starlette:
    key = secret.encode()
    answered: dict[str, tuple[int, dict]] = {}
    references = itertools.count(70_001)

    async def signed(request: Request) -> tuple[dict | None, JSONResponse | None]:
        body = await request.body()
        if not _verified(key, request, body):
            return None, JSONResponse({"error": "bad signature"}, status_code=401)
        idem = request.headers.get("idempotency-key", "")
        if idem in answered:
            status, payload = answered[idem]
            return None, JSONResponse(payload, status_code=status)
        return json.loads(body or b"{}"), None

    def remember(request: Request, status: int, payload: dict) -> JSONResponse:
        answered[request.headers.get("idempotency-key", "")] = (status, payload)
        return JSONResponse(payload, status_code=status)

    async def bonus(request: Request) -> JSONResponse:
        job, early = await signed(request)
        if early is not None:
            return early
        if job.get("kind") == "free_rounds" and job.get("game_id") in UNAVAILABLE_GAMES:
            return remember(request, 422, {"code": "GAME_NOT_AVAILABLE", "message": "game not available"})
        return remember(request, 200, {"reference_id": next(references)})

    async def vouchers(request: Request) -> JSONResponse:
        job, early = await signed(request)
        if early is not None:
            return early
        code = f"DEMO-{secrets.token_hex(4).upper()}"
        return remember(request, 200, {"status": "completed", "code": code, "pin": f"{secrets.randbelow(10_000):04d}",
                                       "reference": f"v-{job.get('redemption_id', '')}"})

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/bonus", bonus, methods=["POST"]), Route("/vouchers", vouchers, methods=["POST"]),
                             Route("/healthz", healthz)])


def main() -> None:
    secret = os.environ.get("WEBHOOK_SIGNING_SECRET")
    if not secret:
        raise SystemExit("configuration error: missing required setting WEBHOOK_SIGNING_SECRET")
    uvicorn.run(create_app(secret), host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "8010")),
                access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
