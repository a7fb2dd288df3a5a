"""Plain-text rendering for the command line."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from atlas.cost.billing import BillingRule
from atlas.cost.estimate import Estimate, LineItem
from atlas.cost.money import Money
from atlas.exceptions import SpecValidationError
from atlas.model.infrastructure import InfrastructureSpec
from atlas.providers.declarations import ProviderInfo
from atlas.providers.registry import ProviderRegistry
from atlas.spec.references import dependencies

if TYPE_CHECKING:
    from atlas.facade import InfrastructureView
    from atlas.lifecycle.discovery import Discovery
    from atlas.lifecycle.plan import Plan
    from atlas.model.records import OperationRecord, StepRecord

__all__ = [
    "budget_verdict",
    "graph_json",
    "render_discovery",
    "render_estimate",
    "render_graph",
    "render_operation",
    "render_plan",
    "render_problems",
    "render_providers",
    "render_view",
    "table",
]


def _amount(value: Money | None, places: int) -> str:
    return "unknown" if value is None else f"{value.rounded(places).amount:,.{places}f}"


def table(rows: list[tuple[str, ...]], right: set[int]) -> list[str]:
    """``rows`` (the first a header) as aligned lines; columns in ``right`` right-aligned."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def _item_row(name: str, rtype: str, li: LineItem, run: bool) -> tuple[str, ...]:
    hourly = _amount(li.hourly, li.hourly_places)
    row = (name, rtype, li.description, _amount(li.monthly, 2), hourly)
    return (*row, _amount(li.billed, 2)) if run else row


def render_estimate(spec: InfrastructureSpec, est: Estimate) -> str:
    """The estimate as a table: one row per line item, then the totals."""
    dated = ", ".join(f"{c.provider} prices as of {c.effective_date}" for c in est.catalogs)
    head = f"Estimate for {spec.name!r} ({spec.provider}, {spec.region}); {dated or 'no catalog'}"
    run = est.duration is not None
    header = ("RESOURCE", "TYPE", "ITEM", "MONTHLY", "HOURLY")
    rows: list[tuple[str, ...]] = [
        (*header, f"FOR {est.duration.text}") if est.duration else header
    ]
    for res in est.breakdown:
        for i, li in enumerate(res.line_items):
            first = i == 0
            rows.append(
                _item_row(
                    res.resource_name if first else "", res.resource_type if first else "", li, run
                )
            )
    total = f"Total ({est.currency})" + ("" if est.complete else ", priced lines only")
    totals = (total, "", "", _amount(est.monthly, 2), _amount(est.hourly, est.hourly_places))
    rows.append((*totals, _amount(est.run_cost, 2)) if run else totals)
    body = table(rows, right={3, 4, 5})
    rule = "-" * max(len(line) for line in body)
    lines = [head, "", body[0], rule, *body[1:-1], rule, body[-1]]
    for res in est.breakdown:
        lines.extend(f"note: {res.resource_name}: {why}" for why in res.unpriced)
    if est.duration is not None:
        lines.extend(_rule_notes(est))
    if spec.budget is not None:
        lines.append(budget_line(spec, est))
    return "\n".join(lines) + "\n"


def _rule_notes(est: Estimate) -> list[str]:
    """One line per billing rule that priced the run, saying what it is."""
    seen: dict[str, BillingRule] = {}
    for res in est.breakdown:
        for li in res.line_items:
            if li.billing is not None:
                seen.setdefault(li.billing.key, li.billing)
    return [f"billing {key}: {rule.describe()}" for key, rule in seen.items()]


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
        return "unknown: some prices are unknown (the priced lines are within budget)"
    return "within budget"


def render_problems(source: str, exc: SpecValidationError) -> str:
    count = len(exc.problems)
    head = f"{source or 'spec'}: {count} problem{'s' if count != 1 else ''}"
    return "\n".join([head, *(f"  {p}" for p in exc.problems)]) + "\n"


def capabilities(info: ProviderInfo) -> tuple[str, ...]:
    """What atlas can do with a provider: every plugin estimates and validates offline; one
    with a live side also plans and applies."""
    offline = ("estimate", "validate")
    return offline if info.factory is None else (*offline, "plan", "apply")


