"""The console's pages (see gateway.console): server-rendered, every form posted with its CSRF token, each page a
few calls of the admin API's route functions with the signed-in operator's credential."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Path, Query, Request
from pydantic import ValidationError
from rewards.wallet.v1 import wallet_pb2
from service_kit.errors import DomainError, ErrorCode
from service_kit.scope import Scope
from starlette.responses import Response

from gateway import repository
from gateway.code_reveals import CodeReveal
from gateway.edge import note_tenant
from gateway.repository import Credential
from gateway.routes import Services, admin, fulfillment
from gateway.schemas import CancelRequest, FulfillmentJob, Grant, JobFailure, Redemption, Shipment, Transaction
from gateway.web.pages import CONSOLE_PREFIX, checked_form, field, noted, refusal, render, see_other
from gateway.web.session import Session, WebApp, anonymous, clear_cookie, current_session, seal, set_cookie

APP = WebApp(name="console", path=CONSOLE_PREFIX, cookie="console_session", same_site="strict")
PAGE_SIZE = 20
ACTIVE_JOB_STATES = ("PENDING", "RUNNING", "WAITING")

router = APIRouter(prefix=CONSOLE_PREFIX, include_in_schema=False)

RedemptionId = Annotated[str, Path(alias="id", min_length=1, max_length=128)]
PlayerId = Annotated[str, Path(alias="playerId", min_length=1, max_length=128)]
PageCursor = Annotated[str | None, Query(max_length=1000)]
SearchText = Annotated[str, Query(max_length=128)]


class SignedOut(Exception):
    """No session, an expired one, or its credential was revoked since: back to the sign-in page."""


async def _operator(request: Request) -> tuple[Credential, Session]:
    session = await current_session(request, APP)
    if session is None or not session.signed_in:
        raise SignedOut
    kind, credential_id = str(session.claims.get("kind", "")), str(session.claims.get("who", ""))
    async with request.app.state.sessions() as db:
        credential = await repository.credential_in_force(db, kind, credential_id)
    if credential is None or not credential.admin:
        raise SignedOut
    note_tenant(credential.tenant_id)
    return credential, session


def _signed_out(request: Request) -> Response:
    response = see_other(CONSOLE_PREFIX)
    clear_cookie(request, response, APP)
    return response


def _page(request: Request, name: str, caller: Credential, session: Session, status_code: int = 200,
          **context: Any) -> Response:
    return render(request, name, status_code=status_code, operator=f"{caller.tenant_id} · {caller.environment}",
                  csrf=session.csrf, **context)


# ---- signing in ----------------------------------------------------------------------------------------------

def _sign_in_page(request: Request, session: Session, status_code: int = 200, error: str | None = None) -> Response:
    return render(request, "console/sign_in.html", status_code=status_code, csrf=session.csrf, error=error)


@router.get("")
async def home(request: Request) -> Response:
    session = await current_session(request, APP)
    if session is not None and session.signed_in:
        return see_other(f"{CONSOLE_PREFIX}/redemptions")
    sealed = None
    if session is None:
        session, sealed = await anonymous(request, APP)
    response = _sign_in_page(request, session)
    if sealed:
        set_cookie(request, response, APP, sealed, 3600)
    return response


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    session = await current_session(request, APP)
    form = await checked_form(request, session, APP.name, "sign_in")
    if isinstance(form, Response):
        return form
    assert session is not None
    api_key = field(form, "api_key")
    try:
        if not api_key or len(api_key) > 512:
            raise DomainError(ErrorCode.UNAUTHENTICATED, "enter an admin API key")
        credential = await request.app.state.credentials.verify(api_key=api_key)
    except DomainError as exc:
        if exc.code is not ErrorCode.UNAUTHENTICATED:
            raise
        noted(APP.name, "sign_in", exc.code.value)
        return _sign_in_page(request, session, 401, "That key is wrong or revoked.")
    if not credential.admin:
        noted(APP.name, "sign_in", ErrorCode.FORBIDDEN.value, credential=credential.id)
        return _sign_in_page(request, session, 403, "That key is not an admin key.")
    ttl = request.app.state.settings.web_session_seconds
    sealed = await seal(request.app.state.signing_keys, APP, {"who": credential.id, "kind": credential.kind}, ttl)
    noted(APP.name, "sign_in", "ok", credential=credential.id, tenant=credential.tenant_id)
    response = see_other(f"{CONSOLE_PREFIX}/redemptions")
    set_cookie(request, response, APP, sealed, ttl)
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    form = await checked_form(request, await current_session(request, APP), APP.name, "sign_out")
    if isinstance(form, Response):
        return form
    noted(APP.name, "sign_out", "ok")
    return _signed_out(request)


# ---- redemptions ---------------------------------------------------------------------------------------------

@router.get("/redemptions")
async def redemptions(request: Request, services: Services, q: SearchText = "", player: SearchText = "",
                      status: Annotated[str, Query(max_length=32)] = "", cursor: PageCursor = None) -> Response:
    """Search: q is a redemption's id or number; else the newest, by player and status."""
    try:
        caller, session = await _operator(request)
    except SignedOut:
        return _signed_out(request)
    filters = {"q": q.strip(), "player": player.strip(), "status": status.strip().upper()}
    found, next_cursor, error, status_code = [], None, None, 200
    try:
        if filters["q"]:
            found = [await admin.get_redemption(filters["q"], caller, services)]
        else:
            page = await admin.list_redemptions(caller, services, limit=PAGE_SIZE, cursor=cursor,
                                                status=filters["status"] or None,
                                                player_id=filters["player"] or None)
            found, next_cursor = page.redemptions, page.next_cursor
    except DomainError as exc:
        if exc.code not in (ErrorCode.REDEMPTION_NOT_FOUND, ErrorCode.NOT_FOUND, ErrorCode.VALIDATION_ERROR):
            raise
        status_code, error = refusal(exc)
    return _page(request, "console/redemptions.html", caller, session, status_code=status_code,
                 redemptions=found, next_cursor=next_cursor, filters=filters, error=error,
                 statuses=("SUBMITTED", "OPEN", "AWAITING_VENDOR", "AWAITING_CUSTOMER", "PURCHASED", "COMPLETED",
                           "CANCELED", "FAILED"))


