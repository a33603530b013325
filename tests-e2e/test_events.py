"""Issue 15 through the gateway on the real processes: a grant, a code-pool redemption and a cancelled one each
tell their events (published by the owning services' outboxes, kept by the events service), which a back end
reads with GET /v1/events, paged to the end, in order per redemption, filtered by type, never with a code."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx


def _page_to_the_end(operator, limit: int = 7, **params: Any) -> tuple[list[dict[str, Any]], str, int]:  # type: ignore[no-untyped-def]
    events: list[dict[str, Any]] = []
    cursor, pages = "", 0
    while True:
        r = operator.http.get("/v1/events", params={"after": cursor, "limit": limit, **params})
        assert r.status_code == 200, r.text
        body = r.json()
        events += body["events"]
        cursor, pages = body["nextCursor"], pages + 1
        if not body["hasMore"]:
            return events, cursor, pages


def _of(events: list[dict[str, Any]], redemption_id: str) -> list[str]:
    return [e["type"] for e in events if e["data"].get("redemption_id") == redemption_id]


def _in_publisher_order(types: list[str]) -> bool:
    """A manual redemption canceled: each publisher's events in their order; the two services' relays publish
    independently, so fulfillment's waiting_for_operator may come before or after redemption.created."""
    return (sorted(types) == ["fulfillment.waiting_for_operator", "redemption.canceled", "redemption.created"]
            and [t for t in types if t.startswith("redemption.")] == ["redemption.created", "redemption.canceled"])


def test_a_back_end_replays_the_events_of_its_redemptions_in_order(gateway: httpx.Client, operator) -> None:  # type: ignore[no-untyped-def]
    player, auth = operator.new_player(gems=1_000)
    voucher = operator.create_item(fulfillmentStrategy="code_pool", stock=5)
    code, pin = f"EV-{uuid.uuid4().hex[:8]}", f"PIN{uuid.uuid4().hex[:10]}"   # nothing else can contain them
    assert operator.http.post(f"/v1/admin/items/{voucher['id']}/codes",
                              json={"codes": [{"code": code, "pin": pin}]}).status_code in (200, 201)
    manual = operator.create_item(fulfillmentStrategy="manual", stock=5)

    completed = gateway.post("/v1/redemptions", headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
                             json={"offer": voucher["id"]}).json()
    assert completed["status"] == "COMPLETED", completed
    opened = gateway.post("/v1/redemptions", headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
                          json={"offer": manual["id"]}).json()
    assert opened["status"] == "OPEN", opened
    canceled = gateway.post(f"/v1/redemptions/{opened['id']}/cancel", headers=auth, json={})
    assert canceled.status_code == 200 and canceled.json()["status"] == "CANCELED", canceled.text

    # Eventually: each service's relay publishes within its poll interval, the events service appends on arrival.
    deadline = time.monotonic() + 45
    while True:
        events, cursor, pages = _page_to_the_end(operator)
        done = (_of(events, completed["id"]) == ["redemption.created", "redemption.completed"]
                and _in_publisher_order(_of(events, opened["id"]))
                and any(e["type"] == "points.granted" and e["data"]["player_id"] == player for e in events))
        if done or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert _of(events, completed["id"]) == ["redemption.created", "redemption.completed"], events[-10:]
    assert _in_publisher_order(_of(events, opened["id"])), events[-10:]
    assert pages > 1 and len({e["id"] for e in events}) == len(events), "paged, and each event once"
    assert [int(e["cursor"]) for e in events] == sorted(int(e["cursor"]) for e in events)
    assert code not in json.dumps(events) and pin not in json.dumps(events), "no code or PIN in an event"

    refund = next(e for e in events if e["type"] == "redemption.canceled" and e["data"]["redemption_id"] == opened["id"])
    assert refund["data"]["refund"] == {"point_type": "gems", "amount": 10, "point_scale": 0}
    assert (refund["tenant"], refund["environment"], refund["version"]) == \
        (operator.demo["tenant_id"], operator.demo["environment"], 1)
    granted = next(e for e in events if e["type"] == "points.granted" and e["data"]["player_id"] == player)
    assert granted["data"]["amount"] == 1_000

    # Nothing after the end; a filter by type; the refusals.
    tail = operator.http.get("/v1/events", params={"after": cursor}).json()
    assert tail["events"] == [] and tail["nextCursor"] == cursor and not tail["hasMore"]
    only, _, _ = _page_to_the_end(operator, limit=50, types="redemption.canceled")
    assert only and {e["type"] for e in only} == {"redemption.canceled"}
    assert opened["id"] in {e["data"]["redemption_id"] for e in only}
    # One redemption's events, by its id.
    mine = operator.http.get("/v1/events", params={"redemptionId": completed["id"]}).json()
    assert [e["type"] for e in mine["events"]] == ["redemption.created", "redemption.completed"], mine
    assert operator.http.get("/v1/events", params={"redemptionId": "r" * 65}).status_code == 422
    assert gateway.get("/v1/events", headers=auth).status_code == 403, "a player token reads no tenant events"
    assert gateway.get("/v1/events").status_code == 401
    bad = operator.http.get("/v1/events", params={"after": "not-a-cursor"})
    assert bad.status_code == 422 and bad.json()["code"] == "VALIDATION_ERROR", bad.text
    assert operator.http.get("/v1/events", params={"types": "redemption.exploded"}).status_code == 422


