"""Backups of the state store: everything it holds as one JSON document, and back.

``atlas state export FILE`` writes it, ``atlas state import FILE`` restores it into an empty
store of either backend, which is also how an installation moves from SQLite to PostgreSQL
(docs/state.md). The format, version 3::

    {
      "atlas_state": 3,                    the format version (what marks the file)
      "atlas_version": "0.1.0",            the atlas that wrote it
      "schema_version": 5,                 the schema of the store it came from
      "exported_at": "2026-...+00:00",
      "workspaces": [                      in name order
        {"name": "default",
         "infrastructures": [...],         InfrastructureRecord
         "resources": [...],               ResourceRecord, of those infrastructures
         "operations": [...],              OperationRecord, in the order they were recorded
         "steps": [...],                   StepRecord, of those operations
         "events": [...],                  EventRecord with "seq", its place in the outbox
         "budgets": [...],                 BudgetRecord: the workspace's own (none or one)
         "threshold_crossings": [...]}     ThresholdCrossing, each naming an event above
      ],
      "locks": [...],                      LockInfo (a lock may precede its infrastructure)
      "audit": [...]                       AuditEntry, by seq: every workspace's (and those of
    }                                      no workspace) in one chain, hashes as stored

Format 2 is version 3 without ``budgets`` and ``threshold_crossings`` (written before budgets),
and format 1 is format 2 without ``audit`` (written before the audit trail): both still read,
as a store without budgets (and without a trail). A file holding what an older format lacks
says the newer format, so that an atlas that would drop it refuses the file instead: a backup
that lost its threshold crossings would alert every one of them again once restored.

Each record is an object of exactly its fields, named as the record names them
(:mod:`atlas.model.records`): money a decimal string (``"0.00893"``) beside its currency,
times ISO 8601 in UTC with microseconds, documents (a spec, a cloud object's attributes, an
event's data) as the JSON they are. Restored, every record is the one exported: ids, times,
delivery marks and the events' order included. Reading refuses what is not exactly that (an
unknown field, a float for money, a naive time, a resource of an infrastructure that is not
in the file) with every problem and its path, and a file of a newer format outright.

No secret is in it: it holds the records and nothing else, and the store holds no secret
(credentials are never stored; providers record an allowlist of attributes, never passwords).
The file is written whole or not at all, readable by its owner only.
"""

from __future__ import annotations

import collections.abc
import datetime as dt
import json
import os
import typing
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from atlas.__about__ import __version__
from atlas._files import write_private_json
from atlas.exceptions import Problem, SpecError, SpecValidationError
from atlas.model.cloud import CloudObject
from atlas.model.records import (
    AuditEntry,
    BudgetRecord,
    EventRecord,
    InfrastructureRecord,
    OperationRecord,
    ResourceRecord,
    StepRecord,
    ThresholdCrossing,
    utcnow,
)
from atlas.spec.converter import describe, make_converter, problems_from_cattrs
from atlas.spec.load import decode_bytes, json_document
from atlas.store import codec
from atlas.store.base import LockInfo, Snapshot

__all__ = [
    "FORMAT",
    "MARKER",
    "counts",
    "export_document",
    "read_export",
    "snapshot_from",
    "write_export",
]

#: The key that marks an export, and the version of the format this atlas writes and reads.
MARKER = "atlas_state"
FORMAT = 3
#: The lists of a workspace, in the order they are written and restored.
KINDS = (
    "infrastructures",
    "resources",
    "operations",
    "steps",
    "events",
    "budgets",
    "threshold_crossings",
)
#: The format each of these lists first appeared in (the others are in every format).
_SINCE = {"budgets": 3, "threshold_crossings": 3}

R = TypeVar("R")


# -- the records as JSON ---------------------------------------------------------------------


def _money(value: Any, _: type) -> Decimal:
    if not isinstance(value, str):
        raise TypeError(
            f'expected an amount as a decimal string ("6.00"), got {describe(value)}: '
            "as a number it may lose digits"
        )
    try:
        return Decimal(value)
    except InvalidOperation:
        raise TypeError(f"expected a decimal string, got {describe(value)}") from None


def _time(value: Any, _: type) -> dt.datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO 8601 time, got {describe(value)}")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise TypeError(f"expected an ISO 8601 time, got {describe(value)}") from None
    if parsed.utcoffset() is None:
        raise TypeError(f"expected a time with its UTC offset, got {describe(value)}")
    return parsed.astimezone(dt.UTC)


def _document(value: Any, _: type) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"expected a mapping, got {describe(value)}")
    return value  # a document is the user's or the provider's, kept as it is


def _is_mapping(t: Any) -> bool:
    return typing.get_origin(t) is collections.abc.Mapping


