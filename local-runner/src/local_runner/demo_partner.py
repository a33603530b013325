"""The demo's partner systems, for `make run`: the tenant's bonus engine (bonus and free-rounds items) and a
voucher provider (webhook items). A real HTTP service on its own port that checks the platform's signature
(HMAC-SHA256 over "timestamp.body" with the shared secret) and answers once per Idempotency-Key.

For the reliability tests it also misbehaves on request (a webhook item names the route as its url):
- POST /faults/flaky/vouchers?times=N      500 for the first N calls of a key, then the normal answer
- POST /faults/throttled/vouchers?times=N&retry_after=S   429 with Retry-After: S, N times, then the answer
- POST /faults/slow/vouchers?times=N&delay=S   the voucher is issued (the effect happens), but the first N calls
  answer only after S seconds (longer than the platform's timeout: a timeout after success)
- POST /faults/down/vouchers               500 every time (a poison job)
- connection resets: a raw TCP server on a second port (GET /faults says which) issues the voucher, then closes
  the socket with a TCP reset instead of answering, for the first N calls of a key (`/vouchers?times=N`)
- GET /faults/deliveries/{key}             {"calls": n, "effects": n} for that Idempotency-Key; an effect is the
  first successful handling (the voucher or bonus issued), so a key must never have more than one.

It is also the demo tenant's webhook receiver (docs/events.md, "Webhooks"), as a tenant's own system would be:
- POST /webhooks   verified with the standardwebhooks package against the secret of the demo's endpoint, which
  the seeding (local_runner.demo) writes to the file EVENTS_WEBHOOK_SECRET_FILE names (read again when it
  changes); a bad or missing signature, or a stale timestamp, is refused 400, and a delivery before that file
  exists 503 (retried by the platform). A verified event is kept once per webhook-id: a repeat (at-least-once
  delivery) is answered 200 again and counted, not kept twice.
- GET /webhooks/received   what it kept, oldest first (the newest MAX_RECEIVED): each event's id, type and time
  and how many deliveries of it came; never a payload. Plus the counts of repeats and refusals.

python -m local_runner.demo_partner   (PORT, HOST, WEBHOOK_SIGNING_SECRET, EVENTS_WEBHOOK_SECRET_FILE from the
environment)
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import os
import secrets
import socket
import struct
import time
from collections import Counter, OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import uvicorn
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

UNAVAILABLE_GAMES = {"retired-game"}
MAX_SKEW_SECONDS = 300
FAULT_KINDS = ("flaky", "throttled", "slow", "down")
# A raw request head larger than this is refused (the reset server reads it whole).
MAX_HEAD_BYTES = 64 * 1024
READ_TIMEOUT_SECONDS = 10.0
# The platform's events are a few hundred bytes; a larger webhook body is refused unread.
MAX_WEBHOOK_BYTES = 256 * 1024
MAX_RECEIVED = 5_000


def _verified(secret: bytes, headers: Mapping[str, str], body: bytes) -> bool:
    timestamp = headers.get("x-timestamp", "")
    signature = headers.get("x-signature", "")
    try:
        fresh = abs(time.time() - float(timestamp)) <= MAX_SKEW_SECONDS
    except ValueError:
        return False
    expected = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return fresh and hmac.compare_digest(expected, signature.removeprefix("sha256="))


@dataclass
class Deliveries:
    """What the partner did per Idempotency-Key: the calls it received, its effects, and the answer it keeps."""

    answered: dict[str, tuple[int, dict]] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    effects: Counter[str] = field(default_factory=Counter)
    references: itertools.count = field(default_factory=lambda: itertools.count(70_001))

    def remember(self, key: str, status: int, payload: dict) -> tuple[int, dict]:
        """The first answer of a key is the one it keeps; a 2xx first answer is the key's effect."""
        if key not in self.answered:
            self.answered[key] = (status, payload)
            if 200 <= status < 300:
                self.effects[key] += 1
        return self.answered[key]

    def voucher(self, key: str, job: dict) -> tuple[int, dict]:
        if key in self.answered:
            return self.answered[key]
        code = f"DEMO-{secrets.token_hex(4).upper()}"
        return self.remember(key, 200, {"status": "completed", "code": code,
                                        "pin": f"{secrets.randbelow(10_000):04d}",
                                        "reference": f"v-{job.get('redemption_id', '')}"})

    def bonus(self, key: str, job: dict) -> tuple[int, dict]:
        if key in self.answered:
            return self.answered[key]
        if job.get("kind") == "free_rounds" and job.get("game_id") in UNAVAILABLE_GAMES:
            return self.remember(key, 422, {"code": "GAME_NOT_AVAILABLE", "message": "game not available"})
        return self.remember(key, 200, {"reference_id": next(self.references)})


