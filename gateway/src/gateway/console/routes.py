"""The console's pages (see gateway.console): server-rendered, every form posted with its CSRF token, each page a
few calls of the admin API's route functions with the signed-in operator's credential."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Path, Query, Request
from pydantic import ValidationError
from rewards.events.v1 import events_pb2
from rewards.fulfillment.v1 import fulfillment_pb2
from rewards.redemption.v1 import redemption_pb2
from rewards.wallet.v1 import wallet_pb2
from service_kit.contract import MAX_IDEMPOTENCY_KEY_LENGTH
from service_kit.errors import DomainError, ErrorCode
from service_kit.scope import Scope
from starlette.datastructures import FormData, UploadFile
from starlette.responses import Response

from gateway import repository
from gateway.code_reveals import CodeReveal, console_viewer
from gateway.console import service_metrics
from gateway.console.codes_file import read_codes
from gateway.repository import Credential
from gateway.request_facts import note_tenant
from gateway.routes import Services, admin, fulfillment
from gateway.routes import health as health_routes
from gateway.schemas import (
    Adjustment,
    AdminItem,
    CancelRequest,
    FulfillmentJob,
    Grant,
    ItemChanges,
    JobFailure,
    NewItem,
    PlayerStatusChange,
    Redemption,
    ReviewDecision,
    Shipment,
    StockAdjustment,
    Transaction,
)
from gateway.web.pages import CONSOLE_PREFIX, PageAnswer, field, noted, posted_form, refusal, render, see_other
from gateway.web.session import Session, WebApp, anonymous, clear_cookie, current_session, seal, set_cookie

APP = WebApp(name="console", path=CONSOLE_PREFIX, cookie="console_session", same_site="strict")
PAGE_SIZE = 20
ACTIVE_JOB_STATES = ("PENDING", "RUNNING", "WAITING")

router = APIRouter(prefix=CONSOLE_PREFIX, include_in_schema=False)

RedemptionId = Annotated[str, Path(alias="id", min_length=1, max_length=128)]
PlayerId = Annotated[str, Path(alias="playerId", min_length=1, max_length=128)]
PageCursor = Annotated[str | None, Query(max_length=1000)]
SearchText = Annotated[str, Query(max_length=128)]


async def _operator(request: Request) -> tuple[Credential, Session]:
    """The signed-in operator; with no session, an expired one, or a credential revoked since, back to the sign-in
    page (PageAnswer)."""
    session = await current_session(request, APP)
    if session is None or not session.signed_in:
        raise PageAnswer(_signed_out(request))
    kind, credential_id = str(session.claims.get("kind", "")), str(session.claims.get("who", ""))
    async with request.app.state.sessions() as db:
        credential = await repository.credential_in_force(db, kind, credential_id)
    if credential is None or not credential.admin:
        raise PageAnswer(_signed_out(request))
    note_tenant(credential.tenant_id)
    return credential, session


async def _operator_form(request: Request, action: str) -> tuple[Credential, Session, FormData]:
    """The operator and the form they posted, its CSRF token checked (see posted_form)."""
    caller, session = await _operator(request)
    return caller, session, await posted_form(request, session, APP.name, action)


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
    form = await posted_form(request, session, APP.name, "sign_in")
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
    await posted_form(request, await current_session(request, APP), APP.name, "sign_out")
    noted(APP.name, "sign_out", "ok")
    return _signed_out(request)


# ---- redemptions ---------------------------------------------------------------------------------------------

@router.get("/redemptions")
async def redemptions(request: Request, services: Services, q: SearchText = "", player: SearchText = "",
                      status: Annotated[str, Query(max_length=32)] = "", cursor: PageCursor = None) -> Response:
    """Search: q is a redemption's id or number; else the newest, by player and status."""
    caller, session = await _operator(request)
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
                 statuses=("SUBMITTED", "OPEN", "AWAITING_APPROVAL", "AWAITING_VENDOR", "AWAITING_CUSTOMER",
                           "PURCHASED", "COMPLETED", "CANCELED", "FAILED"))


async def _job_of(services: Services, caller: Credential, redemption_id: str) -> FulfillmentJob | None:
    """The redemption's fulfillment job, among the jobs still open (a finished job's outcome is the redemption's)."""
    for state in ACTIVE_JOB_STATES:
        jobs = await fulfillment.list_jobs(caller, services, limit=100, cursor=None, state=state, stuck=False)
        for job in jobs.jobs:
            if job.redemption_id == redemption_id:
                return job
    return None


