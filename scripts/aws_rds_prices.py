"""The RDS part of the AWS plugin's price catalog, from ``scripts/aws-rds-prices.csv``.

``scripts/aws_prices.py`` appends what :func:`lines` renders to ``data/prices.toml``; run that
script, not this one. The table's columns are ``Kind,Region,Engine,Name,USD,Source``:

- ``instance`` rows: the on-demand single-AZ hourly price of instance class ``Name`` for
  ``Engine`` (postgres, mysql, mariadb) in ``Region``; monthly = hourly x 730;
- ``storage`` rows: the price per GB-month of storage type ``Name`` (gp2, gp3) in ``Region``.

Every row names one of :data:`SOURCES`. Regions and classes the table lacks are not priced
(an estimate says so), and the offline check of ``instance_class`` knows the priced ones.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

__all__ = ["SOURCES", "TABLE", "lines", "rows"]

TABLE = Path(__file__).resolve().parent / "aws-rds-prices.csv"
HOURS_PER_MONTH = 730
ENGINES = ("postgres", "mysql", "mariadb")
STORAGE_TYPES = ("gp2", "gp3")
#: (title, url, note) of every source a row may name.
SOURCES: dict[str, tuple[str, str, str]] = {
    "vantage-rds": (
        "vantage-sh/ec2instances.info www/rds/instances.json @ 00573910a38d (the AWS price "
        "list AmazonRDS offer, on-demand terms, Multi-AZ dimensions left out by its scraper "
        "rds.py), read 2026-12-03: PostgreSQL, MySQL and MariaDB per instance class and region",
        "https://github.com/vantage-sh/ec2instances.info/blob/"
        "00573910a38da31a1d8495601c8ded861c99b4a4/www/rds/instances.json",
        "the stored file predates db.t4g/m6*/r6*, so only t3, m5 and r5 classes are priced; "
        "its db.t3.micro MySQL us-east-1 figure (0.017) is the one 2026 guides quote",
    ),
    "usage-ai-rds": (
        "Usage.ai, RDS pricing calculator guide (US East (N. Virginia), June 2026): gp3 "
        "storage $0.115 per GB-month",
        "https://www.usage.ai/blogs/aws/reserved-instances/rds/pricing-calculator/",
        "third-party summary of aws.amazon.com/rds/pricing; gp2 not stated there",
    ),
    "thebescloud-rds-gp3": (
        "Thebes Cloud, 'RDS gp3 Volumes': eu-west-1 RDS storage gp2 $0.127 and gp3 $0.127 per "
        "GB-month",
        "https://blog.thebescloud.com/rds-gp3-volumes-decrypting-the-latest-storage-announcement-from-aws",
        "third-party table of the eu-west-1 RDS prices at the gp3 launch (2022)",
    ),
    "av-masia-rds-frankfurt": (
        "AV-Masia/AWS, docs/plans/cognito-lambda-triggers.md, cost table checked 2026-08-18: "
        "RDS PostgreSQL db.t4g.micro Single-AZ, EU (Frankfurt); storage gp3 Single-AZ $0.137 "
        "per GB-month, 'from AWS's official price feed (b0.p.awsstatic.com/pricing/2.0/"
        "meteredUnitMaps/rds/...), the calculator's source; feed published 2026-08-18'",
        "https://github.com/AV-Masia/AWS/blob/3cc18202f7e2b3493256b533281b0423081492c0/"
        "docs/plans/cognito-lambda-triggers.md",
        "third-party page (in Russian) quoting AWS's RDS price feed for eu-central-1, read "
        "2026-12-07; gp3 only (gp2 is not stated there)",
    ),
    "rds-storage-billing": (
        "Amazon RDS FAQ, billing: storage is charged per GB-month provisioned; a change of the "
        "provisioned storage within the month is pro-rated",
        "http://docs.amazonwebservices.com/AmazonRDS/latest/UserGuide/RDSFAQ.Billing.html",
        "the page does not state the proration's granularity: modelled per second, no minimum",
    ),
    "rds-billing": (
        "Amazon RDS User Guide, On-Demand DB instances: billed in one-second increments with a "
        "minimum of 10 minutes, from when the instance is available until it is deleted",
        "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_OnDemandDBInstances.html",
        "read 2026-12-03",
    ),
}


def rows(table: Path = TABLE) -> list[tuple[str, str, str, str, Decimal, str]]:
    """(kind, region, engine, name, USD, source), sorted; a row twice or unsourced is an error."""
    out: dict[tuple[str, str, str, str], tuple[str, str, str, str, Decimal, str]] = {}
    with table.open(newline="", encoding="utf-8") as f:
        for n, row in enumerate(csv.DictReader(f), start=2):
            kind, region = row["Kind"].strip(), row["Region"].strip()
            engine, name, source = row["Engine"].strip(), row["Name"].strip(), row["Source"].strip()
            where = f"{table.name}:{n}"
            if source not in SOURCES:
                raise SystemExit(f"{where}: source {source!r} is not one of {sorted(SOURCES)}")
            if kind == "instance" and engine not in ENGINES:
                raise SystemExit(f"{where}: engine {engine!r} is not one of {ENGINES}")
            if kind == "storage" and (engine or name not in STORAGE_TYPES):
                raise SystemExit(f"{where}: storage rows name gp2 or gp3 and no engine")
            if kind not in ("instance", "storage"):
                raise SystemExit(f"{where}: kind {kind!r} is neither instance nor storage")
            price = Decimal(row["USD"].strip())
            if price <= 0:
                raise SystemExit(f"{where}: price {price} is not positive")
            key = (kind, region, engine, name)
            if key in out:
                raise SystemExit(f"{where}: {key} is listed twice")
            out[key] = (*key, price, source)
    return [out[k] for k in sorted(out)]


def lines(table: Path = TABLE) -> list[str]:
    """The catalog's RDS billing rule, sources and prices, as TOML lines."""
    found = rows(table)
    used = sorted({r[5] for r in found} | {"rds-billing", "rds-storage-billing"})
    out = [
        "[billing.rds-per-second-600]",
        'metering = "second"',
        "minimum_seconds = 600",
        f"cap_hours = {HOURS_PER_MONTH}",
        'source = "rds-billing"',
        "as_of = 2026-12-03",
        'note = "RDS DB instances: per second, 10-minute minimum; no monthly cap beyond 730 h"',
        "",
        "[billing.rds-storage]",
        'metering = "second"',
        f"cap_hours = {HOURS_PER_MONTH}",
        'source = "rds-storage-billing"',
        "as_of = 2026-12-03",
        'note = "provisioned RDS storage, pro-rated (modelled per second)"',
        "",
    ]
    for key in used:
        title, url, note = SOURCES[key]
        out += [f"[sources.{key}]", f'title = "{title}"', f'url = "{url}"', f'note = "{note}"', ""]
    for kind, region, engine, name, price, source in found:
        if kind == "instance":
            monthly = (price * HOURS_PER_MONTH).quantize(Decimal("0.01"))
            out += [
                f'[prices."db_instance:{region}:{engine}:{name}"]',
                f'monthly = "{monthly}"',
                f'hourly = "{price}"',
                f'unit = "{engine} DB instance (single-AZ)"',
                f'source = "{source}"',
                'billing = "rds-per-second-600"',
                "",
            ]
        else:
            out += [
                f'[prices."db_storage:{region}:{name}"]',
                f'monthly = "{price}"',
                f'unit = "GB-month of RDS {name}"',
                f'source = "{source}"',
                'billing = "rds-storage"',
                "",
            ]
    return out