async def _job_of(services: Services, caller: Credential, redemption_id: str) -> FulfillmentJob | None:
    """The redemption's fulfillment job, among the jobs still open (a finished job's outcome is the redemption's)."""
    for state in ACTIVE_JOB_STATES:
        jobs = await fulfillment.list_jobs(caller, services, limit=100, cursor=None, state=state, stuck=False)
        for job in jobs.jobs:
            if job.redemption_id == redemption_id:
                return job
    return None


async def _story(request: Request, services: Services, caller: Credential, session: Session, redemption_id: str,
                 status_code: int = 200, error: str | None = None, notice: str | None = None) -> Response:
    r = await admin.get_redemption(redemption_id, caller, services)
    job = await _job_of(services, caller, r.id)
    reveals = await admin.list_code_reveals(caller, services, limit=50, cursor=None, redemption_id=r.id)
    ledger, _ = await _ledger(services, caller, r.player_id, None)
    return _page(request, "console/redemption.html", caller, session, status_code=status_code, r=r, job=job,
                 story=story_of(r, ledger, reveals.reveals), error=error, notice=notice)


def story_of(r: Redemption, ledger: list[Transaction], reveals: list[CodeReveal]) -> list[tuple[Any, str, str]]:
    """What happened to a redemption, oldest first: (when, what, kind) from the redemption, the player's latest
    ledger page (the entries that name it) and the audit of its code's reveals."""
    events: list[tuple[Any, str, str]] = [(r.created_at, f"redeemed for {r.display} {r.point_type}", "created")]
    for t in ledger:
        if r.id in t.reference:
            what = f"ledger {t.kind} {t.display} {t.point_type} (entry {t.id})"
            events.append((t.created_at, f"{what}: {t.description}" if t.description else what, t.kind))
    if r.completed_at:
        events.append((r.completed_at, "completed", "completed"))
    if r.canceled_at:
        reason = f": {r.failure.message or r.failure.code}" if r.failure else ""
        events.append((r.canceled_at, f"canceled and refunded{reason}", "canceled"))
    for v in reveals:
        events.append((v.revealed_at, f"code shown to the {v.viewer} {v.viewer_id} ({v.action})", "reveal"))
    oldest = datetime.max.replace(tzinfo=UTC)
    return sorted(events, key=lambda e: e[0] or oldest)


