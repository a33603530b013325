"""Fulfillment jobs: their states and the moves allowed between them, how each strategy is fulfilled, and the
decisions taken on a job row (a job event finding its job again, a void, an operator's move). Pure: the use-case
modules carry the decisions out on the locked row, in the same transaction as the job's result."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from service_kit.errors import DomainError, ErrorCode

if TYPE_CHECKING:
    from service_kit.scope import Scope


class JobState(enum.StrEnum):
    """The stored values of jobs.state (its CHECK constraint, migration 0003)."""

    PENDING = "pending"            # a provider job not called yet, or put back until its next delivery
    RUNNING = "running"            # being delivered: a code assigned, or a provider called under a lease
    WAITING = "waiting"            # taken, no outcome yet: an operator's move or a provider's callback is awaited
    SUCCEEDED = "succeeded"
    FAILED = "failed"              # a FAILED result was recorded: redemption-service refunds
    VOIDED = "voided"              # its redemption was canceled before delivery (a tombstone when it had not come)


class DeliveryStatus(enum.StrEnum):
    """A shipment's stage (jobs.delivery_status), forward only, in this order."""

    NONE = ""                      # the job ships nothing
    PENDING = "pending"
    SHIPPED = "shipped"
    DELIVERED = "delivered"


SHIPMENT_STAGES = (DeliveryStatus.PENDING, DeliveryStatus.SHIPPED, DeliveryStatus.DELIVERED)
GOODS_SENT = frozenset({DeliveryStatus.SHIPPED, DeliveryStatus.DELIVERED})

# No outcome yet: the gauges count these (metrics.py, through ix_jobs_unsettled), and RetryJob may call a provider
# job in any of them.
UNSETTLED_STATES = (JobState.PENDING, JobState.RUNNING, JobState.WAITING)
# A job in these states has no outcome and is not waiting for a callback: a delivery may call its provider.
CALLABLE_STATES = (JobState.PENDING, JobState.RUNNING)
SETTLED_STATES = (JobState.SUCCEEDED, JobState.FAILED)
FINAL_STATES = frozenset({*SETTLED_STATES, JobState.VOIDED})

# The moves of a job row once it is opened (it is opened PENDING or RUNNING by its strategy below, VOIDED by a void
# before it arrived, or SUCCEEDED / FAILED by FulfilNow's one statement). A move to the same state rewrites the row
# (a lease taken over, a shipment shipped, a manual job's next stage).
ALLOWED: dict[JobState, frozenset[JobState]] = {
    # called (a lease taken), failed (an invalid job, an operator, the last delivery), voided (a cancel)
    JobState.PENDING: frozenset({JobState.RUNNING, JobState.FAILED, JobState.VOIDED}),
    # an expired lease taken over, put back for the next delivery, accepted (an operator's job, a provider that
    # calls back), or an outcome; never voided: a delivery in flight may deliver
    JobState.RUNNING: frozenset({JobState.RUNNING, JobState.PENDING, JobState.WAITING, JobState.SUCCEEDED,
                                 JobState.FAILED}),
    # called again (RetryJob), moved on by an operator, an outcome (an operator, a callback), or voided
    JobState.WAITING: frozenset({JobState.RUNNING, JobState.WAITING, JobState.SUCCEEDED, JobState.FAILED,
                                 JobState.VOIDED}),
    JobState.SUCCEEDED: frozenset(),
    JobState.FAILED: frozenset(),
    JobState.VOIDED: frozenset(),
}

VOIDED_MOVE = "the job was voided (its redemption was canceled): it cannot move"


def check_move(state: JobState, target: JobState, refusals: Mapping[JobState, str] | None = None) -> None:
    """Refuses (VALIDATION_ERROR) a move that ALLOWED has not, in the words of the operation asking when it has its
    own for the job's state."""
    if target in ALLOWED[state]:
        return
    if refusals and state in refusals:
        message = refusals[state]
    elif state is JobState.VOIDED:
        message = VOIDED_MOVE
    elif state in SETTLED_STATES:
        message = f"the job has {state}: it cannot move"
    else:
        message = f"a {state} job cannot become {target}"
    raise DomainError(ErrorCode.VALIDATION_ERROR, message)


# --- strategies -------------------------------------------------------------------------------------------------

