"""Estimates: per resource, per line item, monthly and hourly; never an invented figure."""

from __future__ import annotations

import json
from typing import Any

import attrs

import atlas
from atlas import Money, PriceCatalog, ProviderRegistry
from atlas.cost import Estimate, PriceLookup, ResourceEstimate
from tests.conftest import EXAMPLES


def droplet(size: str, **more: Any) -> dict[str, Any]:
    return {"type": "droplet", "name": "web", "specifications": {"size": size, **more}}


def spec(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"name": "e", "provider": "digitalocean", "region": "nyc3", "resources": list(resources)}


def test_seed_droplet_costs_six_dollars_not_hourly_times_720(registry: ProviderRegistry) -> None:
    est = atlas.estimate(EXAMPLES / "one-droplet.json", registry=registry)
    assert est.monthly == Money("6.00")
    assert est.hourly == Money("0.00893")
    assert est.currency == "USD"
    assert (est.hourly.amount * 720).quantize(Money("0.01").amount) == Money("6.43").amount


def test_mission_web_app(registry: ProviderRegistry) -> None:
    est = atlas.estimate(EXAMPLES / "web-app.yaml", registry=registry)
    rows = {r.resource_name: r for r in est.breakdown}
    web = rows["web-server"]
    assert [li.description for li in web.line_items] == [
        "Droplet s-2vcpu-4gb",
        "Daily backups (30 %)",
    ]
    assert web.monthly == Money("31.20")
    assert rows["app-db"].monthly == Money("30.00")
    assert est.monthly == Money("61.20")
    assert est.hourly == Money("0.09106")
    assert est.complete


def test_breakdown_is_per_resource_not_an_even_split(registry: ProviderRegistry) -> None:
    est = atlas.estimate(EXAMPLES / "stack.yaml", registry=registry)
    costs = {r.resource_name: r.monthly for r in est.breakdown}
    assert costs == {
        "net": Money("0"),
        "web": Money("43.20"),
        "worker": Money("24.00"),
        "data": Money("10.00"),
        "db": Money("60.00"),
        "lb": Money("12.00"),
        "fw": Money("0"),
    }
    assert est.monthly == Money("149.20")


def test_weekly_backups_are_twenty_percent(registry: ProviderRegistry) -> None:
    est = atlas.estimate(spec(droplet("s-1vcpu-1gb", backups="weekly")), registry=registry)
    assert est.monthly == Money("7.20")
    assert est.breakdown[0].line_items[1].source == "backups"


def test_volume_hourly_is_its_monthly_over_672_hours(registry: ProviderRegistry) -> None:
    vol = {"type": "volume", "name": "v", "specifications": {"size_gigabytes": 100}}
    est = atlas.estimate(spec(vol), registry=registry)
    assert est.monthly == Money("10.00")
    assert est.hourly == Money("0.01488")  # 10 / 672, not 100 x 0.00015


def test_unknown_price_is_said_never_invented(registry: ProviderRegistry) -> None:
    db = {
        "type": "database",
        "name": "db",
        "specifications": {"engine": "pg", "size": "db-s-1vcpu-2gb", "storage_size_mib": 20480},
    }
    est = atlas.estimate(spec(droplet("s-1vcpu-1gb"), db), registry=registry)
    assert not est.complete
    unpriced = est.breakdown[1]
    assert unpriced.monthly is None
    assert "database:storage-gib" in unpriced.unpriced[0]
    # Every priced line counts, the database's own included: at least this much is spent.
    assert est.monthly == Money("36.00")  # 6.00 + db-s-1vcpu-2gb 30.00, its storage unknown
    out = est.to_dict()
    assert out["complete"] is False
    assert out["estimated_monthly_cost"] == 36.0
    assert out["breakdown"][1]["estimated_cost"] is None
    assert out["breakdown"][1]["unpriced"]


def test_missing_catalog_makes_every_price_unknown(registry: ProviderRegistry) -> None:
    empty = registry.catalog("digitalocean")
    assert empty is not None
    bare = registry.replace_catalog(attrs.evolve(empty, prices={}, rates={}))
    est = atlas.estimate(spec(droplet("s-1vcpu-1gb")), registry=bare)
    assert est.breakdown[0].monthly is None
    assert "not in the digitalocean price catalog" in est.breakdown[0].unpriced[0]


def test_json_shape_is_what_the_http_api_serves(registry: ProviderRegistry) -> None:
    out = atlas.estimate(EXAMPLES / "web-app.yaml", registry=registry).to_dict()
    assert set(out) >= {"estimated_monthly_cost", "estimated_hourly_cost", "currency", "breakdown"}
    assert out["estimated_monthly_cost"] == 61.2
    row = out["breakdown"][0]
    assert set(row) >= {"resource_type", "resource_name", "estimated_cost", "line_items"}
    assert row["line_items"][1]["monthly_cost"] == 7.2
    json.dumps(out)  # serialisable as it is


def test_estimates_need_no_credentials(registry: ProviderRegistry, monkeypatch: Any) -> None:
    for var in ("DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN", "DIGITALOCEAN_API_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    assert atlas.estimate(EXAMPLES / "stack.yaml", registry=registry).complete


METERED = """
[catalog]
provider = "metered"
currency = "USD"
effective_date = 2026-01-01
hours_per_month = 730
hourly_places = {places}

[sources.list]
title = "List"

[prices."disk:gib"]
monthly = "0.10"
unit = "GiB"
source = "list"

[rates."disk-snapshots:daily"]
fraction = "0.25"
source = "list"
"""


def priced_with(places: int) -> dict[str, Any]:
    catalog = PriceCatalog.from_toml(METERED.format(places=places))
    lookup = PriceLookup("metered", catalog)
    assert lookup.hourly_places == places
    disk = lookup.line("Disk 100 GiB", "disk:gib", 100)
    items = (disk, lookup.surcharge("Daily snapshots", "disk-snapshots:daily", disk))
    resource = ResourceEstimate("disk", "data", items, lookup.hourly_places)
    return Estimate("USD", (resource,), (), lookup.hourly_places).to_dict()


def test_hourly_figures_have_the_precision_of_their_catalog() -> None:
    # 100 x 0.10 / 730 = 0.0136986...; the snapshots are a quarter of the rounded line.
    three = priced_with(3)
    lines = three["breakdown"][0]["line_items"]
    assert [li["hourly_cost"] for li in lines] == [0.014, 0.004]
    assert three["breakdown"][0]["estimated_hourly_cost"] == 0.018
    assert three["estimated_hourly_cost"] == 0.018
    six = priced_with(6)
    lines = six["breakdown"][0]["line_items"]
    assert [li["hourly_cost"] for li in lines] == [0.013699, 0.003425]
    assert six["estimated_hourly_cost"] == 0.017124
    # Monthly figures are to the cent whatever the hourly precision.
    assert three["estimated_monthly_cost"] == six["estimated_monthly_cost"] == 12.5


def test_an_estimate_carries_its_catalogs_precision(registry: ProviderRegistry) -> None:
    catalog = registry.catalog("digitalocean")
    assert catalog is not None
    coarse = registry.replace_catalog(attrs.evolve(catalog, hourly_places=3))
    est = atlas.estimate(EXAMPLES / "one-droplet.json", registry=coarse)
    assert est.hourly_places == 3
    assert est.hourly == Money("0.009")  # 0.00893 to three places
    assert est.breakdown[0].line_items[0].hourly_places == 3
    assert est.to_dict()["estimated_hourly_cost"] == 0.009
