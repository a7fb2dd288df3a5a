"""What scripts/gcp_prices.py and scripts/azure_prices.py share: reading the VM table and the
service price CSVs, and writing TOML that atlas's catalog parser reads.

Every figure stays a string from the CSV to the TOML (Decimal in between), never a float.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _reference() -> Path:
    """``shared/reference/cloud-prices`` beside the checkout, or beside a folder above it (a
    worktree one level deeper than the checkout sees the same one)."""
    for folder in HERE.parents[1:]:
        candidate = folder / "shared" / "reference" / "cloud-prices"
        if candidate.is_dir():
            return candidate
    return HERE.parent.parent / "shared" / "reference" / "cloud-prices"


REFERENCE = _reference()
SOURCE_REPO = "https://github.com/skypilot-org/skypilot-catalog"
HOURS_PER_MONTH = 730
CENT = Decimal("0.01")


@dataclass(frozen=True)
class VmRow:
    """One (region, machine type) of the SkyPilot extract, as read."""

    region: str
    name: str
    vcpus: str
    memory_gib: str
    hourly: Decimal


@dataclass(frozen=True)
class ServicePrice:
    """One row of a service price CSV: a SKU, its figure per month or per hour, its source."""

    sku: str
    usd: Decimal
    per: str
    unit: str
    billing: str
    url: str
    read_on: str
    note: str


def vm_rows(table: Path) -> list[VmRow]:
    """The table's rows sorted by (region, type); a row twice or a price not above zero is
    an error naming the line."""
    out: dict[tuple[str, str], VmRow] = {}
    with table.open(newline="", encoding="utf-8") as f:
        for n, row in enumerate(csv.DictReader(f), start=2):
            key = (row["Region"].strip(), row["InstanceType"].strip())
            if key in out:
                raise SystemExit(f"{table.name}:{n}: {key[1]} in {key[0]} is listed twice")
            price = Decimal(row["PriceUSDPerHour"].strip())
            if price <= 0:
                raise SystemExit(f"{table.name}:{n}: price {price} is not positive")
            out[key] = VmRow(
                key[0],
                key[1],
                _number(row["vCPUs"]),
                _number(row["MemoryGiB"]),
                price,
            )
    return [out[k] for k in sorted(out)]


def _number(text: str) -> str:
    """``"2.0"`` -> ``"2"``, ``"0.5"`` stays: the catalog's numbers without a float's tail."""
    value = Decimal(text.strip())
    return str(value.to_integral_value()) if value == value.to_integral_value() else str(value)


def service_prices(table: Path) -> list[ServicePrice]:
    rows = []
    with table.open(newline="", encoding="utf-8") as f:
        for n, row in enumerate(csv.DictReader(f), start=2):
            per = row["Per"].strip()
            if per not in ("month", "hour"):
                raise SystemExit(f"{table.name}:{n}: Per must be month or hour, not {per!r}")
            if not row["SourceUrl"].strip().startswith("http"):
                raise SystemExit(f"{table.name}:{n}: every price needs a SourceUrl")
            rows.append(
                ServicePrice(
                    row["Sku"].strip(),
                    Decimal(row["USD"].strip()),
                    per,
                    row["Unit"].strip(),
                    row["Billing"].strip(),
                    row["SourceUrl"].strip(),
                    row["ReadOn"].strip(),
                    row["Note"].strip(),
                )
            )
    return rows


def quote(text: str) -> str:
    """A TOML basic string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def monthly_of(hourly: Decimal) -> Decimal:
    return (hourly * HOURS_PER_MONTH).quantize(CENT, ROUND_HALF_UP)


def price_lines(
    sku: str, *, monthly: Decimal, hourly: Decimal | None, unit: str, source: str, billing: str
) -> list[str]:
    lines = [f"[prices.{quote(sku)}]", f'monthly = "{monthly}"']
    if hourly is not None:
        lines.append(f'hourly = "{hourly}"')
    lines += [f"unit = {quote(unit)}", f"source = {quote(source)}"]
    if billing:
        lines.append(f"billing = {quote(billing)}")
    return [*lines, ""]


def source_lines(key: str, title: str, url: str, note: str = "") -> list[str]:
    lines = [f"[sources.{key}]", f"title = {quote(title)}", f"url = {quote(url)}"]
    if note:
        lines.append(f"note = {quote(note)}")
    return [*lines, ""]


def service_lines(rows: Iterable[ServicePrice]) -> list[str]:
    """A source per distinct URL (keyed ``page-1``, ``page-2`` in order of first use), then
    one price per row."""
    urls: dict[str, str] = {}
    sources: list[str] = []
    prices: list[str] = []
    for row in rows:
        if row.url not in urls:
            urls[row.url] = f"page-{len(urls) + 1}"
            sources += source_lines(
                urls[row.url], f"{row.url}, read {row.read_on}", row.url, row.note
            )
        if row.per == "month":
            monthly, hourly = row.usd, None
        else:
            monthly, hourly = monthly_of(row.usd), row.usd
        prices += price_lines(
            row.sku,
            monthly=monthly,
            hourly=hourly,
            unit=row.unit,
            source=urls[row.url],
            billing=row.billing,
        )
    return sources + prices


def run(
    description: str,
    render: Callable[[argparse.Namespace], dict[Path, str]],
    add_arguments: Callable[[argparse.ArgumentParser], None],
    argv: Sequence[str] | None,
) -> int:
    """Write (or with ``--check`` compare) every file ``render`` returns."""
    parser = argparse.ArgumentParser(description=description)
    add_arguments(parser)
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if stale")
    args = parser.parse_args(argv)
    files = render(args)
    stale = 0
    for path, text in files.items():
        if args.check:
            current = path.read_text(encoding="utf-8") if path.exists() else ""
            if current != text:
                print(f"{path} is out of date: run {Path(sys.argv[0]).name}", file=sys.stderr)
                stale = 1
            continue
        path.write_text(text, encoding="utf-8")
        entries = sum(text.count(f"[{table}.") for table in ("prices", "machine_types", "sizes"))
        print(f"wrote {path} ({entries} entries)")
    return stale
