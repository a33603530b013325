"""Issue 6 on the real processes: a cancel that races a code-pool fulfillment never spends a code. Fulfillment
decides between the two on its job row (VoidJob), so each redemption ends either COMPLETED with exactly one code
(the cancel refused) or CANCELED and refunded with no code; the pool, the stock and the balances agree, read
straight from each service's database. And a cancel while fulfillment-service is down answers 503 and changes
nothing.

Who wins a live race depends on the machine's timing (a fast fulfillment wins them all), so the racing test also
holds jobs back in the outbox (NATS stopped): a cancel sent then must win, with a tombstone that voids the job when
it arrives; the rest race the backlog's burst once NATS is back."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from typing import Any

import httpx
from local_runner.invariants import Ledger, eventually

N = 30     # players in the live race
HELD = 8   # players whose jobs are held in the outbox: half cancel while held, half as NATS comes back
PRICE = 10
SETTLE_SECONDS = 60.0


def _key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


async def _cancel_as_soon_as_it_exists(client: httpx.AsyncClient, auth: dict[str, str]) -> int:
    """Finds the player's redemption while its redeem call is still waiting for fulfillment, and cancels it at
    once; a 409 while the saga is still running (SUBMITTED) is asked again. The final cancel answer's status."""
    give_up_at = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < give_up_at:
        listed = (await client.get("/v1/redemptions", headers=auth)).json()["redemptions"]
        if listed:
            rid = listed[0]["id"]
            answer = await client.post(f"/v1/redemptions/{rid}/cancel", headers=auth, json={"reason": "race"})
            if answer.status_code != 409:
                return answer.status_code
            current = (await client.get(f"/v1/redemptions/{rid}", headers=auth)).json()
            if current["status"] not in ("SUBMITTED", "OPEN"):
                return answer.status_code  # it was delivered first: the cancel is refused
        await asyncio.sleep(0.005)
    raise AssertionError("the redemption never appeared or never settled")


async def _race(url: str, item_id: str, players: list[dict[str, str]]) -> list[tuple[httpx.Response, int]]:
    async with httpx.AsyncClient(base_url=url, timeout=60.0, limits=httpx.Limits(max_connections=128)) as client:
        async def one(auth: dict[str, str]) -> tuple[httpx.Response, int]:
            redeemed, canceled = await asyncio.gather(
                client.post("/v1/redemptions", headers={**auth, **_key()}, json={"offer": item_id}),
                _cancel_as_soon_as_it_exists(client, auth))
            return redeemed, canceled

        return await asyncio.gather(*(one(auth) for auth in players))


async def _cancel_all(url: str, players: list[dict[str, str]]) -> list[int]:
    async with httpx.AsyncClient(base_url=url, timeout=60.0) as client:
        return list(await asyncio.gather(*(_cancel_as_soon_as_it_exists(client, auth) for auth in players)))


def _settled(gateway: httpx.Client, auth: dict[str, str], rid: str) -> dict[str, Any]:
    give_up_at = time.monotonic() + SETTLE_SECONDS
    while True:
        body = gateway.get(f"/v1/redemptions/{rid}", headers=auth).json()
        if body["status"] in ("COMPLETED", "CANCELED"):
            return body
        assert time.monotonic() < give_up_at, f"redemption {rid} still {body['status']}"
        time.sleep(0.05)


def _sql_list(ids: list[str] | dict[str, Any]) -> str:
    return ", ".join(f"'{rid}'" for rid in ids)


def _jobs_arrived(databases: Any, redemption_ids: list[str] | dict[str, Any]) -> int:
    """How many of these redemptions' jobs fulfillment has received; a voided tombstone has no job event until
    its job comes."""
    return int(databases.value("fulfillment", f"""SELECT count(*) FROM jobs WHERE job_event_id <> ''
                                                  AND redemption_id IN ({_sql_list(redemption_ids)})"""))


