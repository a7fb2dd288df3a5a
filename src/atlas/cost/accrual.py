"""Accrued cost: what resources have cost so far in a calendar month, read from the journal.

The journal says when each resource came into existence (a ``create`` step's start, when the
cloud was asked), changed (an ``update`` step's end: a resize is priced at the new size from
then on) and went away (a ``delete`` step's end); an ``import`` or ``release`` starts or ends
what the infrastructure pays for at its end. A create rolled back cost its span too. Each
resource's version is priced as the estimate prices it (the kind's pricer, today's catalog),
and each line is metered under its price's billing rule over the seconds it ran within the
month: at least the rule's minimum, at most its monthly cap, once per line per month, rounded
to the cent. The forecast runs what still exists on to the end of the month.

Months are calendar months in UTC. Nothing here reads the clock: the caller says what ``now``
is, so a test moves time by hand.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import attrs

from atlas.cost.billing import BillingRule, Duration
from atlas.cost.estimate import LineItem, PriceLookup
from atlas.exceptions import AtlasError
from atlas.model.records import InfrastructureRecord, StepRecord
from atlas.providers.registry import ProviderRegistry
from atlas.store.base import StateStore

__all__ = [
    "CostReport",
    "InfrastructureCost",
    "Meter",
    "ResourceCost",
    "Span",
    "accrue",
    "infrastructure_costs",
    "journal_spans",
    "month_bounds",
    "parse_month",
    "workspace_costs",
]

_MONTH = re.compile(r"(\d{4})-(\d{2})")
_CENT = Decimal("0.01")


def parse_month(text: str) -> tuple[int, int]:
    """``YYYY-MM`` as (year, month); ``ValueError`` saying what is accepted."""
    found = _MONTH.fullmatch(text.strip())
    if found is None or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 1970:
        raise ValueError(f"month {text!r} is not YYYY-MM (such as 2026-12)")
    return int(found.group(1)), int(found.group(2))


def month_bounds(year: int, month: int) -> tuple[dt.datetime, dt.datetime]:
    """The first instant of the month and of the next, in UTC."""
    start = dt.datetime(year, month, 1, tzinfo=dt.UTC)
    days = calendar.monthrange(year, month)[1]
    return start, start + dt.timedelta(days=days)


@attrs.frozen
class Meter:
    """One priced line of a resource version: one unit's prices, its rule, and how many units
    (for a surcharge, its fraction of the base line's units)."""

    sku: str
    monthly: Decimal
    hourly: Decimal
    rule: BillingRule
    units: Decimal

    @property
    def key(self) -> tuple[str, Decimal]:
        """Versions that bill the same line the same way are one line of the month (its
        minimum and cap apply once)."""
        return self.sku, self.units


@attrs.frozen
class Span:
    """A resource as it was from ``start`` to ``end`` (``None``: it still exists)."""

    resource: str
    type: str
    start: dt.datetime
    end: dt.datetime | None
    meters: tuple[Meter, ...]
    unpriced: tuple[str, ...] = ()


@attrs.frozen
class ResourceCost:
    """What one resource has cost in the month (``accrued``) and will have by its end
    (``forecast``); ``None`` when a line of it has no known price (``unpriced`` says why)."""

    name: str
    type: str
    seconds: int
    live: bool
    accrued: Decimal | None
    forecast: Decimal | None
    unpriced: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "live": self.live,
            "seconds": self.seconds,
            "month_to_date": _figure(self.accrued),
            "forecast": _figure(self.forecast),
        }
        if self.unpriced:
            out["unpriced"] = list(self.unpriced)
        return out


@attrs.frozen
class InfrastructureCost:
    """One infrastructure's month: its resources and its cost per day (to ``now``)."""

    id: str
    name: str
    provider: str
    region: str
    currency: str
    resources: tuple[ResourceCost, ...]
    daily: tuple[tuple[dt.date, Decimal], ...]

    @property
    def accrued(self) -> Decimal:
        """The priced resources' sum (an unpriced one is left out: see :attr:`complete`)."""
        return sum((r.accrued for r in self.resources if r.accrued is not None), Decimal(0))

    @property
    def forecast(self) -> Decimal:
        return sum((r.forecast for r in self.resources if r.forecast is not None), Decimal(0))

    @property
    def complete(self) -> bool:
        return all(r.accrued is not None for r in self.resources)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "provider": self.provider,
            "region": self.region,
            "currency": self.currency,
            "month_to_date": _figure(self.accrued),
            "forecast": _figure(self.forecast),
            "complete": self.complete,
            "daily": _daily_json(self.daily),
            "resources": [r.to_dict() for r in self.resources],
        }


