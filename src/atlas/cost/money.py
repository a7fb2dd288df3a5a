"""Money: a Decimal amount and its currency. Never a float."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import attrs

from atlas.exceptions import CurrencyMismatchError

__all__ = ["Money"]


def _to_decimal(value: Any) -> Decimal:
    if type(value) is Decimal:  # the usual case, first
        return value
    if isinstance(value, bool | float):
        # A float has already lost cents (0.1 + 0.2); refuse it rather than hide the error.
        raise TypeError(f"money amounts must be Decimal, int or str, not {type(value).__name__}")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | str):
        return Decimal(value)
    raise TypeError(f"money amounts must be Decimal, int or str, not {type(value).__name__}")


def _check_currency(value: str) -> str:
    if not (len(value) == 3 and value.isalpha() and value.isupper()):
        raise ValueError(f"currency must be an ISO 4217 code like 'USD', not {value!r}")
    return value


@attrs.frozen(order=False)
class Money:
    """An amount of money in one currency, exact to any number of decimal places."""

    amount: Decimal = attrs.field(converter=_to_decimal)
    currency: str = attrs.field(default="USD", converter=_check_currency)

    @classmethod
    def zero(cls, currency: str = "USD") -> Money:
        return cls(Decimal(0), currency)

    @classmethod
    def total(cls, amounts: Iterable[Money], currency: str = "USD") -> Money:
        """The sum of ``amounts`` (zero in ``currency`` when there are none)."""
        result = cls.zero(currency)
        for amount in amounts:
            result = result + amount
        return result

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatchError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int | Decimal):
            return NotImplemented
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __truediv__(self, divisor: int | Decimal) -> Money:
        if isinstance(divisor, bool) or not isinstance(divisor, int | Decimal):
            return NotImplemented
        return Money(self.amount / divisor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def rounded(self, places: int = 2) -> Money:
        """Rounded half-up to ``places`` decimals (cents by default), the way invoices round."""
        return Money(self.amount.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP), self.currency)

    def __str__(self) -> str:
        """At least two decimals, and every further one that counts: ``6.00 USD``,
        ``0.00893 USD``; exact, never rounded away."""
        amount = self.amount.normalize()
        if amount.as_tuple().exponent >= -2:  # type: ignore[operator]
            amount = amount.quantize(Decimal("0.01"))
        return f"{amount:f} {self.currency}"