@router.get("/redemptions/{id}")
async def redemption(request: Request, redemption_id: RedemptionId, services: Services) -> Response:
    try:
        caller, session = await _operator(request)
    except SignedOut:
        return _signed_out(request)
    return await _story(request, services, caller, session, redemption_id)


@router.post("/redemptions/{id}/cancel")
async def cancel(request: Request, redemption_id: RedemptionId, services: Services) -> Response:
    try:
        caller, session = await _operator(request)
    except SignedOut:
        return _signed_out(request)
    form = await checked_form(request, session, APP.name, "cancel")
    if isinstance(form, Response):
        return form
    reason = field(form, "reason")[:500] or "canceled by an operator"
    try:
        await admin.cancel_redemption(redemption_id, caller, services, CancelRequest(reason=reason))
    except DomainError as exc:
        if exc.code is not ErrorCode.REDEMPTION_NOT_CANCELLABLE:
            raise
        noted(APP.name, "cancel", exc.code.value, redemption_id=redemption_id, credential=caller.id)
        return await _story(request, services, caller, session, redemption_id, 409, refusal(exc)[1])
    noted(APP.name, "cancel", "ok", redemption_id=redemption_id, credential=caller.id)
    return see_other(f"{CONSOLE_PREFIX}/redemptions/{redemption_id}")


# ---- fulfillment ---------------------------------------------------------------------------------------------

@router.get("/fulfillment")
async def jobs(request: Request, services: Services, notice: Annotated[str, Query(max_length=200)] = "") -> Response:
    try:
        caller, session = await _operator(request)
    except SignedOut:
        return _signed_out(request)
    stuck = (await fulfillment.list_jobs(caller, services, limit=100, cursor=None, state=None, stuck=True)).jobs
    shown = {j.redemption_id for j in stuck}
    by_state: dict[str, list[FulfillmentJob]] = {}
    for state in ACTIVE_JOB_STATES:
        # A job that moved between two of these reads is shown once, in the first list that had it.
        listed = await fulfillment.list_jobs(caller, services, limit=100, cursor=None, state=state, stuck=False)
        by_state[state] = [j for j in listed.jobs if j.redemption_id not in shown]
        shown.update(j.redemption_id for j in by_state[state])
    moving = by_state["PENDING"] + by_state["RUNNING"]
    failing = [j for j in moving if j.last_error]
    queued = [j for j in moving if not j.last_error]
    return _page(request, "console/fulfillment.html", caller, session, stuck=stuck, failing=failing,
                 waiting=by_state["WAITING"], queued=queued, notice=notice or None)


@router.post("/fulfillment/jobs/{id}/{action}")
async def job_action(request: Request, redemption_id: RedemptionId,
                     action: Annotated[str, Path(pattern="^(retry|fail|ship|deliver)$")],
                     services: Services) -> Response:
    try:
        caller, session = await _operator(request)
    except SignedOut:
        return _signed_out(request)
    form = await checked_form(request, session, APP.name, action)
    if isinstance(form, Response):
        return form
    try:
        if action == "retry":
            await fulfillment.retry_job(redemption_id, caller, services)
            notice = f"Job {redemption_id} runs again now."
        elif action == "fail":
            body = JobFailure(reason=field(form, "reason") or "given up by an operator")
            await fulfillment.fail_job(redemption_id, body, caller, services)
            notice = f"Job {redemption_id} failed: the player is refunded."
        elif action == "ship":
            await fulfillment.ship_redemption(redemption_id, Shipment(tracking_number=field(form, "tracking_number")),
                                              caller, services)
            notice = f"Redemption {redemption_id} shipped."
        else:
            await fulfillment.deliver_redemption(redemption_id, caller, services)
            notice = f"Redemption {redemption_id} delivered."
    except ValidationError as exc:
        noted(APP.name, action, ErrorCode.VALIDATION_ERROR.value, redemption_id=redemption_id, credential=caller.id)
        message = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                            for e in exc.errors(include_url=False, include_input=False))
        return _page(request, "refused.html", caller, session, status_code=422, app=APP.name,
                     message=f"Invalid request: {message}")
    except DomainError as exc:
        noted(APP.name, action, exc.code.value, redemption_id=redemption_id, credential=caller.id)
        status, message = refusal(exc)
        return _page(request, "refused.html", caller, session, status_code=status, app=APP.name, message=message)
    noted(APP.name, action, "ok", redemption_id=redemption_id, credential=caller.id)
    return see_other(f"{CONSOLE_PREFIX}/fulfillment?notice={quote(notice)}")


