"""The placement recorded with an infrastructure: the ``placed`` key of the spec atlas records.

A ``provider: any`` spec is resolved to a concrete one (one provider, one region) before it is
planned; that concrete spec is what the store records (``InfrastructureRecord.spec``), what
an operation works toward (``OperationRecord.spec``) and what a saved plan holds. The decision
behind it travels in the same document, under ``placed``::

    placed:
      provider: aws
      region: eu-west-1
      monthly_cost: "152.40"          # a decimal string, in currency
      currency: USD
      reason: the cheapest of 9 placements that meet every constraint, at 152.40 USD a month
      runner_up: {provider: digitalocean, region: fra1, monthly_cost: "161.00", difference: "8.60"}
      choices: [{resource: web, offering: t3.medium, reason: ...}]
      kept: false                     # true: the placement recorded before was kept
      decided_at: "2026-12-06T23:40:00.123456+00:00"

So it is kept with the infrastructure's record, in every backup (``atlas state export``
writes the recorded spec as it is), and the recorded spec stays valid input: validation reads
``placed`` back onto :attr:`InfrastructureSpec.placement
<atlas.model.infrastructure.InfrastructureSpec.placement>` (it must name the spec's own
provider and region), so a refresh, a resume or a saved plan carries the decision on. A spec
still to be placed (portable kinds, ``provider: any``) may not carry it: atlas writes it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from atlas.exceptions import Problem

if TYPE_CHECKING:
    from atlas.portable.resolve import PlacementDecision

__all__ = [
    "PLACED",
    "describe_placement",
    "placed_document",
    "placed_json",
    "read_placed",
    "recorded_placement",
]

#: The key of a recorded spec that holds its placement decision.
PLACED = "placed"
_FIELDS = (
    "provider",
    "region",
    "monthly_cost",
    "currency",
    "reason",
    "runner_up",
    "choices",
    "kept",
    "decided_at",
)
_RUNNER_UP_FIELDS = ("provider", "region", "monthly_cost", "difference")
_CHOICE_FIELDS = ("resource", "offering", "reason")


def placed_document(decision: PlacementDecision) -> dict[str, Any]:
    """The ``placed`` value for ``decision``: plain JSON, amounts as decimal strings."""
    runner = decision.runner_up
    return {
        "provider": decision.provider,
        "region": decision.region,
        "monthly_cost": _text(decision.monthly),
        "currency": decision.currency,
        "reason": decision.reason,
        "runner_up": None
        if runner is None
        else {
            "provider": runner.provider,
            "region": runner.region,
            "monthly_cost": _text(runner.monthly),
            "difference": _text(runner.difference),
        },
        "choices": [
            {"resource": c.resource, "offering": c.offering, "reason": c.reason}
            for c in decision.choices
        ],
        "kept": decision.kept,
        "decided_at": None if decision.decided_at is None else decision.decided_at.isoformat(),
    }


def read_placed(
    value: Any, *, provider: str | None, region: str | None, path: str = PLACED
) -> tuple[PlacementDecision | None, list[Problem]]:
    """The decision a ``placed`` value records, or every problem with it (at its path). It
    must name ``provider`` and ``region``, those of the spec it is part of (``None``: not
    known, not compared)."""
    from atlas.portable.contract import Choice  # noqa: PLC0415 - validation imports this
    from atlas.portable.resolve import PlacementDecision, RunnerUp  # noqa: PLC0415

    r = _Reader(path)
    doc = r.mapping(value, path, _FIELDS)
    if doc is None:
        return None, r.problems
    where = (r.string(doc, "provider", path), r.string(doc, "region", path))
    known = provider is not None and region is not None and None not in where
    if known and where != (provider, region):
        r.fail(
            path,
            f"records a placement in {where[0]} {where[1]}, but the spec is for "
            f"{provider} {region}: atlas writes it with the spec it places",
        )
    monthly = r.amount(doc, "monthly_cost", path)
    currency = r.string(doc, "currency", path)
    reason = r.string(doc, "reason", path)
    runner = None
    raw_runner = doc.get("runner_up")
    if raw_runner is not None:
        at = f"{path}.runner_up"
        ru = r.mapping(raw_runner, at, _RUNNER_UP_FIELDS)
        if ru is not None:
            rp, rr = r.string(ru, "provider", at), r.string(ru, "region", at)
            rm, rd = r.amount(ru, "monthly_cost", at), r.amount(ru, "difference", at)
            if rp is not None and rr is not None:
                runner = RunnerUp(rp, rr, rm, rd)
    choices = []
    raw_choices = doc.get("choices", [])
    if not isinstance(raw_choices, list):
        r.fail(f"{path}.choices", "expected a list")
        raw_choices = []
    for i, item in enumerate(raw_choices):
        at = f"{path}.choices[{i}]"
        c = r.mapping(item, at, _CHOICE_FIELDS)
        if c is None:
            continue
        name, offering, why = (r.string(c, k, at) for k in _CHOICE_FIELDS)
        if name is not None and offering is not None and why is not None:
            choices.append(Choice(name, offering, why, (), ()))
    kept = doc.get("kept", False)
    if not isinstance(kept, bool):
        r.fail(f"{path}.kept", "expected true or false")
    decided_at = r.time(doc, "decided_at", path)
    chosen_provider, chosen_region = where
    if r.problems or None in (chosen_provider, chosen_region, currency, reason):
        return None, r.problems
    # (for mypy: each checked just above)
    assert chosen_provider is not None
    assert chosen_region is not None
    assert currency is not None
    assert reason is not None
    decision = PlacementDecision(
        chosen_provider,
        chosen_region,
        monthly,
        currency,
        reason,
        runner,
        tuple(choices),
        chosen=True,
        kept=bool(kept),
        decided_at=decided_at,
    )
    return decision, []


def recorded_placement(spec: Mapping[str, Any] | None) -> PlacementDecision | None:
    """The decision a recorded spec holds (``None`` when it holds none, or a broken one)."""
    if not spec or PLACED not in spec:
        return None
    decision, _ = read_placed(spec[PLACED], provider=None, region=None)
    return decision


def placed_json(spec: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The placement a recorded spec holds, as the HTTP API and ``--json`` show it (amounts
    as numbers rounded to the cent); ``None`` when it holds none."""
    decision = recorded_placement(spec)
    return None if decision is None else decision_record_json(decision)


