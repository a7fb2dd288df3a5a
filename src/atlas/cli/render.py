"""Plain-text rendering for the command line."""

from __future__ import annotations

from atlas.cost.catalog import HOURLY_PLACES
from atlas.cost.estimate import Estimate, LineItem
from atlas.cost.money import Money
from atlas.exceptions import SpecValidationError
from atlas.model.infrastructure import InfrastructureSpec
from atlas.providers.registry import ProviderRegistry

__all__ = ["budget_verdict", "render_estimate", "render_problems", "render_providers"]


def _amount(value: Money | None, places: int) -> str:
    return "unknown" if value is None else f"{value.rounded(places).amount:,.{places}f}"


def _table(rows: list[tuple[str, ...]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def _item_row(name: str, rtype: str, li: LineItem) -> tuple[str, ...]:
    return (name, rtype, li.description, _amount(li.monthly, 2), _amount(li.hourly, HOURLY_PLACES))


def render_estimate(spec: InfrastructureSpec, est: Estimate) -> str:
    """The estimate as a table: one row per line item, then the totals."""
    dated = ", ".join(f"{c.provider} prices as of {c.effective_date}" for c in est.catalogs)
    head = f"Estimate for {spec.name!r} ({spec.provider}, {spec.region}); {dated or 'no catalog'}"
    rows: list[tuple[str, ...]] = [("RESOURCE", "TYPE", "ITEM", "MONTHLY", "HOURLY")]
    for res in est.breakdown:
        for i, li in enumerate(res.line_items):
            rows.append(
                _item_row(
                    res.resource_name if i == 0 else "", res.resource_type if i == 0 else "", li
                )
            )
    total = f"Total ({est.currency})" + ("" if est.complete else ", priced resources only")
    rows.append((total, "", "", _amount(est.monthly, 2), _amount(est.hourly, HOURLY_PLACES)))
    body = _table(rows, right={3, 4})
    rule = "-" * max(len(line) for line in body)
    lines = [head, "", body[0], rule, *body[1:-1], rule, body[-1]]
    for res in est.breakdown:
        lines.extend(f"note: {res.resource_name}: {why}" for why in res.unpriced)
    if spec.budget is not None:
        lines.append(budget_line(spec, est))
    return "\n".join(lines) + "\n"


def budget_line(spec: InfrastructureSpec, est: Estimate) -> str:
    assert spec.budget is not None
    limit = Money(spec.budget.monthly_limit, spec.budget.currency)
    verdict = budget_verdict(spec, est)
    return f"budget: {_amount(limit, 2)} {limit.currency} a month; {verdict}"


def budget_verdict(spec: InfrastructureSpec, est: Estimate) -> str:
    """``within budget``, ``OVER budget``, or why that cannot be said."""
    assert spec.budget is not None
    if spec.budget.currency != est.currency:
        return f"cannot compare a budget in {spec.budget.currency} with prices in {est.currency}"
    limit = Money(spec.budget.monthly_limit, spec.budget.currency)
    if est.monthly > limit:
        return "OVER budget"
    if not est.complete:
        return "unknown: some prices are unknown (the priced part is within budget)"
    return "within budget"


def render_problems(source: str, exc: SpecValidationError) -> str:
    count = len(exc.problems)
    head = f"{source or 'spec'}: {count} problem{'s' if count != 1 else ''}"
    return "\n".join([head, *(f"  {p}" for p in exc.problems)]) + "\n"


def render_providers(registry: ProviderRegistry) -> str:
    rows: list[tuple[str, ...]] = [("PROVIDER", "TITLE", "RESOURCE TYPES")]
    for name in registry.names():
        rows.append((name, registry.get(name).title, ", ".join(sorted(registry.kinds(name)))))
    return "\n".join(_table(rows, right=set())) + "\n"
