"""How records are written into SQL columns and read back, exactly.

Money is TEXT (``str(Decimal)``), never REAL: a float column would turn ``0.00893`` into
``0.0089299999...``. Times are ISO-8601 UTC TEXT of one fixed width, so that ordering by the
column is ordering by time. Mappings and lists are JSON TEXT. Every record reads back equal to
the one written (tuples come back as tuples where the record declares them).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, cast

from atlas.exceptions import StateError
from atlas.model.records import (
    EventRecord,
    InfrastructureRecord,
    OperationRecord,
    ResourceRecord,
    StepRecord,
)
from atlas.model.state import CloudObject

__all__ = [
    "dump_json",
    "dump_objects",
    "dump_time",
    "event_from_row",
    "event_params",
    "infrastructure_from_row",
    "infrastructure_params",
    "load_money",
    "load_objects",
    "load_time",
    "operation_from_row",
    "operation_params",
    "resource_from_row",
    "resource_params",
    "step_from_row",
    "step_params",
]


# -- scalars ---------------------------------------------------------------------------------


def dump_money(value: Decimal) -> str:
    if not isinstance(value, Decimal):
        # A float here has already lost the exact figure; refusing is kinder than storing it.
        raise StateError(f"money must be a Decimal, not {type(value).__name__}: {value!r}")
    return str(value)


def dump_optional_money(value: Decimal | None) -> str | None:
    return None if value is None else dump_money(value)


def load_money(text: str) -> Decimal:
    return Decimal(text)


def load_optional_money(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def dump_time(value: dt.datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        # A naive time means a different instant on every machine that reads it back.
        raise StateError(f"times must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def dump_optional_time(value: dt.datetime | None) -> str | None:
    return None if value is None else dump_time(value)


def load_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def load_optional_time(text: str | None) -> dt.datetime | None:
    return None if text is None else load_time(text)


def _json_default(value: object) -> Any:
    # Records declare Mapping, so a frozen mapping (MappingProxyType, ...) must serialise too.
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON-safe: {value!r}")


def dump_json(value: object) -> str:
    try:
        return json.dumps(value, default=_json_default, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise StateError(f"cannot store a value that is not JSON-safe: {exc}") from exc


def load_json(text: str) -> Any:
    return json.loads(text)


def _object_json(o: CloudObject) -> dict[str, Any]:
    return {"id": o.id, "name": o.name, "status": o.status, "attributes": o.attributes}


def dump_objects(objects: Sequence[CloudObject]) -> str:
    return dump_json([_object_json(o) for o in objects])


def merge_objects(stored: str, new: Sequence[CloudObject]) -> str:
    """``stored`` (as :func:`dump_objects` wrote it) with ``new`` merged in: known objects keep
    their place and are replaced when reported again; new ones follow.

    A resource of 500 droplets is recorded ten at a time, so this runs on ever longer lists:
    when none of ``new`` is known (the usual case), their JSON is appended to the stored text
    instead of parsing and writing again every object known so far."""
    latest = {obj.id: obj for obj in new}  # the last report of an id wins
    if not latest:
        return stored
    if (
        stored.startswith('[{"id":')  # written by dump_objects: compact, one object after another
        and stored.endswith("}]")
        and not any(f'{{"id":{json.dumps(i)},' in stored for i in latest)
    ):
        return stored[:-1] + "," + dump_objects(list(latest.values()))[1:]
    merged = {str(o["id"]): o for o in load_json(stored)}
    for obj in latest.values():
        merged[obj.id] = _object_json(obj)  # a dict keeps first-insertion order on replace
    return dump_json(list(merged.values()))


def load_objects(text: str) -> tuple[CloudObject, ...]:
    return tuple(
        CloudObject(id=o["id"], name=o["name"], status=o["status"], attributes=o["attributes"])
        for o in load_json(text)
    )


def _strings(text: str) -> tuple[str, ...]:
    return tuple(cast("list[str]", load_json(text)))


# -- records ---------------------------------------------------------------------------------
# ``*_params`` give the named parameters of the INSERTs in sqlite.py; ``*_from_row`` read a
# row selected with ``SELECT *``.


def infrastructure_params(r: InfrastructureRecord) -> dict[str, Any]:
    return {
        "id": r.id,
        "workspace": r.workspace,
        "name": r.name,
        "provider": r.provider,
        "region": r.region,
        "status": r.status,
        "spec": dump_json(r.spec),
        "monthly_cost": dump_money(r.monthly_cost),
        "created_at": dump_time(r.created_at),
        "updated_at": dump_time(r.updated_at),
    }


def infrastructure_from_row(row: sqlite3.Row) -> InfrastructureRecord:
    return InfrastructureRecord(
        id=row["id"],
        workspace=row["workspace"],
        name=row["name"],
        provider=row["provider"],
        region=row["region"],
        status=row["status"],
        spec=load_json(row["spec"]),
        monthly_cost=load_money(row["monthly_cost"]),
        created_at=load_time(row["created_at"]),
        updated_at=load_time(row["updated_at"]),
    )


def resource_params(r: ResourceRecord) -> dict[str, Any]:
    return {
        "infrastructure_id": r.infrastructure_id,
        "name": r.name,
        "type": r.type,
        "status": r.status,
        "spec": dump_json(r.spec),
        "objects": dump_objects(r.objects),
        "monthly_cost": dump_optional_money(r.monthly_cost),
        "operation_id": r.operation_id,
        "updated_at": dump_time(r.updated_at),
    }


def resource_from_row(row: sqlite3.Row) -> ResourceRecord:
    return ResourceRecord(
        infrastructure_id=row["infrastructure_id"],
        name=row["name"],
        type=row["type"],
        status=row["status"],
        spec=load_json(row["spec"]),
        objects=load_objects(row["objects"]),
        monthly_cost=load_optional_money(row["monthly_cost"]),
        operation_id=row["operation_id"],
        updated_at=load_time(row["updated_at"]),
    )


def operation_params(r: OperationRecord) -> dict[str, Any]:
    return {
        "id": r.id,
        "workspace": r.workspace,
        "infrastructure_id": r.infrastructure_id,
        "kind": r.kind,
        "status": r.status,
        "total_steps": r.total_steps,
        "completed_steps": r.completed_steps,
        "current_step": r.current_step,
        "created_resources": dump_json(list(r.created_resources)),
        "cost_change": dump_money(r.cost_change),
        "error": r.error,
        "started_at": dump_time(r.started_at),
        "finished_at": dump_optional_time(r.finished_at),
        "spec": dump_json(r.spec),
    }


def operation_from_row(row: sqlite3.Row) -> OperationRecord:
    return OperationRecord(
        id=row["id"],
        workspace=row["workspace"],
        infrastructure_id=row["infrastructure_id"],
        kind=row["kind"],
        status=row["status"],
        total_steps=row["total_steps"],
        completed_steps=row["completed_steps"],
        current_step=row["current_step"],
        created_resources=_strings(row["created_resources"]),
        cost_change=load_money(row["cost_change"]),
        error=row["error"],
        started_at=load_time(row["started_at"]),
        finished_at=load_optional_time(row["finished_at"]),
        spec=load_json(row["spec"]),
    )


def step_params(r: StepRecord) -> dict[str, Any]:
    return {
        "operation_id": r.operation_id,
        "idx": r.index,
        "resource": r.resource,
        "type": r.type,
        "action": r.action,
        "status": r.status,
        "provider_ids": dump_json(list(r.provider_ids)),
        "error": r.error,
        "started_at": dump_optional_time(r.started_at),
        "finished_at": dump_optional_time(r.finished_at),
    }


def step_from_row(row: sqlite3.Row) -> StepRecord:
    return StepRecord(
        operation_id=row["operation_id"],
        index=row["idx"],
        resource=row["resource"],
        type=row["type"],
        action=row["action"],
        status=row["status"],
        provider_ids=_strings(row["provider_ids"]),
        error=row["error"],
        started_at=load_optional_time(row["started_at"]),
        finished_at=load_optional_time(row["finished_at"]),
    )


def event_params(r: EventRecord) -> dict[str, Any]:
    return {
        "id": r.id,
        "type": r.type,
        "time": dump_time(r.time),
        "workspace": r.workspace,
        "infrastructure_id": r.infrastructure_id,
        "infrastructure_name": r.infrastructure_name,
        "operation_id": r.operation_id,
        "cost_change": dump_money(r.cost_change),
        "data": dump_json(r.data),
        "delivered_at": dump_optional_time(r.delivered_at),
    }


def event_from_row(row: sqlite3.Row) -> EventRecord:
    return EventRecord(
        id=row["id"],
        type=row["type"],
        time=load_time(row["time"]),
        workspace=row["workspace"],
        infrastructure_id=row["infrastructure_id"],
        infrastructure_name=row["infrastructure_name"],
        operation_id=row["operation_id"],
        cost_change=load_money(row["cost_change"]),
        data=load_json(row["data"]),
        delivered_at=load_optional_time(row["delivered_at"]),
    )
