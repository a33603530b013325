"""The API's reference pages, `/docs` (Swagger UI) and `/redoc` (ReDoc), served from files installed with the
gateway, so they load on a machine without internet. FastAPI's own pages fetch Swagger UI, ReDoc, a favicon and
Google fonts from CDNs; here the scripts and the stylesheet come from the `fastapi-offline` wheel (pinned in
gateway/pyproject.toml: Swagger UI 5, which reads OpenAPI 3.1, and ReDoc 2, each with its licence header), mounted
at /docs/assets. Only its static files are used, not its FastAPI factory: the app keeps its own middleware and
settings. The HTML around them is FastAPI's (`get_swagger_ui_html`, `get_redoc_html`).

ReDoc's bundle loads one image from outside whatever its options say: the Redocly logo of the sidebar's "API docs
by Redocly" link, from cdn.redoc.ly. Offline that is a failed request and a console error, so the bundle is served
with that address swapped for the favicon shipped beside it (read once, on the first request)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"
ASSETS_PATH = "/docs/assets"
ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
# No online validator badge (it would send the document to validator.swagger.io); the operation ids shown beside
# the paths are the generated clients' method names; "Try it out" sends the request ids and the durations shown.
SWAGGER_UI_PARAMETERS = {"validatorUrl": None, "displayOperationId": True, "displayRequestDuration": True,
                         "persistAuthorization": False, "tryItOutEnabled": False}

REDOC_JS = "redoc.standalone.js"
REDOC_REMOTE_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"

router = APIRouter(include_in_schema=False)


@cache
def _redoc_bundle() -> bytes:
    bundle = (ASSETS_DIR / REDOC_JS).read_bytes()
    if REDOC_REMOTE_LOGO not in bundle:  # a new ReDoc: look at what it loads before pinning it
        raise RuntimeError(f"{REDOC_JS} no longer names {REDOC_REMOTE_LOGO.decode()}")
    return bundle.replace(REDOC_REMOTE_LOGO, f"{ASSETS_PATH}/favicon.png".encode())


@router.get(DOCS_PATH)
async def swagger_ui() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title="Rewards gateway - Swagger UI",
                               swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
                               swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
                               swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
                               oauth2_redirect_url=OAUTH2_REDIRECT_PATH,
                               swagger_ui_parameters=SWAGGER_UI_PARAMETERS)


@router.get(OAUTH2_REDIRECT_PATH)
async def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get(REDOC_PATH)
async def redoc() -> HTMLResponse:
    return get_redoc_html(openapi_url="/openapi.json", title="Rewards gateway - ReDoc",
                          redoc_js_url=f"{ASSETS_PATH}/{REDOC_JS}",
                          redoc_favicon_url=f"{ASSETS_PATH}/favicon.png", with_google_fonts=False)


@router.get(f"{ASSETS_PATH}/{REDOC_JS}")
async def redoc_bundle() -> Response:
    return Response(_redoc_bundle(), media_type="text/javascript", headers={"Cache-Control": "public, max-age=3600"})


def install(app: FastAPI) -> None:
    """The two pages and their assets (the routes first: the ReDoc bundle's route is matched before the mount); the
    app is created with docs_url=None and redoc_url=None."""
    app.include_router(router)
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
