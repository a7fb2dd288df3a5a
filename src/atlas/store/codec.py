"""How records are written into SQL columns and read back, exactly: one cattrs converter.

Money is TEXT (``str(Decimal)``), never REAL: a float column would turn ``0.00893`` into
``0.0089299999...``; its currency is a column of its own. Times are ISO-8601 UTC TEXT of one
fixed width, so that ordering by the column is ordering by time. Mappings and tuples are
compact JSON TEXT. Every record reads back equal to the one written (tuples come back as tuples
where the record declares them).

A record's columns are its fields, by name (``StepRecord.index`` is the column ``idx``): the
converter builds each record's row codec from the hooks below, so a new record type, or a new
field, needs no hand-written pair. The stored text is the one earlier versions wrote, to the
byte; ``tests/atlas/store/test_codec.py`` pins it.
"""

from __future__ import annotations

import collections.abc
import datetime as dt
import json
import sqlite3
import typing
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from atlas.exceptions import StateError
from atlas.model.cloud import CloudObject
from atlas.model.records import StepRecord

__all__ = [
    "columns",
    "dump_json",
    "dump_objects",
    "dump_time",
    "from_row",
    "load_money",
    "load_objects",
    "load_time",
    "merge_objects",
    "params",
]

R = TypeVar("R")


# -- scalars ---------------------------------------------------------------------------------


def dump_money(value: Decimal) -> str:
    if not isinstance(value, Decimal):
        # A float here has already lost the exact figure; refusing is kinder than storing it.
        raise StateError(f"money must be a Decimal, not {type(value).__name__}: {value!r}")
    return str(value)


def load_money(text: str) -> Decimal:
    return Decimal(text)


def dump_time(value: dt.datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        # A naive time means a different instant on every machine that reads it back.
        raise StateError(f"times must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def load_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


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


# -- the converter ---------------------------------------------------------------------------

_rows = cattrs.Converter()

_rows.register_unstructure_hook(Decimal, dump_money)
_rows.register_structure_hook(Decimal, lambda text, _: load_money(text))
_rows.register_unstructure_hook(dt.datetime, dump_time)
# SQLite has no boolean: 0 and 1, read back as the bool the record declares.
_rows.register_unstructure_hook(bool, int)
_rows.register_structure_hook(bool, lambda value, _: bool(value))
_rows.register_structure_hook(dt.datetime, lambda text, _: load_time(text))


def _is_mapping(t: Any) -> bool:
    return typing.get_origin(t) is collections.abc.Mapping


def _is_strings(t: Any) -> bool:
    return bool(t == tuple[str, ...])


def _is_objects(t: Any) -> bool:
    return bool(t == tuple[CloudObject, ...])


# A mapping column is JSON as given: what it holds is the caller's, and anything json cannot
# write (a datetime, a Decimal) is refused rather than converted behind their back.
_rows.register_unstructure_hook_func(_is_mapping, dump_json)
_rows.register_structure_hook_func(_is_mapping, lambda text, _: load_json(text))
_rows.register_unstructure_hook_func(_is_strings, lambda v: dump_json(list(v)))
_rows.register_structure_hook_func(_is_strings, lambda text, _: tuple(load_json(text)))

# Inside the objects column, a cloud object is a JSON object whose attributes are as given.
_as_given = override(unstruct_hook=lambda v: v, struct_hook=lambda v, _: v)
_rows.register_unstructure_hook(
    CloudObject, make_dict_unstructure_fn(CloudObject, _rows, attributes=_as_given)
)
_rows.register_structure_hook(
    CloudObject, make_dict_structure_fn(CloudObject, _rows, attributes=_as_given)
)

#: Fields stored under another column name.
_COLUMNS: dict[type[Any], dict[str, str]] = {StepRecord: {"index": "idx"}}
for _cls, _renames in _COLUMNS.items():
    _renamed: dict[str, Any] = {f: override(rename=column) for f, column in _renames.items()}
    _rows.register_unstructure_hook(_cls, make_dict_unstructure_fn(_cls, _rows, **_renamed))
    _rows.register_structure_hook(_cls, make_dict_structure_fn(_cls, _rows, **_renamed))


def dump_objects(objects: Sequence[CloudObject]) -> str:
    return dump_json([_rows.unstructure(o, CloudObject) for o in objects])


def load_objects(text: str) -> tuple[CloudObject, ...]:
    return tuple(_rows.structure(o, CloudObject) for o in load_json(text))


_rows.register_unstructure_hook_func(_is_objects, dump_objects)
_rows.register_structure_hook_func(_is_objects, lambda text, _: load_objects(text))


def columns(cls: type[Any]) -> tuple[str, ...]:
    """The columns a record of type ``cls`` is stored in, in field order."""
    renames = _COLUMNS.get(cls, {})
    return tuple(renames.get(f.name, f.name) for f in attrs.fields(cls))


def params(record: Any) -> dict[str, Any]:
    """The record's columns, as the named parameters of an INSERT or UPDATE in sqlite.py."""
    row: dict[str, Any] = _rows.unstructure(record)
    return row


def from_row(row: sqlite3.Row, cls: type[R]) -> R:
    """The record of type ``cls`` in ``row`` (selected with ``SELECT *``; columns the record
    has no field for, such as an event's ``seq``, are ignored)."""
    try:
        return _rows.structure(dict(row), cls)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as exc:
        why = (
            "; ".join(cattrs.transform_error(exc))
            if isinstance(exc, cattrs.BaseValidationError)
            else str(exc)
        )
        raise StateError(f"a stored {cls.__name__} cannot be read: {why}") from exc


def merge_objects(stored: str, new: Sequence[CloudObject]) -> str:
    """``stored`` (as :func:`dump_objects` wrote it) with ``new`` merged in: known objects keep
    their place and are replaced when reported again; new ones follow.

    A resource of 500 servers is recorded ten at a time, so this runs on ever longer lists:
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
        merged[obj.id] = _rows.unstructure(obj, CloudObject)  # first-insertion order on replace
    return dump_json(list(merged.values()))
