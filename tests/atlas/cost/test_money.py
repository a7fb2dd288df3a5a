from __future__ import annotations

from decimal import Decimal

import pytest

from atlas import CurrencyMismatchError, Money


def test_money_is_exact() -> None:
    assert Money("0.10") + Money("0.20") == Money("0.30")
    assert Money("0.1") * 3 == Money("0.3")
    assert sum((Money("0.01") for _ in range(100)), Money.zero()) == Money("1.00")


@pytest.mark.parametrize("bad", [0.1, True, None, [1]])
def test_money_refuses_floats_and_other_things(bad: object) -> None:
    with pytest.raises(TypeError, match="must be Decimal, int or str"):
        Money(bad)


def test_money_refuses_mixing_currencies() -> None:
    with pytest.raises(CurrencyMismatchError, match="USD with EUR"):
        Money("1", "USD") + Money("1", "EUR")
    with pytest.raises(CurrencyMismatchError):
        assert Money("1", "USD") < Money("2", "EUR")


def test_currency_must_be_iso_4217() -> None:
    with pytest.raises(ValueError, match="ISO 4217"):
        Money("1", "usd")


def test_rounding_is_half_up_like_invoices() -> None:
    assert Money("0.125").rounded() == Money("0.13")
    assert Money("0.000125").rounded(5) == Money("0.00013")
    assert str(Money("6")) == "6.00 USD"


def test_arithmetic_and_ordering() -> None:
    assert Money("10") - Money("2.5") == Money("7.5")
    assert Money("9") / 3 == Money("3")
    assert -Money("1") == Money("-1")
    assert Money("1") < Money("2") <= Money("2") < Money("3")
    assert Money.total([], "EUR") == Money("0", "EUR")
    assert Money(Decimal("1.50")).amount == Decimal("1.50")