async def _story(request: Request, services: Services, caller: Credential, session: Session, redemption_id: str,
                 status_code: int = 200, error: str | None = None, notice: str | None = None,
                 revealed: Redemption | None = None) -> Response:
    r = revealed or await admin.get_redemption(redemption_id, caller, services)
    job = await _job_of(services, caller, r.id)
    reveals = await admin.list_code_reveals(caller, services, limit=50, cursor=None, redemption_id=r.id)
    ledger, _ = await _ledger(services, caller, r.player_id, None)
    told = await _events_of(services, caller, r.id)
    return _page(request, "console/redemption.html", caller, session, status_code=status_code, r=r, job=job,
                 story=story_of(r, ledger, reveals.reveals, told), error=error, notice=notice,
                 revealed=revealed is not None)


async def _events_of(services: Any, caller: Credential, redemption_id: str) -> list[events_pb2.Event] | None:
    """The tenant's events about the redemption (its event log, oldest first); None when the events service does
    not answer: the story is told without them, and says so."""
    try:
        reply = await services.events.list_events(events_pb2.ListEventsRequest(
            scope=Scope(caller.tenant_id, caller.environment).to_proto(), redemption_id=redemption_id, limit=100))
    except DomainError as exc:
        if exc.code is not ErrorCode.UNAVAILABLE:
            raise
        return None
    return list(reply.events)


def story_of(r: Redemption, ledger: list[Transaction], reveals: list[CodeReveal],
             told: list[events_pb2.Event] | None = ()) -> list[tuple[Any, str, str]]:
    """What happened to a redemption, oldest first: (when, what, kind) from the redemption, the player's latest
    ledger page (the entries that name it), the audit of its code's reveals and the events the tenant was told
    (its event log and webhooks); `told` None: the events service did not answer."""
    events: list[tuple[Any, str, str]] = [(r.created_at, f"redeemed for {r.display} {r.point_type}", "created")]
    if told is None:
        events.append((None, "the event log did not answer: the tenant's events are not shown", "event"))
    for e in told or ():
        events.append((e.time.ToDatetime(tzinfo=UTC), f"event {e.type} in the tenant's log (id {e.id})", "event"))
    for t in ledger:
        if r.id in t.reference:
            what = f"ledger {t.kind} {t.display} {t.point_type} (entry {t.id})"
            events.append((t.created_at, f"{what}: {t.description}" if t.description else what, t.kind))
    if r.review is not None:
        events.append((r.review.held_at, f"held for review ({r.review.reason})", "review"))
        if r.review.decision:
            note = f": {r.review.note}" if r.review.note else ""
            events.append((r.review.decided_at, f"review {r.review.decision}{note}", "review"))
    if r.completed_at:
        events.append((r.completed_at, "completed", "completed"))
    if r.canceled_at:
        reason = f": {r.failure.message or r.failure.code}" if r.failure else ""
        events.append((r.canceled_at, f"canceled and refunded{reason}", "canceled"))
    for v in reveals:
        if v.viewer_id.startswith("console:"):
            what = f"code revealed in the console to {v.viewer_id.removeprefix('console:')}"
        else:
            what = f"code shown to the {v.viewer} {v.viewer_id} ({v.action})"
        events.append((v.revealed_at, what, "reveal"))
    oldest = datetime.max.replace(tzinfo=UTC)
    return sorted(events, key=lambda e: e[0] or oldest)


@router.get("/redemptions/{id}")
async def redemption(request: Request, redemption_id: RedemptionId, services: Services) -> Response:
    caller, session = await _operator(request)
    return await _story(request, services, caller, session, redemption_id)


@router.post("/redemptions/{id}/cancel")
async def cancel(request: Request, redemption_id: RedemptionId, services: Services) -> Response:
    caller, session, form = await _operator_form(request, "cancel")
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


