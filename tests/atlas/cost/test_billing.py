"""Billing rules: per-second and hourly metering, minimums, monthly caps, runs over a month."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from atlas.cost import BillingRule, PriceCatalog, PriceLookup, parse_duration
from atlas.cost.billing import MONTH_SECONDS
from atlas.exceptions import PriceCatalogError

PER_SECOND = BillingRule("ps", "second", 672, 60, Decimal("0.01"))
HOURLY = BillingRule("h", "hour", 672)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("10m", 600),
        ("36h", 129600),
        ("45d", 3888000),
        ("90s", 90),
        ("1d12h", 129600),
        (" 2H ", 7200),
    ],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text).seconds == seconds


@pytest.mark.parametrize("text", ["", "10", "m", "10x", "1.5h", "-3h", "10m junk", "0h", "0s0m"])
def test_bad_durations_are_refused_saying_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_a_duration_over_100_years_is_refused_and_100_years_is_priced() -> None:
    assert parse_duration("36500d").seconds == 36500 * 86400
    with pytest.raises(ValueError, match="longer than 100 years"):
        parse_duration("36501d")
    with pytest.raises(ValueError, match="longer than 100 years"):  # found by the API fuzzer
        parse_duration("0d19595100328301207933063489402588308h83167147082252305627961847d")
    assert HOURLY.cost(Decimal(5), Decimal("0.007"), Decimal(1), 36500 * 86400) > 0


def cost(rule: BillingRule, monthly: str, seconds: int, hourly: str = "0") -> Decimal:
    return rule.cost(Decimal(monthly), Decimal(hourly), Decimal(1), seconds)


def test_per_second_minimum_is_60_seconds_or_the_amount_whichever_is_higher() -> None:
    assert cost(PER_SECOND, "6.00", 1) == Decimal("0.01")  # 60 s would be 0.00015
    # $10,000 a month: 60 s is 0.248, above the 0.01 minimum; 1 s is billed as 60.
    assert cost(PER_SECOND, "10000", 1) == cost(PER_SECOND, "10000", 60) == Decimal("0.25")
    assert cost(PER_SECOND, "10000", 61) == Decimal("0.25")  # 0.2522
    assert cost(PER_SECOND, "10000", 120) == Decimal("0.50")


def test_per_second_rate_is_monthly_over_2419200() -> None:
    # DigitalOcean's own example: $100 a month is $0.00004134 a second.
    unit = PER_SECOND.unit_cost(Decimal(100), Decimal(0), 3600)
    assert (unit / 3600).quantize(Decimal("0.00000001")) == Decimal("0.00004134")


def test_the_cap_holds_within_a_month_and_each_whole_month_is_capped() -> None:
    assert cost(PER_SECOND, "6.00", 672 * 3600) == Decimal("6.00")
    assert cost(PER_SECOND, "6.00", MONTH_SECONDS) == Decimal("6.00")
    # 45 days: one capped month (730 h) and 350 h more, 350 / 672 of the monthly price.
    assert cost(PER_SECOND, "6.00", 45 * 86400) == Decimal("9.13")  # 9.125
    assert cost(PER_SECOND, "6.00", 3 * MONTH_SECONDS) == Decimal("18.00")
    # A remainder of one second is charged its minimum, on top of the months.
    assert cost(PER_SECOND, "6.00", MONTH_SECONDS + 1) == Decimal("6.01")


def test_hourly_rules_charge_every_started_hour_up_to_the_cap() -> None:
    assert cost(HOURLY, "12.00", 1, "0.01786") == Decimal("0.02")
    assert cost(HOURLY, "12.00", 3601, "0.01786") == Decimal("0.04")  # two started hours
    # 672 x 0.01786 is 12.00192: never more than the monthly price.
    assert cost(HOURLY, "12.00", 700 * 3600, "0.01786") == Decimal("12.00")


def test_free_things_cost_nothing_whatever_the_minimum() -> None:
    assert cost(PER_SECOND, "0", 600) == Decimal("0.00")


def test_rules_say_what_they_are() -> None:
    assert PER_SECOND.describe() == (
        "per second, minimum 60 s or 0.01 (whichever is higher), at most 672 h a month"
    )
    assert HOURLY.describe() == "per started hour, at most 672 h a month"


CATALOG = """
[catalog]
provider = "metered"
currency = "USD"
effective_date = 2026-11-26
hours_per_month = 672
{default}