class Strategy(enum.StrEnum):
    """The jobs' strategy names: rewards.catalog.v1.FulfillmentStrategy without its prefix, in lower case."""

    CODE_POOL = "code_pool"
    WEBHOOK = "webhook"
    BONUS = "bonus"
    FREE_ROUNDS = "free_rounds"
    PHYSICAL = "physical"
    MANUAL = "manual"


class Method(enum.Enum):
    """How a job is fulfilled."""

    CODE_POOL = "code_pool"          # a code of the tenant's pool, assigned inline in the job's transaction (PgPool)
    PROVIDER_CALL = "provider_call"  # an HTTP call to a provider or the bonus engine, under a lease, after the commit
    SHIPMENT = "shipment"            # goods an operator ships (AdvanceJob: SHIPPED, then DELIVERED)
    OPERATOR = "operator"            # an operator books it with the vendor and moves it on (AdvanceJob)
    NONE = "none"                    # a strategy this service does not know: the job fails (INVALID_JOB)


@dataclass(frozen=True, slots=True)
class Fulfilment:
    """How the jobs of a strategy are fulfilled, and how their row is opened."""

    method: Method
    opens_as: JobState = JobState.RUNNING                   # the job row's state when its event is first taken
    delivery_status: DeliveryStatus = DeliveryStatus.NONE   # and its shipment's

    @property
    def attempts_at_open(self) -> int:
        # A provider job counts its calls as they are made (repository.start_attempt); any other is taken at once.
        return 0 if self.method is Method.PROVIDER_CALL else 1


_CALLED = Fulfilment(Method.PROVIDER_CALL, opens_as=JobState.PENDING)

STRATEGIES: dict[str, Fulfilment] = {
    Strategy.CODE_POOL: Fulfilment(Method.CODE_POOL),
    Strategy.WEBHOOK: _CALLED,
    Strategy.BONUS: _CALLED,
    Strategy.FREE_ROUNDS: _CALLED,
    Strategy.PHYSICAL: Fulfilment(Method.SHIPMENT, delivery_status=DeliveryStatus.PENDING),
    Strategy.MANUAL: Fulfilment(Method.OPERATOR),
}
UNKNOWN_STRATEGY = Fulfilment(Method.NONE)

CALLED_STRATEGIES = frozenset(s for s, f in STRATEGIES.items() if f.method is Method.PROVIDER_CALL)
# The strategies whose jobs wait for an operator's moves (AdvanceJob).
OPERATOR_STRATEGIES = frozenset(s for s, f in STRATEGIES.items() if f.method in (Method.SHIPMENT, Method.OPERATOR))


def fulfilment_of(strategy: str) -> Fulfilment:
    return STRATEGIES.get(strategy, UNKNOWN_STRATEGY)


# --- a job ------------------------------------------------------------------------------------------------------

class Taken(enum.Enum):
    """What one delivery of a job event came to."""

    FULFILLED = "fulfilled"              # this delivery did the work (completed or failed)
    REDELIVERED = "redelivered"          # the same event again: nothing to do
    ALREADY_KNOWN = "already_known"      # another event for a redemption that already has a job
    CALL_PROVIDER = "call_provider"      # the job is open and its provider is to be called now
    VOIDED = "voided"                    # its redemption was canceled first: acked with no effect


class VoidOutcome(enum.Enum):
    VOIDED = "voided"              # nothing will be delivered: the cancel may go ahead
    DELIVERED = "delivered"        # the job has an outcome (or its goods were shipped): too late
    IN_PROGRESS = "in_progress"    # a provider call is in flight and may deliver: too late for now


@dataclass(frozen=True, slots=True)
class Void:
    outcome: VoidOutcome
    message: str = ""


