"""The AWS catalog's EBS, RDS storage and load balancer prices: every row of the sourced
tables in scripts/ is a SKU of the shipped catalog, at its figure and with its source, and the
script refuses a row that says not where it was read."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from atlas_aws.prices import load_offerings, load_price_catalog
from tests.estimate_only import script

GEN = script("aws_prices")
pytestmark = pytest.mark.skipif(not GEN.TABLE.exists(), reason="no ../shared/reference here")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_the_shipped_catalog_is_what_the_script_generates() -> None:
    assert GEN.main(["--check"]) == 0


def test_every_ebs_row_is_priced_with_the_page_it_was_read_on() -> None:
    catalog = load_price_catalog()
    rows = _rows(GEN.EBS_TABLE)
    for row in rows:
        region, kind = row["Region"], row["VolumeType"]
        price = catalog.price(f"volume:{region}:{kind}")
        assert price is not None, row
        assert price.monthly.amount == Decimal(row["USDPerGBMonth"]), row
        source = catalog.sources[price.source]
        assert source.url == row["SourceURL"]
        assert row["ReadAt"] in source.title
        assert row["ReadOn"] in source.title
        assert source.note == row["Note"]
        iops = catalog.price(f"volume-iops:{region}:{kind}")
        if row["USDPerIOPSMonth"]:
            assert iops is not None
            assert iops.monthly.amount == Decimal(row["USDPerIOPSMonth"])
            assert iops.source == price.source
        else:
            assert iops is None, row
    # gp3 and gp2 in each of the five regions atlas has instance prices for.
    regions = set(load_offerings().regions)
    assert {(r["Region"], r["VolumeType"]) for r in rows} == {
        (region, kind) for region in regions for kind in ("gp3", "gp2")
    }


def test_the_regional_figures_read_for_issue_16() -> None:
    """The figures read on 2026-12-07 for the regions beyond us-east-1 (the sources are in
    scripts/aws-ebs-prices.csv, scripts/aws-elb-prices.csv, scripts/aws-rds-prices.csv and the
    catalog)."""
    catalog = load_price_catalog()

    def figure(sku: str) -> str:
        price = catalog.price(sku)
        assert price is not None, sku
        return str(price.hourly.amount if sku.startswith("load_balancer") else price.monthly.amount)

    assert {
        sku: figure(sku)
        for sku in (
            "volume:eu-west-1:gp3", "volume-iops:eu-west-1:gp3", "volume:eu-west-1:gp2",
            "volume:us-west-2:gp3", "volume-iops:us-west-2:gp3", "volume:us-west-2:gp2",
            "volume:ap-southeast-1:gp3", "volume-iops:ap-southeast-1:gp3",
            "volume:ap-southeast-1:gp2",
            "load_balancer:eu-west-1:application", "load_balancer-capacity:eu-west-1:application",
            "db_storage:eu-central-1:gp3",
        )
    } == {
        "volume:eu-west-1:gp3": "0.088", "volume-iops:eu-west-1:gp3": "0.0055",
        "volume:eu-west-1:gp2": "0.11",
        "volume:us-west-2:gp3": "0.08", "volume-iops:us-west-2:gp3": "0.005",
        "volume:us-west-2:gp2": "0.10",
        "volume:ap-southeast-1:gp3": "0.096", "volume-iops:ap-southeast-1:gp3": "0.006",
        "volume:ap-southeast-1:gp2": "0.12",
        "load_balancer:eu-west-1:application": "0.0252",
        "load_balancer-capacity:eu-west-1:application": "0.008",
        "db_storage:eu-central-1:gp3": "0.137",
    }  # fmt: skip
    # No NLB figure was found for eu-west-1: it stays unpriced rather than borrowed.
    assert catalog.price("load_balancer:eu-west-1:network") is None


def test_every_load_balancer_row_is_priced_with_its_source() -> None:
    catalog = load_price_catalog()
    for row in _rows(GEN.ELB_TABLE):
        sku = f"{row['Region']}:{row['Type']}"
        hours = catalog.price(f"load_balancer:{sku}")
        units = catalog.price(f"load_balancer-capacity:{sku}")
        assert hours is not None, row
        assert units is not None, row
        assert hours.hourly.amount == Decimal(row["USDPerHour"])
        assert units.hourly.amount == Decimal(row["USDPerCapacityUnitHour"])
        assert hours.source == units.source == row["Source"]
        title, url, note = GEN.ELB_SOURCES[row["Source"]]
        source = catalog.sources[row["Source"]]
        assert (source.title, source.url, source.note) == (title, url, note)
        assert url.startswith("https://")
        assert note


def test_every_rds_storage_row_is_priced_with_its_source() -> None:
    catalog = load_price_catalog()
    rds = script("aws_rds_prices")
    for kind, region, _engine, name, usd, source in rds.rows():
        if kind != "storage":
            continue
        price = catalog.price(f"db_storage:{region}:{name}")
        assert price is not None
        assert price.monthly.amount == usd
        assert price.source == source
        assert catalog.sources[source].url


def _write(path: Path, header: str, *lines: str) -> Path:
    path.write_text("\n".join((header, *lines)) + "\n", encoding="utf-8")
    return path


EBS_HEAD = "Region,VolumeType,USDPerGBMonth,USDPerIOPSMonth,SourceURL,ReadAt,ReadOn,Note"
ELB_HEAD = "Region,Type,USDPerHour,USDPerCapacityUnitHour,Source,ReadOn"


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("eu-west-1,gp3,0.088,,https://aws.amazon.com/ebs/pricing/,https://x.example/,2026-12-07,",
         "a Note"),
        ("eu-west-1,gp3,0.088,,https://example.com/,https://x.example/,2026-12-07,seen",
         "SourceURL"),
        ("eu-west-1,gp3,0.088,,https://aws.amazon.com/ebs/pricing/,https://x.example/,today,seen",
         "ReadOn"),
        ("eu-west-1,gp3,0,,https://aws.amazon.com/ebs/pricing/,https://x.example/,2026-12-07,seen",
         "positive"),
    ],
)  # fmt: skip
def test_an_ebs_row_that_says_not_where_it_was_read_is_refused(
    tmp_path: Path, line: str, says: str
) -> None:
    with pytest.raises(SystemExit, match=says):
        GEN.ebs_rows(_write(tmp_path / "ebs.csv", EBS_HEAD, line))


def test_an_ebs_region_listed_twice_is_refused(tmp_path: Path) -> None:
    row = "eu-west-1,gp3,0.088,,https://aws.amazon.com/ebs/pricing/,https://x.example/,2026-12-07,n"
    with pytest.raises(SystemExit, match="gp3 in eu-west-1 is listed twice"):
        GEN.ebs_rows(_write(tmp_path / "ebs.csv", EBS_HEAD, row, row))


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("eu-west-1,application,0.0252,0.008,a-blog,2026-12-07", "source 'a-blog' is not one of"),
        ("eu-west-1,application,0.0252,0.008,elb-pricing,", "ReadOn"),
        ("eu-west-1,classic,0.025,0.008,elb-pricing,2026-12-07", "not application or network"),
    ],
)
def test_a_load_balancer_row_of_no_known_source_is_refused(
    tmp_path: Path, line: str, says: str
) -> None:
    with pytest.raises(SystemExit, match=says):
        GEN.elb_rows(_write(tmp_path / "elb.csv", ELB_HEAD, line))
