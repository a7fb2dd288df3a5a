from __future__ import annotations

import datetime as dt

import attrs
import pytest

from atlas import Money, PriceCatalog, PriceCatalogError
from atlas.cost.catalog import Price, Source

GOOD = """
[catalog]
provider = "toy"
currency = "USD"
effective_date = 2026-01-01
hours_per_month = 672

[sources.list]
title = "List"
url = "https://example.test"

[prices."node:small"]
monthly = "6.00"
unit = "node"
source = "list"

[prices."node:api"]
monthly = "6.00"
hourly = "0.00893"
unit = "node"
source = "list"

[rates."backups:weekly"]
fraction = "0.20"
source = "list"
"""


def test_catalog_parses() -> None:
    cat = PriceCatalog.from_toml(GOOD)
    assert cat.effective_date == dt.date(2026, 1, 1)
    small = cat.price("node:small")
    assert small is not None
    assert small.hourly_derived
    assert small.hourly.rounded(5) == Money("0.00893")
    assert cat.price("node:api") == Price(
        "node:api", Money("6.00"), Money("0.00893"), "node", "list"
    )
    assert cat.variants("node") == ("api", "small")
    assert cat.rate("backups:weekly") is not None


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (('source = "list"\n\n[rates', 'source = "nowhere"\n\n[rates'), "'nowhere' is not defined"),
        (('monthly = "6.00"', "monthly = 6.0"), "not a float"),
        (('monthly = "6.00"', 'monthly = "six"'), "is not a number"),
        (('monthly = "6.00"', 'monthly = "-1"'), "must not be negative"),
        (("hours_per_month = 672", "hours_per_month = 0"), "positive integer"),
        (("effective_date = 2026-01-01", 'effective_date = "soon"'), "TOML date"),
        (('unit = "node"', "unit = 3"), "unit must be a non-empty string"),
        (("[catalog]", "[catalogue]"), "missing table [catalog]"),
        (("[catalog]", "[catalog"), "not valid TOML"),
        (
            ("hours_per_month = 672", "hours_per_month = 672\nhourly_places = 11"),
            "between 0 and 10",
        ),
        (
            ("hours_per_month = 672", "hours_per_month = 672\nhourly_places = -1"),
            "between 0 and 10",
        ),
        (("hours_per_month = 672", 'hours_per_month = 672\nhourly_places = "5"'), "an integer"),
        (("hours_per_month = 672", "hours_per_month = 672\nhourly_places = true"), "an integer"),
    ],
)
def test_malformed_catalogs_are_refused(change: tuple[str, str], fragment: str) -> None:
    with pytest.raises(PriceCatalogError, match=fragment.replace("[", r"\[")):
        PriceCatalog.from_toml(GOOD.replace(*change, 1), origin="test.toml")


def test_live_prices_replace_entries_with_their_own_source() -> None:
    cat = PriceCatalog.from_toml(GOOD)
    live = Source("live", "GET /v2/sizes")
    new = cat.with_prices([Price("node:small", Money("5"), Money("0.0075"), "node", "x")], live)
    refreshed = new.price("node:small")
    assert refreshed is not None
    assert refreshed.monthly == Money("5")
    assert refreshed.source == "live"
    assert new.sources["live"] == live
    assert cat.price("node:small").monthly == Money("6.00")  # type: ignore[union-attr]


def test_hourly_precision_is_the_catalogs() -> None:
    assert PriceCatalog.from_toml(GOOD).hourly_places == 5  # when the catalog does not say
    text = GOOD.replace("hours_per_month = 672", "hours_per_month = 672\nhourly_places = 3")
    cat = PriceCatalog.from_toml(text)
    assert cat.hourly_places == 3
    source = Source("live", "live")
    assert cat.with_prices([], source).hourly_places == 3
    with pytest.raises(ValueError, match="hourly_places"):
        attrs.evolve(cat, hourly_places=11)
