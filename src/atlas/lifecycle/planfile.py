"""A plan saved to a file (``atlas plan FILE --out PLAN``) and read back (``atlas apply PLAN``).

The file is one JSON document that holds everything applying the plan needs and nothing more:
the format version (``atlas_plan``), the validated spec, the basis (what the plan was made
from, :class:`~atlas.lifecycle.basis.PlanBasis`), every change with its exact prices (amounts
as decimal strings), the account steps, what the imports read, and a digest of all of it.
:func:`load_plan` gives back the very :class:`~atlas.lifecycle.plan.Plan` that was saved, so
``atlas apply PLAN`` shows and carries out exactly what ``atlas plan`` showed; a file that
was altered, truncated, is not a plan, or comes from a newer atlas is a
:class:`~atlas.exceptions.PlanFileError`.

No secret is written: the spec is the user's own document, the imports carry the attributes
the provider chose to record (an allowlist that leaves passwords out, as in the state store),
and the basis holds only digests of the records. Credentials never reach a plan at all.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar, cast

from atlas.__about__ import __version__
from atlas._files import write_private_json
from atlas.cost.money import Money
from atlas.exceptions import PlanFileError, SpecError
from atlas.lifecycle.basis import PlanBasis, ResourceBasis, digest
from atlas.lifecycle.plan import Action, FieldChange, Plan, PlannedChange
from atlas.model.cloud import CloudObject, Owner, ResourceStatus
from atlas.providers.contract import AccountStep, FoundResource
from atlas.providers.registry import ProviderRegistry
from atlas.spec.dump import dump_spec
from atlas.spec.load import decode_bytes, json_document
from atlas.spec.validate import validate_spec

__all__ = ["FORMAT", "MARKER", "is_plan_document", "load_plan", "plan_document", "save_plan"]

#: The key that marks a saved plan, and the version of the format this atlas writes and reads.
MARKER = "atlas_plan"
FORMAT = 1

_ACTIONS = ("create", "update", "replace", "delete", "import", "release")
_STATUSES = ("pending", "creating", "active", "updating", "error", "deleting", "deleted")
T = TypeVar("T")


def is_plan_document(doc: object) -> bool:
    """Whether a document read from a file is a saved plan (rather than a spec)."""
    return isinstance(doc, Mapping) and MARKER in doc


def save_plan(plan: Plan, path: str | os.PathLike[str]) -> Path:
    """Write ``plan`` to ``path`` (replaced whole, never left half-written); the path.

    :raises PlanFileError: the plan was not made by :meth:`atlas.AsyncAtlas.plan` (it has no
        spec or basis to check it against later), or the file cannot be written.
    """
    # Readable by its owner only, like the state store: the spec may hold user data.
    return write_private_json(plan_document(plan), path, error=PlanFileError, what="plan file ")


def plan_document(plan: Plan) -> dict[str, Any]:
    """The JSON document :func:`save_plan` writes."""
    if plan.spec is None or plan.basis is None:
        raise PlanFileError(
            "only a plan made by AsyncAtlas.plan can be saved: it records the spec and the "
            "state it was made from"
        )
    doc: dict[str, Any] = {
        MARKER: FORMAT,
        "atlas_version": __version__,
        "infrastructure": plan.infrastructure,
        "spec": dump_spec(plan.spec),
        "basis": _basis_doc(plan.basis),
        "changes": [_change_doc(c) for c in plan.changes],
        "cost_before": _money_doc(plan.cost_before),
        "cost_after": _money_doc(plan.cost_after),
        "unpriced": list(plan.unpriced),
        "account_steps": [_account_doc(a) for a in plan.account],
        "imports": {name: _found_doc(f) for name, f in plan.imports.items()},
    }
    if plan.placement_from is not None:  # (the decision itself is in the spec, as recorded)
        doc["placement_from"] = list(plan.placement_from)
    doc["digest"] = digest(doc)
    return doc


def load_plan(
    source: str | os.PathLike[str] | bytes | Mapping[str, Any],
    *,
    registry: ProviderRegistry,
    origin: str | None = None,
) -> Plan:
    """The plan saved in ``source`` (a path, the file's bytes, or its parsed document).

    The spec is validated again with ``registry``. Whether the plan is still current is not
    decided here but by :meth:`atlas.AsyncAtlas.apply`, against the store.

    :raises PlanFileError: the file cannot be read, is not JSON, is not an atlas plan, comes
        from a newer atlas, was altered since it was written, or lacks a part.
    """
    name = origin or (str(source) if isinstance(source, str | os.PathLike) else "the plan")
    doc = _read(source, name)
    if not is_plan_document(doc):
        raise PlanFileError(f"{name} is not an atlas plan file (it has no {MARKER!r} key)")
    version = doc[MARKER]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise PlanFileError(f"{name} is corrupt: {MARKER} must be a format version, 1 or more")
    if version > FORMAT:
        raise PlanFileError(
            f"{name} was written by a newer atlas (plan format {version}; this atlas, "
            f"{__version__}, reads format {FORMAT}): apply it with that atlas, or plan again"
        )
    body = {k: v for k, v in doc.items() if k != "digest"}
    if doc.get("digest") != digest(body):
        raise PlanFileError(
            f"{name} was altered after atlas wrote it (its digest does not match its content); "
            "a plan is applied as written or not at all: plan again"
        )
    r = _Reader(name)
    try:
        spec = validate_spec(dict(r.field(doc, "spec", dict)), registry=registry)
    except SpecError as exc:
        raise PlanFileError(f"{name}: the spec it holds no longer validates: {exc}") from exc
    return Plan(
        infrastructure=r.field(doc, "infrastructure", str),
        changes=tuple(r.each(doc, "changes", _change)),
        cost_before=_money(r, doc, "cost_before"),
        cost_after=_money(r, doc, "cost_after"),
        budget=spec.budget,
        unpriced=tuple(r.each(doc, "unpriced", lambda rr, v, at: rr.of(v, str, at))),
        imports={
            key: _found(r, value, f"imports.{key}")
            for key, value in r.field(doc, "imports", dict).items()
        },
        account=tuple(r.each(doc, "account_steps", _account)),
        spec=spec,
        basis=_basis(r, r.field(doc, "basis", dict)),
        placement_from=_placement_from(r, doc),
    )


def _placement_from(r: _Reader, doc: Mapping[str, Any]) -> tuple[str, str] | None:
    """Where a re-placement moves the infrastructure from: ``[provider, region]``."""
    value = r.optional(doc, "placement_from", list, "")
    if value is None:
        return None
    if len(value) != 2 or not all(isinstance(v, str) for v in value):
        raise r.fail("placement_from", "expected [provider, region]")
    return (value[0], value[1])


# -- writing -------------------------------------------------------------------------------------


def _money_doc(m: Money | None) -> dict[str, str] | None:
    return None if m is None else {"amount": str(m.amount), "currency": m.currency}


def _change_doc(c: PlannedChange) -> dict[str, Any]:
    return {
        "action": c.action,
        "resource": c.resource,
        "type": c.type,
        "reason": c.reason,
        "fields": [{"path": f.path, "old": f.old, "new": f.new} for f in c.fields],
        "monthly_before": _money_doc(c.monthly_before),
        "monthly_after": _money_doc(c.monthly_after),
        "resume": c.resume,
        "import_ids": list(c.import_ids),
        "needs_replacement": c.needs_replacement,
        "needs_replacement_at": c.needs_replacement_at,
        "destroys_data": c.destroys_data,
    }


def _account_doc(a: AccountStep) -> dict[str, Any]:
    return {
        "type": a.type,
        "name": a.name,
        "reason": a.reason,
        "region": a.region,
        "details": dict(a.details),
    }


def _object_doc(o: CloudObject) -> dict[str, Any]:
    return {"id": o.id, "name": o.name, "status": o.status, "attributes": dict(o.attributes)}


def _found_doc(f: FoundResource) -> dict[str, Any]:
    owner = f.managed_by
    return {
        "type": f.type,
        "name": f.name,
        "region": f.region,
        "objects": [_object_doc(o) for o in f.objects],
        "specifications": dict(f.specifications),
        "managed_by": None
        if owner is None
        else {"workspace": owner.workspace, "infrastructure": owner.infrastructure},
    }


def _basis_doc(b: PlanBasis) -> dict[str, Any]:
    return {
        "workspace": b.workspace,
        "infrastructure": b.infrastructure,
        "provider": b.provider,
        "spec_digest": b.spec_digest,
        "read_cloud": b.read_cloud,
        "made_at": b.made_at.isoformat(),
        "infrastructure_id": b.infrastructure_id,
        "status": b.status,
        "updated_at": None if b.updated_at is None else b.updated_at.isoformat(),
        "last_operation": b.last_operation,
        "resources": [
            {
                "name": r.name,
                "type": r.type,
                "status": r.status,
                "ids": list(r.ids),
                "digest": r.digest,
            }
            for r in b.resources
        ],
    }


# -- reading -------------------------------------------------------------------------------------


def _read(source: str | os.PathLike[str] | bytes | Mapping[str, Any], name: str) -> Any:
    if isinstance(source, Mapping):
        return source
    if isinstance(source, str | os.PathLike):
        try:
            source = Path(source).read_bytes()
        except OSError as exc:
            raise PlanFileError(f"cannot read plan file {name}: {exc.strerror or exc}") from exc
    try:
        return json_document(decode_bytes(source, origin=name))
    except json.JSONDecodeError as exc:
        raise PlanFileError(
            f"{name} is not an atlas plan file: not valid JSON "
            f"(line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except SpecError as exc:  # not UTF-8, binary, or a key given twice
        raise PlanFileError(f"{name} is not an atlas plan file: {exc}") from None


class _Reader:
    """Reads the parts of a plan document, each error naming the file and the part's path."""

    def __init__(self, name: str) -> None:
        self.name = name

    def fail(self, at: str, what: str) -> PlanFileError:
        return PlanFileError(f"{self.name} is corrupt: {at}: {what}")

    def of(self, value: Any, kind: type[T], at: str) -> T:
        if kind is int and isinstance(value, bool):
            raise self.fail(at, "expected a number")
        if not isinstance(value, kind):
            raise self.fail(at, f"expected {_KINDS.get(kind, kind.__name__)}, got {value!r:.40}")
        return value

    def field(self, doc: Mapping[str, Any], key: str, kind: type[T], at: str = "") -> T:
        path = _join(at, key)
        if key not in doc:
            raise self.fail(path, "missing")
        return self.of(doc[key], kind, path)

    def optional(self, doc: Mapping[str, Any], key: str, kind: type[T], at: str) -> T | None:
        value = doc.get(key)
        return None if value is None else self.of(value, kind, f"{at}.{key}")

    def each(
        self,
        doc: Mapping[str, Any],
        key: str,
        read: Callable[[_Reader, Any, str], T],
        at: str = "",
    ) -> list[T]:
        path = _join(at, key)
        items: Sequence[Any] = self.field(doc, key, list, at)
        return [read(self, item, f"{path}[{i}]") for i, item in enumerate(items)]

    def choice(self, doc: Mapping[str, Any], key: str, choices: Sequence[str], at: str) -> str:
        value = self.field(doc, key, str, at)
        if value not in choices:
            raise self.fail(f"{at}.{key}", f"{value!r} is not one of {', '.join(choices)}")
        return value

    def time(self, doc: Mapping[str, Any], key: str, at: str) -> dt.datetime | None:
        text = self.optional(doc, key, str, at)
        if text is None:
            return None
        try:
            return dt.datetime.fromisoformat(text)
        except ValueError:
            raise self.fail(f"{at}.{key}", f"not a date and time: {text!r:.40}") from None


_KINDS: dict[type, str] = {
    str: "a string",
    int: "a number",
    bool: "true or false",
    list: "a list",
    dict: "an object",
}


def _money(r: _Reader, doc: Mapping[str, Any], key: str, at: str = "") -> Money:
    found = _money_or_none(r, doc, key, at)
    if found is None:
        raise r.fail(_join(at, key), "missing")
    return found


def _money_or_none(r: _Reader, doc: Mapping[str, Any], key: str, at: str = "") -> Money | None:
    """An amount, exactly as planned: ``{"amount": "7.30", "currency": "USD"}``."""
    path = _join(at, key)
    value = doc.get(key)
    if value is None:
        return None
    value = r.of(value, dict, path)
    amount = r.field(value, "amount", str, path)
    try:
        return Money(Decimal(amount), r.field(value, "currency", str, path))
    except (InvalidOperation, ValueError) as exc:
        raise r.fail(path, f"not an amount of money: {exc}") from None


def _join(at: str, key: str) -> str:
    return f"{at}.{key}" if at else key


def _change(r: _Reader, value: Any, at: str) -> PlannedChange:
    doc = r.of(value, dict, at)
    fields = tuple(
        FieldChange(r.field(f, "path", str, p), f.get("old"), f.get("new"))
        for f, p in (
            (r.of(item, dict, f"{at}.fields[{i}]"), f"{at}.fields[{i}]")
            for i, item in enumerate(r.field(doc, "fields", list, at))
        )
    )
    return PlannedChange(
        action=cast(Action, r.choice(doc, "action", _ACTIONS, at)),
        resource=r.field(doc, "resource", str, at),
        type=r.field(doc, "type", str, at),
        reason=r.field(doc, "reason", str, at),
        fields=fields,
        monthly_before=_money_or_none(r, doc, "monthly_before", at),
        monthly_after=_money_or_none(r, doc, "monthly_after", at),
        resume=r.field(doc, "resume", bool, at),
        import_ids=tuple(
            r.of(i, str, f"{at}.import_ids") for i in r.field(doc, "import_ids", list, at)
        ),
        needs_replacement=r.optional(doc, "needs_replacement", str, at),
        needs_replacement_at=r.optional(doc, "needs_replacement_at", str, at),
        destroys_data=r.field(doc, "destroys_data", bool, at),
    )


def _account(r: _Reader, value: Any, at: str) -> AccountStep:
    doc = r.of(value, dict, at)
    return AccountStep(
        type=r.field(doc, "type", str, at),
        name=r.field(doc, "name", str, at),
        reason=r.field(doc, "reason", str, at),
        region=r.field(doc, "region", str, at),
        details=r.field(doc, "details", dict, at),
    )


def _object(r: _Reader, value: Any, at: str) -> CloudObject:
    doc = r.of(value, dict, at)
    return CloudObject(
        id=r.field(doc, "id", str, at),
        name=r.field(doc, "name", str, at),
        status=cast(ResourceStatus, r.choice(doc, "status", _STATUSES, at)),
        attributes=r.field(doc, "attributes", dict, at),
    )


def _found(r: _Reader, value: Any, at: str) -> FoundResource:
    doc = r.of(value, dict, at)
    owner = r.optional(doc, "managed_by", dict, at)
    return FoundResource(
        type=r.field(doc, "type", str, at),
        name=r.field(doc, "name", str, at),
        region=r.field(doc, "region", str, at),
        objects=tuple(r.each(doc, "objects", _object, at)),
        specifications=r.field(doc, "specifications", dict, at),
        managed_by=None
        if owner is None
        else Owner(
            r.field(owner, "workspace", str, f"{at}.managed_by"),
            r.field(owner, "infrastructure", str, f"{at}.managed_by"),
        ),
    )


def _basis(r: _Reader, doc: Mapping[str, Any]) -> PlanBasis:
    at = "basis"
    made_at = r.time(doc, "made_at", at)
    if made_at is None:
        raise r.fail(f"{at}.made_at", "missing")

    def resource(rr: _Reader, value: Any, where: str) -> ResourceBasis:
        item = rr.of(value, dict, where)
        return ResourceBasis(
            name=rr.field(item, "name", str, where),
            type=rr.field(item, "type", str, where),
            status=rr.field(item, "status", str, where),
            ids=tuple(rr.of(i, str, f"{where}.ids") for i in rr.field(item, "ids", list, where)),
            digest=rr.field(item, "digest", str, where),
        )

    return PlanBasis(
        workspace=r.field(doc, "workspace", str, at),
        infrastructure=r.field(doc, "infrastructure", str, at),
        provider=r.field(doc, "provider", str, at),
        spec_digest=r.field(doc, "spec_digest", str, at),
        read_cloud=r.field(doc, "read_cloud", bool, at),
        made_at=made_at,
        infrastructure_id=r.optional(doc, "infrastructure_id", str, at),
        status=r.optional(doc, "status", str, at),
        updated_at=r.time(doc, "updated_at", at),
        last_operation=r.optional(doc, "last_operation", str, at),
        resources=tuple(r.each(doc, "resources", resource, at)),
    )
