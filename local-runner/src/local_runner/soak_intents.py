"""What a well-behaved client sees under faults: each intent is one redeem with one Idempotency-Key, retried with
that key as the answer says until a final answer, and the soak's availability figures over them (issue 12).

Pure logic on an injected clock and transport, so the retry rules and the arithmetic are unit-tested
(tests/test_soak_intents.py); the soak gives it an httpx client and time.monotonic."""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

# A redemption the player paid for: the request succeeded (fulfillment may still be under way).
PAID = ("OPEN", "AWAITING_VENDOR", "AWAITING_CUSTOMER", "PURCHASED", "COMPLETED")
# Refusals for a real reason: the request could never succeed while they hold (no stock, no balance). They do not
# count against availability. Any other final answer to the soak's valid requests does.
REAL_REFUSALS = ("OUT_OF_STOCK", "OUT_OF_CODES", "INSUFFICIENT_POINTS")
IN_PROGRESS = "IDEMPOTENCY_KEY_IN_PROGRESS"
TRANSPORT_ERROR = "transport error"


class Outcome(Enum):
    PENDING = "pending"          # no final answer yet: retried until the grace period ends
    SUCCEEDED = "succeeded"      # 201/200 with a paid redemption
    REFUSED = "refused"          # no stock or no balance (REAL_REFUSALS)
    REJECTED = "rejected"        # any other final answer (a 4xx, a 201 that came back CANCELED)


@dataclass(frozen=True)
class Answer:
    """One attempt's answer: the HTTP status (None when no answer came: connection refused, reset, timeout),
    the problem's code or the redemption's status, and Retry-After in seconds when given."""

    status: int | None
    code: str = ""
    retry_after: float | None = None
    redemption_id: str = ""

    @property
    def label(self) -> str:
        return TRANSPORT_ERROR if self.status is None else f"{self.status} {self.code}".strip()

    @classmethod
    def of_response(cls, status: int, headers: Any, body: Any) -> Answer:
        """From an HTTP answer of POST /v1/redemptions (canonical API: a redemption, or problem+json)."""
        body = body if isinstance(body, dict) else {}
        code = str(body.get("status" if status in (200, 201) else "code") or "")
        return cls(status, code, _seconds(headers.get("retry-after")), str(body.get("id") or ""))


def _seconds(raw: str | None) -> float | None:
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None     # an HTTP date: not sent by this gateway; the client falls back to its backoff


@dataclass(frozen=True)
class RetryRules:
    """How a well-behaved client comes back: after Retry-After (bounded) on 503/429, after a short wait on 409 in
    progress, after an exponential backoff with full jitter on a transport error or an answer without a hint."""

    max_retry_after: float = 30.0
    in_progress_wait: float = 0.5
    backoff_base: float = 0.25
    backoff_cap: float = 5.0

    def decide(self, answer: Answer, failures_in_row: int, rng: random.Random) -> tuple[Outcome, float]:
        """The outcome this answer gives the intent, and when PENDING, the wait before the next attempt."""
        status = answer.status
        if status in (200, 201):
            return (Outcome.SUCCEEDED, 0.0) if answer.code in PAID else (Outcome.REJECTED, 0.0)
        if status is not None and status < 500 and status not in (409, 429):
            return (Outcome.REFUSED if answer.code in REAL_REFUSALS else Outcome.REJECTED), 0.0
        if status == 409 and answer.code != IN_PROGRESS:
            return (Outcome.REFUSED if answer.code in REAL_REFUSALS else Outcome.REJECTED), 0.0
        if answer.retry_after is not None:
            return Outcome.PENDING, min(max(answer.retry_after, 0.0), self.max_retry_after)
        if status == 409:
            return Outcome.PENDING, self.in_progress_wait
        # A transport error, or a 5xx/429 without a hint: the same key is safe to send again.
        return Outcome.PENDING, rng.uniform(0.0, min(self.backoff_cap, self.backoff_base * 2 ** failures_in_row))


@dataclass
class Intent:
    """A player's wish to redeem `body` once, under `key`."""

    key: str
    body: dict[str, Any]
    headers: dict[str, str]
    outcome: Outcome = Outcome.PENDING
    first_attempt_at: float | None = None
    succeeded_at: float | None = None
    next_attempt_at: float = 0.0
    attempts: int = 0
    failures_in_row: int = 0
    last: Answer | None = None
    answers: Counter[str] = field(default_factory=Counter)
    trail: list[tuple[float, str]] = field(default_factory=list)   # (seconds after the first attempt, answer)

    @property
    def time_to_success(self) -> float | None:
        if self.succeeded_at is None or self.first_attempt_at is None:
            return None
        return self.succeeded_at - self.first_attempt_at