def _converter() -> cattrs.Converter:
    conv = make_converter()  # strict JSON types, no unknown field, every error with its path
    conv.register_structure_hook(Decimal, _money)
    conv.register_structure_hook(dt.datetime, _time)
    conv.register_structure_hook_func(_is_mapping, _document)
    conv.register_unstructure_hook(Decimal, codec.dump_money)
    conv.register_unstructure_hook(dt.datetime, codec.dump_time)
    conv.register_unstructure_hook_func(_is_mapping, dict)
    as_given = override(unstruct_hook=dict, struct_hook=_document)
    conv.register_unstructure_hook(
        CloudObject, make_dict_unstructure_fn(CloudObject, conv, attributes=as_given)
    )
    conv.register_structure_hook(
        CloudObject, make_dict_structure_fn(CloudObject, conv, attributes=as_given)
    )
    return conv


_json = _converter()


def _record_json(record: Any) -> dict[str, Any]:
    row: dict[str, Any] = _json.unstructure(record)
    return row


# -- writing ---------------------------------------------------------------------------------


def export_document(
    snapshot: Snapshot, *, schema_version: int, now: Callable[[], dt.datetime] = utcnow
) -> dict[str, Any]:
    """The export of ``snapshot`` (see the module's docstring)."""
    infra_ws = {i.id: i.workspace for i in snapshot.infrastructures}
    op_ws = {o.id: o.workspace for o in snapshot.operations}
    groups: dict[str, dict[str, list[dict[str, Any]]]] = {}

    def group(workspace: str) -> dict[str, list[dict[str, Any]]]:
        return groups.setdefault(workspace, {kind: [] for kind in KINDS})

    for i in snapshot.infrastructures:
        group(i.workspace)["infrastructures"].append(_record_json(i))
    for r in snapshot.resources:
        group(infra_ws.get(r.infrastructure_id, ""))["resources"].append(_record_json(r))
    for o in snapshot.operations:
        group(o.workspace)["operations"].append(_record_json(o))
    for s in snapshot.steps:
        group(op_ws.get(s.operation_id, ""))["steps"].append(_record_json(s))
    for seq, e in snapshot.events:
        group(e.workspace)["events"].append({"seq": seq, **_record_json(e)})
    for b in snapshot.budgets:
        group(b.workspace)["budgets"].append(_record_json(b))
    for c in snapshot.threshold_crossings:
        group(c.workspace)["threshold_crossings"].append(_record_json(c))
    return {
        MARKER: FORMAT,
        "atlas_version": __version__,
        "schema_version": schema_version,
        "exported_at": codec.dump_time(now()),
        "workspaces": [{"name": ws, **groups[ws]} for ws in sorted(groups)],
        "locks": [_record_json(lock) for lock in snapshot.locks],
        "audit": [_record_json(entry) for entry in snapshot.audit],
    }