class EndpointSecret:
    """The signing secret of the demo's webhook endpoint, from the file the seeding writes; read again whenever
    the file changes (a second `make run` that rotated it), None until it exists."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._seen: tuple[int, int, int] | None = None
        self._secret: str | None = None

    def current(self) -> str | None:
        """One stat per delivery (a small local file, replaced whole by the seeding: a new inode)."""
        if self.path is None:
            return None
        try:
            stat = self.path.stat()
            seen = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            if seen != self._seen:
                self._secret = str(json.loads(self.path.read_text())["secret"]) or None
                self._seen = seen
        except (OSError, ValueError, KeyError):
            return None
        return self._secret


@dataclass
class ReceivedEvents:
    """The events received verified, once per webhook-id (the newest MAX_RECEIVED), and what was not kept."""

    events: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict)
    repeats: int = 0
    refused: int = 0

    def take(self, webhook_id: str, event: Any) -> bool:
        """Keeps a verified event; False for a repeat of one kept."""
        if webhook_id in self.events:
            self.events[webhook_id]["deliveries"] += 1
            self.repeats += 1
            return False
        body = event if isinstance(event, dict) else {}
        self.events[webhook_id] = {"id": webhook_id, "type": str(body.get("type", "")),
                                   "time": str(body.get("time", "")), "deliveries": 1}
        while len(self.events) > MAX_RECEIVED:
            self.events.popitem(last=False)
        return True

    def listed(self) -> dict[str, Any]:
        return {"events": list(self.events.values()), "repeats": self.repeats, "refused": self.refused}


def _number(query: Mapping[str, str], name: str, default: float) -> float:
    try:
        return max(0.0, float(query.get(name, default)))
    except ValueError:
        return default


def create_app(secret: str, deliveries: Deliveries | None = None, reset_port: int = 0,
               endpoint_secret: EndpointSecret | None = None) -> Starlette:
    key = secret.encode()
    book = deliveries if deliveries is not None else Deliveries()
    hook_secret = endpoint_secret if endpoint_secret is not None else EndpointSecret(None)
    received = ReceivedEvents()

    async def signed(request: Request) -> tuple[str, dict | None, JSONResponse | None]:
        """The Idempotency-Key and the job of a correctly signed call (counted), or the refusal."""
        body = await request.body()
        if not _verified(key, request.headers, body):
            return "", None, JSONResponse({"error": "bad signature"}, status_code=401)
        idem = request.headers.get("idempotency-key", "")
        book.calls[idem] += 1
        try:
            job = json.loads(body or b"{}")
        except ValueError:
            return idem, None, JSONResponse({"error": "not JSON"}, status_code=400)
        return idem, job if isinstance(job, dict) else {}, None

    async def bonus(request: Request) -> JSONResponse:
        idem, job, refused = await signed(request)
        if refused is not None:
            return refused
        status, payload = book.bonus(idem, job)
        return JSONResponse(payload, status_code=status)

    async def vouchers(request: Request) -> JSONResponse:
        idem, job, refused = await signed(request)
        if refused is not None:
            return refused
        status, payload = book.voucher(idem, job)
        return JSONResponse(payload, status_code=status)

    async def faulty_vouchers(request: Request) -> JSONResponse:
        kind = request.path_params["kind"]
        if kind not in FAULT_KINDS:
            return JSONResponse({"error": f"unknown fault {kind!r}"}, status_code=404)
        idem, job, refused = await signed(request)
        if refused is not None:
            return refused
        times = _number(request.query_params, "times", 2)
        early = book.calls[idem] <= times
        if kind == "down" or (kind == "flaky" and early):
            return JSONResponse({"code": "UNAVAILABLE", "message": "try again"}, status_code=500)
        if kind == "throttled" and early:
            retry_after = _number(request.query_params, "retry_after", 1)
            return JSONResponse({"code": "RATE_LIMITED", "message": "slow down"}, status_code=429,
                                headers={"Retry-After": f"{retry_after:g}"})
        status, payload = book.voucher(idem, job)
        if kind == "slow" and early:
            # Issued and kept, but answered after the caller gave up.
            await asyncio.sleep(_number(request.query_params, "delay", 3))
        return JSONResponse(payload, status_code=status)

    async def faults(_: Request) -> JSONResponse:
        return JSONResponse({"kinds": list(FAULT_KINDS), "reset_port": reset_port})

    async def delivered(request: Request) -> JSONResponse:
        idem = request.path_params["key"]
        return JSONResponse({"calls": book.calls[idem], "effects": book.effects[idem]})

    async def webhook(request: Request) -> JSONResponse:
        """A delivery of the demo's webhook endpoint, verified as a tenant's receiver would."""
        length = request.headers.get("content-length", "0")
        if not length.isdigit() or int(length) > MAX_WEBHOOK_BYTES:
            return JSONResponse({"error": "too large"}, status_code=413)
        body = await request.body()
        signing = hook_secret.current()
        if signing is None:
            return JSONResponse({"error": "no endpoint secret yet"}, status_code=503)
        try:
            event = Webhook(signing).verify(body, dict(request.headers))
        except (WebhookVerificationError, ValueError):
            received.refused += 1
            return JSONResponse({"error": "bad signature"}, status_code=400)
        webhook_id = request.headers["webhook-id"]
        return JSONResponse({"received": webhook_id, "repeat": not received.take(webhook_id, event)})

    async def webhooks_received(_: Request) -> JSONResponse:
        return JSONResponse(received.listed())

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[
        Route("/bonus", bonus, methods=["POST"]), Route("/vouchers", vouchers, methods=["POST"]),
        Route("/faults", faults), Route("/faults/deliveries/{key}", delivered),
        Route("/faults/{kind}/vouchers", faulty_vouchers, methods=["POST"]),
        Route("/webhooks", webhook, methods=["POST"]), Route("/webhooks/received", webhooks_received),
        Route("/healthz", healthz)])


def _reset(writer: asyncio.StreamWriter) -> None:
    """Closes the connection with a TCP reset (SO_LINGER 0), not a clean close."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _http_answer(status: int, payload: dict) -> bytes:
    body = json.dumps(payload).encode()
    reason = {200: "OK", 401: "Unauthorized", 400: "Bad Request", 422: "Unprocessable Entity"}.get(status, "Error")
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n").encode() + body


