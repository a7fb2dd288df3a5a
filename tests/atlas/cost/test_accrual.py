"""Accrued cost from spans: per second with a minimum and a monthly cap, once per line per
month; hourly rules; a forecast that runs what exists to the month's end."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from atlas.cost.accrual import Meter, Span, accrue, month_bounds, parse_month
from atlas.cost.billing import BillingRule

PER_SECOND = BillingRule(
    "droplet-per-second-2026", "second", 672, minimum_seconds=60, minimum_amount=Decimal("0.01")
)
HOURLY = BillingRule("hourly-672", "hour", 672)
START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def meter(monthly: str, rule: BillingRule = PER_SECOND, units: int = 1) -> Meter:
    price = Decimal(monthly)
    return Meter(
        f"x:{monthly}", price, (price / 672).quantize(Decimal("0.00001")), rule, Decimal(units)
    )


def span(seconds: int, *meters: Meter, after: int = 0, name: str = "web") -> Span:
    begin = START + dt.timedelta(seconds=after)
    return Span(name, "droplet", begin, begin + dt.timedelta(seconds=seconds), meters)


def cost(*spans: Span, days: int = 31) -> Decimal | None:
    return accrue(spans, START, START + dt.timedelta(days=days))["web"][1]


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (10, "0.01"),  # under the 60-second minimum: $0.01
        (600, "0.01"),  # 0.0015, under the $0.01 minimum
        (259_200, "0.64"),  # 259,200 x 6 / 2,419,200 = 0.6429
        (672 * 3600, "6.00"),  # the cap
        (31 * 86_400, "6.00"),  # a whole 31-day month is still the monthly price
    ],
)
def test_per_second_with_a_minimum_and_a_cap(seconds: int, expected: str) -> None:
    assert cost(span(seconds, meter("6.00"))) == Decimal(expected)


def test_a_resize_prices_each_size_for_its_own_span() -> None:
    small = span(86_400, meter("6.00"))
    large = span(86_400, meter("24.00"), after=86_400)
    # 86,400 x 6 / 2,419,200 = 0.2143; x 24 = 0.8571.
    assert cost(small, large) == Decimal("0.21") + Decimal("0.86")


def test_two_spans_of_one_line_are_one_line_of_the_month() -> None:
    # Two 30-second spans at one size: 60 seconds, one minimum, not two.
    assert cost(span(30, meter("6.00")), span(30, meter("6.00"), after=100)) == Decimal("0.01")
    # 29 days in ten spans at one size reach its cap; two days at another are priced apart.
    small = [span(29 * 8_640, meter("6.00"), after=i * 29 * 8_640) for i in range(10)]
    large = span(2 * 86_400, meter("12.00"), after=29 * 86_400)
    assert cost(*small, large) == Decimal("6.00") + Decimal("0.86")


def test_units_multiply_and_hourly_rules_count_started_hours() -> None:
    assert cost(span(259_200, meter("6.00", units=3))) == Decimal("1.93")  # 3 x 0.6429
    # 90 minutes per started hour: 2 hours of 0.10 x 100 / 672 (rounded to 0.00015 a GiB).
    assert cost(span(5_400, meter("0.10", HOURLY, units=100))) == Decimal("0.03")


def test_the_window_cuts_spans_and_open_spans_run_to_its_end() -> None:
    before = Span(
        "web",
        "droplet",
        START - dt.timedelta(days=10),
        START + dt.timedelta(days=3),
        (meter("6.00"),),
    )
    assert cost(before) == Decimal("0.64")  # only March's three days
    live = Span("web", "droplet", START, None, (meter("6.00"),))
    assert accrue([live], START, START + dt.timedelta(days=3))["web"] == (259_200, Decimal("0.64"))


def test_an_unpriced_span_has_no_cost() -> None:
    unknown = Span("web", "droplet", START, START + dt.timedelta(hours=1), (), ("no price",))
    assert cost(unknown) is None


def test_months_are_calendar_months_in_utc() -> None:
    assert parse_month("2026-02") == (2026, 2)
    start, end = month_bounds(2028, 2)
    assert (end - start).days == 29
    assert start.tzinfo is dt.UTC
    for bad in ("2026-13", "2026-3", "march", "1969-12"):
        with pytest.raises(ValueError, match="is not YYYY-MM"):
            parse_month(bad)
