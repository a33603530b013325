"""The soak's client intents (local_runner.soak_intents): the retry rules of a well-behaved client and the
availability arithmetic, on a fake clock and a scripted transport. No platform."""

from __future__ import annotations

import random

import pytest
from local_runner.soak import availability_rows, charged_untold, print_table
from local_runner.soak_intents import Answer, AvailabilityReport, Intent, Intents, Outcome, RetryRules, percentile

LATENCY = 0.1


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds


class Transport:
    """Answers from a script, one per attempt; records each attempt's key and time."""

    def __init__(self, clock: Clock, *answers: Answer) -> None:
        self.clock = clock
        self.answers = list(answers)
        self.sent: list[tuple[str, float]] = []

    def __call__(self, intent: Intent) -> Answer:
        self.sent.append((intent.key, self.clock.now))
        self.clock.now += LATENCY
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def client(*answers: Answer, rules: RetryRules | None = None) -> tuple[Intents, Transport, Clock]:
    clock = Clock()
    transport = Transport(clock, *answers)
    return Intents(transport, rules=rules, clock=clock, sleep=clock.sleep, rng=random.Random(7)), transport, clock


def intent(key: str = "k-1") -> Intent:
    return Intent(key, {"offer": "item-1"}, {"Authorization": "Bearer t"})


CREATED = Answer(201, "COMPLETED", redemption_id="r-1")
UNAVAILABLE = Answer(503, "UNAVAILABLE", retry_after=1.0)
IN_PROGRESS = Answer(409, "IDEMPOTENCY_KEY_IN_PROGRESS")
NO_ANSWER = Answer(None)


# ---- the retry rules ---------------------------------------------------------------------------------------


def test_a_503_is_retried_with_the_same_key_after_its_retry_after_until_it_succeeds() -> None:
    intents, transport, clock = client(UNAVAILABLE, UNAVAILABLE, CREATED)
    started = clock.now
    done = intents.start(intent())
    intents.settle(deadline=clock.now + 60)

    assert done.outcome is Outcome.SUCCEEDED and done.attempts == 3
    assert [key for key, _ in transport.sent] == ["k-1"] * 3
    times = [t for _, t in transport.sent]
    assert times[1] - times[0] == pytest.approx(LATENCY + 1.0) and times[2] - times[1] == pytest.approx(LATENCY + 1.0)
    assert done.time_to_success == pytest.approx(3 * LATENCY + 2.0)
    assert done.first_attempt_at == started
    assert done.answers == {"503 UNAVAILABLE": 2, "201 COMPLETED": 1}


def test_retry_after_is_obeyed_but_bounded() -> None:
    intents, _, clock = client(Answer(503, "UNAVAILABLE", retry_after=3600.0), rules=RetryRules(max_retry_after=30.0))
    done = intents.start(intent())
    assert done.outcome is Outcome.PENDING
    assert done.next_attempt_at == pytest.approx(clock.now + 30.0)
    limited = client(Answer(429, "RATE_LIMITED", retry_after=2.0))
    assert limited[0].start(intent()).next_attempt_at == pytest.approx(limited[2].now + 2.0)


def test_a_409_in_progress_is_retried_after_a_short_wait_and_then_gets_the_first_result() -> None:
    intents, transport, clock = client(IN_PROGRESS, Answer(200, "OPEN", redemption_id="r-1"),
                                       rules=RetryRules(in_progress_wait=0.5))
    done = intents.start(intent())
    assert done.next_attempt_at == pytest.approx(clock.now + 0.5)
    intents.settle(deadline=clock.now + 60)
    assert done.outcome is Outcome.SUCCEEDED and done.attempts == 2
    assert transport.sent[1][1] - transport.sent[0][1] == pytest.approx(LATENCY + 0.5)


