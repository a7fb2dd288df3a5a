"""What a plan was made from, so that applying it later can prove nothing moved meanwhile.

A plan is a diff between a spec and the recorded state. Applied later (``atlas plan --out``
then ``atlas apply PLANFILE``, or ``plan = await atlas.plan(spec)`` then ``await
atlas.apply(plan)``), it is only right if neither side changed: :class:`PlanBasis` records both
sides (a digest of the spec; the infrastructure's record, its last operation and each recorded
resource), and :func:`changes_since` compares it with the store as it is now, saying in words
what changed. Terraform refuses a saved plan whose state serial moved; this is the same rule,
told resource by resource.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from atlas.model.infrastructure import InfrastructureSpec
from atlas.model.records import InfrastructureRecord, OperationRecord, ResourceRecord
from atlas.spec.converter import make_converter
from atlas.spec.dump import dump_spec
from atlas.store.base import StateStore

__all__ = ["PlanBasis", "ResourceBasis", "changes_since", "digest", "spec_digest", "take_basis"]

_converter = make_converter()


def digest(value: Any) -> str:
    """``sha256:<hex>`` of a JSON-safe value, independent of key order and whitespace."""
    return "sha256:" + hashlib.sha256(_canonical(value).encode("utf-8")).hexdigest()


def spec_digest(spec: InfrastructureSpec) -> str:
    """The digest of a spec: equal exactly when the specs say the same.

    Hashed a resource at a time from the converter's plain values (what the canonical document
    is made of), so a spec of thousands of resources is neither dumped whole nor held as one
    string: a plan pays for its basis in microseconds per resource."""
    head = dump_spec(attrs.evolve(spec, resources=()))
    h = hashlib.sha256(_canonical(head).encode("utf-8"))
    for res in spec.resources:
        doc = {
            "type": res.type,
            "name": res.name,
            "import": list(res.import_ids),
            "specifications": _converter.unstructure(res.specifications),
        }
        h.update(b"\n" + _canonical(doc).encode("utf-8"))
    return "sha256:" + h.hexdigest()


#: What ``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` makes,
#: from one encoder: ``dumps`` would build another for each of a spec's resources.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _canonical(value: Any) -> str:
    return _CANONICAL.encode(value)


@attrs.frozen
class ResourceBasis:
    """One recorded resource as the plan saw it: enough to say how it changed since."""

    name: str
    type: str
    status: str
    #: Its provider objects' ids, in index order.
    ids: tuple[str, ...]
    #: Of everything recorded about it (document, objects and their attributes, price, the
    #: operation that wrote it last): any change at all makes the plan stale.
    digest: str


@attrs.frozen
class PlanBasis:
    """The spec and the recorded state a plan was made from (see the module docstring)."""

    workspace: str
    infrastructure: str
    provider: str
    spec_digest: str
    #: Whether the plan read the cloud: a refresh (drift, live prices) and the account steps.
    read_cloud: bool
    made_at: dt.datetime
    #: The live infrastructure's record (``None``: none yet, or destroyed: a first apply).
    infrastructure_id: str | None = None
    status: str | None = None
    updated_at: dt.datetime | None = None
    #: The newest operation on the infrastructure when the plan was made.
    last_operation: str | None = None
    resources: tuple[ResourceBasis, ...] = ()


def take_basis(
    store: StateStore,
    workspace: str,
    spec: InfrastructureSpec,
    provider: str,
    *,
    read_cloud: bool,
    made_at: dt.datetime,
) -> PlanBasis:
    """The basis of a plan of ``spec`` made now from ``store`` (after any refresh, whose
    records it is measured against)."""
    infra = _live(store, workspace, spec.name)
    base = PlanBasis(
        workspace=workspace,
        infrastructure=spec.name,
        provider=provider,
        spec_digest=spec_digest(spec),
        read_cloud=read_cloud,
        made_at=made_at,
    )
    if infra is None:
        return base
    ops = store.list_operations(workspace, infra.id)
    return attrs.evolve(
        base,
        infrastructure_id=infra.id,
        status=infra.status,
        updated_at=infra.updated_at,
        last_operation=ops[0].id if ops else None,
        resources=tuple(_resource(r) for r in store.list_resources(infra.id)),
    )


def changes_since(
    basis: PlanBasis, store: StateStore, workspace: str, spec: InfrastructureSpec
) -> list[str]:
    """What differs between ``basis`` and the store now, one phrase each; empty when the plan
    is still the one to apply. ``spec`` is the spec the plan carries."""
    if basis.workspace != workspace:
        return [f"the plan was made in workspace {basis.workspace!r}, not {workspace!r}"]
    found = []
    if basis.infrastructure != spec.name or basis.spec_digest != spec_digest(spec):
        found.append("the spec differs from the one the plan was made from")
    infra = _live(store, workspace, basis.infrastructure)
    infra_changes = _infrastructure_changes(basis, infra, store)
    if infra is None or infra.id != basis.infrastructure_id:
        return found + infra_changes
    ran = _operations_since(basis, store.list_operations(workspace, infra.id))
    # An operation that ran says why the record was written again; no need to say both.
    found.extend(ran or infra_changes)
    found.extend(_resource_changes(basis.resources, store.list_resources(infra.id)))
    return found


# -- helpers -------------------------------------------------------------------------------------


def _live(store: StateStore, workspace: str, name: str) -> InfrastructureRecord | None:
    infra = store.get_infrastructure(workspace, name)
    return None if infra is None or infra.status == "destroyed" else infra


def _resource(record: ResourceRecord) -> ResourceBasis:
    whole = {
        "type": record.type,
        "status": record.status,
        "spec": record.spec,
        "objects": [attrs.asdict(o) for o in record.objects],
        "monthly_cost": None if record.monthly_cost is None else str(record.monthly_cost),
        "currency": record.currency,
        "operation_id": record.operation_id,
        "imported": record.imported,
    }
    ids = tuple(o.id for o in record.objects)
    return ResourceBasis(record.name, record.type, record.status, ids, digest(whole))


def _infrastructure_changes(
    basis: PlanBasis, infra: InfrastructureRecord | None, store: StateStore
) -> list[str]:
    name = repr(basis.infrastructure)
    if basis.infrastructure_id is None:
        return (
            [] if infra is None else [f"infrastructure {name} was created since the plan was made"]
        )
    if infra is None:
        return [_gone(basis, store)]
    if infra.id != basis.infrastructure_id:
        return [
            f"infrastructure {name} is not the one the plan was made for "
            f"(id {basis.infrastructure_id}, now {infra.id})"
        ]
    if infra.status != basis.status:
        moved = f"{basis.status}\u2192{infra.status}"
        return [f"infrastructure {name} changed since the plan was made (status {moved})"]
    if infra.updated_at != basis.updated_at:
        return [f"infrastructure {name} was recorded again since the plan was made"]
    return []


def _gone(basis: PlanBasis, store: StateStore) -> str:
    """Why the infrastructure the plan was made for is not there to apply it to."""
    name = repr(basis.infrastructure)
    if store.get_infrastructure(basis.workspace, basis.infrastructure_id or "") is not None:
        return f"infrastructure {name} was destroyed since the plan was made"
    return (
        f"infrastructure {name} (id {basis.infrastructure_id}) is not in this state store, "
        "though it was when the plan was made: is this the store the plan was made with?"
    )


def _operations_since(basis: PlanBasis, ops: Sequence[OperationRecord]) -> list[str]:
    """The operations newer than the one the plan saw last, oldest first."""
    newer = []
    for op in ops:  # newest first
        if op.id == basis.last_operation:
            break
        newer.append(op)
    return [f"another operation ran: {op.id} ({op.kind}, {op.status})" for op in reversed(newer)]


def _resource_changes(
    then: Sequence[ResourceBasis], now_records: Sequence[ResourceRecord]
) -> list[str]:
    before: Mapping[str, ResourceBasis] = {r.name: r for r in then}
    now = {r.name: _resource(r) for r in now_records}
    found = []
    for name, old in before.items():
        new = now.get(name)
        if new is None:
            found.append(f"resource {name} is no longer recorded (it was when the plan was made)")
        elif new.digest != old.digest:
            found.append(f"resource {name} changed since the plan was made ({_how(old, new)})")
    found.extend(
        f"resource {name} was recorded since the plan was made"
        for name in now
        if name not in before
    )
    return found


def _how(old: ResourceBasis, new: ResourceBasis) -> str:
    parts = []
    if old.type != new.type:
        parts.append(f"type {old.type}\u2192{new.type}")
    if old.status != new.status:
        parts.append(f"status {old.status}\u2192{new.status}")
    if old.ids != new.ids:
        parts.append(f"objects {_ids(old.ids)}\u2192{_ids(new.ids)}")
    return ", ".join(parts) or "recorded again: its document, objects or price"


def _ids(ids: Sequence[str]) -> str:
    return ", ".join(ids) if ids else "none"