@router.post("/redemptions/{id}/review")
async def review(request: Request, redemption_id: RedemptionId, services: Services) -> Response:
    """An operator's decision on a held redemption: approve (fulfilment goes on) or reject (refunded)."""
    caller, session, form = await _operator_form(request, "review")
    decision = field(form, "decision")
    body = ReviewDecision(note=field(form, "note")[:1000])
    try:
        if decision == "approve":
            await admin.approve_redemption(redemption_id, caller, services, body)
        elif decision == "reject":
            await admin.reject_redemption(redemption_id, caller, services, body)
        else:
            raise DomainError(ErrorCode.VALIDATION_ERROR, "decision must be approve or reject")
    except DomainError as exc:
        if exc.code not in (ErrorCode.REDEMPTION_NOT_HELD, ErrorCode.VALIDATION_ERROR):
            raise
        noted(APP.name, "review", exc.code.value, redemption_id=redemption_id, credential=caller.id)
        status_code, message = refusal(exc)
        return await _story(request, services, caller, session, redemption_id, status_code, message)
    noted(APP.name, "review", decision, redemption_id=redemption_id, credential=caller.id)
    return see_other(f"{CONSOLE_PREFIX}/redemptions/{redemption_id}")


@router.post("/redemptions/{id}/reveal")
async def reveal(request: Request, redemption_id: RedemptionId, services: Services) -> Response:
    """Shows the code and PIN in clear on this one answer (not cached), and records who saw them and when: the
    read that unseals them writes the code-reveal audit row in the same statement (redemption-service)."""
    caller, session, _form = await _operator_form(request, "reveal")
    viewer, viewer_id = console_viewer(caller)
    reply = await services.redemption.get(redemption_pb2.GetRedemptionRequest(
        scope=Scope(caller.tenant_id, caller.environment).to_proto(), redemption_id=redemption_id,
        viewer=viewer, viewer_id=viewer_id))
    r = Redemption.from_proto(reply.redemption)
    noted(APP.name, "reveal", "ok", redemption_id=r.id, credential=caller.id)
    shown = "The code is shown below, once" if r.fulfillment and r.fulfillment.code else "This redemption has no code"
    return await _story(request, services, caller, session, r.id, revealed=r,
                        notice=f"{shown}: this reveal is recorded in the audit, with your key and the time.")


# ---- fulfillment ---------------------------------------------------------------------------------------------

@router.get("/fulfillment")
async def jobs(request: Request, services: Services, notice: Annotated[str, Query(max_length=200)] = "") -> Response:
    caller, session = await _operator(request)
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
    caller, session, form = await _operator_form(request, action)
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
        return _page(request, "refused.html", caller, session, status_code=422, app=APP.name,
                     message=f"Invalid request: {_invalid(exc)}")
    except DomainError as exc:
        noted(APP.name, action, exc.code.value, redemption_id=redemption_id, credential=caller.id)
        status, message = refusal(exc)
        return _page(request, "refused.html", caller, session, status_code=status, app=APP.name, message=message)
    noted(APP.name, action, "ok", redemption_id=redemption_id, credential=caller.id)
    return see_other(f"{CONSOLE_PREFIX}/fulfillment?notice={quote(notice)}")


# ---- catalog -------------------------------------------------------------------------------------------------

STRATEGIES = ("code_pool", "webhook", "physical", "bonus", "free_rounds", "manual")
ItemId = Annotated[str, Path(alias="itemId", min_length=1, max_length=128)]
UPLOAD_CODES_PAGE = f"{CONSOLE_PREFIX}/catalog/items/{{itemId}}/codes"   # its body limit: MAX_UPLOAD_BODY_BYTES and 64 KiB


def stock_level(item: AdminItem, low: int) -> str:
    """unlimited, out (none left), low (at most `low` left) or ok."""
    if item.unlimited_stock:
        return "unlimited"
    stock = item.stock or 0
    return "out" if stock <= 0 else "low" if stock <= low else "ok"


def _invalid(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                     for e in exc.errors(include_url=False, include_input=False))


@router.get("/catalog")
async def catalog(request: Request, services: Services, cursor: PageCursor = None,
                  notice: Annotated[str, Query(max_length=200)] = "") -> Response:
    caller, session = await _operator(request)
    page = await admin.list_items(caller, services, limit=PAGE_SIZE, cursor=cursor)
    pools = {}
    for item in page.items:
        if item.fulfillment_strategy == "code_pool":
            pools[item.id] = await fulfillment.get_code_pool(item.id, caller, services)
    low = request.app.state.settings.console_low_stock
    return _page(request, "console/catalog.html", caller, session, items=page.items, pools=pools,
                 levels={i.id: stock_level(i, low) for i in page.items}, low_stock=low,
                 next_cursor=page.next_cursor, notice=notice or None)