def test_cancels_racing_code_pool_fulfillment_never_spend_a_code(platform, gateway, operator, databases,
                                                                 redeem_at_once, restart) -> None:
    assert platform.nats is not None
    ledger = Ledger(databases, operator)
    item = ledger.item(stock=N + HELD, price=PRICE)  # one code per unit
    players = [operator.new_player(gems=100) for _ in range(N + HELD)]
    auths = [auth for _, auth in players]

    # The live race: each cancel is sent the moment its redemption is listed; either side may win.
    outcomes = asyncio.run(_race(platform.gateway_url, item, auths[:N]))
    raced = {r.json()["id"] for r, _ in outcomes if r.status_code == 201}

    # Jobs held in the outbox: a cancel sent now reaches fulfillment before its job does, so it wins, and the
    # job that arrives later finds a voided tombstone. The other half are cancelled once the backlog is flowing.
    # Redeem's inline fulfilment would deliver these codes at once, NATS or not: JetStream only, for this phase.
    held, late = auths[N:N + HELD // 2], auths[N + HELD // 2:]
    restart(platform, "redemption-service", {"INLINE_FULFILMENT_STRATEGIES": "", "MIGRATE_ON_START": "false"})
    platform.nats.stop()
    try:
        waiting = redeem_at_once([({**auth, **_key()}, {"offer": item}) for auth in held + late])
        assert all(r.status_code == 201 and r.json()["status"] == "OPEN" for r in waiting), [r.text for r in waiting]
        held_cancels = asyncio.run(_cancel_all(platform.gateway_url, held))
        assert held_cancels == [200] * len(held), held_cancels
    finally:
        platform.nats.start()
    held_ids = [r.json()["id"] for r in waiting]

    def backlog_flowing() -> None:
        assert _jobs_arrived(databases, held_ids), "no held job arrived yet"

    eventually(backlog_flowing, within=SETTLE_SECONDS, what="the held jobs delivered once NATS is back", every=0.01)
    late_cancels = asyncio.run(_cancel_all(platform.gateway_url, late))
    outcomes += list(zip(waiting, held_cancels + late_cancels))

    assert all(r.status_code == 201 for r, _ in outcomes), [r.text for r, _ in outcomes if r.status_code != 201]
    assert all(c in (200, 409) for _, c in outcomes), [c for _, c in outcomes]
    final = {r.json()["id"]: _settled(gateway, auth, r.json()["id"]) for (r, _), (_, auth) in zip(outcomes, players)}
    for (redeemed, cancel_status), (_, auth) in zip(outcomes, players):
        status = final[redeemed.json()["id"]]["status"]
        # The cancel's answer and the end state agree: 200 means CANCELED, 409 means it was delivered first.
        assert (cancel_status, status) in ((200, "CANCELED"), (409, "COMPLETED")), (cancel_status, status)
    canceled = {rid for rid, body in final.items() if body["status"] == "CANCELED"}
    completed = {rid for rid, body in final.items() if body["status"] == "COMPLETED"}

    def every_job_arrived() -> None:
        assert _jobs_arrived(databases, final) == len(final), "some jobs have not reached fulfillment"

    eventually(every_job_arrived, within=SETTLE_SECONDS, what="every job delivered to fulfillment, held ones too")
    print(f"\n[cancel races] live: {len(canceled & raced)} canceled, {len(completed & raced)} completed; "
          f"held then released: {len(canceled - raced)} canceled, {len(completed - raced)} completed")

    codes = {rid: int(n) for rid, n in databases.rows("fulfillment", f"""
        SELECT assigned_to, count(*) FROM code_pool WHERE item_id = '{item}' AND assigned_to IS NOT NULL
        GROUP BY assigned_to""")}
    assert not canceled & set(codes), f"codes spent on canceled redemptions: {sorted(canceled & set(codes))}"
    assert all(codes.get(rid) == 1 for rid in completed), {rid: codes.get(rid) for rid in completed}
    assert all(final[rid]["fulfillment"]["code"] for rid in completed)
    assert set(codes) <= completed
    available = int(databases.value("fulfillment", f"""
        SELECT count(*) FROM code_pool WHERE item_id = '{item}' AND assigned_to IS NULL"""))
    assert available == N + HELD - len(completed)
    voided = {rid for (rid,) in databases.rows("fulfillment", f"""
        SELECT redemption_id FROM jobs WHERE state = 'voided' AND redemption_id IN ({_sql_list(final)})""")}
    assert voided == canceled, "every canceled redemption's job was voided, and no other"

    ledger.assert_stock_kept()
    ledger.assert_charged_once()
    ledger.assert_conserved()
    for (redeemed, _), (_, auth) in zip(outcomes, players):
        balance = gateway.get("/v1/wallet/balances", headers=auth).json()["balances"]
        gems = next(b["amount"] for b in balance if b["pointType"] == "gems")
        assert gems == (100 if redeemed.json()["id"] in canceled else 100 - PRICE)
    restart(platform, "redemption-service", {"MIGRATE_ON_START": "false"})   # inline fulfilment again


def test_a_cancel_while_fulfillment_is_down_answers_503_and_changes_nothing(platform, gateway, operator,
                                                                             databases) -> None:
    ledger = Ledger(databases, operator)
    item = ledger.item(stock=3, price=PRICE)
    _, auth = operator.new_player(gems=100)
    platform.kill_service("fulfillment-service", signal.SIGKILL)
    try:
        redeemed = gateway.post("/v1/redemptions", headers={**auth, **_key()}, json={"offer": item})
        assert redeemed.status_code == 201 and redeemed.json()["status"] == "OPEN", redeemed.text
        rid = redeemed.json()["id"]
        refused = gateway.post(f"/v1/redemptions/{rid}/cancel", headers=auth, json={})
        assert refused.status_code == 503, refused.text
        assert refused.json()["code"] == "UNAVAILABLE"
        still = gateway.get(f"/v1/redemptions/{rid}", headers=auth).json()
        assert still["status"] == "OPEN"
        assert databases.value("redemption", f"SELECT cancel_requested_at IS NULL FROM redemptions "
                                             f"WHERE id = '{rid}'") == "t"
    finally:
        platform.restart_service("fulfillment-service")
    # Nothing was voided: the job, delivered once fulfillment is back, completes the redemption with its code.
    done = _settled(gateway, auth, rid)
    assert done["status"] == "COMPLETED" and done["fulfillment"]["code"]
    ledger.assert_stock_kept()
    ledger.assert_charged_once()
    ledger.assert_conserved()
