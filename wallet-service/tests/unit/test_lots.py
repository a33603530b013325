"""The rules of points in lots, without a database: which lots a debit takes from, when a granted lot expires,
what counts as expiring soon."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from service_kit.errors import DomainError, ErrorCode
from wallet_service.domain import (
    MAX_LIFETIME_SECONDS,
    Lot,
    expiring_within,
    lot_expiry,
    require_lifetime,
    take_from_lots,
)

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def lot(id_: int, remaining: int, days: float | None, granted: int | None = None) -> Lot:
    expires = None if days is None else NOW + timedelta(days=days)
    return Lot(id_, remaining, granted or remaining, expires, NOW - timedelta(days=100))


def test_a_debit_takes_from_the_lots_that_expire_first_and_from_never_expiring_ones_last() -> None:
    lots = [lot(1, 50, None), lot(2, 30, 10), lot(3, 20, 5)]
    assert take_from_lots(lots, 60, NOW) == [(3, 20), (2, 30), (1, 10)]
    assert take_from_lots(lots, 20, NOW) == [(3, 20)]
    assert take_from_lots(lots, 100, NOW) == [(3, 20), (2, 30), (1, 50)]


def test_among_lots_of_one_expiry_the_older_lot_gives_first() -> None:
    assert take_from_lots([lot(9, 5, 3), lot(4, 5, 3)], 7, NOW) == [(4, 5), (9, 2)]
    assert take_from_lots([lot(9, 5, None), lot(4, 5, None)], 7, NOW) == [(4, 5), (9, 2)]


def test_lapsed_and_empty_lots_are_not_spendable() -> None:
    lots = [lot(1, 50, -1), lot(2, 0, 3, granted=10), lot(3, 10, 0)]
    assert take_from_lots(lots, 1, NOW) is None      # lot 3 lapses at NOW exactly
    assert take_from_lots([*lots, lot(4, 8, 1)], 8, NOW) == [(4, 8)]


def test_lots_that_hold_less_than_the_amount_give_nothing() -> None:
    assert take_from_lots([lot(1, 5, None), lot(2, 5, 1)], 11, NOW) is None
    assert take_from_lots([], 1, NOW) is None


def test_a_grant_expires_when_it_says_which_must_be_ahead() -> None:
    ahead = NOW + timedelta(seconds=1)
    assert lot_expiry(ahead, 3600, NOW) == ahead                     # the grant's own beats the lifetime
    for past in (NOW, NOW - timedelta(days=1)):
        with pytest.raises(DomainError) as info:
            lot_expiry(past, 0, NOW)
        assert info.value.code == ErrorCode.VALIDATION_ERROR
    with pytest.raises(DomainError):
        lot_expiry(datetime(2030, 1, 1), 0, NOW)                      # no time zone


def test_a_grant_without_an_expiry_takes_the_point_types_lifetime_or_never_expires() -> None:
    assert lot_expiry(None, 3600, NOW) == NOW + timedelta(hours=1)
    assert lot_expiry(None, 0, NOW) is None


def test_a_lifetime_is_zero_or_positive_and_bounded() -> None:
    assert require_lifetime(0) == 0
    assert require_lifetime(MAX_LIFETIME_SECONDS) == MAX_LIFETIME_SECONDS
    for bad in (-1, MAX_LIFETIME_SECONDS + 1):
        with pytest.raises(DomainError):
            require_lifetime(bad)


def test_expiring_soon_counts_lots_within_30_days_lapsed_ones_included() -> None:
    lots = [lot(1, 50, None), lot(2, 30, 29.9), lot(3, 20, 30.1), lot(4, 7, -1)]
    assert expiring_within(lots, NOW) == 37
