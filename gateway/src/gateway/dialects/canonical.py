"""Seed 003, the canonical API: offers (items), wallets, redemptions, operators' admin routes, events and webhooks
under /v1, and the health probes. Errors are application/problem+json (gateway.errors) with a stable `code`, and
a failed validation names each bad field.

The routes are gateway.routes, one module per area. Its prefix is /v1; an error on a path no API claims (a probe,
a path no route has) is answered in its shape too (gateway.dialects.answering_dialect)."""

from __future__ import annotations

from gateway.dialects.base import Dialect
from gateway.errors import crash_response, domain_error_response, refusal_response, validation_response
from gateway.openapi import NotReady, Problem
from gateway.routes import admin, auth, events, fulfillment, health, items, redemptions, wallet, webhooks

PREFIX = "/v1"

DIALECT = Dialect(
    name="canonical", prefix=PREFIX,
    routers=tuple(module.router for module in (health, auth, items, wallet, redemptions, admin, fulfillment, events,
                                               webhooks)),
    render_error=domain_error_response, render_refusal=refusal_response, error_models=(Problem, NotReady),
    render_invalid=validation_response, render_crash=crash_response)
