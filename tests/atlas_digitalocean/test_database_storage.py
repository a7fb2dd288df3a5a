"""Storage added to a managed database (``storage_size_mib``) is its own line of the estimate."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from importlib import resources
from typing import Any

import attrs

from atlas import Money
from atlas.cost import parse_duration
from atlas.cost.catalog import Price, Source
from atlas.cost.engine import estimate_spec
from atlas.cost.estimate import PriceLookup
from atlas.runtime import default_registry
from atlas.spec import validate_spec
from atlas_digitalocean.emulator.databases import SIZES
from atlas_digitalocean.prices import load_offerings, load_price_catalog
from atlas_digitalocean.resources.database import STORAGE_SKU, DatabaseSpec, price


def doc(**specs: Any) -> dict[str, Any]:
    return {
        "name": "shop",
        "provider": "digitalocean",
        "region": "nyc3",
        "resources": [
            {
                "type": "database",
                "name": "db",
                "specifications": {"engine": "pg", "size": "db-s-1vcpu-2gb", **specs},
            }
        ],
    }


def test_without_added_storage_a_database_is_its_nodes() -> None:
    registry = default_registry()
    est = estimate_spec(validate_spec(doc(), registry=registry, purpose="estimate"), registry)
    (db,) = est.breakdown
    assert [li.sku for li in db.line_items] == ["database:db-s-1vcpu-2gb"]
    assert est.complete
    assert est.monthly == Money("30.00")


def test_added_storage_is_a_line_saying_what_it_is_and_that_its_price_is_unknown() -> None:
    registry = default_registry()
    spec = validate_spec(doc(storage_size_mib=20480), registry=registry, purpose="estimate")
    est = estimate_spec(spec, registry, duration=parse_duration("36h"))
    (db,) = est.breakdown
    nodes, storage = db.line_items
    assert nodes.monthly == Money("30.00")
    assert storage.description == (
        "Additional database storage 20 GiB, beyond the 25 GiB db-s-1vcpu-2gb includes"
    )
    assert (storage.sku, storage.quantity) == ("database:storage-gib", Decimal(20))
    # No stored source gives DigitalOcean's figure: the line says so; nothing is made up.
    assert storage.monthly is None
    assert storage.run_cost is None
    assert "'database:storage-gib' is not in the digitalocean price catalog" in (
        storage.unpriced or ""
    )
    assert db.monthly is None
    assert not est.complete
    assert db.to_dict(run=True)["unpriced"] == [f"{storage.description}: {storage.unpriced}"]


def test_once_the_catalog_has_the_price_the_storage_is_priced_per_gib() -> None:
    shipped = load_price_catalog()
    test_source = Source("test", "a made-up figure, for this test only")
    hourly = (Decimal("0.50") / 672).quantize(Decimal("1e-10"))
    made_up = Price(STORAGE_SKU, Money("0.50"), Money(hourly), "GiB", "test")
    catalog = shipped.with_prices([made_up], test_source)
    catalog = attrs.evolve(
        catalog,
        prices={
            **catalog.prices,
            STORAGE_SKU: attrs.evolve(
                catalog.prices[STORAGE_SKU], billing=shipped.prices["volume:gib"].billing
            ),
        },
    )
    lookup = PriceLookup("digitalocean", catalog, duration=parse_duration("1d"))
    spec = DatabaseSpec(engine="pg", size="db-s-1vcpu-1gb", storage_size_mib=15360)
    _, storage = price(spec, lookup)
    assert storage.description.startswith("Additional database storage 15 GiB, beyond the 10")
    assert storage.monthly == Money("7.50")  # 15 GiB x 0.50
    assert storage.billing is not None
    assert storage.billing.key == "hourly-672"
    assert storage.billed == Money("0.27")  # 24 hours of 7.50 / 672 an hour: 0.2678...


def test_a_fraction_of_a_gib_is_shown_as_one() -> None:
    spec = DatabaseSpec(engine="pg", size="db-s-1vcpu-1gb", storage_size_mib=1536)
    (_, storage) = price(spec, PriceLookup("digitalocean", load_price_catalog()))
    assert storage.quantity == Decimal("1.5")
    assert "1.500 GiB" in storage.description


def test_the_included_disk_per_size_is_sourced_and_the_emulator_agrees() -> None:
    included = load_offerings().database_storage_gib
    assert included == {
        "db-s-1vcpu-1gb": 10,
        "db-s-1vcpu-2gb": 25,
        "db-s-2vcpu-4gb": 38,
        "db-s-4vcpu-8gb": 115,
    }
    for size, gib in included.items():
        assert SIZES[size] == gib * 1024, size
    # Every priced database size says what disk it includes.
    assert set(load_price_catalog().variants("database")) - {"storage-gib"} == set(included)
    data = tomllib.loads(
        resources.files("atlas_digitalocean.data").joinpath("offerings.toml").read_text("utf-8")
    )
    source = data["sources"][data["databases"]["included_storage_gib"]["source"]]
    assert source["url"].startswith("https://")
    assert "2026-11-26" in source["title"]
