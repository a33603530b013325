"""/docs and /redoc load with no internet: every script, stylesheet and icon they name is served by the gateway
itself from the installed package (the browser test, tests-e2e/browser/test_api_docs.py, renders them)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from gateway.app import create_app
from gateway.config import Settings


@pytest.fixture(scope="module")
def client() -> TestClient:
    # No lifespan: the pages need no database or upstream.
    return TestClient(create_app(Settings(database_url="postgresql://unused@localhost/docs")))


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_page_names_only_the_gateways_own_assets_and_each_is_served(client: TestClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert not re.search(r"https?://", page.text), "the page reaches outside the gateway"
    assets = re.findall(r"""(?:src|href|spec-url)=["']?(/[^"'\s>]+)""", page.text) + re.findall(r"url: ?'(/[^']+)'", page.text)
    assert "/openapi.json" in assets
    assert any(a.endswith(".js") for a in assets)
    for asset in assets:
        answer = client.get(asset)
        assert answer.status_code == 200, asset
        assert len(answer.content) > 1000 or asset.endswith(".png"), asset


def test_the_oauth2_redirect_page_is_served(client: TestClient) -> None:
    assert client.get("/docs/oauth2-redirect").status_code == 200


def test_the_docs_routes_are_not_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not any(p.startswith(("/docs", "/redoc")) for p in paths)


def test_the_redoc_bundle_served_loads_nothing_from_outside(client: TestClient) -> None:
    bundle = client.get("/docs/assets/redoc.standalone.js")
    assert bundle.status_code == 200
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert b"cdn.redoc.ly" not in bundle.content
    assert b"/docs/assets/favicon.png" in bundle.content
