"""The plan: a pure diff between the spec wanted and the resources recorded.

No I/O. Each change says what happens to which resource, why, and what it does to the monthly
cost; the plan totals the cost before and after and knows whether a budget allows it.

A resource with ``import:`` and no record is an **import**: nothing is created; the objects
read back (:class:`~atlas.providers.FoundResource`, read by the caller) are adopted and what
differs from the spec is changed in place. A field the cloud cannot read back
(:attr:`ResourceKind.create_only <atlas.providers.ResourceKind.create_only>`) is never
compared; a difference that cannot be made in place is not a replacement but a refusal
(:attr:`PlannedChange.needs_replacement`). An imported resource that leaves the spec is
**released**: let go from the infrastructure, left in place at the provider.

A replacement or a delete of a resource whose kind keeps data
(:attr:`ResourceKind.stateful <atlas.providers.ResourceKind.stateful>`: a database, a volume)
**destroys data** (:attr:`PlannedChange.destroys_data`): applying such a plan takes an explicit
``allow_data_loss`` (:meth:`Plan.check_data_loss`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Literal

import attrs

from atlas.cost.engine import estimate_spec
from atlas.cost.money import Money
from atlas.exceptions import DataLossError, Problem, SpecValidationError
from atlas.lifecycle.basis import PlanBasis
from atlas.model.infrastructure import Budget, InfrastructureSpec, ResourceSpec
from atlas.model.records import ResourceRecord
from atlas.providers.contract import AccountStep, FoundResource
from atlas.providers.declarations import ResourceKind
from atlas.providers.registry import ProviderRegistry
from atlas.spec.converter import make_converter
from atlas.spec.dump import dump_resource
from atlas.spec.references import Reference, dependencies, iter_references, ordering

if TYPE_CHECKING:
    from atlas.portable.resolve import PlacementDecision

_converter = make_converter()
_CENT = Decimal("0.01")  # what Money.rounded() rounds to

__all__ = [
    "Action",
    "FieldChange",
    "Plan",
    "PlannedChange",
    "make_plan",
    "needs_import",
    "recorded_dependencies",
]

Action = Literal["create", "update", "replace", "delete", "import", "release"]


@attrs.frozen
class FieldChange:
    """``path`` changes from ``old`` to ``new`` (paths as in validation errors)."""

    path: str
    old: Any
    new: Any

    def __str__(self) -> str:
        return f"{self.path}: {_short(self.old)} -> {_short(self.new)}"


@attrs.frozen
class PlannedChange:
    """What happens to one resource. A replacement deletes the old resource, then creates
    the new one (atlas's deterministic names are its idempotency keys, so the two cannot
    exist side by side)."""

    action: Action
    resource: str
    type: str
    reason: str
    fields: tuple[FieldChange, ...] = ()
    monthly_before: Money | None = None
    monthly_after: Money | None = None
    #: A create an interrupted operation started: what it made is adopted, not made again.
    resume: bool = False
    #: For an import: the provider ids adopted.
    import_ids: tuple[str, ...] = ()
    #: For an import: why the objects would have to be replaced to match the spec (a field
    #: that cannot change in place differs), and the spec path it is about. Such a plan is
    #: not applied (:meth:`Plan.check_imports`): the spec must match, or not import.
    needs_replacement: str | None = None
    needs_replacement_at: str | None = None
    #: A replacement or a delete of a resource whose kind keeps data, with objects recorded:
    #: what they hold is gone (a replacement starts empty; nothing is copied).
    destroys_data: bool = False

    @property
    def cost_change(self) -> Money | None:
        """Monthly, for the infrastructure: after minus before; ``None`` when either side has
        an unknown price. An import adds its cost to the infrastructure (the account was
        paying it already); a release takes it off (the account goes on paying it)."""
        before, after = self.monthly_before, self.monthly_after
        if self.action in ("create", "import"):  # nothing before, in this infrastructure
            return after
        if self.action in ("delete", "release"):  # nothing after (zero minus: no -0)
            return None if before is None else Money.zero(before.currency) - before
        if before is None or after is None:
            return None
        return after - before


@attrs.frozen
class Plan:
    """Every change, in no particular order (the executor orders them by dependencies)."""

    infrastructure: str
    changes: tuple[PlannedChange, ...]
    cost_before: Money
    cost_after: Money
    budget: Budget | None = None
    unpriced: tuple[str, ...] = ()
    #: What the imports of this plan read, by spec resource: the executor adopts exactly it.
    imports: Mapping[str, FoundResource] = attrs.field(factory=dict)
    #: What the account needs first, outside the infrastructure (a region's default network):
    #: carried out before the changes, never rolled back nor destroyed. Only a plan that read
    #: the cloud has any (see :meth:`atlas.AsyncAtlas.plan`).
    account: tuple[AccountStep, ...] = ()
    #: The validated spec the plan was made from: what applying it works toward.
    spec: InfrastructureSpec | None = None
    #: The spec and the recorded state it was made from, for :meth:`atlas.AsyncAtlas.apply`
    #: to prove they have not changed (``None``: not made by :meth:`atlas.AsyncAtlas.plan`).
    basis: PlanBasis | None = None
    #: Budget thresholds this month's forecast would cross once applied (one sentence each;
    #: :func:`atlas.cost.budgets.threshold_warnings`): a warning, never a refusal.
    warnings: tuple[str, ...] = ()
    #: For a re-placement (``replace_placement``) that moves the infrastructure to another
    #: region of its provider: the ``(provider, region)`` it moves from.
    placement_from: tuple[str, str] | None = None

    @property
    def placement(self) -> PlacementDecision | None:
        """Where a ``provider: any`` spec is placed and why (the runner-up and its price
        difference; :attr:`kept <atlas.portable.resolve.PlacementDecision.kept>` when it is
        the placement recorded with the infrastructure); ``None`` for any other spec."""
        decision = self.spec.placement if self.spec is not None else None
        return decision if decision is not None and decision.chosen else None

    @property
    def empty(self) -> bool:
        return not self.changes and not self.account

    def check_imports(self) -> None:
        """Raise :class:`~atlas.exceptions.SpecValidationError` when an import would need a
        replacement: atlas never deletes what it is asked to adopt."""
        problems = [
            Problem(c.needs_replacement_at or c.resource, c.needs_replacement)
            for c in self.changes
            if c.needs_replacement is not None
        ]
        if problems:
            raise SpecValidationError(problems)

    @property
    def data_loss(self) -> tuple[PlannedChange, ...]:
        """The changes that destroy data (:attr:`PlannedChange.destroys_data`)."""
        return tuple(c for c in self.changes if c.destroys_data)

    def check_data_loss(self, allow: bool) -> None:
        """Raise :class:`~atlas.exceptions.DataLossError`, naming each resource, when the plan
        destroys data and ``allow`` is not given: an explicit choice beyond "apply"."""
        lost = self.data_loss
        if not lost or allow:
            return
        what = "; ".join(f"{c.type} {c.resource} ({c.action}: {c.reason})" for c in lost)
        raise DataLossError(
            f"the plan destroys the data of {what}; nothing was changed (allow_data_loss=True, "
            "or atlas apply --allow-data-loss, to go ahead)",
            resources=[c.resource for c in lost],
        )

    @property
    def cost_change(self) -> Money:
        return self.cost_after - self.cost_before

    @property
    def currency(self) -> str:
        """The ISO 4217 code of every figure of the plan: the one its provider bills in."""
        return self.cost_after.currency

    def over_budget(self, budget: Budget | None = None) -> bool:
        """Whether the monthly cost after the plan exceeds ``budget`` (default: the spec's)."""
        limit = budget or self.budget
        if limit is None:
            return False
        return self.cost_after > Money(limit.monthly_limit, limit.currency)

    def change(self, resource: str) -> PlannedChange | None:
        return next((c for c in self.changes if c.resource == resource), None)

    def to_dict(self) -> dict[str, Any]:
        figures: dict[int, tuple[Money, float]] = {}  # like changes share their Money

        def money(m: Money | None) -> float | None:
            if m is None:
                return None
            known = figures.get(id(m))
            if known is None or known[0] is not m:
                # float(m.rounded().amount), without making two Money objects for it
                known = figures[id(m)] = (m, float(m.amount.quantize(_CENT, ROUND_HALF_UP)))
            return known[1]

        return {
            "infrastructure": self.infrastructure,
            "changes": [
                {
                    "action": c.action,
                    "resource_name": c.resource,
                    "resource_type": c.type,
                    "reason": c.reason,
                    "fields": [{"path": f.path, "old": f.old, "new": f.new} for f in c.fields],
                    "import_ids": list(c.import_ids),
                    "needs_replacement": c.needs_replacement,
                    "destroys_data": c.destroys_data,
                    "monthly_cost_before": money(c.monthly_before),
                    "monthly_cost_after": money(c.monthly_after),
                    "cost_change": money(c.cost_change),
                }
                for c in self.changes
            ],
            "cost_before": money(self.cost_before),
            "cost_after": money(self.cost_after),
            "cost_change": money(self.cost_change),
            "currency": self.currency,
            "budget": None
            if self.budget is None
            else {
                "monthly_limit": float(self.budget.monthly_limit),
                "currency": self.budget.currency,
                "over_budget": self.over_budget(),
            },
            "unpriced": list(self.unpriced),
            "warnings": list(self.warnings),
            "account_steps": [
                {
                    "type": a.type,
                    "name": a.name,
                    "region": a.region,
                    "reason": a.reason,
                    "details": dict(a.details),
                }
                for a in self.account
            ],
            "placement": self._placement_dict(),
        }

    def _placement_dict(self) -> dict[str, Any] | None:
        decision = self.placement
        if decision is None:
            return None
        from atlas.portable.record import decision_record_json  # noqa: PLC0415

        return decision_record_json(decision, self.placement_from)


def make_plan(
    spec: InfrastructureSpec,
    recorded: Sequence[ResourceRecord],
    registry: ProviderRegistry,
    *,
    recorded_spec: Mapping[str, Any] | None = None,
    drift: Mapping[str, Sequence[str]] | None = None,
    imports: Mapping[str, FoundResource] | None = None,
    delete_imported: bool = False,
) -> Plan:
    """Diff ``spec`` against the ``recorded`` resources.

    :param recorded_spec: the infrastructure's document as last applied (for its region and
        tags); ``None`` for a new infrastructure.
    :param drift: what a refresh found changed outside atlas, by resource: such a resource is
        updated back to its spec even when its document did not change.
    :param imports: what the provider read of the objects each importing resource adopts
        (see :func:`needs_import`); an import not in it is planned without a comparison.
    :param delete_imported: delete imported resources that leave the spec, instead of
        releasing them (``atlas destroy --include-imported``).
    """
    kinds = registry.kinds(spec.provider)
    est = estimate_spec(spec, registry)
    cost_after, after = est.monthly_figures()
    by_name = {r.name: r for r in recorded}
    changes: dict[str, PlannedChange] = {}
    for index, res in enumerate(spec.resources):
        old = by_name.get(res.name)
        if needs_import(res, old):
            found = (imports or {}).get(res.name)
            adopt = _import(index, res, found, kinds.get(res.type), spec, resumed=old is not None)
            changes[res.name] = attrs.evolve(adopt, monthly_after=after[res.name])
            continue
        if old is None:
            changes[res.name] = PlannedChange(
                "create", res.name, res.type, "new resource", monthly_after=after[res.name]
            )
            continue
        # Only a recorded resource is compared: a create needs no document.
        new_doc = dump_resource(res)
        change = _compare(old, new_doc, kinds.get(res.type), spec, recorded_spec)
        if change is None and drift and drift.get(res.name):
            change = PlannedChange(
                "update", res.name, res.type, "drift: " + "; ".join(drift[res.name])
            )
        if change is not None:
            changes[res.name] = attrs.evolve(
                change, monthly_before=_money(old), monthly_after=after[res.name]
            )
    for old in recorded:
        if old.name in after:
            continue
        if old.imported and not delete_imported:
            changes[old.name] = PlannedChange(
                "release",
                old.name,
                old.type,
                "no longer in the spec; imported, so left in place at the provider "
                "(and still billed there)",
                monthly_before=_money(old),
            )
        else:
            why = "no longer in the spec" + ("; imported, deleted as asked" if old.imported else "")
            changes[old.name] = PlannedChange(
                "delete", old.name, old.type, why, monthly_before=_money(old)
            )
    _propagate_replacements(spec, changes, kinds, after=after, recorded=by_name)
    _mark_data_loss(changes, kinds, by_name)
    cost_before = Money.total((m for r in recorded if (m := _money(r))), est.currency)
    return Plan(
        infrastructure=spec.name,
        changes=tuple(changes[n] for n in _ordered(spec, recorded, changes)),
        cost_before=cost_before,
        cost_after=cost_after,
        budget=spec.budget,
        unpriced=tuple(u for r in est.breakdown for u in r.unpriced),
        imports=dict(imports or {}),
        spec=spec,
    )


def _mark_data_loss(
    changes: dict[str, PlannedChange],
    kinds: Mapping[str, ResourceKind],
    recorded: Mapping[str, ResourceRecord],
) -> None:
    """Mark the replacements and deletes that destroy data: of a stateful kind, with objects
    recorded (a resource a refresh found gone, or a create that never made anything, holds
    none). A release leaves the objects, data and all, in place."""
    for name, change in changes.items():
        old = recorded.get(name)
        if change.action not in ("replace", "delete") or old is None or not old.objects:
            continue
        kind = kinds.get(old.type)
        if kind is not None and kind.stateful:
            changes[name] = attrs.evolve(change, destroys_data=True)


def needs_import(resource: ResourceSpec, record: ResourceRecord | None) -> bool:
    """Whether ``resource`` is to be imported: it names ids to adopt and has no record yet,
    or one an interrupted import left (which is imported again, never created)."""
    if not resource.import_ids:
        return False
    return record is None or (record.imported and record.status in ("pending", "creating"))


def _import(
    index: int,
    res: ResourceSpec,
    found: FoundResource | None,
    kind: ResourceKind | None,
    spec: InfrastructureSpec,
    *,
    resumed: bool,
) -> PlannedChange:
    """The import of ``res``: what differs between what was read back and the spec, compared
    only where the cloud could tell and the spec says something (never a ``create_only``
    field, nor one the spec leaves unset)."""
    ids = ", ".join(res.import_ids)
    head = "finish an interrupted import of" if resumed else "adopt existing"
    reason = f"{head} {ids} (already billed at the provider: nothing is created)"
    if found is None:
        return PlannedChange("import", res.name, res.type, reason, import_ids=res.import_ids)
    skip = kind.create_only if kind is not None else frozenset()
    wanted = dump_resource(res)["specifications"]
    # A field the spec leaves unset (None) asks for nothing: what exists is kept as it is,
    # rather than planned away (a database's version, a volume's description).
    have = {
        k: v
        for k, v in found.specifications.items()
        if k not in skip and wanted.get(k, v) is not None
    }
    fields = tuple(_diff_read(have, wanted, "specifications"))
    blocker = _import_blocker(index, res, found, kind, spec, have, wanted, fields)
    if fields:
        reason += "; then " + "; ".join(str(f) for f in fields)
    return PlannedChange(
        "import",
        res.name,
        res.type,
        reason,
        fields,
        import_ids=found.ids or res.import_ids,
        needs_replacement=blocker[1] if blocker else None,
        needs_replacement_at=blocker[0] if blocker else None,
    )


def _import_blocker(  # noqa: PLR0917 - private; one call site, read top to bottom
    index: int,
    res: ResourceSpec,
    found: FoundResource,
    kind: ResourceKind | None,
    spec: InfrastructureSpec,
    have: Mapping[str, Any],
    wanted: Mapping[str, Any],
    fields: tuple[FieldChange, ...],
) -> tuple[str, str] | None:
    """(path, why) when the objects could only match the spec by being replaced."""
    at = f"resources[{index}]"
    what = f"the imported {res.type} {', '.join(found.ids or res.import_ids)}"
    fix = "change the spec to match or drop import"
    if found.type != res.type:
        return f"{at}.type", f"{what} is a {found.type}; {fix}"
    if found.region and found.region != spec.region:
        return "region", f"{what} is in {found.region}, the spec says {spec.region}; {fix}"
    if kind is None:
        return None
    for f in fields:
        top = f.path.split(".")[1].split("[")[0]
        if top in kind.replace_on:
            return (
                f"{at}.{f.path}",
                f"{what} has {top} {_short(have.get(top))}, the spec says "
                f"{_short(wanted.get(top))}, which cannot change in place; {fix}",
            )
    if kind.replace_if is not None:
        read = {k: wanted[k] for k in have if k in wanted}
        why = kind.replace_if(have, read)
        if why:
            return f"{at}.specifications", f"{what}: {why}, which cannot be done in place; {fix}"
    return None


def _compare(
    old: ResourceRecord,
    new_doc: Mapping[str, Any],
    kind: ResourceKind | None,
    spec: InfrastructureSpec,
    recorded_spec: Mapping[str, Any] | None,
) -> PlannedChange | None:
    """The change from a recorded resource to its new document, or ``None`` if none."""
    fields = tuple(
        _diff(old.spec.get("specifications", {}), new_doc["specifications"], "specifications")
    )
    blocker = _blocker(old, new_doc, kind, spec=spec, recorded_spec=recorded_spec, fields=fields)
    if blocker is not None:
        return blocker
    tags_changed = recorded_spec is not None and dict(recorded_spec.get("tags", {})) != spec.tags
    retag = tags_changed and (kind is None or (kind.taggable and kind.retaggable))
    if not fields and not retag:
        return None
    reason = "; ".join(str(f) for f in fields) or "tags change"
    return PlannedChange("update", old.name, old.type, reason, fields)


def _blocker(
    old: ResourceRecord,
    new_doc: Mapping[str, Any],
    kind: ResourceKind | None,
    *,
    spec: InfrastructureSpec,
    recorded_spec: Mapping[str, Any] | None,
    fields: tuple[FieldChange, ...],
) -> PlannedChange | None:
    """A change that cannot be an in-place update: a resume, or a replacement."""
    if old.status in ("pending", "creating"):
        return PlannedChange(
            "create",
            old.name,
            old.type,
            "finish a create an interrupted operation started",
            resume=True,
        )
    reason = None
    region_before = (recorded_spec or {}).get("region", spec.region)
    if old.type != new_doc["type"]:
        reason = f"type changes from {old.type} to {new_doc['type']}"
    elif region_before != spec.region:
        reason = f"region changes from {region_before} to {spec.region}"
    elif old.status not in ("active", "updating"):
        reason = f"the recorded resource is {old.status}"
    elif kind is not None:
        top = {f.path.split(".")[1].split("[")[0] for f in fields}
        forced = sorted(top & kind.replace_on)
        old_specs = old.spec.get("specifications", {})
        why = kind.replace_if(old_specs, new_doc["specifications"]) if kind.replace_if else None
        reason = why or (f"{', '.join(forced)} cannot change in place" if forced else None)
    if reason is None:
        return None
    if old.imported:
        reason += " (it was imported: the objects adopted are deleted and new ones created)"
    return PlannedChange("replace", old.name, str(new_doc["type"]), reason, fields)


def _propagate_replacements(
    spec: InfrastructureSpec,
    changes: dict[str, PlannedChange],
    kinds: Mapping[str, ResourceKind],
    *,
    after: Mapping[str, Money | None],
    recorded: Mapping[str, ResourceRecord],
) -> None:
    """A resource referring to a replaced one follows it: replaced too when the reference
    cannot change in place (a server's network), updated otherwise (a load balancer's targets)."""
    if not any(c.action == "replace" for c in changes.values()):
        return  # nothing to follow (nor any resource's references to read)
    deps = dependencies(spec.resources, weak=True)
    for _ in range(len(spec.resources)):
        moved = False
        for res in spec.resources:
            current = changes.get(res.name)
            if current is not None and current.action in (
                "create",
                "replace",
                "delete",
                "import",
                "release",
            ):
                continue
            replaced = sorted(
                d
                for d in deps[res.name]
                if (c := changes.get(d)) is not None and c.action == "replace"
            )
            if not replaced:
                continue
            kind = kinds.get(res.type)
            fixed = kind is not None and any(
                _ref_field(res.specifications, d) in kind.replace_on for d in replaced
            )
            action: Action = "replace" if fixed else "update"
            if current is not None and current.action == action:
                continue
            old = recorded.get(res.name)
            changes[res.name] = PlannedChange(
                action,
                res.name,
                res.type,
                f"refers to {', '.join(replaced)}, which is replaced",
                current.fields if current else (),
                _money(old) if old is not None else None,
                after.get(res.name),
            )
            moved = True
        if not moved:
            return


def recorded_dependencies(
    recorded: Sequence[ResourceRecord], kinds: Mapping[str, ResourceKind]
) -> dict[str, set[str]]:
    """What each recorded resource refers to, read back through its kind's class (so the
    core needs to know no provider's field names)."""
    refs: dict[str, list[Reference]] = {}
    for record in recorded:
        kind = kinds.get(record.type)
        specs = record.spec.get("specifications", {})
        try:
            obj = _converter.structure(dict(specs), kind.spec_class) if kind else None
        except Exception:  # a record from an older kind: it still gets deleted, just unordered
            obj = None
        refs[record.name] = list(iter_references(obj)) if obj is not None else []
    return ordering(refs)


def _ref_field(specifications: Any, target: str) -> str:
    for ref in iter_references(specifications):
        if ref.target == target:
            return ref.path.split(".")[0].split("[")[0]
    return ""


def _ordered(
    spec: InfrastructureSpec, recorded: Iterable[ResourceRecord], changes: Mapping[str, Any]
) -> list[str]:
    order = [r.name for r in spec.resources] + [r.name for r in recorded]
    # A dict keeps the first position of each name: linear, where a list searched for every
    # name made a plan of 36,000 resources take seconds (issue 12).
    return list(dict.fromkeys(n for n in order if n in changes))


def _diff_read(have: Any, wanted: Any, path: str) -> Iterable[FieldChange]:
    """Like :func:`_diff`, but only where ``have`` (what was read back) has a value: a key
    the cloud did not report is not known to differ."""
    if isinstance(have, dict) and isinstance(wanted, dict):
        for key in sorted(set(have) & set(wanted)):
            yield from _diff_read(have[key], wanted[key], f"{path}.{key}")
    elif have != wanted:
        yield FieldChange(path, have, wanted)


def _diff(old: Any, new: Any, path: str) -> Iterable[FieldChange]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            yield from _diff(old.get(key), new.get(key), f"{path}.{key}")
    elif old != new:
        yield FieldChange(path, old, new)


def _money(record: ResourceRecord) -> Money | None:
    return None if record.monthly_cost is None else Money(record.monthly_cost, record.currency)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
