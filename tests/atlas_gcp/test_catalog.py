"""The GCP catalog: generated from the SkyPilot extract and the sourced CSVs, the three
shared-core E2 rows corrected, machine types a placement engine can query."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest

from atlas_gcp.catalog import (
    instance_sku,
    load_machine_types,
    load_price_catalog,
    offerings,
    regions,
)
from tests.conftest import REPO
from tests.estimate_only import script

GEN = script("gcp_prices")
SHARED_CORE = {"e2-micro": ("0.25", "1"), "e2-small": ("0.5", "2"), "e2-medium": ("1", "4")}
pytestmark = pytest.mark.skipif(not GEN.TABLE.exists(), reason="no ../shared/reference here")


def _source_rows() -> list[dict[str, str]]:
    with GEN.TABLE.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _shipped(name: str) -> str:
    return resources.files("atlas_gcp.data").joinpath(name).read_text(encoding="utf-8")


def test_the_shipped_files_are_what_the_script_generates() -> None:
    assert _shipped("prices.toml") == GEN.render_prices(GEN.TABLE)
    assert _shipped("machine_types.toml") == GEN.render_machine_types(GEN.TABLE)


def test_the_check_mode_finds_a_stale_file(tmp_path: Path) -> None:
    (tmp_path / "prices.toml").write_text(_shipped("prices.toml").replace("0.06701", "0.06702"))
    (tmp_path / "machine_types.toml").write_text(_shipped("machine_types.toml"))
    assert GEN.main(["--check", "--out", str(tmp_path)]) == 1
    assert GEN.main(["--check"]) == 0


def test_every_source_row_is_priced_unchanged() -> None:
    catalog = load_price_catalog()
    rows = _source_rows()
    assert len(rows) == 560
    for row in rows:
        price = catalog.price(instance_sku(row["Region"], row["InstanceType"]))
        assert price is not None, row
        if row["InstanceType"] in SHARED_CORE:
            continue
        assert price.hourly.amount == Decimal(row["PriceUSDPerHour"]), row
        assert price.monthly.amount == (Decimal(row["PriceUSDPerHour"]) * 730).quantize(
            Decimal("0.01")
        )
        assert price.source == "skypilot-v7"


def _rates(region: str) -> tuple[Decimal, Decimal]:
    """E2 per vCPU-hour and per GiB-hour, solved independently from two other sizes than the
    script uses (e2-standard-16: 16 vCPU 64 GiB; e2-highmem-16: 16 vCPU 128 GiB)."""
    by = {
        r["InstanceType"]: Decimal(r["PriceUSDPerHour"])
        for r in _source_rows()
        if r["Region"] == region
    }
    per_gib = (by["e2-highmem-16"] - by["e2-standard-16"]) / 64
    return (by["e2-standard-16"] - 64 * per_gib) / 16, per_gib


@pytest.mark.parametrize(
    "region", ["asia-southeast1", "europe-west1", "europe-west4", "us-central1", "us-east1"]
)
def test_shared_core_rows_are_billed_at_their_vcpu_fraction(region: str) -> None:
    catalog = load_price_catalog()
    source = {
        r["InstanceType"]: Decimal(r["PriceUSDPerHour"])
        for r in _source_rows()
        if r["Region"] == region
    }
    per_vcpu, per_gib = _rates(region)
    for name, (vcpus, gib) in SHARED_CORE.items():
        price = catalog.price(instance_sku(region, name))
        assert price is not None
        expected = Decimal(vcpus) * per_vcpu + Decimal(gib) * per_gib
        assert abs(price.hourly.amount - expected) <= Decimal("0.00002"), name
        assert price.hourly.amount < source[name], f"{name} in {region} is not corrected"
        assert price.source == "e2-shared-core"


def test_shared_core_rows_match_googles_list_in_us_central1() -> None:
    """Google's list prices, as the extract's README gives them: e2-micro about 0.0084,
    e2-small 0.0168, e2-medium 0.0335 (the table has 0.04655, 0.04947, 0.05532)."""
    catalog = load_price_catalog()
    for name, listed in (("e2-micro", "0.0084"), ("e2-small", "0.0168"), ("e2-medium", "0.0335")):
        price = catalog.price(instance_sku("us-central1", name))
        assert price is not None
        assert abs(price.hourly.amount - Decimal(listed)) < Decimal("0.0001"), name
    source = catalog.sources["e2-shared-core"]
    assert source.url.startswith("https://")


def test_the_catalog_records_its_source_commit_and_date() -> None:
    catalog = load_price_catalog()
    assert (catalog.currency, catalog.effective_date) == ("USD", dt.date(2026, 12, 2))
    url = catalog.sources["skypilot-v7"].url
    assert url.startswith("https://github.com/skypilot-org/skypilot-catalog/blob/")
    assert GEN.SOURCE_COMMIT in url
    assert "catalogs/v7/gcp/vms.csv" in url
    assert "read 2026-12-02" in catalog.sources["skypilot-v7"].title


def test_each_price_carries_its_billing_rule() -> None:
    catalog = load_price_catalog()
    vm = catalog.price("instance:us-central1:n2-standard-2")
    disk = catalog.price("disk:us-central1:pd-ssd")
    rule = catalog.price("forwarding-rule:first-5")
    assert vm is not None
    assert disk is not None
    assert rule is not None
    assert vm.billing is not None
    assert disk.billing is not None
    assert rule.billing is not None
    assert (vm.billing.metering, vm.billing.minimum_seconds) == ("second", 60)
    assert (disk.billing.metering, disk.billing.minimum_seconds) == ("second", 0)
    assert catalog.sources[vm.billing.source].url == (
        "https://cloud.google.com/compute/vm-instance-pricing"
    )


def test_every_service_price_is_the_csvs_with_its_url() -> None:
    catalog = load_price_catalog()
    with (REPO / "scripts" / "gcp-service-prices.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["Sku"] for r in rows} >= {"disk:us-central1:pd-balanced", "forwarding-rule:first-5"}
    for row in rows:
        price = catalog.price(row["Sku"])
        assert price is not None, row["Sku"]
        figure = price.monthly if row["Per"] == "month" else price.hourly
        assert figure.amount == Decimal(row["USD"])
        assert catalog.sources[price.source].url == row["SourceUrl"]


#: (SKU, USD per GB-month, the commit its source URL is pinned to): a figure per region, read
#: from Cyclenerd/google-cloud-pricing-cost-calculator's pricing.yml (generated from the Cloud
#: Billing Catalog) and infracost's golden test output.
CYCLENERD = "0166a59ebba7c36f2cc8c931d9f258dcebc44776"
INFRACOST = "1d8c614d1fe892aefbe74aeced911f52f3a58bfe"
SOURCED_STORAGE = [
    ("disk:us-east1:pd-balanced", "0.10", CYCLENERD),
    ("disk:us-east1:pd-ssd", "0.17", CYCLENERD),
    ("disk:europe-west1:pd-balanced", "0.10", CYCLENERD),
    ("disk:europe-west1:pd-ssd", "0.17", CYCLENERD),
    ("disk:europe-west4:pd-balanced", "0.11", CYCLENERD),
    ("disk:europe-west4:pd-ssd", "0.187", CYCLENERD),
    ("disk:asia-southeast1:pd-balanced", "0.11", CYCLENERD),
    ("disk:asia-southeast1:pd-ssd", "0.187", CYCLENERD),
    ("sql-storage:us-central1:ssd", "0.17", INFRACOST),
]


@pytest.mark.parametrize(("sku", "usd", "commit"), SOURCED_STORAGE)
def test_storage_prices_carry_their_pinned_source(sku: str, usd: str, commit: str) -> None:
    catalog = load_price_catalog()
    price = catalog.price(sku)
    assert price is not None, sku
    assert price.monthly.amount == Decimal(usd)
    source = catalog.sources[price.source]
    assert f"/blob/{commit}/" in source.url
    assert source.title.endswith("read 2026-12-07")
    assert price.billing is not None
    assert price.billing.metering == "second"


def test_every_region_prices_both_disk_types_and_sql_storage_goes_with_sql_compute() -> None:
    catalog = load_price_catalog()
    for region in regions():
        balanced = catalog.price(f"disk:{region}:pd-balanced")
        ssd = catalog.price(f"disk:{region}:pd-ssd")
        assert balanced is not None, region
        assert ssd is not None, region
        assert balanced.monthly.amount < ssd.monthly.amount, region
        compute = catalog.price(f"sql-vcpu:{region}:enterprise") is not None
        storage = catalog.price(f"sql-storage:{region}:ssd") is not None
        assert compute == storage, region


def test_offerings_join_shape_and_price() -> None:
    found = list(offerings())
    assert len(found) == 560
    micro = next(o for o in found if (o.region, o.machine_type.name) == ("us-east1", "e2-micro"))
    assert micro.machine_type.shared_core
    assert micro.machine_type.billed_vcpus == Decimal("0.25")
    assert (micro.machine_type.vcpus, micro.machine_type.memory_gib) == (2, Decimal(1))
    assert micro.price.hourly.currency == "USD"
    assert micro.price.billing is not None
    assert {t.arch for t in load_machine_types().values()} == {"x86_64"}
    assert not load_machine_types()["n2-standard-4"].shared_core
