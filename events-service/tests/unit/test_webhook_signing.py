"""What a webhook delivery sends: Standard Webhooks' headers that the standardwebhooks package verifies (with the
current secret, and during a rotation's overlap with the previous one too), the body of a GET /v1/events item,
the retry schedule, and the refusals of a bad endpoint."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from events_service import domain
from service_kit.errors import DomainError, ErrorCode
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

EVENT = {"id": "6f1c2a34-1d2e-4c5b-8a9f-0123456789ab", "type": "redemption.completed", "version": 1,
         "time": datetime(2026, 12, 4, 1, 2, 3, 456789, tzinfo=UTC), "tenant": "acme", "environment": "live",
         "data": {"redemption_id": "r1", "status": "COMPLETED"}, "seq": 42}


def test_a_secret_is_whsec_and_base64_of_32_random_bytes() -> None:
    secret = domain.new_secret()
    assert secret.startswith("whsec_") and secret != domain.new_secret()
    Webhook(secret)   # the package reads it


def test_a_delivery_verifies_with_the_standardwebhooks_package() -> None:
    secret = domain.new_secret()
    payload = domain.body(EVENT)
    headers = domain.signed_headers(EVENT["id"], payload, [secret], datetime.now(UTC))
    assert headers["webhook-id"] == EVENT["id"] and headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(payload, headers) == json.loads(payload)


def test_the_body_is_a_get_events_item() -> None:
    assert json.loads(domain.body(EVENT)) == {
        "id": EVENT["id"], "type": "redemption.completed", "version": 1, "time": "2026-12-04T01:02:03.456789Z",
        "tenant": "acme", "environment": "live", "data": {"redemption_id": "r1", "status": "COMPLETED"},
        "cursor": "42"}


def test_during_a_rotation_both_secrets_verify_and_no_other() -> None:
    old, new = domain.new_secret(), domain.new_secret()
    payload = domain.body(EVENT)
    headers = domain.signed_headers(EVENT["id"], payload, [new, old], datetime.now(UTC))
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(payload, headers)
    Webhook(new).verify(payload, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(domain.new_secret()).verify(payload, headers)
    # After the overlap only the new one signs: a receiver still holding the old one stops verifying.
    after = domain.signed_headers(EVENT["id"], payload, [new], datetime.now(UTC))
    Webhook(new).verify(payload, after)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(payload, after)


def test_a_tampered_body_or_a_stale_timestamp_does_not_verify() -> None:
    secret = domain.new_secret()
    payload = domain.body(EVENT)
    headers = domain.signed_headers(EVENT["id"], payload, [secret], datetime.now(UTC))
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(payload.replace("COMPLETED", "CANCELED"), headers)
    stale = domain.signed_headers(EVENT["id"], payload, [secret], datetime.now(UTC) - timedelta(minutes=10))
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(payload, stale)


def test_retries_double_from_the_base_up_to_the_cap_with_jitter() -> None:
    lowest = [domain.retry_delay(n, base=5, cap=3600, rand=lambda: 0.0) for n in range(1, 13)]
    highest = [domain.retry_delay(n, base=5, cap=3600, rand=lambda: 1.0) for n in range(1, 13)]
    assert highest[:5] == [5, 10, 20, 40, 80]
    assert lowest[:5] == [2.5, 5, 10, 20, 40]
    assert highest[-1] == 3600 and lowest[-1] == 1800, "capped"
    assert domain.retry_delay(10_000, base=5, cap=3600, rand=lambda: 1.0) == 3600, "no overflow"
    assert 2.5 <= domain.retry_delay(1, base=5, cap=3600) <= 5


def test_the_default_schedule_reaches_three_days_in_about_two_dozen_attempts() -> None:
    elapsed, attempts = 0.0, 0
    while elapsed < 3 * 24 * 3600:
        attempts += 1
        elapsed += domain.retry_delay(attempts, base=5, cap=6 * 3600, rand=lambda: 1.0)
    assert 15 <= attempts <= 30


@pytest.mark.parametrize(("url", "reason"), [
    ("ftp://example.com/hook", "must start with https://"),
    ("http://example.com/hook", "must start with https://"),
    ("https:///hook", "names no host"),
    ("https://user:pw@example.com/hook", "user or password"),
    ("https://example.com:99999/hook", "not a URL"),
    ("", "url is required"),
])
def test_a_bad_url_is_refused(url: str, reason: str) -> None:
    with pytest.raises(DomainError) as refused:
        domain.check_url(url, allow_http=False, allow_private=False)
    assert refused.value.code is ErrorCode.VALIDATION_ERROR and reason in str(refused.value)


def test_http_only_where_allowed_and_unknown_types_refused() -> None:
    assert domain.check_url("http://127.0.0.1:8080/hook", allow_http=True, allow_private=True) == \
        "http://127.0.0.1:8080/hook"
    assert domain.check_event_types(["redemption.created", "redemption.created", "webhook.endpoint.disabled"]) \
        == ["redemption.created", "webhook.endpoint.disabled"]
    with pytest.raises(DomainError, match="unknown event types"):
        domain.check_event_types(["redemption.exploded"])
