"""A code-pool redemption is fulfilled inside Redeem by a direct call to fulfillment-service: the answer carries
the code, in a budget of round trips; the job's outbox row stays the durable path when that call fails, answers
nothing, or its process dies; an empty pool refunds at once."""

from __future__ import annotations

import asyncio

from redemption_service.domain import Status
from service_kit.query_plans import captured_statements

from .conftest import revealed

# Accept, the pivot and the inline completion: one statement each. The budget is 10; the count is exact
# so that a statement added to the hot path fails here and is weighed.
REDEEM_ROUND_TRIPS = 3


async def test_a_code_pool_redeem_answers_completed_with_its_code_in_three_round_trips(system) -> None:  # type: ignore[no-untyped-def]
    system.fulfillment.codes = ["CODE-1"]
    with captured_statements(system.engine) as cold, system.pool.counting() as trips:
        redemption, replayed = await system.calls.redeem(system.request())
    assert not replayed and redemption.status is Status.COMPLETED
    assert revealed(redemption.fulfillment) == {"code": "CODE-1", "pin": "1234"} and redemption.completed_at is not None
    assert trips.count == REDEEM_ROUND_TRIPS, trips.statements
    assert cold == [], "nothing of a redeem goes through SQLAlchemy"

    [job] = system.fulfillment.inline_jobs
    row = (await system.sql("SELECT event_id, published_at FROM outbox"))[0]
    assert job.event_id == row.event_id and job.strategy == "code_pool" and job.cost == 150
    assert row.published_at is not None, "the job was fulfilled inline: it is never published"
    processed = await system.sql("SELECT event_id, outcome FROM processed_events")
    assert [(p.event_id, p.outcome) for p in processed] == \
        [(system.fulfillment.inline_results[redemption.id].event_id, "COMPLETED")], \
        "the result's copy over NATS, if fulfillment ever sends one, is a duplicate"
    assert system.wallet.balances["p1"] == 850 and system.catalog.items["voucher"].stock == 99


async def test_a_replay_answers_the_inline_result_without_asking_again(system) -> None:  # type: ignore[no-untyped-def]
    system.fulfillment.codes = ["CODE-1"]
    first, _ = await system.calls.redeem(system.request())
    again, replayed = await system.calls.redeem(system.request())
    assert replayed and again.id == first.id and revealed(again.fulfillment) == {"code": "CODE-1", "pin": "1234"}
    assert len(system.fulfillment.inline_jobs) == 1


async def test_an_empty_pool_refunds_and_answers_canceled_at_once(system) -> None:  # type: ignore[no-untyped-def]
    system.fulfillment.pool_empty = True
    redemption, _ = await system.calls.redeem(system.request())
    assert redemption.status is Status.CANCELED and redemption.failure_code == "OUT_OF_CODES"
    assert system.wallet.balances["p1"] == 1000 and system.catalog.items["voucher"].stock == 100
    assert (await system.sql("SELECT published_at FROM outbox"))[0].published_at is not None, \
        "fulfillment answered the job: it is not published"


async def test_fulfillment_unreachable_sends_the_job_the_durable_way_at_once(system, results) -> None:  # type: ignore[no-untyped-def]
    system.fulfillment.down = True
    redemption, _ = await system.calls.redeem(system.request())
    assert redemption.status is Status.OPEN, "paid and confirmed; the code comes through JetStream"
    assert system.jobs_written.is_set(), "the relay was woken for the job"
    assert await system.publish_jobs(results.link) == 1, "the job may be published now"
    await results.settled()


async def test_an_inline_answer_that_misses_its_deadline_leaves_the_code_to_the_durable_path(system, results) -> None:  # type: ignore[no-untyped-def]
    """The code was assigned in fulfillment, the answer came too late: the job goes out, and fulfillment answers
    it with the result it recorded, which completes the redemption with that same code."""
    system.redemptions.inline_timeout_seconds = 0.2
    system.fulfillment.codes = ["CODE-LATE"]
    system.fulfillment.inline_delay_seconds = 1.0
    redemption, _ = await system.calls.redeem(system.request())
    assert redemption.status is Status.OPEN
    assert await system.publish_jobs(results.link) == 1
    recorded = system.fulfillment.inline_results[redemption.id]
    await results.publish(recorded)      # what fulfillment-service sends on the job event
    await system.eventually(lambda: _completed_with(system, redemption.id, "CODE-LATE"))


async def test_a_job_whose_inline_call_was_cut_short_waits_its_grace_then_goes_out(system, results) -> None:  # type: ignore[no-untyped-def]
    """As a crash between the pivot and the inline answer leaves it: the row is not published before its grace
    period (the inline call may still be under way), and is published after it by any relay round."""
    system.fulfillment.codes = ["CODE-1"]
    redemption, _ = await system.calls.redeem(system.request())
    await system.sql("UPDATE outbox SET published_at = NULL, available_at = now() + interval '1 hour'")
    await system.sql("UPDATE redemptions SET status = 'OPEN' WHERE id = :id", id=redemption.id)
    assert await system.publish_jobs(results.link) == 0, "within its grace period"
    await system.sql("UPDATE outbox SET available_at = now() - interval '1 second'")
    assert await system.publish_jobs(results.link) == 1
    await results.settled()


async def test_concurrent_code_pool_redeems_each_get_their_own_code(system) -> None:  # type: ignore[no-untyped-def]
    system.fulfillment.codes = [f"CODE-{n}" for n in range(5)]
    answers = await asyncio.gather(*(system.calls.redeem(system.request(key=f"k{n}")) for n in range(5)))
    codes = {revealed(r.fulfillment)["code"] for r, _ in answers if r.status is Status.COMPLETED}
    assert len(codes) == 5 and system.wallet.balances["p1"] == 1000 - 5 * 150


async def _completed_with(system, redemption_id: str, code: str) -> bool:  # type: ignore[no-untyped-def]
    row = await system.status(redemption_id)
    return row.status == "COMPLETED" and revealed(row.fulfillment).get("code") == code

