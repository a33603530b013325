"""service_kit.page_tokens: the one page-token codec of every listing."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from service_kit import page_tokens
from service_kit.errors import DomainError, ErrorCode


def refusal(token: str, shape: tuple[type, ...], query: tuple[object, ...] = ()) -> str:
    with pytest.raises(DomainError) as caught:
        page_tokens.decode(token, shape, query)
    assert caught.value.code is ErrorCode.VALIDATION_ERROR
    return caught.value.message


def raw(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@given(st.integers(min_value=0, max_value=2**63 - 1), st.text(max_size=200),
       st.datetimes(timezones=st.just(UTC)), st.text(max_size=20), st.integers())
def test_a_key_comes_back_as_it_went_for_the_same_query(number: int, text: str, moment: datetime, player: str,
                                                        status: int) -> None:
    token = page_tokens.encode([moment, number, text], query=(player, status))
    assert page_tokens.decode(token, (datetime, int, str), query=(player, status)) == (moment, number, text)
    assert "=" not in token and "+" not in token and "/" not in token


def test_the_first_page_has_no_token() -> None:
    assert page_tokens.decode("", (int,)) is None


def test_a_token_of_another_query_is_refused_saying_so() -> None:
    token = page_tokens.encode([42], query=("p1", ""))
    assert "another query" in refusal(token, (int,), ("p2", ""))
    assert "another query" in refusal(token, (int,), ("p1", "gems"))
    assert page_tokens.decode(token, (int,), ("p1", "")) == (42,)


@pytest.mark.parametrize("token", [
    "%%%",                                  # not base64
    raw({}), raw(None), raw("x"),           # not an array
    raw([]), raw([1, 2, "d"]),              # too short, too long for (int,)
    raw([True, page_tokens._digest(())]),   # a bool is not an int
    raw([-1, page_tokens._digest(())]),     # nor a negative one
    raw(["1", page_tokens._digest(())]),    # a string where an int goes
    "A" * (page_tokens.MAX_TOKEN_LENGTH + 4),
])
def test_a_token_this_service_did_not_issue_is_refused(token: str) -> None:
    assert refusal(token, (int,)) == "page_token is not a token this service issued"


def test_text_and_times_are_checked_too() -> None:
    digest = page_tokens._digest(())
    assert "not a token" in refusal(raw(["x" * (page_tokens.MAX_KEY_TEXT + 1), digest]), (str,))
    assert "not a token" in refusal(raw(["yesterday", digest]), (datetime,))
    assert "not a token" in refusal(raw(["2026-12-04T01:00:00", digest]), (datetime,))   # no offset
    east = datetime(2026, 12, 4, 1, tzinfo=timezone(timedelta(hours=5)))
    assert page_tokens.decode(page_tokens.encode([east]), (datetime,)) == (east,)
