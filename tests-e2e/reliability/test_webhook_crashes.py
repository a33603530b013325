"""Issue 15's crash points of webhook delivery: events-service killed (kill -9, failpoints) after a round claimed
its deliveries (their lease taken) and before they are POSTed (`events.after_claim`), and after the receiver
answered 2xx and before the attempt is recorded (`events.after_delivery`). Restarted normally, the service sends
each of those deliveries again once its lease has run out, with the same webhook-id: a receiver in this test,
verifying every POST with the standardwebhooks package, gets every event of the redemptions made meanwhile,
verified, none lost. Only events-service is restarted, first with the failpoint named in FAILPOINTS."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from local_runner.infra import free_port
from local_runner.invariants import eventually
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

EVENTS = "events-service"
TYPES = ["redemption.created", "redemption.completed"]
# The killed process claims with a short lease: 2 x WEBHOOK_TIMEOUT_SECONDS + 5 s. The restart after it needs no
# setting of its own (the lease is in the delivery's row); it skips the migrations, done at the platform's start.
TIMEOUT_SECONDS = 1.0
LEASE_SECONDS = 2 * TIMEOUT_SECONDS + 5.0
QUICK = {"MIGRATE_ON_START": "false"}


class Receiver:
    """A tenant's receiver on 127.0.0.1: each POST verified with the endpoint's secret (200), else 400. Keeps,
    per webhook-id, when each verified copy came."""

    def __init__(self) -> None:
        self.port = free_port()
        self.secret = ""
        self.arrivals: dict[str, list[float]] = defaultdict(list)
        self.refused = 0
        self.mismatched: list[str] = []   # a webhook-id that is not its body's event id
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    event = Webhook(receiver.secret).verify(body, headers)
                except WebhookVerificationError:
                    receiver.refused += 1
                    self.answer(400)
                    return
                if event["id"] != headers["webhook-id"]:
                    receiver.mismatched.append(headers["webhook-id"])
                receiver.arrivals[headers["webhook-id"]].append(time.monotonic())
                self.answer(200)

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


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver()
    started.start()
    yield started
    started.stop()


@pytest.fixture
def only_this_tests_endpoint(operator) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """The demo partner's endpoint (local_runner.demo) paused meanwhile, so that the failpoint fires on this
    test's deliveries and no other; enabled again after (what it missed meanwhile goes then)."""
    hook = operator.demo.get("partner_webhook")
    if hook:
        r = operator.http.patch(f"/v1/admin/webhooks/{hook['endpoint_id']}", json={"enabled": False})
        assert r.status_code == 200, r.text
    try:
        yield
    finally:
        if hook:
            operator.http.patch(f"/v1/admin/webhooks/{hook['endpoint_id']}", json={"enabled": True})


def _nothing_pending(databases) -> None:  # type: ignore[no-untyped-def]
    """No delivery of an enabled endpoint waits: the failpoint's first claim is this test's."""
    pending = databases.value("events", """
        SELECT count(*) FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id
        WHERE d.status = 'pending' AND w.enabled""")
    assert pending == "0", f"{pending} deliveries of other endpoints pending"


def _events_of(databases, redemptions: list[str]) -> set[str]:  # type: ignore[no-untyped-def]
    ids = ",".join(f"'{r}'" for r in redemptions)
    types = ",".join(f"'{t}'" for t in TYPES)
    return {row[0] for row in databases.rows("events", f"""
        SELECT event_id FROM events WHERE type IN ({types}) AND data->>'redemption_id' IN ({ids})""")}


def _attempts(operator, endpoint_id: str) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    r = operator.http.get(f"/v1/admin/webhooks/{endpoint_id}/attempts", params={"limit": 500})
    assert r.status_code == 200, r.text
    return r.json()["attempts"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("point", ["events.after_claim", "events.after_delivery"])
def test_events_service_killed_mid_delivery_sends_each_event_again_after_its_lease(
        platform, gateway: httpx.Client, operator, databases, ledger, restart, killed, receiver: Receiver,
        only_this_tests_endpoint: None, point: str) -> None:  # type: ignore[no-untyped-def]
    r = operator.http.post("/v1/admin/webhooks", json={"url": receiver.url, "eventTypes": TYPES})
    assert r.status_code == 201, r.text
    endpoint_id, receiver.secret = r.json()["endpoint"]["id"], r.json()["secret"]
    try:
        item = ledger.item(stock=2, price=10)
        players = [operator.new_player(gems=50)[1] for _ in range(2)]
        eventually(lambda: _nothing_pending(databases), 20, "the other endpoints' deliveries settled")

        restart(platform, EVENTS, {**QUICK, "FAILPOINTS": point, "WEBHOOK_TIMEOUT_SECONDS": f"{TIMEOUT_SECONDS}"})
        redemptions = []
        for auth in players:   # the redemptions do not wait on events-service, killed or not
            redeemed = gateway.post("/v1/redemptions", headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
                                    json={"offer": item})
            assert redeemed.status_code == 201 and redeemed.json()["status"] == "COMPLETED", redeemed.text
            redemptions.append(redeemed.json()["id"])
        killed(platform, EVENTS)
        died = time.monotonic()
        restart(platform, EVENTS, QUICK)

        def every_event_delivered() -> set[str]:
            expected = _events_of(databases, redemptions)
            assert len(expected) == 2 * len(redemptions), f"events in the log: {expected}"
            assert expected <= set(receiver.arrivals), f"not yet received: {expected - set(receiver.arrivals)}"
            statuses = databases.rows("events", f"""
                SELECT status FROM webhook_deliveries WHERE endpoint_id = '{endpoint_id}'""")
            assert sorted(s for [s] in statuses) == ["delivered"] * len(expected), statuses
            return expected
        expected = eventually(every_event_delivered, LEASE_SECONDS + 20, "every event delivered after the restart")
        assert receiver.refused == 0, "every delivery verified"
        assert not receiver.mismatched, "the webhook-id is the event's id"
        assert set(receiver.arrivals) == expected, "nothing else was sent to this endpoint"

        # The crash left its mark: the deliveries the killed process had claimed have no attempt 1 recorded
        # (the attempt that died), and went again only once their lease had run out.
        attempts = _attempts(operator, endpoint_id)
        first = {e: min(a["attempt"] for a in attempts if a["eventId"] == e) for e in expected}
        crashed = [e for e, n in first.items() if n > 1]
        assert crashed, f"no delivery was claimed by the killed process: {attempts}"
        assert all(a["statusCode"] == 200 for a in attempts), attempts
        for event_id in crashed:
            arrivals = receiver.arrivals[event_id]
            assert arrivals[-1] - died >= LEASE_SECONDS - 1.5, f"{event_id} sent again before its lease ran out"
        if point == "events.after_delivery":
            # The receiver had answered 2xx before the kill: it got the same webhook-id twice, a lease apart.
            twice = [e for e in crashed if len(receiver.arrivals[e]) == 2]
            assert twice, dict(receiver.arrivals)
            for event_id in twice:
                before, after = receiver.arrivals[event_id]
                assert after - before >= LEASE_SECONDS - 1.0, (event_id, after - before)
        else:
            assert all(len(receiver.arrivals[e]) == 1 for e in crashed), "nothing was POSTed before the kill"
    finally:
        with contextlib.suppress(httpx.HTTPError):
            operator.http.delete(f"/v1/admin/webhooks/{endpoint_id}")
