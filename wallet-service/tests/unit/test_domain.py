"""The wallet's input rules and page tokens, without a database."""

from __future__ import annotations

import pytest
from service_kit.errors import DomainError, ErrorCode
from service_kit.validation import require_text
from wallet_service.domain import (
    MAX_AMOUNT,
    page_size_of,
    require_adjustment_amount,
    require_point_type_code,
    require_positive_amount,
)


def _refusal(call, *args) -> DomainError:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as info:
        call(*args)
    assert info.value.code == ErrorCode.VALIDATION_ERROR
    return info.value


def test_page_size_defaults_and_caps() -> None:
    assert page_size_of(0) == 20
    assert page_size_of(7) == 7
    assert page_size_of(100) == 100
    assert page_size_of(101) == 100
    _refusal(page_size_of, -1)


def test_amount_rules() -> None:
    assert require_positive_amount(1) == 1
    for bad in (0, -1, MAX_AMOUNT + 1):
        _refusal(require_positive_amount, bad)
    assert require_adjustment_amount(-5) == -5
    for bad in (0, MAX_AMOUNT + 1, -MAX_AMOUNT - 1):
        _refusal(require_adjustment_amount, bad)


def test_text_rules() -> None:
    assert require_text("p1", "player_id", 128) == "p1"
    assert _refusal(require_text, "", "player_id", 128).message == "player_id is required"
    assert _refusal(require_text, " \t", "player_id", 128).message == "player_id is required"
    assert "at most 128" in _refusal(require_text, "x" * 129, "player_id", 128).message
    assert "NUL" in _refusal(require_text, "a\x00b", "player_id", 128).message
    assert require_point_type_code("free_rounds.v2") == "free_rounds.v2"
    assert "only letters" in _refusal(require_point_type_code, "gems!").message