def decision_record_json(
    decision: PlacementDecision, moved_from: tuple[str, str] | None = None
) -> dict[str, Any]:
    """A decision as JSON: :func:`atlas.portable.report.decision_json` with ``kept``,
    ``decided_at`` and, for a plan, ``moved_from`` (``{"provider", "region"}`` or ``None``)."""
    from atlas.portable.report import decision_json  # noqa: PLC0415

    out = decision_json(decision)
    out["kept"] = decision.kept
    out["decided_at"] = _iso(decision.decided_at)
    out["moved_from"] = (
        None if moved_from is None else {"provider": moved_from[0], "region": moved_from[1]}
    )
    return out


def describe_placement(
    decision: PlacementDecision, moved_from: tuple[str, str] | None = None
) -> str:
    """One line for a plan: where, at what price, the runner-up, and why (or, kept, how to
    move it). ``moved_from``: the placement a re-placement moves the infrastructure from."""
    price = _price(decision.monthly, decision.currency)
    where = f"{decision.provider} {decision.region}, {price}"
    runner = decision.runner_up
    cheaper = (
        runner is not None and runner.difference is not None and runner.difference < Decimal(0)
    )
    if runner is None:
        second = ""
    elif cheaper:
        assert runner.difference is not None
        by = _price(-runner.difference, decision.currency).removesuffix(" a month")
        second = f"now runner-up {runner.provider} {runner.region} is cheaper by {by}"
    else:
        more = (
            "price unknown"
            if runner.difference is None
            else f"+{_money(runner.difference)} {decision.currency}"
        )
        second = f"runner-up {runner.provider} {runner.region}, {more}"
    if moved_from is not None:
        head = f"placement moves: {moved_from[0]} {moved_from[1]} -> {where}"
        return head + (f" ({second})" if second else "") + f": {decision.reason}"
    if decision.kept:
        hint = "--replace-placement to move" if cheaper else "--replace-placement to place again"
        return f"placement kept: {where} ({second + '; ' if second else ''}{hint})"
    return f"placement: {where}" + (f" ({second})" if second else "") + f": {decision.reason}"


def _price(amount: Decimal | None, currency: str) -> str:
    return "price unknown" if amount is None else f"{_money(amount)} {currency} a month"


def _money(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01'), ROUND_HALF_UP):,.2f}"


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)


def _iso(time: dt.datetime | None) -> str | None:
    if time is None:
        return None
    return time.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class _Reader:
    """Reads a ``placed`` value, collecting every problem with its path."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[Problem] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def mapping(self, value: Any, path: str, fields: tuple[str, ...]) -> Mapping[str, Any] | None:
        if not isinstance(value, Mapping):
            self.fail(path, f"expected a mapping, got {type(value).__name__}")
            return None
        for key in value:
            if key not in fields:
                self.fail(f"{path}.{key}", f"unknown field (known: {', '.join(fields)})")
        return value

    def string(self, doc: Mapping[str, Any], key: str, path: str) -> str | None:
        value = doc.get(key)
        if not isinstance(value, str) or not value:
            self.fail(f"{path}.{key}", "required: a non-empty string")
            return None
        return value

    def amount(self, doc: Mapping[str, Any], key: str, path: str) -> Decimal | None:
        value = doc.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(f"{path}.{key}", 'expected an amount as a decimal string ("7.30")')
            return None
        try:
            amount = Decimal(value)
        except InvalidOperation:
            self.fail(f"{path}.{key}", f"{value!r} is not an amount")
            return None
        if not amount.is_finite():
            self.fail(f"{path}.{key}", f"{value!r} is not an amount")
            return None
        return amount

    def time(self, doc: Mapping[str, Any], key: str, path: str) -> dt.datetime | None:
        value = doc.get(key)
        if value is None:
            return None
        if isinstance(value, dt.datetime) and value.tzinfo is not None:  # (YAML reads them)
            return value
        if isinstance(value, str):
            try:
                when = dt.datetime.fromisoformat(value)
            except ValueError:
                when = None
            if when is not None and when.tzinfo is not None:
                return when
        self.fail(f"{path}.{key}", "expected a date and time in ISO 8601 with its UTC offset")
        return None
