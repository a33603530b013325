"""Issue 15's webhooks through the gateway on the real processes, to a real receiver in this test that verifies
every POST with the standardwebhooks package: a redemption's events reach a receiver that was down when they
happened (retried, nothing lost, every attempt listed); a resent event carries the same webhook-id; after a
rotation either secret verifies during the overlap; a receiver answering 410 has its endpoint disabled, which
the tenant reads in its event log. The demo partner (local_runner.demo_partner), the demo tenant's receiver that
`make run` seeds an endpoint for, gets a redemption's events verified and refuses a forged delivery; seeding it
again keeps its one endpoint."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from local_runner.demo import seed_partner_webhook
from local_runner.infra import free_port
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError


class Receiver:
    """A tenant's receiver on 127.0.0.1:port. POST /hooks: verified with every secret it holds (the indexes of
    those that verified are kept with the body), 200 when one did, else 400. POST /gone: 410."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.secrets: list[str] = []
        self.received: list[dict[str, Any]] = []
        self.gone_hits = 0
        self.server: ThreadingHTTPServer | None = None

    def url(self, path: str = "/hooks") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                if self.path == "/gone":
                    receiver.gone_hits += 1
                    self.answer(410)
                    return
                headers = {k.lower(): v for k, v in self.headers.items()}
                verified = set()
                for n, secret in enumerate(receiver.secrets):
                    with contextlib.suppress(WebhookVerificationError):
                        Webhook(secret).verify(body, headers)
                        verified.add(n)
                if verified:
                    receiver.received.append({"id": headers["webhook-id"], "body": body.decode(),
                                              "verified_with": verified})
                self.answer(200 if verified else 400)

            def answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def of(self, event_id: str) -> list[dict[str, Any]]:
        return [r for r in self.received if r["id"] == event_id]


@contextlib.contextmanager
def _endpoints(operator) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    made: list[str] = []
    try:
        yield made
    finally:   # no endpoint of this test keeps retrying into the other tests
        for endpoint_id in made:
            operator.http.delete(f"/v1/admin/webhooks/{endpoint_id}")


