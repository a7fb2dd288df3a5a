"""Generate the AWS plugin's price catalog (``src/atlas_aws/data/prices.toml``) from a table
of on-demand Linux instance prices, never by hand.

The table (``shared/reference/cloud-prices/aws-vms.csv`` beside the checkout or beside a folder
above it, as for the GCP and Azure scripts, read where it is, never copied in; ``--table``
names another; columns ``InstanceType,vCPUs,MemoryGiB,
PriceUSDPerHour,Region``) is the extract of the SkyPilot catalog described in that folder's
README.md: ``catalogs/v7/aws/vms.csv`` of
``skypilot-org/skypilot-catalog`` at the commit below, read on the date below. Each price is
copied unchanged as the hourly figure; the monthly figure is hourly x 730 (AWS's own month).

    python scripts/aws_prices.py            # rewrite the catalog
    python scripts/aws_prices.py --check    # exit 1 when the shipped catalog is out of date
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from decimal import Decimal
from pathlib import Path

import aws_rds_prices  # scripts/aws_rds_prices.py, beside this one
from _catalog_gen import REFERENCE  # the reference folder, found from a worktree too

HERE = Path(__file__).resolve().parent
TABLE = REFERENCE / "aws-vms.csv"
#: EBS list prices per region and volume type (per GB-month; per provisioned IOPS-month for
#: io1/io2, and per IOPS-month above the 3,000 included for gp3), each row with the price
#: page the figure is AWS's (``SourceURL``), the page it was read on (``ReadAt``: AWS's page
#: draws its tables by script, so a page quoting it or a copy of its data file), the date,
#: and a ``Note`` saying what that page shows. A region no row sources is left unpriced.
EBS_TABLE = HERE / "aws-ebs-prices.csv"
#: ALB and NLB prices per region: per hour (or partial hour) and per LCU / NLCU-hour, each
#: row naming one of :data:`ELB_SOURCES`.
ELB_TABLE = HERE / "aws-elb-prices.csv"
EBS_PAGE = "https://aws.amazon.com/ebs/pricing"
CATALOG = HERE.parent / "src" / "atlas_aws" / "data" / "prices.toml"

SOURCE_REPO = "https://github.com/skypilot-org/skypilot-catalog"
SOURCE_PATH = "catalogs/v7/aws/vms.csv"
SOURCE_COMMIT = "001367d22a0033fac286a8c71aeac7109e431bcb"
READ_ON = "2026-12-02"
HOURS_PER_MONTH = 730
#: (title, url, note) of every source a row of ``aws-elb-prices.csv`` may name.
ELB_SOURCES: dict[str, tuple[str, str, str]] = {
    "elb-pricing": (
        "Elastic Load Balancing pricing page: Application and Network Load Balancer per hour "
        "(or partial hour) and per LCU / NLCU-hour; the regional tables render from tokens the "
        "stored copy lacks, so only the US East (N. Virginia) figures of the page's pricing "
        "examples are recorded",
        "https://aws.amazon.com/elasticloadbalancing/pricing/",
        "ALB hour, LCU-hour and NLCU-hour as the page states them (transcript read with the "
        "search tool: github.com/api-evangelist/amazon-elastic-load-balancing, "
        "plans/amazon-elastic-load-balancing-plans-pricing.yml, harvested 2026-09-20); the NLB "
        "hour as third-party pages quote the page (clustercost.com, awsnegotiations.com): "
        "confidence B",
    ),
    "fabiocozzolino-eu-west-1": (
        "Fabio Cozzolino, 'Cost usage of Blazor on AWS Elastic Beanstalk' (2022-03-07): the "
        "AWS bill lines of an Elastic Beanstalk environment in EU (Ireland), '$0.0252 per "
        "Application LoadBalancer-hour (or partial hour)' and '$0.008 per used Application "
        "load balancer capacity unit-hour (or partial hour)'",
        "https://fabiocozzolino.github.io/blazor-aws-elastic-beanstalk-cost-usage/",
        "third-party page quoting AWS's own bill descriptions, read 2026-12-07 in the post's "
        "source (github.com/fabiocozzolino/fabiocozzolino.github.io, "
        "_posts/2022-03-07-Blazor-AWS-cost-usage.md @ a13a729c7417); the ALB lines name no "
        "region themselves: the environment's EBS line on the same bill is 'EU (Ireland)'. "
        "Application Load Balancer only: no NLB figure for eu-west-1",
    ),
}
#: What costs nothing, so that every kind prices to a line.
FREE = (
    ("vpc:vpc", "VPC"),
    ("subnet:subnet", "subnet"),
    ("security_group:security_group", "security group"),
)


def rows(table: Path) -> list[tuple[str, str, Decimal, str, str]]:
    """(region, type, hourly, vCPUs, memory GiB), sorted; a row twice is an error."""
    out: dict[tuple[str, str], tuple[str, str, Decimal, str, str]] = {}
    with table.open(newline="", encoding="utf-8") as f:
        for n, row in enumerate(csv.DictReader(f), start=2):
            key = (row["Region"].strip(), row["InstanceType"].strip())
            if key in out:
                raise SystemExit(f"{table.name}:{n}: {key[1]} in {key[0]} is listed twice")
            price = Decimal(row["PriceUSDPerHour"].strip())
            if price <= 0:
                raise SystemExit(f"{table.name}:{n}: price {price} is not positive")
            vcpus = str(int(float(row["vCPUs"])))
            memory = row["MemoryGiB"].strip().removesuffix(".0")
            out[key] = (*key, price, vcpus, memory)
    return [out[k] for k in sorted(out)]


def ebs_rows(table: Path) -> list[tuple[str, str, Decimal, Decimal | None, str, str, str, str]]:
    """(region, volume type, per GB-month, per IOPS-month or None, source URL, read at,
    read on, note), sorted. A row without its source (AWS's EBS pricing page), the page the
    figure was read on (the pricing page itself, or a page quoting it where the pricing page's
    tables could not be read), the date or a note saying what that page shows is refused, and
    so is a region and type listed twice: an EBS price atlas cannot source is left out, and
    estimates say it is unknown."""
    out = []
    seen: set[tuple[str, str]] = set()
    with table.open(newline="", encoding="utf-8") as f:
        for n, row in enumerate(csv.DictReader(f), start=2):
            url, read_on = row["SourceURL"].strip(), row["ReadOn"].strip()
            read_at, note = row["ReadAt"].strip(), (row.get("Note") or "").strip()
            if (
                not url.startswith(EBS_PAGE)
                or not read_at.startswith("https://")
                or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", read_on)
                or not note
            ):
                raise SystemExit(
                    f"{table.name}:{n}: every EBS price needs SourceURL ({EBS_PAGE}...), "
                    "ReadAt (the https page it was read on), ReadOn (YYYY-MM-DD) and a Note "
                    "(what that page shows)"
                )
            region, kind = row["Region"].strip(), row["VolumeType"].strip()
            if (region, kind) in seen:
                raise SystemExit(f"{table.name}:{n}: {kind} in {region} is listed twice")
            seen.add((region, kind))
            per_gb = Decimal(row["USDPerGBMonth"].strip())
            iops = row["USDPerIOPSMonth"].strip()
            per_iops = Decimal(iops) if iops else None
            if per_gb <= 0 or (per_iops is not None and per_iops <= 0):
                raise SystemExit(f"{table.name}:{n}: prices must be positive")
            out.append((region, kind, per_gb, per_iops, url, read_at, read_on, note))
    return sorted(out)


def _ebs_lines(table: Path) -> list[str]:
    rows_ = ebs_rows(table)
    lines: list[str] = []
    ids: dict[tuple[str, str, str, str], str] = {}
    for url, read_at, read_on, note in sorted({r[4:] for r in rows_}):
        ids[(url, read_at, read_on, note)] = key = f"ebs-{len(ids) + 1}"
        quoted = "" if read_at.startswith(EBS_PAGE) else f", as read at {read_at}"
        lines += [
            f"[sources.{key}]",
            'title = "Amazon EBS pricing page: per GB-month, and per provisioned IOPS-month '
            f'(gp3: above the 3,000 included); read {read_on}{quoted}"',
            f'url = "{url}"',
            f'note = "{note}"',
            "",
        ]
    if rows_:
        lines += [
            "[billing.ebs-per-second]",
            'metering = "second"',
            f"cap_hours = {HOURS_PER_MONTH}",
            f'source = "{next(iter(ids.values()))}"',
            f"as_of = {max(r[6] for r in rows_)}",
            'note = "EBS volumes are billed per second of provisioned storage (and IOPS)"',
            "",
        ]
    for region, kind, per_gb, per_iops, *where in rows_:
        source = ids[(where[0], where[1], where[2], where[3])]
        lines += [
            f'[prices."volume:{region}:{kind}"]',
            f'monthly = "{per_gb}"',
            f'unit = "GB-month of {kind}"',
            f'source = "{source}"',
            'billing = "ebs-per-second"',
            "",
        ]
        if per_iops is not None:
            lines += [
                f'[prices."volume-iops:{region}:{kind}"]',
                f'monthly = "{per_iops}"',
                f'unit = "provisioned IOPS-month of {kind}"',
                f'source = "{source}"',
                'billing = "ebs-per-second"',
                "",
            ]
    return lines


def elb_rows(table: Path) -> list[tuple[str, str, Decimal, Decimal, str, str]]:
    """(region, type, per hour, per capacity-unit-hour, source, read on), sorted; a row of no
    known source, of no date, or listed twice is refused."""
    out = []
    seen: set[tuple[str, str]] = set()
    with table.open(newline="", encoding="utf-8") as f:
        for n, row in enumerate(csv.DictReader(f), start=2):
            kind = row["Type"].strip()
            if kind not in ("application", "network"):
                raise SystemExit(f"{table.name}:{n}: type {kind!r} is not application or network")
            hourly = Decimal(row["USDPerHour"].strip())
            unit = Decimal(row["USDPerCapacityUnitHour"].strip())
            if hourly <= 0 or unit <= 0:
                raise SystemExit(f"{table.name}:{n}: prices must be positive")
            source, read_on = row["Source"].strip(), row["ReadOn"].strip()
            if source not in ELB_SOURCES:
                raise SystemExit(
                    f"{table.name}:{n}: source {source!r} is not one of {sorted(ELB_SOURCES)}"
                )
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", read_on):
                raise SystemExit(f"{table.name}:{n}: ReadOn {read_on!r} is not YYYY-MM-DD")
            region = row["Region"].strip()
            if (region, kind) in seen:
                raise SystemExit(f"{table.name}:{n}: {kind} in {region} is listed twice")
            seen.add((region, kind))
            out.append((region, kind, hourly, unit, source, read_on))
    return sorted(out)


def _elb_lines(table: Path) -> list[str]:
    lines: list[str] = []
    units = {"application": "LCU", "network": "NLCU"}
    for region, kind, hourly, unit, source, _read_on in elb_rows(table):
        lines += [
            f'[prices."load_balancer:{region}:{kind}"]',
            f'monthly = "{(hourly * HOURS_PER_MONTH).quantize(Decimal("0.01"))}"',
            f'hourly = "{hourly}"',
            f'unit = "{kind} load balancer"',
            f'source = "{source}"',
            'billing = "elb-hourly"',
            "",
            f'[prices."load_balancer-capacity:{region}:{kind}"]',
            f'monthly = "{(unit * HOURS_PER_MONTH).quantize(Decimal("0.01"))}"',
            f'hourly = "{unit}"',
            f'unit = "{units[kind]} (capacity unit) per hour, billed by use"',
            f'source = "{source}"',
            'billing = "elb-hourly"',
            "",
        ]
    return lines


def _elb_head(table: Path) -> list[str]:
    rows_ = elb_rows(table)
    dates = sorted({r[5] for r in rows_}) or [READ_ON]
    lines = [
        "[billing.elb-hourly]",
        'metering = "hour"',
        f"cap_hours = {HOURS_PER_MONTH}",
        'source = "elb-pricing"',
        f"as_of = {dates[-1]}",
        'note = "each hour or partial hour a load balancer runs, and its capacity units used '
        'per hour; a partial hour is billed as a full hour"',
        "",
    ]
    for key in sorted({r[4] for r in rows_} | {"elb-pricing"}):
        title, url, note = ELB_SOURCES[key]
        lines += [f"[sources.{key}]", f'title = "{title}"', f'url = "{url}"', f'note = "{note}"']
        lines.append("")
    return lines


def render(table: Path, ebs: Path = EBS_TABLE, elb: Path = ELB_TABLE) -> str:
    lines = [
        "# GENERATED by scripts/aws_prices.py from the aws-vms.csv table,",
        "# scripts/aws-ebs-prices.csv, scripts/aws-rds-prices.csv and scripts/aws-elb-prices.csv:",
        "# do not edit by hand. EBS prices: only the regions sourced there.",
        "# AWS on-demand Linux instance prices, USD per hour, shared tenancy, no pre-installed",
        f"# software; monthly = hourly x {HOURS_PER_MONTH} (AWS's month).",
        "",
        "[catalog]",
        'provider = "aws"',
        'currency = "USD"',
        f"effective_date = {READ_ON}",
        f"hours_per_month = {HOURS_PER_MONTH}",
        "hourly_places = 4",
        'billing = "per-second-60"',
        "",
        "[billing.per-second-60]",
        'metering = "second"',
        "minimum_seconds = 60",
        f"cap_hours = {HOURS_PER_MONTH}",
        'source = "per-second-billing"',
        "as_of = 2017-10-02",
        'note = "Linux instances; AWS has no monthly cap: a 730-hour month is priced in full"',
        "",
        "[sources.skypilot-v7]",
        f'title = "SkyPilot catalog {SOURCE_PATH} @ {SOURCE_COMMIT[:12]}, read {READ_ON}: '
        'the AWS public price list, OnDemand, Linux, shared tenancy"',
        f'url = "{SOURCE_REPO}/blob/{SOURCE_COMMIT}/{SOURCE_PATH}"',
        'note = "extract and caveats: /work/shared/reference/cloud-prices/README.md"',
        "",
        "[sources.per-second-billing]",
        'title = "AWS: per-second billing for Linux EC2 instances, with a 60-second minimum '
        '(announced 2017-10-02)"',
        'url = "https://aws.amazon.com/about-aws/whats-new/2017/10/'
        'announcing-amazon-ec2-per-second-billing/"',
        "",
        "[sources.vpc-free]",
        'title = "Amazon VPC pricing: no additional charge for creating and using the VPC '
        'itself (subnets, route tables, security groups)"',
        'url = "https://aws.amazon.com/vpc/pricing/"',
        "",
    ]
    for sku, what in FREE:
        lines += [f'[prices."{sku}"]', 'monthly = "0"', 'hourly = "0"', f'unit = "{what}"']
        lines += ['source = "vpc-free"', ""]
    lines += _ebs_lines(ebs)
    lines += aws_rds_prices.lines()
    lines += _elb_head(elb)
    lines += _elb_lines(elb)
    for region, itype, hourly, vcpus, memory in rows(table):
        monthly = (hourly * HOURS_PER_MONTH).quantize(Decimal("0.01"))
        lines += [
            f'[prices."instance:{region}:{itype}"]',
            f'monthly = "{monthly}"',
            f'hourly = "{hourly}"',
            f'unit = "instance ({vcpus} vCPU, {memory} GiB)"',
            'source = "skypilot-v7"',
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, default=TABLE)
    parser.add_argument("--out", type=Path, default=CATALOG)
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if stale")
    args = parser.parse_args(argv)
    text = render(args.table)
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date: run scripts/aws_prices.py", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({text.count('[prices.')} prices)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