def render_providers(registry: ProviderRegistry) -> str:
    rows: list[tuple[str, ...]] = [("PROVIDER", "TITLE", "CAN", "RESOURCE TYPES")]
    for name in registry.names():
        info = registry.get(name)
        kinds = ", ".join(sorted(registry.kinds(name)))
        rows.append((name, info.title, ", ".join(capabilities(info)), kinds))
    return "\n".join(table(rows, right=set())) + "\n"


_COLORS = {
    "create": "\033[32m",
    "update": "\033[33m",
    "replace": "\033[35m",
    "delete": "\033[31m",
    "import": "\033[36m",
    "release": "\033[36m",
}
_SIGNS = {
    "create": "+",
    "update": "~",
    "replace": "-/+",
    "delete": "-",
    "import": "<=",
    "release": "=>",
}
_RESET = "\033[0m"


def render_plan(plan: Plan, *, color: bool = False) -> str:
    """The plan as a diff: one line per change with its reason and monthly cost change."""
    placed = _placement_line(plan)
    if plan.empty:
        return f"No changes: {plan.infrastructure!r} matches its spec.\n" + placed
    lines = [f"Plan for {plan.infrastructure!r}:"]
    if placed:
        lines.append(placed.rstrip("\n"))
    if plan.account:  # their own section: done first, outside the infrastructure
        lines.extend(
            f"  account: create {a.type} {a.name}"
            + (f" in {a.region}" if a.region else "")
            + f" \u2014 {a.reason}"
            for a in plan.account
        )
    for c in plan.changes:
        sign = _SIGNS[c.action]
        delta = "unknown" if c.cost_change is None else _signed(c.cost_change)
        line = f"  {sign:>3} {c.action:<7} {c.type} {c.resource}  ({delta}/mo)  {c.reason}"
        lines.append(f"{_COLORS[c.action]}{line}{_RESET}" if color else line)
        if c.needs_replacement is not None:
            lines.append(
                f"      ! needs replacement, so it cannot be imported: {c.needs_replacement}"
            )
        if c.destroys_data:
            lines.append(f"      ! {_DATA_LOSS[c.action].format(c)}")
    lines.append(
        f"Monthly cost: {_amount(plan.cost_before, 2)} -> {_amount(plan.cost_after, 2)} "
        f"{plan.cost_after.currency} ({_signed(plan.cost_change)})"
    )
    if plan.budget is not None:
        limit = Money(plan.budget.monthly_limit, plan.budget.currency)
        verdict = "OVER budget" if plan.over_budget() else "within budget"
        lines.append(f"Budget: {_amount(limit, 2)} {limit.currency} a month; {verdict}")
    lines.extend(f"note: price unknown: {u}" for u in plan.unpriced)
    lines.extend(f"warning: {w}" for w in plan.warnings)
    if plan.data_loss:
        names = ", ".join(c.resource for c in plan.data_loss)
        lines.append(f"Data loss: {names}; atlas apply needs --allow-data-loss (beyond --yes)")
    return "\n".join(lines) + "\n"


def _placement_line(plan: Plan) -> str:
    """Where a ``provider: any`` spec is placed, one line (empty for any other spec)."""
    decision = plan.placement
    if decision is None:
        return ""
    from atlas.portable.record import describe_placement  # noqa: PLC0415

    return describe_placement(decision, plan.placement_from) + "\n"


#: The second line of a change that destroys data: what is lost, and why it cannot be kept.
_DATA_LOSS = {
    "replace": "destroys data: the {0.type} {0.resource} is deleted and made again empty "
    "(its data is not copied)",
    "delete": "destroys data: the {0.type} {0.resource} is deleted, and its data with it",
}


def _signed(m: Money) -> str:
    return ("+" if m.amount >= 0 else "-") + f"{abs(m.rounded().amount):,.2f}"


def render_operation(op: OperationRecord, steps: Sequence[StepRecord]) -> str:
    lines = [
        f"Operation {op.id} ({op.kind}): {op.status}, {op.completed_steps}/{op.total_steps} steps"
    ]
    for s in steps:
        ids = f" [{', '.join(s.provider_ids)}]" if s.provider_ids else ""
        why = f": {s.error}" if s.error else ""  # a note follows the steps, one line each
        lines.append(
            f"  {s.index + 1:>2}. {s.action:<6} {s.type} {s.resource}: {s.status}{ids}{why}"
        )
    lines.extend(f"note: {s.resource}: {s.note}" for s in steps if s.note)
    if op.error:
        lines.append(f"error: {op.error}")
    return "\n".join(lines) + "\n"