def _item_form(request: Request, caller: Credential, session: Session, point_types: list[Any],
               values: dict[str, str], status_code: int = 200, error: str | None = None) -> Response:
    return _page(request, "console/item_new.html", caller, session, status_code=status_code, values=values,
                 point_types=point_types, strategies=STRATEGIES, error=error)


@router.get("/catalog/new")
async def new_item(request: Request, services: Services) -> Response:
    caller, session = await _operator(request)
    point_types = (await admin.list_point_types(caller, services)).point_types
    return _item_form(request, caller, session, point_types,
                      {"strategy": "manual", "stock": "0", "active": "on"})


@router.post("/catalog/items")
async def create_item(request: Request, services: Services) -> Response:
    caller, session, form = await _operator_form(request, "create_item")
    values = {name: field(form, name) for name in ("id", "name", "point_type", "price", "stock", "strategy",
                                                    "active")}
    try:
        body = NewItem.model_validate({
            "id": values["id"], "name": values["name"],
            "prices": [{"point_type": values["point_type"], "amount": values["price"]}],
            "stock": values["stock"] or "0", "fulfillment_strategy": values["strategy"],
            "status": "ACTIVE" if values["active"] else "INACTIVE"})
        item = await admin.create_item(body, caller, services)
    except (ValidationError, DomainError) as exc:
        if isinstance(exc, DomainError) and exc.code not in (ErrorCode.ALREADY_EXISTS, ErrorCode.VALIDATION_ERROR):
            raise
        code = exc.code.value if isinstance(exc, DomainError) else ErrorCode.VALIDATION_ERROR.value
        noted(APP.name, "create_item", code, credential=caller.id)
        status, message = refusal(exc) if isinstance(exc, DomainError) else (422, f"Invalid item: {_invalid(exc)}")
        point_types = (await admin.list_point_types(caller, services)).point_types
        return _item_form(request, caller, session, point_types, values, status, message)
    noted(APP.name, "create_item", "ok", item_id=item.id, credential=caller.id)
    return see_other(f"{CONSOLE_PREFIX}/catalog/items/{quote(item.id, safe='')}?"
                     f"{urlencode({'notice': f'Item {item.id} created.'})}")


async def _item_page(request: Request, services: Services, caller: Credential, session: Session, item_id: str,
                     status_code: int = 200, error: str | None = None, notice: str | None = None,
                     upload_errors: list[str] | None = None) -> Response:
    item = await admin.get_item(item_id, caller, services)
    pool = None
    if item.fulfillment_strategy == "code_pool":
        pool = await fulfillment.get_code_pool(item.id, caller, services)
    point_types = (await admin.list_point_types(caller, services)).point_types
    low = request.app.state.settings.console_low_stock
    return _page(request, "console/item.html", caller, session, status_code=status_code, item=item, pool=pool,
                 level=stock_level(item, low), low_stock=low, point_types=point_types,
                 idempotency_key=uuid.uuid4().hex, error=error, notice=notice, upload_errors=upload_errors or [],
                 max_upload_bytes=request.app.state.settings.max_upload_body_bytes)


@router.get("/catalog/items/{itemId}")
async def item_page(request: Request, item_id: ItemId, services: Services,
                    notice: Annotated[str, Query(max_length=200)] = "") -> Response:
    caller, session = await _operator(request)
    return await _item_page(request, services, caller, session, item_id, notice=notice or None)


