"""``atlas costs``: accrued cost and forecast for a month, from the journal; with
``--actual``, each provider's own bill beside it."""

from __future__ import annotations

import argparse
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, TextIO

from atlas.cli.lifecycle import _common, _runner, write_json
from atlas.cli.usage import UsageError, command_help

if TYPE_CHECKING:
    from atlas.cost.accrual import CostReport
    from atlas.facade import AsyncAtlas
    from atlas.providers.declarations import ProviderInfo

__all__ = ["add_costs_command", "render_costs"]

EXIT_OK = 0
CHART_WIDTH = 40


def add_costs_command(sub: Any, providers: tuple[ProviderInfo, ...] = ()) -> None:
    p = sub.add_parser(
        "costs",
        help="what infrastructures have cost this month, and the forecast",
        **command_help("costs", providers),
    )
    p.add_argument("key", nargs="?", metavar="NAME", help="one infrastructure's name or id")
    p.add_argument("--month", metavar="YYYY-MM", help="a calendar month, UTC (default: this one)")
    p.add_argument("--json", action="store_true", help="print the costs as JSON")
    p.add_argument(
        "--actual",
        action="store_true",
        help="also ask each provider what its bill says (needs its credentials)",
    )
    _common(p)
    p.set_defaults(run=_runner(_costs))


async def _costs(atlas: AsyncAtlas, args: argparse.Namespace, out: TextIO) -> int:
    from atlas.cost.accrual import parse_month  # noqa: PLC0415
    from atlas.wire import actual_json  # noqa: PLC0415

    if args.month is not None:
        try:
            parse_month(args.month)
        except ValueError as exc:
            raise UsageError(str(exc), option="--month", prog="atlas costs") from None
    report = atlas.costs(args.key, month=args.month)
    actual = await actual_json(atlas, report) if args.actual else None
    if args.json:
        doc = report.to_dict()
        if actual is not None:
            doc["actual"] = actual
        write_json(out, doc)
        return EXIT_OK
    out.write(render_costs(report, chart=out.isatty()))
    for line in actual or ():
        out.write(_actual_line(line, report))
    return EXIT_OK


def _actual_line(line: dict[str, Any], report: CostReport) -> str:
    if not line["reported"]:
        return f"actual: provider {line['provider']!r} reports no charges for {report.period}\n"
    kind = "invoiced" if line["final"] else "usage so far"
    return (
        f"actual: {line['provider']} says {line['amount']:.2f} {line['currency']} "
        f"({kind}, the whole account; {line['source']})\n"
    )


def _amount(value: Decimal | None) -> str:
    if value is None:
        return "unknown"
    return f"{value.quantize(Decimal('0.01'), ROUND_HALF_UP):,.2f}"


def render_costs(report: CostReport, *, chart: bool = False) -> str:
    """The report as a table; with ``chart``, a bar per day of the month so far."""
    head = f"Costs of workspace {report.workspace!r} for {report.period}"
    lines = [f"{head} (as of {report.as_of:%Y-%m-%d %H:%M} UTC)", ""]
    if not report.infrastructures:
        lines.append("Nothing ran this month.")
        return "\n".join(lines) + "\n"
    row = "{:<34} {:<14} {:>14} {:>10}"
    lines.append(row.format("INFRASTRUCTURE / RESOURCE", "TYPE", "MONTH TO DATE", "FORECAST"))
    lines.append("-" * 75)
    for infra in report.infrastructures:
        name = f"{infra.name} ({infra.currency})"
        lines.append(row.format(name, "", _amount(infra.accrued), _amount(infra.forecast)))
        for res in infra.resources:
            label = f"  {res.name}" + ("" if res.live else " (gone)")
            lines.append(row.format(label, res.type, _amount(res.accrued), _amount(res.forecast)))
    lines.append("-" * 75)
    for code, (accrued, forecast) in report.totals.items():
        lines.append(row.format(f"Total ({code})", "", _amount(accrued), _amount(forecast)))
    for infra in report.infrastructures:
        for res in infra.resources:
            for why in res.unpriced:
                lines.append(f"note: {infra.name}/{res.name}: {why}")
    if chart and report.daily:
        lines += ["", f"Per day ({report.currency}):", *_chart(report)]
    return "\n".join(lines) + "\n"


def _chart(report: CostReport) -> list[str]:
    top = max((c for _, c in report.daily), default=Decimal(0))
    out = []
    for day, cost in report.daily:
        width = 0 if not top else int(cost * CHART_WIDTH / top)
        out.append(f"{day:%m-%d} {'#' * width:<{CHART_WIDTH}} {_amount(cost)}")
    return out
