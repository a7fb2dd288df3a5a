"""Billing rules: what running a priced unit for a given length of time costs.

A rule belongs to each price of a catalog. It is provider-neutral: usage is metered per second
or per (started) hour, with a minimum number of seconds and a minimum amount per unit, and a
month costs at most ``cap_hours`` hours of usage (which is the price's ``monthly`` figure).
A run longer than a month is priced as whole months, each capped, plus the remainder.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

import attrs

__all__ = [
    "MONTH_SECONDS",
    "BillingRule",
    "Duration",
    "parse_duration",
]

#: What "a month" of a run is: 730 hours, the mean month of the Gregorian year rounded to the
#: hour, the convention cloud bills use. Each whole month of a run is priced at most its cap.
MONTH_SECONDS = 730 * 3600

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(\d+)([smhd])")


@attrs.frozen
class Duration:
    """A length of run, as the user wrote it and in seconds."""

    text: str
    seconds: int

    @classmethod
    def month(cls) -> Duration:
        return cls("1 month", MONTH_SECONDS)


#: The longest run priced: 100 years of 365 days.
MAX_DURATION_SECONDS = 36500 * 86400


def parse_duration(text: str) -> Duration:
    """``10m``, ``36h``, ``45d``, ``90s`` (or several, ``1d12h``): a positive whole length.

    Raises ``ValueError`` saying what is accepted.
    """
    cleaned = text.strip().lower()
    parts = _DURATION.findall(cleaned)
    if not cleaned or "".join(n + u for n, u in parts) != cleaned:
        raise ValueError(
            f"duration {text!r} is not a whole number followed by s, m, h or d (such as 10m, "
            "36h, 45d)"
        )
    seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError(f"duration {text!r} must be longer than zero")
    if seconds > MAX_DURATION_SECONDS:
        # Far past any bill anyone plans, and past what the cost arithmetic is exact for.
        raise ValueError(f"duration {text!r} is longer than 100 years (36500d)")
    return Duration(text.strip(), seconds)


@attrs.frozen
class BillingRule:
    """How a price is metered over time.

    ``metering`` is ``"second"`` (usage counted to the second) or ``"hour"`` (every started hour
    counts in full). A unit is charged at least ``minimum_seconds`` of usage and at least
    ``minimum_amount``; at most ``cap_hours`` hours a month. ``places`` is what a line's cost
    for a run is rounded to (half-up), once. ``source`` is a key of the catalog's sources and
    ``as_of`` the date the rule holds from.
    """

    key: str
    metering: Literal["second", "hour"]
    cap_hours: int
    minimum_seconds: int = 0
    minimum_amount: Decimal = Decimal(0)
    places: int = 2
    source: str = ""
    as_of: dt.date | None = None
    note: str = ""

    def unit_cost(self, monthly: Decimal, hourly: Decimal, seconds: int) -> Decimal:
        """What one unit of a price costs for a run of ``seconds``, unrounded.

        ``monthly`` is the price of a capped month; ``hourly`` the rate an hour-metered rule
        charges per started hour (a per-second rule uses ``monthly / (cap_hours x 3600)``).
        """
        months, rest = divmod(seconds, MONTH_SECONDS)
        cost = months * self._within_month(monthly, hourly, MONTH_SECONDS)
        if rest:
            cost += self._within_month(monthly, hourly, rest)
        return cost

    def month_cost(self, monthly: Decimal, hourly: Decimal, seconds: int) -> Decimal:
        """What one unit costs for ``seconds`` of use within one calendar month, unrounded:
        metered, at least the minimum, at most the monthly cap (what accrued cost is made of,
        where a month is the bill's, not :data:`MONTH_SECONDS`)."""
        return self._within_month(monthly, hourly, seconds)

    def cost(self, monthly: Decimal, hourly: Decimal, quantity: Decimal, seconds: int) -> Decimal:
        """``quantity`` units for ``seconds``, rounded to ``places``."""
        exact = self.unit_cost(monthly, hourly, seconds) * quantity
        return exact.quantize(Decimal(1).scaleb(-self.places), ROUND_HALF_UP)

    def describe(self) -> str:
        """One line saying what the rule is: ``per second, minimum 60 s or 0.01, cap 672 h``."""
        parts = ["per second" if self.metering == "second" else "per started hour"]
        minimums = []
        if self.minimum_seconds:
            minimums.append(f"{self.minimum_seconds} s")
        if self.minimum_amount:
            minimums.append(f"{self.minimum_amount}")
        if minimums:
            parts.append("minimum " + " or ".join(minimums) + " (whichever is higher)")
        parts.append(f"at most {self.cap_hours} h a month")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, object]:
        return {
            "rule": self.key,
            "metering": self.metering,
            "minimum_seconds": self.minimum_seconds,
            "minimum_amount": float(self.minimum_amount),
            "cap_hours_per_month": self.cap_hours,
            "source": self.source or None,
            "as_of": self.as_of.isoformat() if self.as_of else None,
        }

    def _within_month(self, monthly: Decimal, hourly: Decimal, seconds: int) -> Decimal:
        if monthly == 0:
            return Decimal(0)
        billed = max(seconds, self.minimum_seconds)
        if self.metering == "second":
            cap_seconds = min(billed, self.cap_hours * 3600)
            cost = monthly * cap_seconds / (self.cap_hours * 3600)
        else:
            started_hours = min(-(-billed // 3600), self.cap_hours)
            cost = hourly * started_hours
        return min(max(cost, self.minimum_amount), monthly)