class Intents:
    """One client's intents: `start` sends a first attempt, `retry_due` sends every retry whose time has come,
    `settle` keeps retrying until every intent is final or a deadline passes."""

    def __init__(self, send: Callable[[Intent], Answer], rules: RetryRules | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None) -> None:
        self.send = send
        self.rules = rules or RetryRules()
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.all: list[Intent] = []

    @property
    def pending(self) -> list[Intent]:
        return [i for i in self.all if i.outcome is Outcome.PENDING]

    def start(self, intent: Intent) -> Intent:
        self.all.append(intent)
        return self.attempt(intent)

    def attempt(self, intent: Intent) -> Intent:
        sent_at = self.clock()
        if intent.first_attempt_at is None:
            intent.first_attempt_at = sent_at
        answer = self.send(intent)
        answered_at = self.clock()
        intent.attempts += 1
        intent.last = answer
        intent.answers[answer.label] += 1
        intent.trail.append((round(answered_at - intent.first_attempt_at, 3), answer.label))
        outcome, wait = self.rules.decide(answer, intent.failures_in_row, self.rng)
        intent.outcome = outcome
        if outcome is Outcome.SUCCEEDED:
            intent.succeeded_at = answered_at
        elif outcome is Outcome.PENDING:
            intent.failures_in_row += 1
            intent.next_attempt_at = answered_at + wait
        return intent

    def retry_due(self) -> list[Intent]:
        """Sends the retries whose time has come; the intents retried."""
        due = [i for i in self.pending if i.next_attempt_at <= self.clock()]
        return [self.attempt(i) for i in due]

    def settle(self, deadline: float) -> None:
        """Retries until no intent is pending or `deadline` has passed (an attempt under way finishes)."""
        while True:
            pending = self.pending
            now = self.clock()
            if not pending or now >= deadline:
                return
            soonest = min(i.next_attempt_at for i in pending)
            if soonest > now:
                self.sleep(min(soonest, deadline) - now)
                continue
            self.retry_due()


def percentile(values: list[float], p: float) -> float | None:
    """The nearest-rank percentile (the smallest value with at least p% of the values at or below it)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass(frozen=True)
class AvailabilityReport:
    total: int
    succeeded: int
    refused: int
    rejected: int
    unfinished: int
    share: float | None          # succeeded / (total - refused); None when no intent had stock and balance
    p50: float | None            # seconds from the first attempt to the success
    p99: float | None
    slowest: float | None
    attempts: int
    max_attempts: int
    answers: dict[str, int]      # every attempt's answer
    not_succeeded: dict[str, int]   # the last answer of each rejected or unfinished intent
    slowest_trails: list[dict[str, Any]] = field(default_factory=list)  # the slowest successes and every failure

    @classmethod
    def of(cls, intents: Iterable[Intent]) -> AvailabilityReport:
        intents = list(intents)
        by = Counter(i.outcome for i in intents)
        durations = [d for i in intents if (d := i.time_to_success) is not None]
        counted = len(intents) - by[Outcome.REFUSED]
        answers: Counter[str] = Counter()
        for i in intents:
            answers.update(i.answers)
        not_succeeded = Counter(f"{'unfinished' if i.outcome is Outcome.PENDING else i.outcome.value}: "
                                f"{i.last.label if i.last else 'never sent'}"
                                for i in intents if i.outcome in (Outcome.REJECTED, Outcome.PENDING))
        return cls(total=len(intents), succeeded=by[Outcome.SUCCEEDED], refused=by[Outcome.REFUSED],
                   rejected=by[Outcome.REJECTED], unfinished=by[Outcome.PENDING],
                   share=by[Outcome.SUCCEEDED] / counted if counted else None,
                   p50=percentile(durations, 50), p99=percentile(durations, 99),
                   slowest=max(durations) if durations else None,
                   attempts=sum(i.attempts for i in intents),
                   max_attempts=max((i.attempts for i in intents), default=0),
                   answers=dict(answers.most_common()), not_succeeded=dict(not_succeeded.most_common()),
                   slowest_trails=[{"key": i.key, "body": i.body, "outcome": i.outcome.value,
                                    "first_attempt_at": i.first_attempt_at, "trail": i.trail}
                                   for i in sorted(intents, key=lambda i: -(i.time_to_success or 0))[:5]
                                   + [i for i in intents if i.outcome in (Outcome.REJECTED, Outcome.PENDING)][:50]])

    def below(self, threshold_percent: float) -> bool:
        """Whether the share succeeded is under the threshold (an empty measure is not)."""
        return self.share is not None and self.share * 100 < threshold_percent - 1e-9

    def as_dict(self) -> dict[str, Any]:
        return {"total": self.total, "succeeded": self.succeeded, "refused_no_stock_or_balance": self.refused,
                "rejected": self.rejected, "unfinished": self.unfinished, "share_succeeded": self.share,
                "p50_seconds_to_success": self.p50, "p99_seconds_to_success": self.p99,
                "max_seconds_to_success": self.slowest, "attempts": self.attempts,
                "max_attempts": self.max_attempts, "answers": self.answers, "not_succeeded": self.not_succeeded,
                "trails": self.slowest_trails}