LEVEL_TYPES = "code_pool.low,code_pool.exhausted,item.stock_low,item.out_of_stock"


def test_a_pool_redeemed_to_empty_tells_its_levels_and_the_items(gateway: httpx.Client, operator) -> None:  # type: ignore[no-untyped-def]
    """Issue 15 item 4: a code-pool item of 3, its stock and its pool each with a threshold of 2, redeemed to
    empty: the stock tells item.stock_low at 1 and item.out_of_stock at 0 (catalog-service), the pool
    code_pool.low and code_pool.exhausted (fulfillment-service), each once, never with a code."""
    _, auth = operator.new_player(gems=1_000)
    item = operator.create_item(fulfillmentStrategy="code_pool", stock=3, lowStockThreshold=2)
    assert item["lowStockThreshold"] == 2
    assert operator.http.patch(f"/v1/admin/items/{item['id']}", json={"lowStockThreshold": -1}).status_code == 422
    codes = [f"LV-{uuid.uuid4().hex[:10]}" for _ in range(3)]
    assert operator.http.post(f"/v1/admin/items/{item['id']}/codes",
                              json={"codes": [{"code": c} for c in codes]}).status_code in (200, 201)
    threshold = f"/v1/admin/items/{item['id']}/codes/threshold"
    assert operator.http.put(threshold, json={"lowThreshold": -1}).status_code == 422
    pool = operator.http.put(threshold, json={"lowThreshold": 2})
    assert pool.status_code == 200, pool.text
    assert (pool.json()["lowThreshold"], pool.json()["ownThreshold"], pool.json()["available"]) == (2, True, 3)

    for _ in codes:
        r = gateway.post("/v1/redemptions", headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
                         json={"offer": item["id"]})
        assert r.status_code in (200, 201) and r.json()["status"] == "COMPLETED", r.text
    assert not operator.http.get(f"/v1/admin/items/{item['id']}/codes").json()["available"]

    # Eventually: catalog's relay is woken by the crossing; fulfillment's goes out with its next round.
    deadline = time.monotonic() + 15
    while True:
        events, _, _ = _page_to_the_end(operator, limit=1000, types=LEVEL_TYPES)
        mine = [e for e in events if e["data"]["item_id"] == item["id"]]
        if len(mine) >= 4 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    told = sorted((e["type"], e["data"].get("stock", e["data"].get("available"))) for e in mine)
    assert told == [("code_pool.exhausted", 0), ("code_pool.low", 1), ("item.out_of_stock", 0),
                    ("item.stock_low", 1)], mine
    assert all(e["data"]["threshold"] == 2 and e["version"] == 1 for e in mine)
    assert not any(c in json.dumps(mine) for c in codes), "no code in an event"