[sources.list]
title = "list prices"

[billing.fast]
metering = "second"
minimum_seconds = 60
minimum_amount = "0.01"
source = "list"
as_of = 2026-01-01

[prices."server:big"]
monthly = "96.00"
unit = "server"
source = "list"
billing = "fast"

[prices."disk:gib"]
monthly = "0.10"
unit = "GiB"
source = "list"

[rates."server-backups:weekly"]
fraction = "0.20"
source = "list"
"""


def test_a_price_names_its_rule_and_others_take_the_catalogs() -> None:
    cat = PriceCatalog.from_toml(CATALOG.format(default='billing = "fast"'))
    big, disk = cat.price("server:big"), cat.price("disk:gib")
    assert big is not None
    assert disk is not None
    assert big.billing == disk.billing
    assert big.billing is not None
    assert (big.billing.key, big.billing.cap_hours, big.billing.minimum_seconds) == (
        "fast",
        672,
        60,
    )
    assert (big.billing.source, big.billing.as_of) == ("list", dt.date(2026, 1, 1))
    bare = PriceCatalog.from_toml(CATALOG.format(default=""))
    assert bare.prices["disk:gib"].billing is None


def test_lines_priced_for_a_run_name_their_rule_and_surcharges_follow_their_base() -> None:
    cat = PriceCatalog.from_toml(CATALOG.format(default=""))
    lookup = PriceLookup("metered", cat).for_run(parse_duration("10m"))
    server = lookup.line("Server", "server:big", 2)
    assert server.billing is not None
    assert server.billing.key == "fast"
    assert server.run_cost is not None
    assert server.run_cost.amount == Decimal("96") * 600 / 2419200 * 2  # 0.0476...
    assert server.billed is not None
    assert server.billed.amount == Decimal("0.05")
    backups = lookup.surcharge("Backups", "server-backups:weekly", server)
    assert backups.billing == server.billing
    assert backups.billed is not None
    assert backups.billed.amount == Decimal("0.01")
    disk = lookup.line("Disk", "disk:gib", 100)  # no rule named: hourly, capped at 672 h
    assert disk.billing is not None
    assert disk.billing.metering == "hour"
    assert disk.billed is not None
    assert disk.billed.amount == Decimal("0.01")
    plain = PriceLookup("metered", cat).line("Server", "server:big")
    assert (plain.billing, plain.run_cost) == (None, None)
    assert "run_cost" not in plain.to_dict()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('billing = "fast"', 'billing = "slow"'), "billing 'slow' is not defined under"),
        (('metering = "second"', 'metering = "minute"'), 'metering must be "second" or "hour"'),
        (
            ("minimum_seconds = 60", "minimum_seconds = -1"),
            "minimum_seconds must be a non-negative",
        ),
        (('minimum_amount = "0.01"', "minimum_amount = 0.01"), "minimum_amount must be a string"),
        (("as_of = 2026-01-01", 'as_of = "soon"'), "as_of must be a TOML date"),
        (
            ('source = "list"\nas_of', 'source = "nowhere"\nas_of'),
            "source 'nowhere' is not defined",
        ),
    ],
)
def test_bad_rules_are_refused_naming_the_entry(change: tuple[str, str], message: str) -> None:
    text = CATALOG.format(default="").replace(*change)
    with pytest.raises(PriceCatalogError, match=message) as info:
        PriceCatalog.from_toml(text, origin="p.toml")
    assert "p.toml [" in str(info.value)