def write_export(document: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write ``document`` to ``path``, replaced whole (never left half-written), readable by
    its owner only; the path. :raises SpecError: the file cannot be written."""
    return write_private_json(document, path, error=SpecError)


def counts(snapshot: Snapshot) -> dict[str, int]:
    """How many of each kind of record, and of workspaces, a snapshot holds."""
    workspaces = {i.workspace for i in snapshot.infrastructures}
    workspaces |= {o.workspace for o in snapshot.operations}
    workspaces |= {e.workspace for _, e in snapshot.events}
    workspaces |= {b.workspace for b in snapshot.budgets}
    workspaces |= {c.workspace for c in snapshot.threshold_crossings}
    return {
        "workspaces": len(workspaces),
        **{
            _COUNTED.get(f.name, f.name): len(getattr(snapshot, f.name))
            for f in attrs.fields(Snapshot)
        },
    }


#: Kinds counted under another name than their Snapshot field's.
_COUNTED = {"audit": "audit_entries"}


# -- reading ---------------------------------------------------------------------------------


def read_export(data: bytes, *, origin: str) -> Snapshot:
    """The snapshot an export holds (``origin`` names the file in messages).

    :raises SpecError: it is not JSON, not an export, or of a newer format.
    :raises SpecValidationError: every record that is not exactly one, and every reference to
        a record the file does not hold, each with its path.
    """
    try:
        doc = json_document(decode_bytes(data, origin=origin))
    except json.JSONDecodeError as exc:
        raise SpecError(
            f"{origin} is not an atlas state export: not valid JSON "
            f"(line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    return snapshot_from(doc, origin=origin)


def snapshot_from(doc: Any, *, origin: str = "the export") -> Snapshot:
    """The snapshot of a parsed export document (see :func:`read_export`)."""
    if not isinstance(doc, Mapping) or MARKER not in doc:
        raise SpecError(f"{origin} is not an atlas state export (it has no {MARKER!r} key)")
    version = doc[MARKER]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise SpecError(f"{origin} is corrupt: {MARKER} must be a format version, 1 or more")
    if version > FORMAT:
        raise SpecError(
            f"{origin} was written by a newer atlas (state format {version}; this atlas, "
            f"{__version__}, reads format {FORMAT}): import it with that atlas"
        )
    reader = _Reader(version)
    snapshot = reader.read(doc)
    if reader.problems:
        raise SpecValidationError(reader.problems)
    return snapshot


class _Reader:
    """Reads the document, noting every problem with its path instead of stopping."""

    def __init__(self, version: int) -> None:
        #: The file's format: what it may hold.
        self.version = version
        self.kinds = tuple(k for k in KINDS if _SINCE.get(k, 1) <= version)
        self.problems: list[Problem] = []
        #: The ids of infrastructures, operations and events in the file, with their workspace.
        self.ids: dict[str, dict[str, str]] = {
            "infrastructures": {},
            "operations": {},
            "events": {},
        }

    def fail(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def items(self, doc: Mapping[str, Any], key: str, path: str) -> list[tuple[str, Any]]:
        value = doc.get(key, [])
        if not isinstance(value, list):
            self.fail(_at(path, key), f"expected a list, got {describe(value)}")
            return []
        return [(f"{_at(path, key)}[{n}]", item) for n, item in enumerate(value)]

    def record(self, value: Any, cls: type[R], path: str) -> R | None:
        try:
            return _json.structure(value, cls)
        except Exception as exc:  # every kind of bad value is a problem, reported with its path
            self.problems.extend(problems_from_cattrs(exc, path))
            return None

    def read(self, doc: Mapping[str, Any]) -> Snapshot:
        known = {MARKER, "atlas_version", "schema_version", "exported_at", "workspaces", "locks"}
        if self.version != 1:  # format 1 was written before the audit trail
            known.add("audit")
        for key in sorted(set(doc) - known):
            self.fail(key, "unknown field")
        found: dict[str, list[tuple[str, Any]]] = {kind: [] for kind in (*KINDS, "locks")}
        for path, ws in self.items(doc, "workspaces", ""):
            self.workspace(ws, path, found)
        found["locks"] = [
            (path, lock)
            for path, item in self.items(doc, "locks", "")
            if (lock := self.record(item, LockInfo, path)) is not None
        ]
        audit = [
            (path, entry)
            for path, item in self.items(doc, "audit", "")
            if (entry := self.record(item, AuditEntry, path)) is not None
        ]
        for path in _twice([(p, (None, e)) for p, e in audit], lambda e: e.seq):
            self.fail(_at(path, "seq"), "a second audit entry at this place in the trail")
        _Links(self).check(found)
        return Snapshot(
            infrastructures=tuple(r for _, r in found["infrastructures"]),
            resources=tuple(r for _, r in found["resources"]),
            operations=tuple(r for _, r in found["operations"]),
            steps=tuple(r for _, r in found["steps"]),
            events=tuple(sorted((r for _, r in found["events"]), key=lambda pair: pair[0])),
            locks=tuple(r for _, r in found["locks"]),
            audit=tuple(sorted((e for _, e in audit), key=lambda e: e.seq)),
            budgets=tuple(sorted((r for _, r in found["budgets"]), key=lambda r: r.workspace)),
            threshold_crossings=tuple(
                sorted(
                    (r for _, r in found["threshold_crossings"]),
                    key=lambda r: (r.workspace, r.scope, r.month, r.threshold),
                )
            ),
        )

    def workspace(self, ws: Any, path: str, found: dict[str, list[tuple[str, Any]]]) -> None:
        if not isinstance(ws, Mapping):
            self.fail(path, f"expected a mapping, got {describe(ws)}")
            return
        name = ws.get("name")
        if not isinstance(name, str) or not name:
            self.fail(_at(path, "name"), f"expected a workspace name, got {describe(name)}")
        for key in sorted(set(ws) - {"name", *self.kinds}):
            self.fail(_at(path, key), "unknown field")
        classes: dict[str, type[Any]] = {
            "infrastructures": InfrastructureRecord,
            "resources": ResourceRecord,
            "operations": OperationRecord,
            "steps": StepRecord,
            "budgets": BudgetRecord,
            "threshold_crossings": ThresholdCrossing,
        }
        for kind, cls in classes.items():
            if kind not in self.kinds:
                continue
            for at, item in self.items(ws, kind, path):
                if (
                    kind in self.ids
                    and isinstance(item, Mapping)
                    and isinstance(item.get("id"), str)
                ):
                    # Known even when the record has a problem: what refers to it is not one.
                    self.ids[kind].setdefault(item["id"], str(name))
                record = self.record(item, cls, at)
                if record is not None:
                    found[kind].append((at, (name, record)))
        for at, item in self.items(ws, "events", path):
            if isinstance(item, Mapping) and isinstance(item.get("id"), str):
                self.ids["events"].setdefault(item["id"], str(name))
            seq = item.get("seq") if isinstance(item, Mapping) else None
            if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
                self.fail(
                    _at(at, "seq"), f"expected a whole number, 1 or more, got {describe(seq)}"
                )
                continue
            e = self.record({k: v for k, v in item.items() if k != "seq"}, EventRecord, at)
            if e is not None:
                found["events"].append((at, (name, (seq, e))))


class _Links:
    """The references between records: each one to a record of the same workspace in the file,
    and no record twice."""

    def __init__(self, reader: _Reader) -> None:
        self.reader = reader

    def check(self, found: dict[str, list[tuple[str, Any]]]) -> None:
        fail = self.reader.fail
        infra = self.reader.ids["infrastructures"]
        ops = self.reader.ids["operations"]
        for kind, key in (
            ("infrastructures", lambda r: r.id),
            ("resources", lambda r: (r.infrastructure_id, r.name)),
            ("operations", lambda r: r.id),
            ("steps", lambda r: (r.operation_id, r.index)),
        ):
            for path in _twice(found[kind], key):
                fail(path, f"a second record of {kind} with the same key")
        for path in _twice(found["events"], lambda pair: pair[1].id):
            fail(_at(path, "id"), "a second event with this id")
        for path in _twice(found["events"], lambda pair: pair[0]):
            fail(_at(path, "seq"), "a second event at this place in the outbox")
        for path in _twice(
            [(p, (None, r)) for p, r in found["locks"]], lambda r: r.infrastructure_id
        ):
            fail(path, "a second lock of this infrastructure")
        live = [(p, (ws, r)) for p, (ws, r) in found["infrastructures"] if r.status != "destroyed"]
        for path in _twice(live, lambda r: (r.workspace, r.name)):
            fail(_at(path, "name"), "a second live infrastructure of this name in the workspace")
        for path, (ws, r) in found["infrastructures"]:
            self.same(path, "workspace", r.workspace, ws)
        for path, (ws, r) in found["operations"]:
            self.same(path, "workspace", r.workspace, ws)
            self.known(path, "infrastructure_id", r.infrastructure_id, infra, ws)
        for path, (ws, r) in found["resources"]:
            self.known(path, "infrastructure_id", r.infrastructure_id, infra, ws)
        for path, (ws, r) in found["steps"]:
            self.known(path, "operation_id", r.operation_id, ops, ws)
        for path, (ws, (_, e)) in found["events"]:
            self.same(path, "workspace", e.workspace, ws)
        self.budgets(found)
        for kind in KINDS:  # the workspace name goes; the records stay
            found[kind] = [(p, r) for p, (_, r) in found[kind]]

    def budgets(self, found: dict[str, list[tuple[str, Any]]]) -> None:
        """One budget a workspace, one crossing of a threshold a month, and each crossing's
        event in the file: the outbox keeps every event, so a crossing without its own is not
        one a store wrote."""
        fail = self.reader.fail
        for path in _twice(found["budgets"], lambda r: r.workspace):
            fail(path, "a second budget of this workspace")
        for path in _twice(
            found["threshold_crossings"], lambda r: (r.workspace, r.scope, r.month, r.threshold)
        ):
            fail(path, "a second crossing of this threshold of this budget in this month")
        for path, (ws, r) in found["budgets"]:
            self.same(path, "workspace", r.workspace, ws)
        events = self.reader.ids["events"]
        for path, (ws, r) in found["threshold_crossings"]:
            self.same(path, "workspace", r.workspace, ws)
            self.known(path, "event_id", r.event_id, events, ws)

    def same(self, path: str, field: str, value: str, workspace: str) -> None:
        if value != workspace:
            self.reader.fail(_at(path, field), f"{value!r} in the list of workspace {workspace!r}")

    def known(
        self, path: str, field: str, value: str, records: Mapping[str, str], workspace: str
    ) -> None:
        if records.get(value) != workspace:
            what = field.removesuffix("_id")
            self.reader.fail(
                _at(path, field), f"no {what} {value!r} in workspace {workspace!r} of the file"
            )


def _twice(
    found: Sequence[tuple[str, tuple[Any, Any]]], key: Callable[[Any], Any]
) -> Iterator[str]:
    """The paths of the records whose key an earlier record has."""
    seen: Counter[Any] = Counter()
    for path, (_, record) in found:
        k = key(record)
        seen[k] += 1
        if seen[k] > 1:
            yield path


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
