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
    from atlas.model.infrastructure import Budget
    from atlas.providers.declarations import ProviderInfo

__all__ = ["add_budget_command", "add_costs_command", "render_costs"]

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


def add_budget_command(sub: Any, providers: tuple[ProviderInfo, ...] = ()) -> None:
    p = sub.add_parser(
        "budget",
        help="the workspace's budget and its alerts",
        **command_help("budget", providers),
    )
    p.add_argument("action", choices=("show", "set", "clear", "check"), help="what to do")
    p.add_argument("amount", nargs="?", help="for set: the monthly amount, such as 100")
    p.add_argument("--currency", default="USD", help="for set: ISO 4217 code (default USD)")
    p.add_argument(
        "--thresholds",
        metavar="P,P,...",
        help="for set: percentages of the amount that alert (default 50,80,100)",
    )
    p.add_argument(
        "--forecast",
        action="store_true",
        help="for set: count the forecast to the month's end, not the month to date alone",
    )
    p.add_argument("--json", action="store_true", help="print the budget or the check as JSON")
    _common(p)
    p.set_defaults(run=_runner(_budget))


async def _budget(atlas: AsyncAtlas, args: argparse.Namespace, out: TextIO) -> int:
    from atlas.cost.budgets import check_workspace  # noqa: PLC0415
    from atlas.model.records import utcnow  # noqa: PLC0415
    from atlas.wire import budget_json as budget_doc  # noqa: PLC0415

    store = atlas.store
    if args.action == "set":
        store.set_budget(atlas.workspace, _read_budget(atlas, args))
    elif args.action == "clear":
        store.set_budget(atlas.workspace, None)
    elif args.action == "check":
        crossed = check_workspace(store, atlas.registry, atlas.workspace, now=utcnow())
        report = await atlas.deliver_events()
        doc = {
            "crossed": [
                {"scope": c.scope, "threshold_percent": c.threshold, **c.event.data}
                for c in crossed
            ],
            "delivered": list(report.delivered),
            "pending": list(report.pending),
        }
        if args.json:
            write_json(out, doc)
        for c in () if args.json else crossed:
            out.write(
                f"{c.event.data['month']}: {c.threshold} % of the {c.event.data['scope']} "
                f"budget crossed ({c.event.data['amount']} of {c.event.data['monthly_limit']} "
                f"{c.event.data['currency']}); event {c.event.id} queued\n"
            )
        if not args.json and not crossed:
            out.write("No threshold newly crossed.\n")
        return EXIT_OK
    budget = store.get_budget(atlas.workspace)
    if args.json:
        write_json(out, {"budget": None if budget is None else budget_doc(budget)})
    elif budget is None:
        out.write(f"No budget for workspace {atlas.workspace!r}.\n")
    else:
        basis = "month to date and forecast" if budget.include_forecast else "month to date"
        out.write(
            f"Budget of workspace {atlas.workspace!r}: {budget.monthly_limit} {budget.currency} "
            f"a month; alerts at {', '.join(f'{t} %' for t in budget.thresholds)} of the "
            f"{basis}\n"
        )
    return EXIT_OK


def _read_budget(atlas: AsyncAtlas, args: argparse.Namespace) -> Budget:
    from atlas.spec.validate import validate_budget  # noqa: PLC0415

    if args.amount is None:
        raise UsageError("set needs the monthly amount (atlas budget set 100)", prog="atlas budget")
    doc: dict[str, Any] = {"monthly_limit": args.amount, "currency": args.currency}
    if args.thresholds is not None:
        try:
            doc["thresholds"] = [int(t) for t in args.thresholds.split(",")]
        except ValueError:
            raise UsageError(
                f"--thresholds {args.thresholds!r} is not whole percentages such as 50,80,100",
                option="--thresholds",
                prog="atlas budget",
            ) from None
    if args.forecast:
        doc["include_forecast"] = True
    return validate_budget(doc, atlas.registry)


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
