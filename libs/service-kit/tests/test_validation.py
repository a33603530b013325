"""service_kit.validation: the one way every service checks a text field."""

from __future__ import annotations

import pytest
from service_kit.errors import DomainError, ErrorCode
from service_kit.validation import optional_text, require_text


def refusal(check, *args) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as caught:
        check(*args)
    assert caught.value.code is ErrorCode.VALIDATION_ERROR
    return caught.value.message


def test_a_required_field_is_present_not_blank_bounded_and_without_nul() -> None:
    assert require_text("p1", "player_id", 128) == "p1"
    assert require_text("x" * 128, "player_id", 128) == "x" * 128
    assert refusal(require_text, "", "player_id", 128) == "player_id is required"
    assert refusal(require_text, " \t\n", "player_id", 128) == "player_id is required"
    assert refusal(require_text, "x" * 129, "player_id", 128) == "player_id must be at most 128 characters"
    assert refusal(require_text, "a\x00b", "player_id", 128) == "player_id must not contain NUL characters"


def test_an_optional_field_may_be_empty_but_is_bounded_in_characters_not_bytes() -> None:
    assert optional_text("", "comment", 3) == ""
    assert optional_text("ééé", "comment", 3) == "ééé"
    assert refusal(optional_text, "éééé", "comment", 3) == "comment must be at most 3 characters"