@dataclass(frozen=True, slots=True)
class Job:
    """A job row (models.jobs), every column."""

    tenant_id: str
    environment: str
    redemption_id: str
    item_id: str
    strategy: str                  # a Strategy, or what an unknown job named ("" for a tombstone not named yet)
    state: JobState
    attempts: int
    last_error: str
    next_attempt_at: datetime | None
    job_event_id: str              # "" for a tombstone whose job has not arrived
    payload: bytes                 # the FulfillmentJob as received
    result_outcome: str | None     # the ResultOutcome name of its latest result
    result_data: str
    result_event_id: str | None
    result_sequence: int
    created_at: datetime
    updated_at: datetime
    delivery_status: DeliveryStatus
    tracking_number: str
    provider_reference: str
    lease_holder: str | None
    lease_expires_at: datetime | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", JobState(self.state))
        object.__setattr__(self, "delivery_status", DeliveryStatus(self.delivery_status))

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Job:
        """From a row of `jobs` read whole: a SQLAlchemy row's mapping or an asyncpg record."""
        return cls(**{name: row[name] for name in _COLUMNS})

    @property
    def fulfilment(self) -> Fulfilment:
        return fulfilment_of(self.strategy)

    @property
    def calls_provider(self) -> bool:
        return self.fulfilment.method is Method.PROVIDER_CALL

    @property
    def goods_sent(self) -> bool:
        return self.delivery_status in GOODS_SENT

    def may_become(self, state: JobState) -> bool:
        return state in ALLOWED[self.state]

    def check_move(self, target: JobState, refusals: Mapping[JobState, str] | None = None) -> None:
        check_move(self.state, target, refusals)

    def holds_lease(self, holder: str) -> bool:
        """No outcome yet, and `holder` still holds the provider lease: that attempt may write the outcome."""
        return self.state in CALLABLE_STATES and self.lease_holder == holder

    def taken_again(self, first_time: bool) -> Taken:
        """What a job event (`first_time`: its event id not seen before) does to this job, opened before it (by an
        earlier delivery, another event, FulfilNow or a void's tombstone): VOIDED, acked with no effect (its FAILED
        result sent again when asked); CALL_PROVIDER, the provider has not answered (an earlier delivery failed or
        crashed); ALREADY_KNOWN, another event (a reconciler that saw no result): the recorded result sent again;
        REDELIVERED, the same event again: nothing to do."""
        if self.state is JobState.VOIDED:
            return Taken.VOIDED
        if self.calls_provider and self.state in CALLABLE_STATES:
            return Taken.CALL_PROVIDER
        return Taken.ALREADY_KNOWN if first_time else Taken.REDELIVERED

    def waits_unacknowledged(self) -> bool:
        """An operator's job taken before ACCEPTED results existed: waiting, and never acknowledged."""
        return (self.fulfilment.method in (Method.SHIPMENT, Method.OPERATOR) and self.state is JobState.WAITING
                and self.result_event_id is None)

    def void(self) -> Void | None:
        """What a void does to this job: None when it is voided now; else the answer, and nothing is written
        (too late, or voided or failed already: VOIDED again)."""
        if self.state is JobState.SUCCEEDED:
            return Void(VoidOutcome.DELIVERED, "the item was delivered already")
        if self.goods_sent:
            return Void(VoidOutcome.DELIVERED, f"the goods are already {self.delivery_status}")
        if self.state is JobState.RUNNING:
            return Void(VoidOutcome.IN_PROGRESS, "the item is being delivered right now; try again shortly")
        if self.state in (JobState.FAILED, JobState.VOIDED):
            return Void(VoidOutcome.VOIDED)
        assert self.may_become(JobState.VOIDED), self.state
        return None

    def check_retry(self) -> None:
        """RetryJob: a provider job without an outcome is called now. A failed job is not re-run: its redemption
        was refunded."""
        self.check_move(JobState.RUNNING, {
            JobState.SUCCEEDED: "the job succeeded: there is nothing to retry",
            JobState.FAILED: "the job failed and its redemption was refunded: it cannot run again"})
        if not self.calls_provider:
            raise DomainError(ErrorCode.VALIDATION_ERROR,
                              f"a {self.strategy} job calls no provider: move it with AdvanceJob or FailJob")

    def fails_by_operator(self) -> bool:
        """FailJob: True when the job fails now; False when it failed or was voided already (its refund is on its
        way: failing again is harmless)."""
        if self.state in (JobState.FAILED, JobState.VOIDED):
            return False
        self.check_move(JobState.FAILED, {JobState.SUCCEEDED: "the job succeeded: it cannot be failed"})
        self.check_goods_not_sent()
        return True

    def check_goods_not_sent(self) -> None:
        if self.goods_sent:
            raise DomainError(ErrorCode.VALIDATION_ERROR, "the goods were shipped: the job cannot be failed")

    def check_advance(self, outcome: str) -> None:
        """AdvanceJob to `outcome` (a ResultOutcome name): only an operator's job, and only while it has no outcome.
        What the outcome may be is the strategy's (job_controls)."""
        if self.fulfilment.method not in (Method.SHIPMENT, Method.OPERATOR):
            raise DomainError(ErrorCode.VALIDATION_ERROR,
                              f"only physical and manual jobs are advanced by an operator, not {self.strategy}")
        self.check_move(advanced_state(outcome))

    def callback_state(self, completed: bool) -> JobState | None:
        """A provider's callback: the state it settles the job in; None when nothing changes (voided, or the same
        news again)."""
        wanted = JobState.SUCCEEDED if completed else JobState.FAILED
        if self.state in (JobState.VOIDED, wanted):
            return None
        self.check_move(wanted, {s: f"the job has {s} already" for s in SETTLED_STATES})
        return wanted