# ---- catalog -------------------------------------------------------------------------------------------------

@router.get("/catalog")
async def catalog(request: Request, services: Services, cursor: PageCursor = None) -> Response:
    try:
        caller, session = await _operator(request)
    except SignedOut:
        return _signed_out(request)
    page = await admin.list_items(caller, services, limit=PAGE_SIZE, cursor=cursor)
    pools = {}
    for item in page.items:
        if item.fulfillment_strategy == "code_pool":
            pools[item.id] = await fulfillment.get_code_pool(item.id, caller, services)
    return _page(request, "console/catalog.html", caller, session, items=page.items, pools=pools,
                 next_cursor=page.next_cursor)


# ---- players -------------------------------------------------------------------------------------------------

async def _ledger(services: Services, caller: Credential, player_id: str,
                  cursor: str | None) -> tuple[list[Transaction], str | None]:
    # The admin API has no ledger route: the same wallet call as GET /v1/wallet/transactions, in the operator's scope.
    reply = await services.wallet.list_transactions(wallet_pb2.ListTransactionsRequest(
        scope=Scope(caller.tenant_id, caller.environment).to_proto(), player_id=player_id, point_type="",
        page_size=PAGE_SIZE, page_token=cursor or ""))
    return [Transaction.from_proto(e) for e in reply.entries], reply.next_page_token or None


@router.get("/players")
async def players(request: Request, services: Services, player: SearchText = "",
                  cursor: PageCursor = None, notice: Annotated[str, Query(max_length=200)] = "") -> Response:
    try:
        caller, session = await _operator(request)
    except SignedOut:
        return _signed_out(request)
    player = player.strip()
    state, ledger, next_cursor, error, status_code = None, [], None, None, 200
    if player:
        try:
            state = await admin.get_player(player, caller, services)
            ledger, next_cursor = await _ledger(services, caller, player, cursor)
        except DomainError as exc:
            if exc.code not in (ErrorCode.PLAYER_NOT_FOUND, ErrorCode.NOT_FOUND, ErrorCode.VALIDATION_ERROR):
                raise
            status_code, error = refusal(exc)
    point_types = (await admin.list_point_types(caller, services)).point_types
    return _page(request, "console/players.html", caller, session, status_code=status_code,
                 player=player, state=state, ledger=ledger, next_cursor=next_cursor, error=error,
                 point_types=point_types, idempotency_key=uuid.uuid4().hex, notice=notice or None)


@router.post("/players/{playerId}/grants")
async def grant(request: Request, player_id: PlayerId, services: Services) -> Response:
    try:
        caller, session = await _operator(request)
    except SignedOut:
        return _signed_out(request)
    form = await checked_form(request, session, APP.name, "grant")
    if isinstance(form, Response):
        return form
    key = field(form, "idempotency_key")
    try:
        if not key or len(key) > 255:
            raise DomainError(ErrorCode.VALIDATION_ERROR, "the form has no idempotency key: reload the page")
        body = Grant.model_validate({"point_type": field(form, "point_type"), "amount": field(form, "amount"),
                                     "description": field(form, "description") or "granted by an operator"})
        moved = await admin.grant_points(player_id, body, caller, services, key, Response())
    except ValidationError as exc:
        noted(APP.name, "grant", ErrorCode.VALIDATION_ERROR.value, player_id=player_id, credential=caller.id)
        message = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                            for e in exc.errors(include_url=False, include_input=False))
        return _page(request, "refused.html", caller, session, status_code=422, app=APP.name,
                     message=f"Invalid grant: {message}")
    except DomainError as exc:
        noted(APP.name, "grant", exc.code.value, player_id=player_id, credential=caller.id)
        status, message = refusal(exc)
        return _page(request, "refused.html", caller, session, status_code=status, app=APP.name, message=message)
    noted(APP.name, "grant", "ok", player_id=player_id, credential=caller.id)
    what = "Replayed: already granted" if moved.replayed else f"Granted {moved.transaction.display}"
    return see_other(f"{CONSOLE_PREFIX}/players?{urlencode({'player': player_id})}"
                     f"&notice={quote(what + ' ' + moved.transaction.point_type)}")
