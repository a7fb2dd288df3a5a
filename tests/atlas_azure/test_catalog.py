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
    assert not [s for s in catalog.prices if "flexible" in s]  # not sourced, so not there


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
