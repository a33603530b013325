"""What the RedemptionService does: redeem (accept, then the saga), quote, read, list and cancel redemptions, and
review holds (their rules, an operator's approval or rejection, the timeout of an undecided hold). Each call takes
domain values (grpc_api reads them from the requests) and answers domain values; only what a call passes on to
catalog and fulfillment travels as their messages (Forwarded)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from rewards.catalog.v1 import catalog_pb2
from rewards.common.v1 import common_pb2
from rewards.fulfillment.v1 import fulfillment_pb2
from rewards.wallet.v1 import wallet_pb2
from service_kit import page_tokens
from service_kit.contract import DEFAULT_TRIGGER_SOURCE
from service_kit.errors import DomainError, ErrorCode
from service_kit.failpoints import failpoint
from service_kit.messaging import JOBS_SUBJECT
from service_kit.pgpool import PgPool
from service_kit.scope import Scope
from service_kit.validation import optional_text, require_text
from sqlalchemy.ext.asyncio import async_sessionmaker

from redemption_service import repository, sandbox
from redemption_service.clients import Catalog, Fulfillment, Wallet
from redemption_service.codes import MASKED, Codes, Viewer
from redemption_service.domain import (
    REJECTION_CODES,
    RETRY_AFTER_SECONDS,
    CancelPlan,
    Outcome,
    QuoteQuery,
    RedeemCommand,
    Redemption,
    RedemptionQuery,
    ResultPlan,
    ReviewDecision,
    ReviewPlan,
    ReviewRules,
    Status,
)
from redemption_service.fulfillment_results import MalformedResult, apply_result, received_result
from redemption_service.fulfillment_waits import FulfillmentWaits
from redemption_service.idempotency import key_or_generated, request_fingerprint
from redemption_service.metrics import (
    IDEMPOTENCY,
    QUOTES,
    REVIEW_DECISIONS,
    count_quoted_redemption,
    count_redemption,
)
from redemption_service.outbox import fulfillment_job
from redemption_service.review import Reviewer
from redemption_service.saga.cancel import REQUEST, CancelMoved, CancelOrder, CancelSaga
from redemption_service.saga.engine import SagaFailed, SagaRunner, Step
from redemption_service.saga.journal import SagaLog
from redemption_service.saga.redeem import RedeemOrder, RedeemSaga

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
DEFAULT_REVEALS_PAGE_SIZE = 50
MAX_REVEALS_PAGE_SIZE = 500
MAX_FULFILLMENT_WAIT_MS = 10_000
# The bell wakes a waiting Redeem when this process applies its result; this re-read only finds results that
# another instance applied, so it can be slow (every waiting call reads once per period).
FULFILLMENT_REREAD_SECONDS = 1.0
# Strategies whose job Redeem fulfils inline by default (INLINE_FULFILMENT_STRATEGIES), by a direct call to
# fulfillment-service (the code and PIN in the answer); the others go through the outbox and JetStream only.
INLINE_STRATEGIES = frozenset({"code_pool"})
INLINE_TIMEOUT_SECONDS = 2.0
# A job fulfilled inline waits this much longer than the inline call's deadline before the relay may publish it.
INLINE_GRACE_MARGIN_SECONDS = 3.0
# How long a quote's price and variant hold (QUOTE_VALID_SECONDS); catalog stores the lock it priced.
QUOTE_VALID_SECONDS = 300
# The note of a review hold the timeout rejected (REVIEW_HOLD_SECONDS): its CANCELED failure message.
EXPIRED_NOTE = "no review decision in time"


@dataclass(frozen=True, slots=True)
class Forwarded:
    """What a call passes on to the other services as their clients speak it, as the request carried it (no copy):
    the player with its claims (catalog's targeting), and a redeem's address and customer info (the fulfillment
    job's), None when unset or empty."""

    player: common_pb2.PlayerContext
    shipping_address: common_pb2.ShippingAddress | None = None
    customer_info: common_pb2.CustomerInfo | None = None


@dataclass(frozen=True, slots=True)
class Quote:
    eligible: bool
    reason: str
    item_id: str
    variant_id: str
    point_type: str
    cost: int
    point_scale: int
    balance: int
    stock_left: int
    remaining_allowance: int
    shipping_address_required: bool
    customer_info_required: bool
    quote_id: str = ""                  # the price lock catalog stored for this quote; empty: none
    quote_expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Page:
    redemptions: list[Redemption]
    next_page_token: str


@dataclass(frozen=True, slots=True)
class RevealPage:
    reveals: list[repository.CodeReveal]
    next_page_token: str


class Redemptions:
    def __init__(self, sessions: async_sessionmaker, pool: PgPool, catalog: Catalog, wallet: Wallet,
                 fulfillment: Fulfillment, *, codes: Codes, idempotency_ttl: timedelta,
                 idempotency_wait_seconds: float,
                 fulfillment_waits: FulfillmentWaits | None = None, fulfillment_wait_ms: int = 0,
                 inline_timeout_seconds: float = INLINE_TIMEOUT_SECONDS,
                 inline_strategies: frozenset[str] = INLINE_STRATEGIES,
                 wake_relay: Callable[[], None] = lambda: None,
                 quote_valid_seconds: int = QUOTE_VALID_SECONDS) -> None:
        """fulfillment_wait_ms: how long Redeem waits for a fast result when the request does not say (0: not
        at all). inline_timeout_seconds: the deadline of the inline fulfilment of a code-pool job. wake_relay:
        tells the outbox relay a job may be published now (an inline fulfilment failed). codes: seals the codes
        and PINs stored, and shows them to each viewer."""
        self.sessions = sessions
        self.pool = pool          # the hot path: accept, pivot, inline completion and the reads
        self.catalog = catalog
        self.wallet = wallet
        self.fulfillment = fulfillment
        self.codes = codes
        self.idempotency_ttl = idempotency_ttl
        self.idempotency_wait_seconds = idempotency_wait_seconds
        # Not `or`: an empty FulfillmentWaits is falsy, and a second one would never hear the consumer's bell.
        self.fulfillment_waits = fulfillment_waits if fulfillment_waits is not None else FulfillmentWaits()
        self.fulfillment_wait_ms = fulfillment_wait_ms
        self.inline_timeout_seconds = inline_timeout_seconds
        self.inline_strategies = inline_strategies
        self.wake_relay = wake_relay
        self.quote_valid_seconds = quote_valid_seconds
        saga_log = SagaLog(sessions, pool, inline_strategies=inline_strategies,
                           inline_grace_seconds=inline_timeout_seconds + INLINE_GRACE_MARGIN_SECONDS)
        self.saga = RedeemSaga(catalog, wallet, saga_log, Reviewer(pool, wallet))
        self.runner = SagaRunner(saga_log, failpoint_prefix="redemption")
        self._detached: set[asyncio.Task[Any]] = set()

    async def _to_completion(self, work: Coroutine[Any, Any, T]) -> T:
        """Runs work to its end even if the caller goes away (a client deadline): a saga or a cancel stopped
        halfway would only be settled later by recovery."""
        task = asyncio.create_task(work)
        self._detached.add(task)
        task.add_done_callback(self._detached.discard)
        return await asyncio.shield(task)

    # --- redeem ---------------------------------------------------------------------------------------------

    async def redeem(self, command: RedeemCommand, viewer: Viewer,
                     forwarded: Forwarded) -> tuple[Redemption, bool]:
        """The redemption and whether it is the replay of an earlier request with the same key. A code in it is
        for the viewer (codes.viewer_of): the statement that read or completed it recorded the reveal. The saga
        passes forwarded's player to catalog and its address and customer info into the fulfillment job."""
        scope = command.scope
        key = key_or_generated(command.idempotency_key)
        fingerprint = request_fingerprint(command)
        order = RedeemOrder(
            redemption_id=str(uuid.uuid4()), scope=scope, player=forwarded.player, item_id=command.item_id,
            variant_id=command.variant_id, rounds=command.rounds, point_type=command.point_type,
            shipping_address=forwarded.shipping_address, customer_info=forwarded.customer_info,
            quote_id=command.quote_id, sandbox_outcome=command.sandbox_outcome)
        values = {
            "id": order.redemption_id, "player_id": command.player_id, "item_id": order.item_id,
            "variant_id": order.variant_id, "rounds": order.rounds, "point_type": order.point_type,
            "shipping_address": command.shipping_address, "customer_info": command.customer_info,
            "comment": command.comment, "trigger_source": command.trigger_source or DEFAULT_TRIGGER_SOURCE,
            "trigger_details": command.trigger_details,
        }
        accepted = await repository.accept(self.pool, scope, key=key, fingerprint=fingerprint,
                                           ttl=self.idempotency_ttl, values=values)
        if not accepted.claimed:
            # A replay answers what is there now; it does not wait for fulfillment.
            replayed = await self._first_result(scope, key, order.player_id, fingerprint, viewer)
            IDEMPOTENCY.labels("replayed").inc()
            return replayed, True
        failpoint("redemption.after_claim")
        order.review_rules = accepted.review_rules
        with self.fulfillment_waits.expecting(order.redemption_id) as result_applied:
            redemption = await self._to_completion(self._run_saga(order, viewer))
            if redemption.status is Status.OPEN:
                wait_ms = min(command.wait_for_fulfillment_ms or self.fulfillment_wait_ms, MAX_FULFILLMENT_WAIT_MS)
                if wait_ms > 0:
                    redemption = await self._await_fulfillment(order.redemption_id, result_applied, wait_ms / 1000,
                                                               viewer)
        count_redemption(redemption.status, redemption.failure_code or "")
        if order.quote_id:
            count_quoted_redemption(redemption.status, redemption.failure_code or "")
        return _outcome(redemption), False

    async def _run_saga(self, order: RedeemOrder, viewer: Viewer) -> Redemption:
        """The saga, then the inline fulfilment of a code-pool job; the redemption as they left it."""
        try:
            await self.runner.run(order.redemption_id, self.saga.steps(), order)
        except SagaFailed as failure:
            log.info("redemption failed", extra={"redemption_id": order.redemption_id,
                                                 "cause": repr(failure.cause), "compensated": failure.compensated,
                                                 "settled": failure.settled})
            failed = await repository.fetch_redemption(self.pool, order.redemption_id)
            assert failed is not None
            return failed
        assert order.confirmed is not None
        if order.confirmed.status is Status.AWAITING_APPROVAL:
            log.info("redemption held for review", extra={"redemption_id": order.redemption_id,
                                                          "reason": order.confirmed.review_reason})
            return order.confirmed   # no job until an operator approves
        assert order.job is not None
        if sandbox.forced(order.confirmed.fulfillment_config):
            return await self._send_job_now(order.confirmed)   # its forced outcome comes from fulfillment-service
        if order.confirmed.fulfillment_strategy in self.inline_strategies:
            return await self._fulfil_inline(order.confirmed, order.job, viewer)
        self.wake_relay()   # the job may go out now
        return order.confirmed

    async def _fulfil_inline(self, redemption: Redemption, job: fulfillment_pb2.FulfillmentJob,
                             viewer: Viewer) -> Redemption:
        """Asks fulfillment-service for the code at once, and completes the redemption with it. When the call
        fails, the job goes out through the outbox now; a crash here leaves it to go after its grace period. Either
        way fulfillment-service answers the job event with the result it recorded: one code per redemption."""
        result = await self.fulfillment.fulfil_now(job, self.inline_timeout_seconds)
        if result is None:
            return await self._send_job_now(redemption)
        # The code is assigned and recorded in fulfillment-service; its result is not applied here yet.
        failpoint("redemption.inline_before_apply")
        try:
            received = received_result(result)
        except MalformedResult as exc:
            log.error("inline fulfilment answered a malformed result; the job goes the durable way",
                      extra={"redemption_id": redemption.id, "reason": str(exc)})
            return await self._send_job_now(redemption)
        if received.outcome is Outcome.COMPLETED and received.redemption_id == redemption.id:
            completed = await repository.complete_inline(self.pool, redemption.id, event_id=received.event_id,
                                                         sequence=received.sequence,
                                                         fulfillment=self.codes.seal(received.fulfillment()),
                                                         viewer=viewer)
            if completed is not None:
                return completed
        # A failure (no code left), or the redemption moved meanwhile: the general way, as a result from NATS.
        async with self.sessions.begin() as session:
            applied = await apply_result(session, received, self.codes)
        await repository.job_done(self.pool, redemption.id)
        if applied.kind == ResultPlan.COMPENSATE.value and applied.redemption is not None:
            return await self.refund_and_release(applied.redemption, applied.redemption.cancel_reason)
        current = await repository.fetch_redemption(self.pool, redemption.id, viewer)
        assert current is not None
        return current

    async def _send_job_now(self, redemption: Redemption) -> Redemption:
        """The inline fulfilment gave no result: the job's outbox row may go out now, not after its grace."""
        await repository.release_job(self.pool, redemption.id)
        self.wake_relay()
        return redemption

    async def _await_fulfillment(self, redemption_id: str, result_applied: asyncio.Event,
                                 seconds: float, viewer: Viewer) -> Redemption:
        """The redemption once it left OPEN (a fast strategy completed it), or as it is after `seconds`. The bell
        rings when this process applies the result; another instance's consumer rings nothing here, so the
        database is read again at least every FULFILLMENT_REREAD_SECONDS. The read that finds a code is the
        last (the redemption left OPEN), so it records the one reveal."""
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + seconds
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(result_applied.wait(),
                                       max(0.0, min(FULFILLMENT_REREAD_SECONDS, give_up_at - loop.time())))
            result_applied.clear()
            current = await repository.fetch_redemption(self.pool, redemption_id, viewer)
            assert current is not None
            if current.status is not Status.OPEN or loop.time() >= give_up_at:
                return current

    async def _first_result(self, scope: Scope, key: str, player_id: str, fingerprint: str,
                            viewer: Viewer = MASKED) -> Redemption:
        """The result of the request that claimed the key; waits a bounded time while its saga is running. A FAILED
        result is answered here only to a request that came while it ran: the failure released the key, so the
        next request with it is claimed afresh by accept (see repository.accept)."""
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + self.idempotency_wait_seconds
        pause = 0.02
        while True:
            record, redemption = await repository.fetch_key_and_redemption(
                self.pool, scope, key, player_id=player_id, fingerprint=fingerprint, viewer=viewer)
            if record is not None:
                if record.player_id != player_id:
                    IDEMPOTENCY.labels("conflict").inc()
                    raise DomainError(ErrorCode.IDEMPOTENCY_KEY_CONFLICT,
                                      "this idempotency key was used by another player")
                if record.fingerprint != fingerprint:
                    IDEMPOTENCY.labels("reused").inc()
                    raise DomainError(ErrorCode.IDEMPOTENCY_KEY_REUSED,
                                      "this idempotency key was used with a different request body")
            if redemption is not None and redemption.status is not Status.SUBMITTED:
                return _outcome(redemption)
            if loop.time() >= give_up_at:
                IDEMPOTENCY.labels("in_progress").inc()
                raise DomainError(ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS,
                                  "a request with this idempotency key is still being processed",
                                  {"retry_after_seconds": str(RETRY_AFTER_SECONDS)})
            await asyncio.sleep(min(pause, max(give_up_at - loop.time(), 0.0)))
            pause = min(pause * 2, 0.25)

    # --- quote ----------------------------------------------------------------------------------------------

    async def quote(self, query: QuoteQuery, forwarded: Forwarded) -> Quote:
        """Catalog checks the item for forwarded's player (its claims); the wallet, the player and its balance."""
        scope, player_id = query.scope, query.player_id
        player, accounts, eligibility = await asyncio.gather(
            self.wallet.get_player(scope, player_id),
            self.wallet.get_balances(scope, player_id),
            self.catalog.check_eligibility(catalog_pb2.CheckEligibilityRequest(
                scope=scope.to_proto(), item_id=query.item_id, variant_id=query.variant_id,
                rounds=query.rounds, point_type=query.point_type, player=forwarded.player,
                skip_required_fields=True, lock_price_seconds=self.quote_valid_seconds)),
            return_exceptions=True)
        for result in (player, accounts, eligibility):
            if isinstance(result, BaseException) and not _is_refusal(result):
                raise result
        reason = ""
        if isinstance(player, DomainError):
            reason = player.code.value
        elif player.status != wallet_pb2.PLAYER_STATUS_ACTIVE:
            reason = ErrorCode.PLAYER_INACTIVE.value
        if isinstance(eligibility, DomainError):
            reason = reason or eligibility.code.value
            eligibility = catalog_pb2.CheckEligibilityResponse(remaining_allowance=-1)
        elif not eligibility.eligible:
            reason = reason or eligibility.reason or ErrorCode.ITEM_NOT_ELIGIBLE.value
        price, item = eligibility.price, eligibility.item
        account = next((a for a in accounts if a.point_type == price.point_type), None) \
            if isinstance(accounts, list) else None
        balance = account.balance if account else 0
        if not reason and balance < price.amount:
            reason = ErrorCode.INSUFFICIENT_BALANCE.value
        # Catalog locked the price when the item accepts the player; a player the wallet refuses gets no quote
        # to redeem with, one short of points does (the price holds while they earn the rest).
        locked = eligibility.price_lock_id if reason in ("", ErrorCode.INSUFFICIENT_BALANCE.value) else ""
        QUOTES.labels("locked" if locked else "refused").inc()
        if locked:
            log.info("quote locked", extra={"quote_id": locked, "item_id": item.id or query.item_id,
                                            "cost": price.amount, "point_type": price.point_type})
        return Quote(
            eligible=not reason, reason=reason, item_id=item.id or query.item_id,
            variant_id=eligibility.variant.id or query.variant_id, point_type=price.point_type,
            cost=price.amount, point_scale=account.scale if account else 0, balance=balance,
            stock_left=-1 if item.unlimited_stock else item.stock,
            remaining_allowance=eligibility.remaining_allowance,
            shipping_address_required=item.shipping_address_required,
            customer_info_required=item.customer_info_required,
            quote_id=locked, quote_expires_at=eligibility.price_lock_expires_at.ToDatetime(UTC) if locked else None)

    # --- reads ----------------------------------------------------------------------------------------------

    async def get(self, scope: Scope, reference: str, player_id: str, viewer: Viewer = MASKED) -> Redemption:
        """A redemption by its id or its number (of this player's, when player_id is given). A viewer shown the
        code has the reveal recorded by the read itself."""
        require_text(reference, "redemption_id", 64)
        redemption = await repository.fetch_by_reference(self.pool, scope, reference, player_id=player_id,
                                                         viewer=viewer)
        if redemption is None:
            raise DomainError(ErrorCode.REDEMPTION_NOT_FOUND, f"no redemption {reference!r}")
        return redemption

    async def list(self, query: RedemptionQuery, viewer: Viewer = MASKED) -> Page:
        """A viewer shown the codes has a reveal recorded per shown redemption with a code, by the read itself."""
        size = min(query.page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        listing = query.token_query
        before = page_tokens.decode(query.page_token, (datetime, int), query=listing)
        rows = await repository.fetch_page(self.pool, query.scope, player_id=query.player_id, status=query.status,
                                           limit=size + 1, before=before, viewer=viewer)
        page, more = rows[:size], len(rows) > size
        return Page(page, page_tokens.encode([page[-1].created_at, page[-1].number], query=listing) if more else "")

    # --- the audit of code reveals -------------------------------------------------------------------------

    async def code_reveals(self, scope: Scope, redemption_id: str, page_size: int, page_token: str) -> RevealPage:
        """The reveals of the tenant's codes, newest first; of one redemption's when redemption_id is given."""
        if page_size < 0:
            raise DomainError(ErrorCode.VALIDATION_ERROR, "page_size may not be negative")
        if len(redemption_id) > 64:
            raise DomainError(ErrorCode.VALIDATION_ERROR, "redemption_id is longer than 64 characters")
        size = min(page_size or DEFAULT_REVEALS_PAGE_SIZE, MAX_REVEALS_PAGE_SIZE)
        [before] = page_tokens.decode(page_token, (int,), query=(redemption_id,)) or [None]
        async with self.sessions() as session:
            rows = await repository.list_code_reveals(session, scope, redemption_id=redemption_id,
                                                      limit=size + 1, before_id=before)
        page, more = rows[:size], len(rows) > size
        token = page_tokens.encode([page[-1].id], query=(redemption_id,)) if more else ""
        return RevealPage(page, token)

    # --- cancel ---------------------------------------------------------------------------------------------

    async def cancel(self, scope: Scope, redemption_id: str, player_id: str, reason: str) -> Redemption:
        """A player's (player_id given: only their own) or an operator's cancel; reason empty: the default."""
        reason = reason[:1000] or "canceled on request"
        # A redemption may move (a fulfillment result) between the read and the conditional update: decide again.
        for _ in range(3):
            redemption = await self.get(scope, redemption_id, player_id)
            if redemption.cancel() is CancelPlan.UNCHANGED:
                return redemption
            canceled = await self._to_completion(self._void_then_cancel(redemption, reason))
            if canceled is not None:
                return canceled
        raise DomainError(ErrorCode.UNAVAILABLE, "the redemption is changing; try again",
                          {"retry_after_seconds": str(RETRY_AFTER_SECONDS)})

    async def _void_then_cancel(self, redemption: Redemption, reason: str) -> Redemption | None:
        """The cancel saga from its start (void the job, persist the request, refund, release, CANCELED); a cancel
        already under way (a failed fulfillment's, an earlier cancel's: it voided or failed its job) from its
        request. None when the redemption moved meanwhile."""
        cancels = self._cancels()
        steps = cancels.steps() if redemption.cancel_requested_at is None else cancels.steps_from(REQUEST)
        try:
            return await self._run_cancel(redemption, reason, steps)
        except CancelMoved:
            return None

    async def refund_and_release(self, redemption: Redemption, reason: str) -> Redemption:
        """Finishes a persisted cancel request (a failed fulfillment's, a review's rejection or timeout's): the
        cancel saga after its request (the redeem saga's way back, then CANCELED). If this fails halfway, recovery
        finishes it from the same definition."""
        return await self._run_cancel(redemption, reason, self._cancels().steps_after(REQUEST))

    def _cancels(self) -> CancelSaga:
        """The cancel saga on the redeem saga's way back as it is defined."""
        return CancelSaga(self.sessions, self.saga.way_back(), self.fulfillment)

    async def _run_cancel(self, redemption: Redemption, reason: str, steps: list[Step[CancelOrder]]) -> Redemption:
        order = CancelOrder(Scope(redemption.tenant_id, redemption.environment), redemption.id, reason)
        await self.runner.run(redemption.id, steps, order)
        return order.canceled or await repository.fetch_redemption(self.pool, redemption.id) or redemption

    # --- review holds ------------------------------------------------------------------------------------------

    async def set_review_rules(self, scope: Scope, item_id: str, rules: ReviewRules) -> repository.ReviewRuleSet:
        """The tenant's rules (item_id empty) or an item's; rules that are all zero remove them."""
        optional_text(item_id, "item_id", 128)
        async with self.sessions.begin() as session:
            stored = await repository.set_review_rules(session, scope, item_id, rules)
        log.info("review rules set", extra={"item_id": item_id, "removed": rules.empty})
        return stored

    async def list_review_rules(self, scope: Scope) -> list[repository.ReviewRuleSet]:
        async with self.sessions() as session:
            return await repository.list_review_rules(session, scope)

    async def approve(self, scope: Scope, redemption_id: str, note: str) -> Redemption:
        """An operator's approval: the hold becomes OPEN and its job goes out the usual way (the outbox)."""
        note = note[:1000]
        for _ in range(3):
            held = await self.get(scope, redemption_id, "")
            if held.review(ReviewDecision.APPROVED) is ReviewPlan.UNCHANGED:
                return held
            job = fulfillment_job(held, datetime.now(UTC))
            approved = await repository.approve(self.pool, held.id, note, job_event_id=job.event_id,
                                                job_subject=JOBS_SUBJECT, job_payload=job.SerializeToString())
            if approved is not None:
                self.wake_relay()
                REVIEW_DECISIONS.labels(ReviewDecision.APPROVED.value).inc()
                log.info("review approved", extra={"redemption_id": held.id, "reason": held.review_reason})
                return approved
            # Decided (or a cancel started) between the read and the statement: decide again on what is there.
        raise DomainError(ErrorCode.UNAVAILABLE, "the redemption is changing; try again",
                          {"retry_after_seconds": str(RETRY_AFTER_SECONDS)})

    async def reject(self, scope: Scope, redemption_id: str, reason: str) -> Redemption:
        """An operator's rejection: refunded and released by the saga's way back, CANCELED REVIEW_REJECTED."""
        reason = reason[:1000] or "rejected by an operator"
        for _ in range(3):
            held = await self.get(scope, redemption_id, "")
            decided = await self._to_completion(self._reject(held, ReviewDecision.REJECTED, reason))
            if decided is not None:
                return decided
        raise DomainError(ErrorCode.UNAVAILABLE, "the redemption is changing; try again",
                          {"retry_after_seconds": str(RETRY_AFTER_SECONDS)})

    async def _reject(self, held: Redemption, decision: ReviewDecision, reason: str) -> Redemption | None:
        """None when the hold was decided meanwhile (the caller decides again)."""
        plan = held.review(decision)
        if plan is ReviewPlan.UNCHANGED:
            return held
        if plan is ReviewPlan.FINISH_REJECTION:
            return await self.refund_and_release(held, held.cancel_reason)
        async with self.sessions.begin() as session:
            requested = await repository.request_rejection(session, held.id, decision.value,
                                                           REJECTION_CODES[decision], reason)
        if requested is None:
            return None
        REVIEW_DECISIONS.labels(decision.value).inc()
        log.info("review rejected", extra={"redemption_id": held.id, "reason": held.review_reason,
                                           "decision": decision.value})
        failpoint("redemption.after_rejection")
        return await self.refund_and_release(requested, reason)

    async def expire_holds(self, hold_seconds: float, batch: int = 50) -> int:
        """One round of the holds' timeout: every hold undecided for hold_seconds is rejected as EXPIRED and
        refunded. The rejection is persisted with the claim (SKIP LOCKED: replicas share the work); a refund a
        crash interrupts is finished by saga recovery (the saga is canceling). Returns how many it rejected."""
        requested: list[Redemption] = []
        async with self.sessions.begin() as session:
            for redemption_id in await repository.claim_expired_holds(session, hold_seconds, batch):
                rejected = await repository.request_rejection(
                    session, redemption_id, ReviewDecision.EXPIRED.value, REJECTION_CODES[ReviewDecision.EXPIRED],
                    EXPIRED_NOTE)
                if rejected is not None:
                    requested.append(rejected)
        for held in requested:
            REVIEW_DECISIONS.labels(ReviewDecision.EXPIRED.value).inc()
            log.info("review expired", extra={"redemption_id": held.id, "reason": held.review_reason})
            try:
                await self._to_completion(self.refund_and_release(held, EXPIRED_NOTE))
            except Exception:
                log.warning("refund of an expired hold failed; saga recovery finishes it", exc_info=True,
                            extra={"redemption_id": held.id})
        return len(requested)


def _outcome(redemption: Redemption) -> Redemption:
    """A redemption as Redeem answers it: a failed one answers the error it failed with."""
    if redemption.status is Status.FAILED:
        try:
            code = ErrorCode(redemption.failure_code)
        except ValueError:
            code = ErrorCode.UNAVAILABLE
        raise DomainError(code, redemption.failure_message)
    if redemption.status is Status.SUBMITTED:
        # The saga could not settle here (a compensation left to recovery): nothing is promised yet.
        raise DomainError(ErrorCode.UNAVAILABLE, "the redemption could not be completed; try again shortly",
                          {"retry_after_seconds": str(RETRY_AFTER_SECONDS)})
    return redemption


def _is_refusal(exc: BaseException) -> bool:
    return isinstance(exc, DomainError) and exc.code not in (ErrorCode.UNAVAILABLE, ErrorCode.INTERNAL,
                                                             ErrorCode.VALIDATION_ERROR)