def test_a_transport_error_backs_off_exponentially_with_jitter_up_to_the_cap() -> None:
    rules = RetryRules(backoff_base=0.25, backoff_cap=2.0)
    intents, _, clock = client(NO_ANSWER, rules=rules)
    done = intents.start(intent())
    waits = []
    for _ in range(8):
        waits.append(done.next_attempt_at - clock.now)
        clock.now = done.next_attempt_at
        intents.retry_due()
    bounds = [min(2.0, 0.25 * 2 ** n) for n in range(8)]
    assert all(0 <= w <= b for w, b in zip(waits, bounds, strict=True)), (waits, bounds)
    assert max(waits) > 0.25, "the waits grow past the first one's bound"
    assert done.outcome is Outcome.PENDING and done.answers == {"transport error": 9}


def test_a_500_without_a_hint_is_retried_like_a_transport_error() -> None:
    intents, _, _ = client(Answer(500, "INTERNAL"), CREATED)
    done = intents.start(intent())
    assert done.outcome is Outcome.PENDING
    intents.settle(deadline=done.next_attempt_at + 1)
    assert done.outcome is Outcome.SUCCEEDED


@pytest.mark.parametrize(("answer", "outcome"), [
    (Answer(409, "OUT_OF_STOCK"), Outcome.REFUSED),
    (Answer(409, "OUT_OF_CODES"), Outcome.REFUSED),
    (Answer(422, "INSUFFICIENT_POINTS"), Outcome.REFUSED),
    (Answer(422, "VALIDATION_ERROR"), Outcome.REJECTED),
    (Answer(409, "IDEMPOTENCY_KEY_CONFLICT"), Outcome.REJECTED),
    (Answer(404, "ITEM_NOT_FOUND"), Outcome.REJECTED),
    (Answer(201, "CANCELED"), Outcome.REJECTED),
    (Answer(200, "COMPLETED"), Outcome.SUCCEEDED),
    (Answer(201, "OPEN"), Outcome.SUCCEEDED),
])
def test_a_final_answer_ends_the_intent_without_a_retry(answer: Answer, outcome: Outcome) -> None:
    intents, transport, clock = client(answer)
    done = intents.start(intent())
    intents.settle(deadline=clock.now + 60)
    assert done.outcome is outcome and done.attempts == 1 and len(transport.sent) == 1
    assert (done.succeeded_at is not None) is (outcome is Outcome.SUCCEEDED)


def test_retry_due_sends_only_the_retries_whose_time_has_come() -> None:
    intents, transport, clock = client(Answer(503, "UNAVAILABLE", retry_after=5.0))
    first = intents.start(intent("a"))
    clock.now += 2
    intents.start(intent("b"))
    clock.now = first.next_attempt_at
    assert [i.key for i in intents.retry_due()] == ["a"]
    assert [key for key, _ in transport.sent] == ["a", "b", "a"]


def test_settle_gives_up_at_the_deadline_and_leaves_the_intent_unfinished() -> None:
    intents, transport, clock = client(UNAVAILABLE)
    done = intents.start(intent())
    deadline = clock.now + 10
    intents.settle(deadline)
    assert done.outcome is Outcome.PENDING and clock.now >= deadline
    assert clock.now < deadline + 1 + LATENCY, "no sleep past the deadline"
    assert done.attempts == len(transport.sent) == 10