def render_discovery(found: Discovery) -> str:
    """What ``atlas discover`` found: one row per resource, then the monthly total."""
    where = f" in {found.region}" if found.region else ""
    if not found.resources:
        return f"Nothing in the {found.provider} account{where} that atlas does not manage.\n"
    rows: list[tuple[str, ...]] = [("TYPE", "NAME", "IDS", "REGION", "MONTHLY")]
    for r in found.resources:
        f = r.found
        rows.append((f.type, f.name, ", ".join(f.ids), f.region, _amount(r.monthly, 2)))
    total = f"Total ({found.currency}/mo)"
    rows.append((total, "", "", "", _amount(found.monthly, 2)))
    body = table(rows, right={4})
    rule = "-" * max(len(line) for line in body)
    count = len(found.resources)
    head = (
        f"{count} resource{'s' if count != 1 else ''} in the {found.provider} account{where} "
        "that no atlas infrastructure manages:"
    )
    lines = [head, "", body[0], rule, *body[1:-1], rule, body[-1]]
    for r in found.resources:
        lines.extend(f"note: {r.found.name}: price unknown: {why}" for why in r.unpriced)
    return "\n".join(lines) + "\n"


def render_view(view: InfrastructureView) -> str:
    infra = view.infrastructure
    cost = _amount(Money(infra.monthly_cost, infra.currency), 2)
    lines = [
        f"{infra.name} ({infra.provider}, {infra.region}): {infra.status}, "
        f"{cost} {infra.currency} a month, id {infra.id}"
    ]
    for r in view.resources:
        objs = ", ".join(
            f"{o.name} {o.id}"
            + (f" {o.attributes['public_ipv4']}" if o.attributes.get("public_ipv4") else "")
            for o in r.objects
        )
        mark = " (imported)" if r.imported else ""
        lines.append(f"  {r.type:<14} {r.name:<12} {r.status:<9} {objs}{mark}")
    lines.extend(_recorded_placement_lines(infra.spec))
    return "\n".join(lines) + "\n"


def _recorded_placement_lines(spec: Any) -> list[str]:
    """The placement recorded with an infrastructure (``placed``), for ``atlas status``."""
    if not spec or "placed" not in spec:
        return []
    from atlas.portable.record import recorded_placement  # noqa: PLC0415

    decision = recorded_placement(spec)
    if decision is None:
        return []
    at = decision.decided_at
    when = (
        f"{at.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC" if at is not None else "at an unknown time"
    )
    runner = decision.runner_up
    second = ""
    if runner is not None:
        diff = runner.difference
        by = "price unknown" if diff is None else f"{'+' if diff >= 0 else '-'}{abs(diff):,.2f}"
        second = f"; runner-up {runner.provider} {runner.region} ({by} {decision.currency})"
    return [
        f"  placement: {decision.provider} {decision.region}, decided {when}: "
        f"{decision.reason}{second}"
    ]


def render_graph(spec: InfrastructureSpec, fmt: str) -> str:
    """The dependency graph: an edge from each resource to what it refers to."""
    deps = dependencies(spec.resources)
    types = {r.name: r.type for r in spec.resources}
    if fmt == "dot":
        lines = [f"digraph {json.dumps(spec.name)} {{"]
        lines += [f'  "{n}" [label="{n}\\n{types[n]}"];' for n in deps]
        lines += [f'  "{n}" -> "{d}";' for n in deps for d in sorted(deps[n])]
        return "\n".join([*lines, "}"]) + "\n"
    lines = ["graph TD"]
    lines += [f'  {_node(n)}["{n} ({types[n]})"]' for n in deps]
    lines += [f"  {_node(n)} --> {_node(d)}" for n in deps for d in sorted(deps[n])]
    return "\n".join(lines) + "\n"


def graph_json(spec: InfrastructureSpec) -> dict[str, Any]:
    """The dependency graph as ``--json`` prints it: the resources, and an edge from each to
    what it refers to (the edges ``render_graph`` draws)."""
    deps = dependencies(spec.resources)
    types = {r.name: r.type for r in spec.resources}
    return {
        "name": spec.name,
        "nodes": [{"name": n, "type": types[n]} for n in deps],
        "edges": [{"from": n, "to": d} for n in deps for d in sorted(deps[n])],
    }


def _node(name: str) -> str:
    return "n_" + "".join(c if c.isalnum() else "_" for c in name)
