"""The Azure catalog: generated from the SkyPilot extract (US regions only) and the sourced
CSV; VM sizes with their own vCPUs and architecture."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from importlib import resources

import pytest

from atlas_azure.catalog import load_price_catalog, load_sizes, offerings, regions, vm_sku
from tests.conftest import REPO
from tests.estimate_only import script

GEN = script("azure_prices")
pytestmark = pytest.mark.skipif(not GEN.TABLE.exists(), reason="no ../shared/reference here")


def _source_rows() -> list[dict[str, str]]:
    with GEN.TABLE.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _shipped(name: str) -> str:
    return resources.files("atlas_azure.data").joinpath(name).read_text(encoding="utf-8")


def test_the_shipped_files_are_what_the_script_generates() -> None:
    assert _shipped("prices.toml") == GEN.render_prices(GEN.TABLE)
    assert _shipped("sizes.toml") == GEN.render_sizes(GEN.TABLE)
    assert GEN.main(["--check"]) == 0


def test_every_source_row_is_priced_unchanged() -> None:
    catalog = load_price_catalog()
    rows = _source_rows()
    assert len(rows) == 532
    for row in rows:
        price = catalog.price(vm_sku(row["Region"], row["InstanceType"]))
        assert price is not None, row
        assert price.hourly.amount == Decimal(row["PriceUSDPerHour"]), row
        assert price.monthly.amount == (Decimal(row["PriceUSDPerHour"]) * 730).quantize(
            Decimal("0.01")
        )


def test_only_the_us_regions_of_the_source_are_priced() -> None:
    assert regions() == ("eastus", "westus2")
    assert load_price_catalog().price(vm_sku("westeurope", "Standard_B2s")) is None


def test_the_catalog_records_its_source_commit_and_date() -> None:
    catalog = load_price_catalog()
    assert (catalog.currency, catalog.effective_date) == ("USD", dt.date(2026, 12, 2))
    url = catalog.sources["skypilot-v6"].url
    assert GEN.SOURCE_COMMIT in url
    assert "catalogs/v6/azure/vms.csv" in url


def test_vms_are_metered_per_second_and_say_how_azure_bills() -> None:
    price = load_price_catalog().price(vm_sku("eastus", "Standard_D2s_v5"))
    assert price is not None
    assert price.billing is not None
    assert (price.billing.metering, price.billing.minimum_seconds) == ("second", 0)
    assert "per full minute" in price.billing.note


def test_every_service_price_is_the_csvs_with_its_url() -> None:
    catalog = load_price_catalog()
    with (REPO / "scripts" / "azure-service-prices.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        price = catalog.price(row["Sku"])
        assert price is not None, row["Sku"]
        figure = price.monthly if row["Per"] == "month" else price.hourly
        assert figure.amount == Decimal(row["USD"])
        assert catalog.sources[price.source].url == row["SourceUrl"]


#: The flexible-server figures and where they were read: Retail Prices API figures as third
#: parties recorded them (the pricing pages render theirs in the browser).
INFRAGENIE = "arjun-kshirsagar/InfraGenieee/blob/95ee5168525fe4c2719841195c73f90e6fe5992b/"
PIPELINE = "3wilsoneric/pipeline-app/blob/0aad86e6ea5dc603178b604c9477920061865b2c/"
FLEXIBLE = {
    "postgresql_flexible:eastus:Standard_B1ms": ("0.017", "hour", INFRAGENIE),
    "postgresql_flexible:eastus:Standard_D2ds_v5": ("0.178", "hour", INFRAGENIE),
    "postgresql_flexible_storage:eastus": ("0.115", "month", INFRAGENIE),
    "postgresql_flexible:westus2:Standard_D2ds_v5": ("0.178", "hour", PIPELINE),
    "postgresql_flexible_storage:westus2": ("0.115", "month", PIPELINE),
}


def test_flexible_server_prices_are_the_sourced_ones_alone() -> None:
    catalog = load_price_catalog()
    # No other SKU, region or engine was sourced (no MySQL, no B1ms in westus2), so none is
    # there.
    assert sorted(s for s in catalog.prices if "flexible" in s) == sorted(FLEXIBLE)
    for sku, (usd, per, where) in FLEXIBLE.items():
        price = catalog.price(sku)
        assert price is not None, sku
        figure = price.hourly if per == "hour" else price.monthly
        assert figure.amount == Decimal(usd), sku
        if per == "hour":
            assert price.monthly.amount == (Decimal(usd) * 730).quantize(Decimal("0.01"))
        source = catalog.sources[price.source]
        assert source.url.startswith(f"https://github.com/{where}"), sku
        assert "third party" in (source.note or "")  # the note says it is not Microsoft's page
        assert price.billing is not None
        assert price.billing.metering == "second"
    storage = catalog.price("postgresql_flexible_storage:westus2")
    assert storage is not None
    assert storage.billing is not None
    assert "Premium SSD size" in storage.billing.note
    assert catalog.variants("postgresql_flexible:westus2") == ("Standard_D2ds_v5",)
    assert catalog.variants("postgresql_flexible:eastus") == ("Standard_B1ms", "Standard_D2ds_v5")
    assert not catalog.variants("mysql_flexible:eastus")


def test_the_flexible_server_rows_record_where_and_when_they_were_read() -> None:
    with (REPO / "scripts" / "azure-service-prices.csv").open(newline="") as f:
        rows = {r["Sku"]: r for r in csv.DictReader(f) if "flexible" in r["Sku"]}
    assert set(rows) == set(FLEXIBLE)
    for sku, row in rows.items():
        assert row["ReadOn"] == "2026-12-07", sku
        assert FLEXIBLE[sku][2] in row["SourceUrl"], sku
        # The note names the region and the day the third party read the API.
        assert sku.split(":")[1] in row["Note"], sku
        assert "2026-07-26" in row["Note"] or "2026-09-19" in row["Note"], sku


def test_sizes_have_their_own_vcpus_and_architecture() -> None:
    sizes = load_sizes()
    assert (sizes["Standard_E16-4s_v5"].vcpus, sizes["Standard_E16s_v5"].vcpus) == (4, 16)
    assert sizes["Standard_D4ps_v5"].arch == "arm64"
    assert sizes["Standard_E8pds_v5"].arch == "arm64"
    assert sizes["Standard_D4s_v5"].arch == "x86_64"
    assert sizes["Standard_B2s"].memory_gib == Decimal(4)
    found = list(offerings())
    assert len(found) == 532
    assert all(o.price.hourly.currency == "USD" and o.price.billing for o in found)