_COLUMNS = tuple(f.name for f in fields(Job))


def advanced_state(outcome: str) -> JobState:
    """The state an operator's move to `outcome` leaves the job in: DELIVERED (goods) and COMPLETED finish it."""
    if outcome == "FAILED":
        return JobState.FAILED
    return JobState.SUCCEEDED if outcome in ("DELIVERED", "COMPLETED") else JobState.WAITING


# --- code pools -------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class NewCode:
    code: str
    pin: str
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class AssignedCode:
    code_id: int
    code: str
    pin: str


@dataclass(frozen=True, slots=True)
class PoolStatus:
    available: int
    assigned: int
    expired: int
    low_threshold: int
    masked_sample: list[str]
    own_threshold: bool = False      # low_threshold is the pool's own, not LOW_POOL_THRESHOLD

    @property
    def low(self) -> bool:
        return self.available < self.low_threshold


@dataclass(frozen=True, slots=True)
class Claim:
    """A job event's claim of a code (repository.claim_code)."""

    first_time: bool               # the job event was not seen before (always True when it is not recorded)
    opened: bool                   # this claim opened the job: it alone may assign a code and record a result
    assigned: AssignedCode | None  # the code it assigned; None when the pool is empty or the job names no item


@dataclass(frozen=True, slots=True)
class SettledClaim:
    """FulfilNow's claim (repository.fulfil_now): the job opened already settled with its first result."""

    opened: bool                   # this claim opened the job; when not, nothing was written
    assigned: AssignedCode | None  # the code it assigned (only when it opened the job); None: the job FAILED
    settled_at: datetime           # the job row's updated_at: the first result's time


@dataclass(frozen=True, slots=True)
class NoCode:
    """Why a code-pool job this claim opened gets no code: its FAILED result and the job's last error."""

    failure_code: str
    failure_message: str
    last_error: str

    @property
    def result_data(self) -> dict[str, str]:
        return {"failure_code": self.failure_code, "failure_message": self.failure_message}


NO_ITEM = NoCode("INVALID_JOB", "the job names no item", "item_id is empty")
NO_CODE_LEFT = NoCode("OUT_OF_CODES", "no code left for this item", "code pool empty")


def no_code(item_id: str) -> NoCode:
    """What a code-pool job fails with when it gets no code."""
    return NO_CODE_LEFT if item_id else NO_ITEM


# --- what the calls take and answer -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class JobOrder:
    """A code-pool job as it is asked for (FulfilNow's job, or a job event's): what its row is opened with."""

    event_id: str
    scope: Scope
    redemption_id: str
    item_id: str
    strategy: str
    payload: bytes                 # the FulfillmentJob as received, stored with the row


@dataclass(frozen=True, slots=True)
class Advance:
    """AdvanceJob: an operator's move of a physical or manual job."""

    target: str                    # the ResultOutcome name moved to ("" when the outcome is not one)
    tracking_number: str
    note: str


@dataclass(frozen=True, slots=True)
class ProviderCallback:
    """A provider's answer to a job it accepted, as it came: signed over its timestamp and body."""

    redemption_id: str
    body: bytes
    signature: str
    timestamp: str


@dataclass(frozen=True, slots=True)
class Result:
    """A job's result (the FulfillmentResult the results stream carries), as a value."""

    event_id: str
    redemption_id: str
    scope: Scope
    outcome: str                   # the ResultOutcome name without its prefix: COMPLETED, FAILED...
    sequence: int
    occurred_at: datetime
    code: str = ""
    pin: str = ""
    financial_ref_id: int = 0
    tracking_number: str = ""
    provider_reference: str = ""
    data: Mapping[str, Any] | None = None
    failure_code: str = ""
    failure_message: str = ""