@router.post("/catalog/items/{itemId}")
async def edit_item(request: Request, item_id: ItemId, services: Services) -> Response:
    """Name, price (the first one; the others stay), active or not, and stock: the difference between the stock
    asked for and the stock the form showed is added (redemptions since then are not undone), once per form."""
    caller, session, form = await _operator_form(request, "edit_item")
    try:
        current = await admin.get_item(item_id, caller, services)
        prices = [{"point_type": p.point_type, "amount": p.amount} for p in current.prices]
        first = {"point_type": field(form, "point_type"), "amount": field(form, "price")}
        changes: dict[str, Any] = {"name": field(form, "name"), "prices": [first, *prices[1:]]}
        if field(form, "active"):
            changes["status"] = "ACTIVE"
        elif current.status == "ACTIVE":
            changes["status"] = "INACTIVE"
        body = ItemChanges.model_validate(changes)
        delta = 0
        if not current.unlimited_stock:
            wanted, seen = field(form, "stock"), field(form, "stock_seen")
            if not (wanted.isdigit() and seen.isdigit()):
                raise DomainError(ErrorCode.VALIDATION_ERROR, "stock must be a whole number, 0 or more")
            delta = int(wanted) - int(seen)
        key = field(form, "idempotency_key")
        if delta and (not key or len(key) > MAX_IDEMPOTENCY_KEY_LENGTH):
            raise DomainError(ErrorCode.VALIDATION_ERROR, "the form has no idempotency key: reload the page")
        await admin.update_item(item_id, body, caller, services)
        if delta:
            await admin.adjust_stock(item_id, StockAdjustment(delta=delta, reason="set in the operator console"),
                                     caller, services, key)
    except ValidationError as exc:
        noted(APP.name, "edit_item", ErrorCode.VALIDATION_ERROR.value, item_id=item_id, credential=caller.id)
        return await _item_page(request, services, caller, session, item_id, 422, f"Invalid item: {_invalid(exc)}")
    except DomainError as exc:
        if exc.code not in (ErrorCode.VALIDATION_ERROR, ErrorCode.OUT_OF_STOCK, ErrorCode.IDEMPOTENCY_KEY_CONFLICT):
            raise
        noted(APP.name, "edit_item", exc.code.value, item_id=item_id, credential=caller.id)
        status, message = refusal(exc)
        return await _item_page(request, services, caller, session, item_id, status, message)
    noted(APP.name, "edit_item", "ok", item_id=item_id, credential=caller.id, stock_delta=delta)
    return see_other(f"{CONSOLE_PREFIX}/catalog/items/{quote(item_id, safe='')}?"
                     f"{urlencode({'notice': f'Item {item_id} saved.'})}")


@router.post(UPLOAD_CODES_PAGE.removeprefix(CONSOLE_PREFIX))
async def upload_codes(request: Request, item_id: ItemId, services: Services) -> Response:
    """A CSV file of code,pin lines into the item's pool: every line checked first; a file with an error stores
    nothing, and its page names each bad line."""
    caller, session, form = await _operator_form(request, "upload_codes")
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        noted(APP.name, "upload_codes", ErrorCode.VALIDATION_ERROR.value, item_id=item_id, credential=caller.id)
        return await _item_page(request, services, caller, session, item_id, 422, "Choose a CSV file of codes.")
    limit = request.app.state.settings.max_upload_body_bytes
    data = await upload.read(limit + 1)
    read = read_codes(data, limit)
    if read.errors:
        noted(APP.name, "upload_codes", ErrorCode.VALIDATION_ERROR.value, item_id=item_id, credential=caller.id,
              bad_lines=len(read.errors))
        return await _item_page(request, services, caller, session, item_id, 422,
                                "Nothing was stored: the file has errors.", upload_errors=read.shown_errors)
    # The same call as POST /v1/admin/items/{itemId}/codes.
    reply = await services.fulfillment.upload_codes(fulfillment_pb2.UploadCodesRequest(
        scope=Scope(caller.tenant_id, caller.environment).to_proto(), item_id=item_id,
        codes=[c.to_proto() for c in read.codes]))
    noted(APP.name, "upload_codes", "ok", item_id=item_id, credential=caller.id, received=len(read.codes),
          added=reply.added, duplicates=reply.duplicates)
    notice = f"Added {reply.added} codes"
    if reply.duplicates:
        notice += f"; {reply.duplicates} were in the pool already and were left as they were"
    return see_other(f"{CONSOLE_PREFIX}/catalog/items/{quote(item_id, safe='')}?{urlencode({'notice': notice + '.'})}")


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
    caller, session = await _operator(request)
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
                 point_types=point_types, idempotency_key=uuid.uuid4().hex, adjust_key=uuid.uuid4().hex,
                 notice=notice or None)


@router.post("/players/{playerId}/grants")
async def grant(request: Request, player_id: PlayerId, services: Services) -> Response:
    return await _move_points(request, player_id, services, "grant")


@router.post("/players/{playerId}/adjustments")
async def adjust(request: Request, player_id: PlayerId, services: Services) -> Response:
    """A signed correction of a player's balance, with its reason (required: it is the ledger entry's
    description)."""
    return await _move_points(request, player_id, services, "adjust")


