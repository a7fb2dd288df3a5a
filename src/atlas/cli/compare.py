"""``atlas estimate --compare``: a portable spec priced on every allowed provider and region."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from decimal import Decimal

from atlas.cli.render import table
from atlas.portable.resolve import Candidate, Comparison, PlacementDecision, decide

__all__ = ["placement_line", "render_comparison"]

#: Candidates whose line items are listed under the table.
DETAILED = 3
#: Up to this many portable resources, each has a column of its own.
COLUMNS = 6


def _cents(value: Decimal | None) -> str:
    return "unknown" if value is None else f"{value.quantize(Decimal('0.01')):,.2f}"


def render_comparison(name: str, comparison: Comparison) -> str:
    """One table, cheapest first (provider, region, monthly, the offering chosen for each
    resource), the line items behind the top candidates' totals, then what was left out."""
    candidates = comparison.candidates
    lines = [f"Placements for {name!r}, cheapest first: {len(candidates)} of them"]
    if candidates:
        lines.extend(["", *_rows(candidates)])
        lines.extend(["", f"placement: {_decision_text(decide(comparison))}"])
        for rank, candidate in enumerate(candidates[:DETAILED], 1):
            lines.extend(["", *_line_items(rank, candidate)])
    if comparison.excluded:
        lines.extend(["", "left out:"])
        lines.extend(
            f"  {e.provider}/{e.region}: {e.reason}" if e.region else f"  {e.provider}: {e.reason}"
            for e in comparison.excluded
        )
    return "\n".join(lines) + "\n"


def _rows(candidates: Sequence[Candidate]) -> list[str]:
    names = [c.resource for c in candidates[0].translation.choices]
    wide = len(names) <= COLUMNS
    head = ("#", "PROVIDER", "REGION", "MONTHLY", "+CHEAPEST")
    rows: list[tuple[str, ...]] = [
        (*head, *(n.upper() for n in names)) if wide else (*head, "OFFERINGS")
    ]
    cheapest = candidates[0].monthly
    for rank, c in enumerate(candidates, 1):
        more = c.monthly - cheapest if c.monthly is not None and cheapest is not None else None
        cells = (str(rank), c.provider, c.region.name, _cents(c.monthly), _cents(more))
        offers = [choice.offering for choice in c.translation.choices]
        rows.append((*cells, *offers) if wide else (*cells, _summary(offers)))
    body = table(rows, right={0, 3, 4})
    rule = "-" * max(len(line) for line in body)
    return [body[0], rule, *body[1:]]


def _summary(offers: Sequence[str]) -> str:
    """``medium x500, disk x300, ...``: the most chosen offerings first, at most four."""
    counts = Counter(offers).most_common()
    text = ", ".join(f"{name} x{count}" for name, count in counts[:4])
    return text + (f", +{len(counts) - 4} more" if len(counts) > 4 else "")


def _line_items(rank: int, candidate: Candidate) -> list[str]:
    head = f"#{rank} {candidate.where}: {_cents(candidate.monthly)} {candidate.currency} a month"
    rows: list[tuple[str, ...]] = [("RESOURCE", "OFFERING", "ITEM", "MONTHLY")]
    for choice in candidate.translation.choices:
        for i, li in enumerate(choice.line_items):
            first = i == 0
            monthly = li.monthly.amount if li.monthly is not None else None
            rows.append(
                (
                    choice.resource if first else "",
                    choice.offering if first else "",
                    li.description,
                    _cents(monthly),
                )
            )
    for li in candidate.translation.support_line_items:
        monthly = li.monthly.amount if li.monthly is not None else None
        rows.append(("(support)", "", li.description, _cents(monthly)))
    return [head, *("  " + line for line in table(rows, right={3}))]


def _decision_text(decision: PlacementDecision) -> str:
    text = f"{decision.provider}/{decision.region}, {decision.reason}"
    runner = decision.runner_up
    if runner is not None:
        text += (
            f"; runner-up {runner.provider}/{runner.region} at {_cents(runner.monthly)} "
            f"{decision.currency} (+{_cents(runner.difference)})"
        )
    return text


def placement_line(decision: PlacementDecision) -> str:
    """``placement: beta/b-us, the cheapest of ...; runner-up ...``."""
    return f"placement: {_decision_text(decision)}\n"
