"""The DigitalOcean price catalog: every figure traces to a source, and the 672-hour rule holds."""

from __future__ import annotations

from decimal import Decimal

import pytest

from atlas import Money, ProviderRegistry
from atlas_digitalocean.prices import load_offerings, load_price_catalog


def test_every_figure_names_a_source_with_an_address() -> None:
    cat = load_price_catalog()
    used = {p.source for p in cat.prices.values()} | {r.source for r in cat.rates.values()}
    assert used <= set(cat.sources)
    for key in used:
        assert cat.sources[key].url.startswith("https://"), key
        assert cat.sources[key].title, key


def test_catalog_is_dated_and_capped_at_672_hours() -> None:
    cat = load_price_catalog()
    assert cat.hours_per_month == 672
    assert cat.hourly_places == 5  # declared, as the API gives price_hourly
    assert cat.currency == "USD"
    assert cat.effective_date.year >= 2026


@pytest.mark.parametrize(
    ("size", "monthly", "hourly"),
    [
        ("s-1vcpu-512mb-10gb", "4.00", "0.00595"),
        ("s-1vcpu-1gb", "6.00", "0.00893"),
        ("s-2vcpu-4gb", "24.00", "0.03571"),
        ("g-2vcpu-8gb", "63.00", "0.09375"),
    ],
)
def test_droplet_prices(size: str, monthly: str, hourly: str) -> None:
    price = load_price_catalog().price(f"droplet:{size}")
    assert price is not None
    assert price.monthly == Money(monthly)
    assert price.hourly.rounded(5) == Money(hourly)


def test_every_hourly_figure_is_monthly_over_672() -> None:
    for price in load_price_catalog().prices.values():
        derived = (price.monthly.amount / 672).quantize(Decimal("0.00001"))
        assert abs(price.hourly.amount - derived) <= Decimal("0.00001"), price.sku


def test_issue_figures() -> None:
    cat = load_price_catalog()
    expect = {
        "volume:gib": "0.10",
        "load_balancer:node": "12.00",
        "firewall:firewall": "0",
        "vpc:vpc": "0",
        "database:db-s-1vcpu-1gb": "15.00",
        "database:db-s-1vcpu-2gb": "30.00",
        "database:db-s-2vcpu-4gb": "60.00",
        "database:db-s-4vcpu-8gb": "120.00",
    }
    for sku, monthly in expect.items():
        assert cat.price(sku).monthly == Money(monthly), sku  # type: ignore[union-attr]
    assert cat.rate("droplet-backups:weekly").fraction == Decimal("0.20")  # type: ignore[union-attr]
    assert cat.rate("droplet-backups:daily").fraction == Decimal("0.30")  # type: ignore[union-attr]


def test_offerings() -> None:
    offer = load_offerings()
    assert "nyc3" in offer.regions
    assert "ubuntu-24-04-x64" in offer.images


def test_registry_uses_the_shipped_catalog(registry: ProviderRegistry) -> None:
    assert registry.catalog("digitalocean") is load_price_catalog()
    assert registry.get("do").name == "digitalocean"


def test_droplets_are_billed_per_second_since_2026_and_the_rest_hourly() -> None:
    cat = load_price_catalog()
    for sku, price in cat.prices.items():
        rule = price.billing
        assert rule is not None, sku
        assert rule.cap_hours == 672, sku
        assert rule.source in cat.sources, sku
        assert rule.as_of is not None, sku
        if sku.startswith("droplet:"):
            assert (rule.metering, rule.minimum_seconds) == ("second", 60), sku
            assert rule.minimum_amount == Decimal("0.01"), sku
            assert rule.as_of.isoformat() == "2026-01-01", sku
        else:
            assert (rule.metering, rule.minimum_seconds, rule.minimum_amount) == ("hour", 0, 0)
    source = cat.sources[cat.prices["droplet:s-1vcpu-1gb"].billing.source]  # type: ignore[union-attr]
    assert "per second" in source.title
    assert source.url.startswith("https://www.digitalocean.com/")