def test_an_answer_is_read_from_the_canonical_api() -> None:
    problem = Answer.of_response(503, {"retry-after": "1"}, {"code": "UNAVAILABLE", "status": 503})
    assert (problem.status, problem.code, problem.retry_after) == (503, "UNAVAILABLE", 1.0)
    created = Answer.of_response(201, {}, {"id": "r-9", "status": "COMPLETED"})
    assert (created.code, created.redemption_id, created.retry_after) == ("COMPLETED", "r-9", None)
    dated = Answer.of_response(503, {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, None)
    assert (dated.code, dated.retry_after) == ("", None)
    assert Answer(None).label == "transport error" and created.label == "201 COMPLETED"


# ---- the report --------------------------------------------------------------------------------------------


def finished(outcome: Outcome, took: float | None = None, attempts: int = 1, last: Answer = CREATED) -> Intent:
    i = intent()
    i.outcome, i.attempts, i.last, i.first_attempt_at = outcome, attempts, last, 0.0
    i.answers[last.label] = attempts
    if took is not None:
        i.succeeded_at = took
    return i


def test_the_share_counts_only_intents_that_had_stock_and_balance() -> None:
    intents = [finished(Outcome.SUCCEEDED, t) for t in (0.1, 0.2, 0.3, 5.0, 9.0, 0.4)]
    intents += [finished(Outcome.REFUSED, last=Answer(409, "OUT_OF_STOCK"))] * 3
    intents += [finished(Outcome.REJECTED, last=Answer(422, "VALIDATION_ERROR"))]
    intents += [finished(Outcome.PENDING, attempts=12, last=UNAVAILABLE)]
    report = AvailabilityReport.of(intents)
    assert (report.total, report.succeeded, report.refused, report.rejected, report.unfinished) == (11, 6, 3, 1, 1)
    assert report.share == pytest.approx(6 / 8)
    assert (report.p50, report.p99, report.slowest) == (0.3, 9.0, 9.0)
    assert report.max_attempts == 12 and report.attempts == 6 + 3 + 1 + 12
    assert report.not_succeeded == {"rejected: 422 VALIDATION_ERROR": 1, "unfinished: 503 UNAVAILABLE": 1}
    assert report.below(100.0) and report.below(80.0) and not report.below(75.0)


def test_all_succeeded_meets_the_default_threshold_and_an_empty_measure_fails_nothing() -> None:
    report = AvailabilityReport.of([finished(Outcome.SUCCEEDED, 1.0), finished(Outcome.REFUSED)])
    assert report.share == 1.0 and not report.below(100.0)
    empty = AvailabilityReport.of([finished(Outcome.REFUSED)])
    assert empty.share is None and not empty.below(100.0) and empty.p99 is None


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 99), percentile(values, 100)) == (50.0, 99.0, 100.0)
    assert percentile([3.0], 99) == 3.0 and percentile([], 50) is None


def test_the_soak_table_shows_the_figures_and_says_when_the_share_is_below_the_threshold(capsys) -> None:
    report = AvailabilityReport.of([finished(Outcome.SUCCEEDED, 2.0), finished(Outcome.PENDING, last=UNAVAILABLE)])
    rows = dict(availability_rows(report, grace_used=12.0, threshold=100.0))
    assert rows["share succeeded (had stock+balance)"] == "50.00%"
    assert rows["time to success p99 (s)"] == "2.00" and rows["  unfinished after the grace"] == 1
    result = {"operations": 2, "by_kind": {"redeem": 2}, "faults": 0, "faults_by_kind": {}, "violations": [],
              "stuck": 0, "longest_recovery": 0.0, "redemptions": {}, "codes_spent_on_canceled": 0,
              "availability": report, "grace_used": 12.0, "charged_untold": 0}
    print_table(result, seed=1, seconds=60, threshold=100.0)
    out = capsys.readouterr().out
    assert "AVAILABILITY: 50.00% of the 2 intents" in out and "unfinished: 503 UNAVAILABLE" in out


def test_a_charge_no_intent_was_answered_is_counted() -> None:
    told = finished(Outcome.SUCCEEDED, 1.0, last=Answer(201, "COMPLETED", redemption_id="r-1"))
    redemptions = [{"id": "r-1", "status": "COMPLETED"}, {"id": "r-2", "status": "FAILED"},
                   {"id": "r-3", "status": "OPEN"}, {"id": "r-4", "status": "CANCELED"}]
    assert charged_untold(redemptions, [told]) == 2, "r-3 and r-4 were charged behind the clients' backs"
    assert charged_untold(redemptions[:2], [told]) == 0
