"""Jobs' states and the moves allowed between them, the strategy table, and the decisions taken on a job row."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import fulfillment_service
import pytest
from fulfillment_service import grpc_api
from fulfillment_service.domain import (
    ALLOWED,
    CALLABLE_STATES,
    CALLED_STRATEGIES,
    OPERATOR_STRATEGIES,
    STRATEGIES,
    UNKNOWN_STRATEGY,
    UNSETTLED_STATES,
    VOIDED_MOVE,
    DeliveryStatus,
    Job,
    JobState,
    Method,
    Strategy,
    Taken,
    VoidOutcome,
    check_move,
    fulfilment_of,
)
from fulfillment_service.models import jobs, sql_list
from rewards.catalog.v1 import catalog_pb2
from service_kit.errors import DomainError, ErrorCode

NOW = datetime(2026, 1, 1, tzinfo=UTC)
MIGRATIONS = Path(fulfillment_service.__file__).parent / "migrations" / "versions"


def job(state: JobState, strategy: str = Strategy.MANUAL, *, delivery: DeliveryStatus = DeliveryStatus.NONE,
        result_event_id: str | None = None, lease_holder: str | None = None) -> Job:
    return Job(tenant_id="acme", environment="live", redemption_id="r-1", item_id="it-1", strategy=strategy,
               state=state, attempts=1, last_error="", next_attempt_at=None, job_event_id="job-r-1", payload=b"",
               result_outcome=None, result_data="", result_event_id=result_event_id, result_sequence=0,
               created_at=NOW, updated_at=NOW, delivery_status=delivery, tracking_number="", provider_reference="",
               lease_holder=lease_holder, lease_expires_at=NOW if lease_holder else None)


def refusal(raised: pytest.ExceptionInfo[DomainError]) -> tuple[ErrorCode, str]:
    return raised.value.code, raised.value.message


MOVES = [(state, target) for state, targets in ALLOWED.items() for target in sorted(targets)]


@pytest.mark.parametrize(("state", "target"), MOVES)
def test_every_allowed_move_is_accepted(state: JobState, target: JobState) -> None:
    check_move(state, target)
    assert job(state).may_become(target)


@pytest.mark.parametrize(("state", "target", "message"), [
    (JobState.VOIDED, JobState.RUNNING, VOIDED_MOVE),
    (JobState.VOIDED, JobState.FAILED, VOIDED_MOVE),
    (JobState.SUCCEEDED, JobState.WAITING, "the job has succeeded: it cannot move"),
    (JobState.FAILED, JobState.SUCCEEDED, "the job has failed: it cannot move"),
    (JobState.RUNNING, JobState.VOIDED, "a running job cannot become voided"),
    (JobState.PENDING, JobState.SUCCEEDED, "a pending job cannot become succeeded"),
])
def test_a_move_not_in_the_table_is_refused(state: JobState, target: JobState, message: str) -> None:
    with pytest.raises(DomainError) as raised:
        check_move(state, target)
    assert refusal(raised) == (ErrorCode.VALIDATION_ERROR, message)


def test_the_final_states_move_nowhere_and_every_other_state_can_end() -> None:
    assert {s for s, targets in ALLOWED.items() if not targets} == {JobState.SUCCEEDED, JobState.FAILED,
                                                                     JobState.VOIDED}
    assert set(ALLOWED) == set(JobState)
    for state in UNSETTLED_STATES:
        assert JobState.FAILED in ALLOWED[state]


def test_a_provider_may_be_called_from_every_state_that_allows_a_call() -> None:
    for state in UNSETTLED_STATES:   # RetryJob's states; a delivery's are CALLABLE_STATES
        assert JobState.RUNNING in ALLOWED[state]
    assert set(CALLABLE_STATES) < set(UNSETTLED_STATES)


def test_an_operation_refuses_in_its_own_words() -> None:
    with pytest.raises(DomainError) as raised:
        job(JobState.SUCCEEDED).check_move(JobState.FAILED, {JobState.SUCCEEDED: "the job succeeded: it cannot be failed"})
    assert refusal(raised) == (ErrorCode.VALIDATION_ERROR, "the job succeeded: it cannot be failed")


def test_the_states_are_the_stored_values() -> None:
    assert [s.value for s in JobState] == ["pending", "running", "waiting", "succeeded", "failed", "voided"]
    # The CHECK constraints as the migrations last wrote them.
    assert f'"state IN ({sql_list(JobState)})"' in (MIGRATIONS / "0003_voided_jobs.py").read_text()
    assert f'"delivery_status IN ({sql_list(DeliveryStatus)})"' in (
        MIGRATIONS / "0002_provider_and_operator_moves.py").read_text()
    assert set(grpc_api._STATE_NAMES.values()) == set(JobState)


def test_the_strategy_table_covers_every_strategy_of_the_catalog() -> None:
    names = {v.name.removeprefix("FULFILLMENT_STRATEGY_").lower()
             for v in catalog_pb2.FulfillmentStrategy.DESCRIPTOR.values
             if v.number != catalog_pb2.FULFILLMENT_STRATEGY_UNSPECIFIED}  # sent as manual by redemption-service
    assert set(STRATEGIES) == names == set(Strategy)
    assert {s: f.method for s, f in STRATEGIES.items()} == {
        "code_pool": Method.CODE_POOL, "webhook": Method.PROVIDER_CALL, "bonus": Method.PROVIDER_CALL,
        "free_rounds": Method.PROVIDER_CALL, "physical": Method.SHIPMENT, "manual": Method.OPERATOR}
    assert CALLED_STRATEGIES == {"webhook", "bonus", "free_rounds"}
    assert OPERATOR_STRATEGIES == {"physical", "manual"}


def test_each_strategy_opens_its_job_as_before() -> None:
    opened = {s: (f.opens_as, f.attempts_at_open, f.delivery_status) for s, f in STRATEGIES.items()}
    assert opened == {
        "code_pool": ("running", 1, ""), "webhook": ("pending", 0, ""), "bonus": ("pending", 0, ""),
        "free_rounds": ("pending", 0, ""), "physical": ("running", 1, "pending"), "manual": ("running", 1, "")}
    assert fulfilment_of("telepathy") is UNKNOWN_STRATEGY
    assert (UNKNOWN_STRATEGY.method, UNKNOWN_STRATEGY.opens_as, UNKNOWN_STRATEGY.attempts_at_open) == (
        Method.NONE, JobState.RUNNING, 1)


def test_a_job_is_read_from_every_column_of_its_row() -> None:
    assert [f.name for f in dataclasses.fields(Job)] == list(jobs.c.keys())
    row = {f.name: getattr(job(JobState.WAITING, delivery=DeliveryStatus.SHIPPED), f.name)
           for f in dataclasses.fields(Job)}
    read = Job.from_row({**row, "state": "waiting", "delivery_status": "shipped", "result_payload": b"x"})
    assert (read.state, read.delivery_status) == (JobState.WAITING, DeliveryStatus.SHIPPED)
    assert read == job(JobState.WAITING, delivery=DeliveryStatus.SHIPPED)
    with pytest.raises(ValueError):
        Job.from_row({**row, "state": "lost"})


@pytest.mark.parametrize(("found", "first_time", "again"), [
    (job(JobState.VOIDED), True, Taken.VOIDED),
    (job(JobState.VOIDED), False, Taken.VOIDED),
    (job(JobState.PENDING, Strategy.WEBHOOK), False, Taken.CALL_PROVIDER),
    (job(JobState.RUNNING, Strategy.BONUS), True, Taken.CALL_PROVIDER),
    (job(JobState.WAITING, Strategy.WEBHOOK), True, Taken.ALREADY_KNOWN),   # accepted: waits for its callback
    (job(JobState.SUCCEEDED, Strategy.CODE_POOL), False, Taken.REDELIVERED),
    (job(JobState.SUCCEEDED, Strategy.CODE_POOL), True, Taken.ALREADY_KNOWN),
    (job(JobState.RUNNING, Strategy.CODE_POOL), True, Taken.ALREADY_KNOWN),
])
def test_a_job_event_finding_its_job_again(found: Job, first_time: bool, again: Taken) -> None:
    assert found.taken_again(first_time) is again


def test_only_an_operators_job_waiting_without_a_result_is_acknowledged_again() -> None:
    assert job(JobState.WAITING, Strategy.MANUAL).waits_unacknowledged()
    assert job(JobState.WAITING, Strategy.PHYSICAL, delivery=DeliveryStatus.PENDING).waits_unacknowledged()
    assert not job(JobState.WAITING, Strategy.MANUAL, result_event_id="e").waits_unacknowledged()
    assert not job(JobState.WAITING, Strategy.WEBHOOK).waits_unacknowledged()


@pytest.mark.parametrize(("found", "answer"), [
    (job(JobState.PENDING, Strategy.WEBHOOK), None),
    (job(JobState.WAITING), None),
    (job(JobState.FAILED), (VoidOutcome.VOIDED, "")),
    (job(JobState.VOIDED), (VoidOutcome.VOIDED, "")),
    (job(JobState.SUCCEEDED), (VoidOutcome.DELIVERED, "the item was delivered already")),
    (job(JobState.WAITING, Strategy.PHYSICAL, delivery=DeliveryStatus.SHIPPED),
     (VoidOutcome.DELIVERED, "the goods are already shipped")),
    (job(JobState.RUNNING, Strategy.WEBHOOK),
     (VoidOutcome.IN_PROGRESS, "the item is being delivered right now; try again shortly")),
])
def test_what_a_void_does(found: Job, answer: tuple[VoidOutcome, str] | None) -> None:
    void = found.void()
    assert (void if void is None else (void.outcome, void.message)) == answer


@pytest.mark.parametrize(("found", "message"), [
    (job(JobState.SUCCEEDED, Strategy.WEBHOOK), "the job succeeded: there is nothing to retry"),
    (job(JobState.FAILED, Strategy.WEBHOOK), "the job failed and its redemption was refunded: it cannot run again"),
    (job(JobState.VOIDED, Strategy.WEBHOOK), VOIDED_MOVE),
    (job(JobState.WAITING, Strategy.MANUAL), "a manual job calls no provider: move it with AdvanceJob or FailJob"),
])
def test_a_retry_is_refused(found: Job, message: str) -> None:
    with pytest.raises(DomainError) as raised:
        found.check_retry()
    assert refusal(raised) == (ErrorCode.VALIDATION_ERROR, message)


def test_failing_a_job_by_hand() -> None:
    assert job(JobState.WAITING).fails_by_operator()
    assert not job(JobState.FAILED).fails_by_operator()   # harmless again
    assert not job(JobState.VOIDED).fails_by_operator()
    for found, message in [(job(JobState.SUCCEEDED), "the job succeeded: it cannot be failed"),
                           (job(JobState.WAITING, Strategy.PHYSICAL, delivery=DeliveryStatus.DELIVERED),
                            "the goods were shipped: the job cannot be failed")]:
        with pytest.raises(DomainError) as raised:
            found.fails_by_operator()
        assert refusal(raised) == (ErrorCode.VALIDATION_ERROR, message)


@pytest.mark.parametrize(("found", "outcome", "message"), [
    (job(JobState.WAITING, Strategy.WEBHOOK), "COMPLETED",
     "only physical and manual jobs are advanced by an operator, not webhook"),
    (job(JobState.VOIDED), "COMPLETED", VOIDED_MOVE),
    (job(JobState.SUCCEEDED), "FAILED", "the job has succeeded: it cannot move"),
    (job(JobState.FAILED, Strategy.PHYSICAL), "SHIPPED", "the job has failed: it cannot move"),
])
def test_an_advance_is_refused(found: Job, outcome: str, message: str) -> None:
    with pytest.raises(DomainError) as raised:
        found.check_advance(outcome)
    assert refusal(raised) == (ErrorCode.VALIDATION_ERROR, message)


def test_a_callback_settles_a_job_without_an_outcome_and_repeats_change_nothing() -> None:
    assert job(JobState.WAITING, Strategy.WEBHOOK).callback_state(completed=True) is JobState.SUCCEEDED
    assert job(JobState.PENDING, Strategy.WEBHOOK).callback_state(completed=False) is JobState.FAILED
    assert job(JobState.SUCCEEDED, Strategy.WEBHOOK).callback_state(completed=True) is None
    with pytest.raises(DomainError) as raised:
        job(JobState.FAILED, Strategy.WEBHOOK).callback_state(completed=True)
    assert refusal(raised) == (ErrorCode.VALIDATION_ERROR, "the job has failed already")


def test_only_the_holder_of_a_live_attempt_may_write_its_outcome() -> None:
    assert job(JobState.RUNNING, Strategy.WEBHOOK, lease_holder="me").holds_lease("me")
    assert not job(JobState.RUNNING, Strategy.WEBHOOK, lease_holder="other").holds_lease("me")
    assert not job(JobState.SUCCEEDED, Strategy.WEBHOOK, lease_holder="me").holds_lease("me")