@attrs.frozen
class CostReport:
    """A workspace's (or one infrastructure's) month: what it has cost, per infrastructure
    and resource, and in total per currency (never added across currencies)."""

    workspace: str
    year: int
    month: int
    as_of: dt.datetime
    infrastructures: tuple[InfrastructureCost, ...]

    @property
    def period(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def totals(self) -> dict[str, tuple[Decimal, Decimal]]:
        """``currency -> (month to date, forecast)``, in code order."""
        out: dict[str, tuple[Decimal, Decimal]] = {}
        for infra in sorted(self.infrastructures, key=lambda i: i.currency):
            accrued, forecast = out.get(infra.currency, (Decimal(0), Decimal(0)))
            out[infra.currency] = (accrued + infra.accrued, forecast + infra.forecast)
        return out

    @property
    def currency(self) -> str | None:
        """The one currency of every infrastructure; ``None`` with none or several."""
        totals = self.totals
        return next(iter(totals)) if len(totals) == 1 else None

    @property
    def accrued(self) -> Decimal | None:
        """Month to date in :attr:`currency` (zero with nothing); ``None`` across currencies."""
        return self._total(0)

    @property
    def forecast(self) -> Decimal | None:
        return self._total(1)

    @property
    def daily(self) -> tuple[tuple[dt.date, Decimal], ...]:
        """Cost per day of every infrastructure (only when they share one currency)."""
        if len(self.totals) > 1:
            return ()
        days: dict[dt.date, Decimal] = {}
        for infra in self.infrastructures:
            for day, amount in infra.daily:
                days[day] = days.get(day, Decimal(0)) + amount
        return tuple(sorted(days.items()))

    def _total(self, index: int) -> Decimal | None:
        totals = self.totals
        if len(totals) > 1:
            return None
        return next(iter(totals.values()))[index] if totals else Decimal(0)

    def to_dict(self) -> dict[str, Any]:
        start, end = month_bounds(self.year, self.month)
        return {
            "workspace": self.workspace,
            "month": self.period,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "as_of": self.as_of.isoformat(),
            "currency": self.currency,
            "month_to_date": _figure(self.accrued),
            "forecast": _figure(self.forecast),
            "complete": all(i.complete for i in self.infrastructures),
            "totals": {
                code: {"month_to_date": _figure(a), "forecast": _figure(f)}
                for code, (a, f) in self.totals.items()
            },
            "daily": _daily_json(self.daily),
            "infrastructures": [i.to_dict() for i in self.infrastructures],
        }


# -- reading the journal -----------------------------------------------------------------------


def journal_spans(
    store: StateStore, workspace: str, infra: InfrastructureRecord, registry: ProviderRegistry
) -> list[Span]:
    """Every span of every resource the infrastructure's journal records, oldest first."""
    marks: list[tuple[dt.datetime, int, str, str, bool, tuple[Meter, ...], tuple[str, ...]]] = []
    order = 0
    for op in reversed(store.list_operations(workspace, infra.id)):
        priced: dict[str, tuple[tuple[Meter, ...], tuple[str, ...]]] | None = None
        for step in store.steps(op.id):
            found = _mark(step)
            if found is None:
                continue
            for when, opens in found:
                if opens and priced is None:
                    priced = _price_versions(op.spec, registry)
                meters, unpriced = (priced or {}).get(step.resource, ((), ()))
                if opens and step.resource not in (priced or {}):
                    unpriced = (f"{step.resource} is not in the spec its operation applied",)
                marks.append((when, order, step.resource, step.type, opens, meters, unpriced))
                order += 1
    marks.sort(key=lambda m: (m[0], m[1]))
    spans: list[Span] = []
    open_: dict[str, Span] = {}
    for when, _, name, kind, opens, meters, unpriced in marks:
        current = open_.pop(name, None)
        if current is not None:
            spans.append(attrs.evolve(current, end=when))
        if opens:
            open_[name] = Span(name, kind, when, None, meters, unpriced)
    spans.extend(open_.values())
    return sorted(spans, key=lambda s: (s.start, s.resource))


def _mark(step: StepRecord) -> list[tuple[dt.datetime, bool]] | None:
    """When the step started or ended a resource's billing: ``(time, opens)`` marks."""
    start, end = step.started_at, step.finished_at
    began = start or end
    if step.action == "create" and step.status == "done" and began is not None:
        return [(began, True)]
    if step.action == "create" and step.status == "rolled_back" and start and end:
        return [(start, True), (end, False)] if step.provider_ids else None
    if step.status != "done" or end is None:
        return None
    if step.action in ("update", "import"):
        return [(end, True)]
    if step.action in ("delete", "release"):
        return [(end, False)]
    return None


def _price_versions(
    doc: Mapping[str, Any], registry: ProviderRegistry
) -> dict[str, tuple[tuple[Meter, ...], tuple[str, ...]]]:
    """Each resource of an operation's spec: its meters, or why it cannot be priced."""
    from atlas.cost.engine import estimate_spec  # noqa: PLC0415 - engine imports the registry
    from atlas.spec.validate import validate_spec  # noqa: PLC0415

    try:
        spec = validate_spec(doc, registry=registry, purpose="estimate")
    except AtlasError as exc:
        why = f"its spec no longer validates: {exc}"
        names = [r.get("name") for r in doc.get("resources", ()) if isinstance(r, Mapping)]
        return {str(n): ((), (why,)) for n in names}
    lookup = registry.price_lookup(spec.provider, region=spec.region)
    estimate = estimate_spec(spec, registry, duration=Duration.month())
    return {r.resource_name: _meters(r.line_items, lookup) for r in estimate.breakdown}


def _meters(
    lines: Sequence[LineItem], lookup: PriceLookup
) -> tuple[tuple[Meter, ...], tuple[str, ...]]:
    meters: list[Meter] = []
    by_sku: dict[str, Meter] = {}
    unpriced: list[str] = []
    for line in lines:
        if line.unpriced is not None or line.billing is None:
            unpriced.append(f"{line.description}: {line.unpriced or 'no billing rule'}")
            continue
        price = lookup.price(line.sku)
        if price is not None:
            meter = Meter(
                line.sku, price.monthly.amount, price.hourly.amount, line.billing, line.quantity
            )
        else:  # a surcharge: a fraction of its base line, metered by the base's rule
            base = by_sku.get(line.unit.removeprefix("x "))
            if base is None:
                unpriced.append(f"{line.description}: its base line {line.unit!r} is unknown")
                continue
            meter = attrs.evolve(base, sku=line.sku, units=base.units * line.quantity)
        by_sku[line.sku] = meter
        meters.append(meter)
    return tuple(meters), tuple(unpriced)


# -- pricing spans -----------------------------------------------------------------------------


def accrue(
    spans: Iterable[Span], start: dt.datetime, end: dt.datetime
) -> dict[str, tuple[int, Decimal | None]]:
    """Each resource's seconds and cost over ``[start, end)`` (one month at most), a line at
    a time: its seconds in the window, under its rule, rounded to the rule's places."""
    seconds: dict[str, int] = {}
    lines: dict[str, dict[tuple[str, Decimal], tuple[Meter, int]]] = {}
    unknown: set[str] = set()
    for span in spans:
        ran = _overlap(span, start, end)
        seconds.setdefault(span.resource, 0)
        lines.setdefault(span.resource, {})
        if ran <= 0:
            continue
        seconds[span.resource] += ran
        if span.unpriced:
            unknown.add(span.resource)
        for meter in span.meters:
            _, before = lines[span.resource].get(meter.key, (meter, 0))
            lines[span.resource][meter.key] = (meter, before + ran)
    out: dict[str, tuple[int, Decimal | None]] = {}
    for name, used in seconds.items():
        if name in unknown:
            out[name] = (used, None)
            continue
        cost = Decimal(0)
        for meter, ran in lines[name].values():
            exact = meter.rule.month_cost(meter.monthly, meter.hourly, ran) * meter.units
            cost += exact.quantize(Decimal(1).scaleb(-meter.rule.places), ROUND_HALF_UP)
        out[name] = (used, cost)
    return out


def _overlap(span: Span, start: dt.datetime, end: dt.datetime) -> int:
    until = end if span.end is None else min(span.end, end)
    return max(0, int((until - max(span.start, start)).total_seconds()))


def infrastructure_month(
    spans: Sequence[Span],
    infra: InfrastructureRecord,
    year: int,
    month: int,
    now: dt.datetime,
) -> InfrastructureCost | None:
    """The infrastructure's month as of ``now``; ``None`` when nothing of it ran in it."""
    start, end = month_bounds(year, month)
    until = max(start, min(now, end))
    running = _open_until(spans, until)
    if not any(_overlap(s, start, end) for s in running):
        return None
    accrued = accrue(running, start, until)
    forecast = accrue(running, start, end)
    live = {s.resource for s in spans if s.end is None}
    unpriced: dict[str, tuple[str, ...]] = {}
    kinds: dict[str, str] = {}
    for s in spans:
        kinds[s.resource] = s.type
        if s.unpriced and _overlap(s, start, end):
            unpriced[s.resource] = s.unpriced
    resources = tuple(
        ResourceCost(
            name,
            kinds[name],
            used,
            name in live,
            cost,
            forecast[name][1] if cost is not None else None,
            unpriced.get(name, ()) if cost is None else (),
        )
        for name, (used, cost) in sorted(accrued.items())
        if used or forecast[name][0]
    )
    return InfrastructureCost(
        infra.id,
        infra.name,
        infra.provider,
        infra.region,
        infra.currency,
        resources,
        _daily(spans, start, until),
    )


def _open_until(spans: Sequence[Span], now: dt.datetime) -> list[Span]:
    """What exists at ``now`` runs on: a span that ends after ``now`` (the clock of a
    report made for an earlier instant) is open, as it was then."""
    return [
        attrs.evolve(s, end=None) if s.end is not None and s.end > now else s
        for s in spans
        if s.start <= now
    ]


def _daily(
    spans: Sequence[Span], start: dt.datetime, until: dt.datetime
) -> tuple[tuple[dt.date, Decimal], ...]:
    """Cost per day, each day's the month-to-date at its end less that at its start (priced
    resources only), so that the days add up to the month to date."""
    out: list[tuple[dt.date, Decimal]] = []
    before = Decimal(0)
    day = start
    while day < until:
        upto = min(day + dt.timedelta(days=1), until)
        total = sum((c for _, c in accrue(spans, start, upto).values() if c is not None), _ZERO)
        out.append((day.date(), total - before))
        before, day = total, day + dt.timedelta(days=1)
    return tuple(out)


_ZERO = Decimal(0)


# -- reports -----------------------------------------------------------------------------------


def workspace_costs(
    store: StateStore,
    registry: ProviderRegistry,
    workspace: str,
    *,
    now: dt.datetime,
    year: int | None = None,
    month: int | None = None,
    only: InfrastructureRecord | None = None,
) -> CostReport:
    """The workspace's month (default: ``now``'s), or only the infrastructure ``only``."""
    year, month = (now.year, now.month) if year is None or month is None else (year, month)
    infras = [only] if only is not None else _every_infrastructure(store, workspace)
    made = []
    for infra in infras:
        cost = infrastructure_month(
            journal_spans(store, workspace, infra, registry), infra, year, month, now
        )
        if cost is not None or only is not None:
            made.append(cost or _nothing(infra))
    return CostReport(workspace, year, month, now, tuple(made))


def infrastructure_costs(
    store: StateStore,
    registry: ProviderRegistry,
    infra: InfrastructureRecord,
    *,
    now: dt.datetime,
    year: int | None = None,
    month: int | None = None,
) -> CostReport:
    """One infrastructure's month, as a report of its workspace with it alone."""
    return workspace_costs(
        store, registry, infra.workspace, now=now, year=year, month=month, only=infra
    )


def _nothing(infra: InfrastructureRecord) -> InfrastructureCost:
    return InfrastructureCost(
        infra.id, infra.name, infra.provider, infra.region, infra.currency, (), ()
    )


def _every_infrastructure(store: StateStore, workspace: str) -> list[InfrastructureRecord]:
    out: list[InfrastructureRecord] = []
    while True:
        page = store.list_infrastructures(workspace, limit=500, offset=len(out))
        out.extend(page)
        if len(page) < 500:
            return sorted(out, key=lambda i: (i.created_at, i.id))


def _figure(amount: Decimal | None) -> float | None:
    # JSON has no decimals: rounded first, so the float carries no extra digits.
    return None if amount is None else float(amount.quantize(_CENT, ROUND_HALF_UP))


def _daily_json(days: Sequence[tuple[dt.date, Decimal]]) -> list[dict[str, Any]]:
    return [{"date": d.isoformat(), "cost": _figure(c)} for d, c in days]