async def _move_points(request: Request, player_id: str, services: Any, action: str) -> Response:
    """A grant or an adjustment posted from the player's page: the admin API's own call, with the form's
    idempotency key, so a form sent twice moves the points once."""
    caller, session, form = await _operator_form(request, action)
    key = field(form, "idempotency_key")
    noun = "grant" if action == "grant" else "adjustment"
    try:
        if not key or len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
            raise DomainError(ErrorCode.VALIDATION_ERROR, "the form has no idempotency key: reload the page")
        if action == "grant":
            body = Grant.model_validate({"point_type": field(form, "point_type"), "amount": field(form, "amount"),
                                         "description": field(form, "description") or "granted by an operator"})
            moved = await admin.grant_points(player_id, body, caller, services, key, Response())
        else:
            if not field(form, "reason"):
                raise DomainError(ErrorCode.VALIDATION_ERROR, "an adjustment needs its reason")
            adjustment = Adjustment.model_validate({"point_type": field(form, "point_type"),
                                                    "amount": field(form, "amount"),
                                                    "description": field(form, "reason")})
            moved = await admin.adjust_points(player_id, adjustment, caller, services, key, Response())
    except ValidationError as exc:
        noted(APP.name, action, ErrorCode.VALIDATION_ERROR.value, player_id=player_id, credential=caller.id)
        return _page(request, "refused.html", caller, session, status_code=422, app=APP.name,
                     message=f"Invalid {noun}: {_invalid(exc)}")
    except DomainError as exc:
        noted(APP.name, action, exc.code.value, player_id=player_id, credential=caller.id)
        status, message = refusal(exc)
        return _page(request, "refused.html", caller, session, status_code=status, app=APP.name, message=message)
    noted(APP.name, action, "ok", player_id=player_id, credential=caller.id)
    if moved.replayed:
        what = "Replayed: already granted" if action == "grant" else "Replayed: already adjusted"
    else:
        what = f"Granted {moved.transaction.display}" if action == "grant" else \
            f"Adjusted by {moved.transaction.display}"
    return see_other(f"{CONSOLE_PREFIX}/players?{urlencode({'player': player_id})}"
                     f"&notice={quote(what + ' ' + moved.transaction.point_type)}")


@router.post("/players/{playerId}/status")
async def player_status(request: Request, player_id: PlayerId, services: Services) -> Response:
    """Suspends a player (they can no longer redeem) or makes them active again (PUT /v1/admin/players/{id})."""
    caller, session, form = await _operator_form(request, "player_status")
    try:
        body = PlayerStatusChange.model_validate({"status": field(form, "status")})
    except ValidationError as exc:
        noted(APP.name, "player_status", ErrorCode.VALIDATION_ERROR.value, player_id=player_id, credential=caller.id)
        return _page(request, "refused.html", caller, session, status_code=422, app=APP.name,
                     message=f"Invalid status: {_invalid(exc)}")
    state = await admin.set_player_status(player_id, body, caller, services)
    noted(APP.name, "player_status", "ok", player_id=player_id, credential=caller.id, status=state.status)
    word = "suspended" if state.status == "SUSPENDED" else "active again"
    return see_other(f"{CONSOLE_PREFIX}/players?{urlencode({'player': player_id})}"
                     f"&notice={quote(f'{player_id} is {word}.')}")


# ---- health --------------------------------------------------------------------------------------------------

@router.get("/health")
async def health(request: Request, services: Services) -> Response:
    """What /readyz checks (the gateway's database, each service's gRPC health), and the events service, which
    /readyz leaves out (only GET /v1/events needs it); then the outbox and consumer numbers of each service's
    /metrics named in CONSOLE_METRICS_URLS. Each check and scrape has its own deadline (2 s, 1 s, 2 s)."""
    caller, session = await _operator(request)
    upstreams = request.app.state.upstreams
    clients = [*upstreams.all, upstreams.events]
    results = await asyncio.gather(health_routes.database_reachable(request), *(c.serving() for c in clients))
    rows = [("gateway database", results[0], True)]
    rows += [(f"{c.name}-service", ok, c is not upstreams.events) for c, ok in zip(clients, results[1:], strict=True)]
    targets = service_metrics.parse_targets(request.app.state.settings.console_metrics_urls)
    numbers = await service_metrics.scrape_all(targets)
    noted(APP.name, "health", "ok" if all(ok for _, ok, _ in rows) else "failing", credential=caller.id)
    return _page(request, "console/health.html", caller, session, rows=rows,
                 ready=all(ok for _, ok, needed in rows if needed), numbers=numbers,
                 metrics_configured=bool(targets))