async def start_reset_server(secret: str, deliveries: Deliveries, host: str, port: int = 0) -> asyncio.Server:
    """The voucher provider whose connection resets: starlette cannot drop a socket, so a minimal HTTP/1.1 server.
    The first `times` calls of a key issue the voucher, then reset the connection instead of answering."""
    key = secret.encode()

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT_SECONDS)
            if len(head) > MAX_HEAD_BYTES:
                raise ValueError("request head too large")
            request_line, *lines = head.decode("latin-1").split("\r\n")
            _, target, _ = request_line.split(" ", 2)
            headers = {name.strip().lower(): value.strip()
                       for name, _, value in (line.partition(":") for line in lines if ":" in line)}
            body = await asyncio.wait_for(reader.readexactly(int(headers.get("content-length", "0"))),
                                          READ_TIMEOUT_SECONDS)
            if not _verified(key, headers, body):
                writer.write(_http_answer(401, {"error": "bad signature"}))
            else:
                idem = headers.get("idempotency-key", "")
                deliveries.calls[idem] += 1
                query = {name: values[-1] for name, values in parse_qs(urlsplit(target).query).items()}
                job = json.loads(body or b"{}")
                status, payload = deliveries.voucher(idem, job if isinstance(job, dict) else {})
                if deliveries.calls[idem] <= _number(query, "times", 1):
                    _reset(writer)
                    return
                writer.write(_http_answer(status, payload))
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError, OSError):
            pass  # a broken request: nothing to answer
        writer.close()

    return await asyncio.start_server(on_connection, host, port, limit=MAX_HEAD_BYTES)


async def serve(secret: str, host: str, port: int, endpoint_secret: EndpointSecret | None = None) -> None:
    deliveries = Deliveries()
    resets = await start_reset_server(secret, deliveries, host)
    reset_port = resets.sockets[0].getsockname()[1]
    app = create_app(secret, deliveries, reset_port, endpoint_secret)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, access_log=False, log_level="warning"))
    async with resets:
        await server.serve()


def main() -> None:
    secret = os.environ.get("WEBHOOK_SIGNING_SECRET")
    if not secret:
        raise SystemExit("configuration error: missing required setting WEBHOOK_SIGNING_SECRET")
    hook_file = os.environ.get("EVENTS_WEBHOOK_SECRET_FILE")
    asyncio.run(serve(secret, os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "8010")),
                      EndpointSecret(Path(hook_file) if hook_file else None)))


if __name__ == "__main__":
    main()
