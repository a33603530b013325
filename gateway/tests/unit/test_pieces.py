"""Small pure pieces: amounts as decimal strings, request ids, the error table."""

from __future__ import annotations

import pytest
from gateway.edge import request_id_from
from gateway.errors import CANONICAL, public_code, retry_after_headers
from gateway.schemas import CodeInput, ItemChanges, display_amount
from pydantic import ValidationError
from service_kit.errors import DomainError, ErrorCode


def test_display_amount_is_exact():
    assert display_amount(15050, 2) == "150.50"
    assert display_amount(5, 2) == "0.05"
    assert display_amount(-250, 2) == "-2.50"
    assert display_amount(7, 0) == "7"
    assert display_amount(123456789012345678, 6) == "123456789012.345678"


def test_request_ids_are_kept_only_when_sane():
    assert request_id_from("abc-123") == "abc-123"
    assert request_id_from("x" * 128) == "x" * 128
    for bad in (None, "", "x" * 129, "tab\there", "é", "   "):
        made = request_id_from(bad)
        assert made != bad and len(made) == 32


def test_the_canonical_words_of_seed_003():
    assert public_code("INSUFFICIENT_BALANCE") == "INSUFFICIENT_POINTS"
    assert public_code("ITEM_UNAVAILABLE") == "OFFER_UNAVAILABLE"
    assert public_code("SOMETHING_NEW") == "SOMETHING_NEW"
    assert set(CANONICAL) == set(ErrorCode)
    assert all(400 <= e.status < 600 for e in CANONICAL.values())


def test_retry_after_comes_from_the_service_hint_for_any_code_else_the_default_of_later_codes() -> None:
    being_delivered = DomainError(ErrorCode.REDEMPTION_NOT_CANCELLABLE, "being delivered",
                                  {"retry_after_seconds": "2"})
    assert retry_after_headers(being_delivered) == {"Retry-After": "2"}
    assert retry_after_headers(DomainError(ErrorCode.UNAVAILABLE, "down")) == {"Retry-After": "1"}
    assert retry_after_headers(DomainError(ErrorCode.REDEMPTION_NOT_CANCELLABLE, "delivered")) == {}


@pytest.mark.parametrize("instant", ["0001-01-01T00:04:00+02:00", "9999-12-31T23:00:00-05:00"])
def test_an_instant_that_leaves_years_1_to_9999_in_utc_is_refused_as_input_not_a_500(instant: str) -> None:
    """Found by schemathesis: a valid ISO date whose UTC value no datetime can hold overflowed in to_proto."""
    with pytest.raises(ValidationError, match="between the years 0001 and 9999"):
        CodeInput.model_validate({"code": "A", "expiresAt": instant})
    with pytest.raises(ValidationError, match="between the years 0001 and 9999"):
        ItemChanges.model_validate({"availableUntil": instant})


def test_instants_are_sent_in_utc_and_a_naive_availability_is_read_as_utc() -> None:
    code = CodeInput.model_validate({"code": "A", "expiresAt": "2027-01-31T23:59:59+02:00"}).to_proto()
    assert code.expires_at.ToJsonString() == "2027-01-31T21:59:59Z"
    item, mask = ItemChanges.model_validate({"availableFrom": "2027-01-31T10:00:00"}).to_proto(only_sent=True)
    assert mask == ["available_from"] and item.available_from.ToJsonString() == "2027-01-31T10:00:00Z"
    with pytest.raises(ValidationError):
        CodeInput.model_validate({"code": "A", "expiresAt": "2027-01-31T23:59:59"})  # a code's expiry needs a zone
