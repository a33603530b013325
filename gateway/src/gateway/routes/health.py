"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from gateway.errors import problem_response
from gateway.openapi import problem
from gateway.schemas import Health, Readiness
from gateway.upstream import Upstreams

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, operation_id="checkLiveness")
async def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


async def database_reachable(request: Request) -> bool:
    try:
        async with asyncio.timeout(2.0):
            async with request.app.state.sessions() as session:
                await session.execute(text("SELECT 1"))
        return True
    except Exception:  # any failure means not ready; the reason is in the database's own logs
        return False


@router.get("/readyz", response_model=Readiness, operation_id="checkReadiness",
            responses={503: problem("Not ready: `failing` names what", schema="NotReady")})
async def readyz(request: Request) -> JSONResponse | Readiness:
    """The database answers and every service's gRPC health is SERVING."""
    services: Upstreams = request.app.state.upstreams
    results = await asyncio.gather(database_reachable(request), *(c.serving() for c in services.all))
    checks = dict(zip(["database", *(c.name for c in services.all)], results, strict=True))
    failing = [name for name, ok in checks.items() if not ok]
    if failing:
        return problem_response(503, "UNAVAILABLE", "not ready: " + ", ".join(failing), "Not ready",
                                extra={"checks": checks, "failing": failing})
    return Readiness(status="ready", checks=checks, failing=[])