def _eventually(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"not in {timeout} s: {what}"
        time.sleep(0.2)


def _attempts(operator, endpoint_id: str) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    r = operator.http.get(f"/v1/admin/webhooks/{endpoint_id}/attempts", params={"limit": 500})
    assert r.status_code == 200, r.text
    return r.json()["attempts"]  # type: ignore[no-any-return]


def test_a_redemptions_events_reach_a_receiver_that_was_down_signed_resent_and_rotated(
        gateway: httpx.Client, operator) -> None:  # type: ignore[no-untyped-def]
    receiver = Receiver(free_port())   # nothing listens there yet: the receiver is down
    with _endpoints(operator) as made:
        refused = operator.http.post("/v1/admin/webhooks", json={"url": "ftp://example.com/x"})
        assert refused.status_code == 422 and refused.json()["code"] == "VALIDATION_ERROR", refused.text
        refused = operator.http.post("/v1/admin/webhooks", json={"url": receiver.url(), "eventTypes": ["nope"]})
        assert refused.status_code == 422 and "unknown event types" in refused.text, refused.text
        assert gateway.post("/v1/admin/webhooks", json={"url": receiver.url()}).status_code == 401

        r = operator.http.post("/v1/admin/webhooks", json={
            "url": receiver.url(), "eventTypes": ["redemption.created", "redemption.completed"]})
        assert r.status_code == 201, r.text
        endpoint, secret = r.json()["endpoint"], r.json()["secret"]
        made.append(endpoint["id"])
        assert secret.startswith("whsec_") and endpoint["enabled"]
        listed = operator.http.get("/v1/admin/webhooks").json()["endpoints"]
        assert endpoint["id"] in {e["id"] for e in listed} and secret not in str(listed), "the secret shown once"
        receiver.secrets = [secret]

        _, auth = operator.new_player(gems=100)
        voucher = operator.create_item(fulfillmentStrategy="code_pool", stock=5)
        code, pin = f"WH-{uuid.uuid4().hex[:8]}", f"PIN{uuid.uuid4().hex[:10]}"
        assert operator.http.post(f"/v1/admin/items/{voucher['id']}/codes",
                                  json={"codes": [{"code": code, "pin": pin}]}).status_code in (200, 201)
        redeemed = gateway.post("/v1/redemptions", headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
                                json={"offer": voucher["id"]}).json()
        assert redeemed["status"] == "COMPLETED", redeemed

        # Down: attempts fail (no answer) and are retried.
        _eventually(lambda: len([a for a in _attempts(operator, endpoint["id"]) if a["statusCode"] == 0]) >= 2,
                    "two failed attempts while the receiver is down")
        receiver.start()
        try:
            def ours() -> list[dict[str, Any]]:
                return [r for r in receiver.received if f'"redemption_id":"{redeemed["id"]}"' in r["body"]]
            both = _eventually(lambda: len({r["id"] for r in ours()}) == 2 and ours(), "both events delivered")
            bodies = {httpx.Response(200, content=r["body"]).json()["type"]: r for r in both}
            assert set(bodies) == {"redemption.created", "redemption.completed"}
            completed = httpx.Response(200, content=bodies["redemption.completed"]["body"]).json()
            assert completed["id"] == bodies["redemption.completed"]["id"], "webhook-id is the event id"
            assert (completed["tenant"], completed["environment"]) == (operator.demo["tenant_id"],
                                                                        operator.demo["environment"])
            assert all(code not in r["body"] and pin not in r["body"] for r in receiver.received)
            # The receiver holds the body before its answer reaches the service, which records the attempt then.
            def recorded() -> list[dict[str, Any]]:
                found = [a for a in _attempts(operator, endpoint["id"]) if a["eventId"] == completed["id"]]
                return found if found and found[0]["statusCode"] == 200 else []
            attempts = _eventually(recorded, "the delivered attempt recorded")
            assert attempts[0]["statusCode"] == 200
            # The attempts made while the receiver was down are listed with their error. (Which of the two events
            # they were for depends on when each service's relay published it: the completed one may have come
            # after the receiver was up.)
            down = [a for a in _attempts(operator, endpoint["id"]) if a["statusCode"] == 0]
            assert len(down) >= 2 and all(a["error"] for a in down), down
            # The same as GET /v1/events gives.
            logged = operator.http.get("/v1/events", params={"types": "redemption.completed",
                                                             "after": int(completed["cursor"]) - 1}).json()
            assert logged["events"][0] == completed

            # Resent by hand: the same webhook-id again.
            resent = operator.http.post(f"/v1/admin/webhooks/{endpoint['id']}/resend",
                                        json={"eventId": completed["id"]})
            assert resent.status_code == 202, resent.text
            _eventually(lambda: len(receiver.of(completed["id"])) == 2, "the resend")
            assert operator.http.post(f"/v1/admin/webhooks/{endpoint['id']}/resend",
                                      json={"eventId": str(uuid.uuid4())}).status_code == 404

            # Rotated: during the overlap both the old and the new secret verify a delivery.
            rotated = operator.http.post(f"/v1/admin/webhooks/{endpoint['id']}/rotate-secret",
                                         json={"overlapSeconds": 600})
            assert rotated.status_code == 200, rotated.text
            new_secret = rotated.json()["secret"]
            assert new_secret != secret and rotated.json()["endpoint"]["previousSecretUntil"]
            receiver.secrets = [secret, new_secret]
            operator.http.post(f"/v1/admin/webhooks/{endpoint['id']}/resend", json={"eventId": completed["id"]})
            third = _eventually(lambda: len(receiver.of(completed["id"])) == 3 and receiver.of(completed["id"])[2],
                                "the delivery after the rotation")
            assert third["verified_with"] == {0, 1}, "either secret verifies it"

            # Changed to nothing but completions; a bad change changes nothing.
            bad = operator.http.patch(f"/v1/admin/webhooks/{endpoint['id']}", json={"url": "gopher://x"})
            assert bad.status_code == 422, bad.text
            changed = operator.http.patch(f"/v1/admin/webhooks/{endpoint['id']}",
                                          json={"eventTypes": ["redemption.completed"]}).json()
            assert changed["eventTypes"] == ["redemption.completed"] and changed["url"] == receiver.url()
        finally:
            receiver.stop()


def test_a_receiver_answering_410_has_its_endpoint_disabled_and_the_log_tells(operator) -> None:  # type: ignore[no-untyped-def]
    receiver = Receiver(free_port())
    receiver.start()
    try:
        with _endpoints(operator) as made:
            r = operator.http.post("/v1/admin/webhooks", json={"url": receiver.url("/gone"),
                                                               "eventTypes": ["points.granted"]})
            assert r.status_code == 201, r.text
            endpoint_id = r.json()["endpoint"]["id"]
            made.append(endpoint_id)
            operator.new_player(gems=5)    # a points.granted event

            def disabled() -> dict[str, Any] | None:
                found = operator.http.get(f"/v1/admin/webhooks/{endpoint_id}").json()
                return None if found["enabled"] else found
            endpoint = _eventually(disabled, "the endpoint disabled")
            assert "410" in endpoint["disabledReason"] and receiver.gone_hits == 1, "disabled at the first 410"
            assert [a["statusCode"] for a in _attempts(operator, endpoint_id)] == [410]

            def told() -> list[dict[str, Any]]:
                events = operator.http.get("/v1/events", params={"types": "webhook.endpoint.disabled",
                                                                 "limit": 1000}).json()["events"]
                return [e for e in events if e["data"]["endpoint_id"] == endpoint_id]
            [event] = _eventually(told, "the disabled event in the log")
            assert event["data"]["reason"] == "gone" and event["data"]["url"] == receiver.url("/gone")

            enabled = operator.http.patch(f"/v1/admin/webhooks/{endpoint_id}", json={"enabled": True}).json()
            assert enabled["enabled"] and enabled["disabledReason"] == ""
    finally:
        receiver.stop()


def test_the_demo_partner_gets_the_demo_tenants_events_verified_and_refuses_a_forgery(
        platform, gateway: httpx.Client, operator, databases) -> None:  # type: ignore[no-untyped-def]
    hook = operator.demo["partner_webhook"]
    kept = platform.partner_webhook_file
    secret = json.loads(kept.read_text())["secret"]
    assert kept.stat().st_mode & 0o777 == 0o600 and secret not in (platform.run_dir / "demo.json").read_text()
    # Seeding again (a second `make run` on the same RUN_DIR) keeps the one endpoint and its secret.
    assert seed_partner_webhook(platform) == {"endpoint_id": hook["endpoint_id"], "url": hook["url"]}
    assert json.loads(kept.read_text())["secret"] == secret
    listed = operator.http.get("/v1/admin/webhooks").json()["endpoints"]
    assert [e["id"] for e in listed if e["url"] == hook["url"]] == [hook["endpoint_id"]]
    assert next(e for e in listed if e["id"] == hook["endpoint_id"])["enabled"]

    _, auth = operator.new_player(gems=100)
    voucher = operator.create_item(fulfillmentStrategy="code_pool", stock=5)
    assert operator.http.post(f"/v1/admin/items/{voucher['id']}/codes",
                              json={"codes": [{"code": f"DP-{uuid.uuid4().hex[:8]}"}]}).status_code in (200, 201)
    redeemed = gateway.post("/v1/redemptions", headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
                            json={"offer": voucher["id"]}).json()
    assert redeemed["status"] == "COMPLETED", redeemed

    with httpx.Client(base_url=f"http://127.0.0.1:{platform.s.partner_port}", timeout=10.0) as partner:
        def theirs() -> dict[str, dict[str, Any]]:
            ids = {row[0] for row in databases.rows("events", f"""
                SELECT event_id FROM events WHERE data->>'redemption_id' = '{redeemed["id"]}'""")}
            got = {e["id"]: e for e in partner.get("/webhooks/received").json()["events"]}
            return {i: got[i] for i in ids} if len(ids) >= 2 and ids <= set(got) else {}
        received = _eventually(theirs, "the redemption's events at the demo partner")
        assert {e["type"] for e in received.values()} >= {"redemption.created", "redemption.completed"}
        assert all(set(e) == {"id", "type", "time", "deliveries"} for e in received.values()), "ids and types only"

        # Forged: signed with another secret, a body changed after signing, no signature: 400, nothing kept.
        refused = partner.get("/webhooks/received").json()["refused"]
        forged_id = f"evt_{uuid.uuid4()}"
        body = json.dumps({"id": forged_id, "type": "redemption.completed", "data": {}})
        now = datetime.now(UTC)
        forged = Webhook(base64.b64encode(os.urandom(32)).decode()).sign(forged_id, now, body)
        signed = Webhook(secret).sign(forged_id, now, body)
        stamp = {"webhook-id": forged_id, "webhook-timestamp": str(int(now.timestamp()))}
        for content, signature in ((body, forged), (body.replace("{}", '{"x":1}'), signed), (body, "")):
            r = partner.post("/webhooks", content=content, headers={**stamp, "webhook-signature": signature})
            assert r.status_code == 400, r.text
        listed_after = partner.get("/webhooks/received").json()
        assert listed_after["refused"] == refused + 3
        assert forged_id not in {e["id"] for e in listed_after["events"]}
        # The same, signed with the endpoint's secret, is taken: once per webhook-id.
        for _ in range(2):
            r = partner.post("/webhooks", content=body, headers={**stamp, "webhook-signature": signed})
            assert r.status_code == 200, r.text
        listed_after = partner.get("/webhooks/received").json()
        assert [e["deliveries"] for e in listed_after["events"] if e["id"] == forged_id] == [2]

        # The secret's file lost, the endpoint kept: seeding gives the endpoint a new secret (no second endpoint),
        # which the partner reads and verifies with from then on.
        kept.unlink()
        assert seed_partner_webhook(platform)["endpoint_id"] == hook["endpoint_id"]
        assert json.loads(kept.read_text())["secret"] != secret
        player, _ = operator.new_player(gems=5)

        def granted() -> bool:
            ids = {row[0] for row in databases.rows("events", f"""
                SELECT event_id FROM events WHERE type = 'points.granted' AND data->>'player_id' = '{player}'""")}
            got = {e["id"] for e in partner.get("/webhooks/received").json()["events"]}
            return bool(ids) and ids <= got
        _eventually(granted, "an event signed with the new secret at the demo partner")
