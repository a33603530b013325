"""Rendering the web apps' pages: one Jinja2 environment over the templates shipped in this package (autoescaped),
the static assets (/assets, no CDN), form reading with the CSRF check, and the counter and log line of each
action a page takes."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from prometheus_client import Counter
from service_kit.errors import DomainError
from service_kit.logs import request_id_var
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from gateway.errors import CANONICAL
from gateway.schemas import display_amount
from gateway.store.paths import is_storefront
from gateway.web.session import CSRF_FIELD, Session

log = logging.getLogger("gateway.web")

HERE = Path(__file__).parent
ASSETS_PATH = "/assets"
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["points"] = lambda amount, scale=0: display_amount(int(amount or 0), int(scale or 0))
templates.env.filters["when"] = lambda t: t.strftime("%Y-%m-%d %H:%M:%S") if isinstance(t, datetime) else ""

WEB_ACTIONS = Counter("rewards_web_actions_total",
                      "Actions taken through the storefront's and the console's pages, by outcome (ok, or the "
                      "stable error code, or CSRF when the form's token was missing or wrong).",
                      ["app", "action", "outcome"])


def assets() -> StaticFiles:
    return StaticFiles(directory=HERE / "assets")


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status_code,
                                      headers={"Cache-Control": "no-store"})


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def noted(app: str, action: str, outcome: str, **facts: Any) -> None:
    """Counts an action and logs it (never a code, PIN, token or key: callers pass ids only)."""
    WEB_ACTIONS.labels(app, action, outcome).inc()
    log.info("page action", extra={"app": app, "action": action, "outcome": outcome, **facts})


def outcome_of(exc: DomainError) -> str:
    return exc.code.value


class PageAnswer(Exception):
    """A page's answer given before its route does anything (back to sign-in, the CSRF refusal): raised by the
    checks a route starts with, and sent as it is by the app's handler."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


async def page_answer(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageAnswer)
    return exc.response


async def posted_form(request: Request, session: Session | None, app: str, action: str) -> FormData:
    """The form; the 403 page (PageAnswer) when its CSRF token is missing or is not the session's: nothing else
    runs."""
    form = await request.form()
    if session is None or not session.csrf_matches(_text(form.get(CSRF_FIELD))):
        noted(app, action, "CSRF")
        raise PageAnswer(render(request, "refused.html", status_code=403, app=app,
                                message="This form is out of date or was not sent by this site (its CSRF token is "
                                        "missing or wrong). Nothing was changed. Reload the page and try again."))
    return form


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def field(form: FormData, name: str, default: str = "") -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else default


def refusal(exc: DomainError) -> tuple[int, str]:
    """The canonical API's status and the words a page shows for a refusal."""
    public = CANONICAL.get(exc.code)
    status = public.status if public else 500
    return status, f"{public.title if public else exc.code.value}: {exc.message}"


CONSOLE_PREFIX = "/console"


def app_of(path: str) -> str | None:
    """Which web app a path is a page of ("store", "console"), or None for the API's paths."""
    if path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/"):
        return "console"
    return "store" if is_storefront(path) else None


def problem_page(request: Request, app: str, status: int, message: str) -> HTMLResponse:
    """An error raised under a page (an upstream unavailable, a redemption not found) answered as a page."""
    titles = {404: "Not found", 403: "Forbidden", 401: "Sign in required", 503: "Unavailable",
              500: "Something went wrong"}
    return render(request, "problem.html", status_code=status, app=app, title=titles.get(status, "Refused"),
                  message=message, request_id=request_id_var.get() or "")
