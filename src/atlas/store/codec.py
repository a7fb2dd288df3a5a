"""How records are written into SQL columns and read back, exactly: cattrs converters built by
one factory, one for each backend.

In SQLite, money is TEXT (``str(Decimal)``), never REAL: a float column would turn ``0.00893`` into
``0.0089299999...``; its currency is a column of its own. Times are ISO-8601 UTC TEXT of one
fixed width, so that ordering by the column is ordering by time. Mappings and tuples are
compact JSON TEXT (a tuple of whole numbers, such as a budget's thresholds, too: ``[50,80,100]``).
Every record reads back equal to the one written (tuples come back as tuples
where the record declares them).

A record's columns are its fields, by name (``StepRecord.index`` is the column ``idx``): the
converter builds each record's row codec from the hooks below, so a new record type, or a new
field, needs no hand-written pair. The stored text is the one earlier versions wrote, to the
byte; ``tests/atlas/store/test_codec.py`` pins it.

PostgreSQL has the types SQLite lacks, and the PostgreSQL store uses them: money is ``numeric``
(exact, and it keeps the digits given: ``12.0000`` reads back as ``12.0000``), times
``timestamptz`` (read back in UTC), flags ``boolean``. Mappings, tuples and cloud objects are
the same compact JSON text in ``json`` columns, which keep the text as written (``jsonb`` would
reorder keys), so that both stores hold one document the same way and the objects of a resource
merge by the same rule (:func:`merge_objects`). The checks are the same in both: a float price
or a naive time is refused before anything is written.
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
    "POSTGRES",
    "SQLITE",
    "RowCodec",
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


# -- the converters --------------------------------------------------------------------------


def _utc(value: dt.datetime) -> dt.datetime:
    dump_time(value)  # the same refusal of a naive time
    return value.astimezone(dt.UTC)


def _load_time_value(value: str | dt.datetime) -> dt.datetime:
    # PostgreSQL hands back a datetime in the session's zone; SQLite the text dump_time wrote.
    return value.astimezone(dt.UTC) if isinstance(value, dt.datetime) else load_time(value)


def _native_money(value: Decimal) -> Decimal:
    dump_money(value)  # the same refusal of a float
    return value


def _is_mapping(t: Any) -> bool:
    return typing.get_origin(t) is collections.abc.Mapping


def _is_strings(t: Any) -> bool:
    return bool(t == tuple[str, ...])


def _is_ints(t: Any) -> bool:
    return bool(t == tuple[int, ...])


def _load_ints(value: str | list[Any]) -> tuple[int, ...]:
    # SQLite hands back the JSON text; a psycopg connection without the store's json-as-text
    # loader, the list it has parsed already.
    items = load_json(value) if isinstance(value, str) else value
    if not isinstance(items, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in items
    ):
        raise TypeError(f"expected a JSON list of whole numbers, got {value!r}")
    return tuple(items)


def _is_objects(t: Any) -> bool:
    return bool(t == tuple[CloudObject, ...])


#: Fields stored under another column name.
_COLUMNS: dict[type[Any], dict[str, str]] = {StepRecord: {"index": "idx"}}


def _converter(*, native: bool) -> cattrs.Converter:
    """The row converter: ``native`` for PostgreSQL's numeric, timestamptz and boolean columns,
    else SQLite's text and integers."""
    rows = cattrs.Converter()
    rows.register_unstructure_hook(Decimal, _native_money if native else dump_money)
    rows.register_structure_hook(Decimal, lambda value, _: Decimal(value))
    rows.register_unstructure_hook(dt.datetime, _utc if native else dump_time)
    rows.register_structure_hook(dt.datetime, lambda value, _: _load_time_value(value))
    # SQLite has no boolean: 0 and 1, read back as the bool the record declares.
    rows.register_unstructure_hook(bool, bool if native else int)
    rows.register_structure_hook(bool, lambda value, _: bool(value))

    # A mapping column is JSON as given: what it holds is the caller's, and anything json
    # cannot write (a datetime, a Decimal) is refused rather than converted behind their back.
    rows.register_unstructure_hook_func(_is_mapping, dump_json)
    rows.register_structure_hook_func(_is_mapping, lambda text, _: load_json(text))
    rows.register_unstructure_hook_func(_is_strings, lambda v: dump_json(list(v)))
    rows.register_structure_hook_func(_is_strings, lambda text, _: tuple(load_json(text)))
    rows.register_unstructure_hook_func(_is_ints, lambda v: dump_json(list(v)))
    rows.register_structure_hook_func(_is_ints, lambda value, _: _load_ints(value))
    rows.register_unstructure_hook_func(_is_objects, dump_objects)
    rows.register_structure_hook_func(_is_objects, lambda text, _: load_objects(text))

    for cls, renames in _COLUMNS.items():
        renamed: dict[str, Any] = {f: override(rename=column) for f, column in renames.items()}
        rows.register_unstructure_hook(cls, make_dict_unstructure_fn(cls, rows, **renamed))
        rows.register_structure_hook(cls, make_dict_structure_fn(cls, rows, **renamed))
    return rows


# Inside the objects column, a cloud object is a JSON object whose attributes are as given;
# one converter for both stores, so that the text is the same in both.
_objects = cattrs.Converter()
_as_given = override(unstruct_hook=lambda v: v, struct_hook=lambda v, _: v)
_objects.register_unstructure_hook(
    CloudObject, make_dict_unstructure_fn(CloudObject, _objects, attributes=_as_given)
)
_objects.register_structure_hook(
    CloudObject, make_dict_structure_fn(CloudObject, _objects, attributes=_as_given)
)


def dump_objects(objects: Sequence[CloudObject]) -> str:
    return dump_json([_objects.unstructure(o, CloudObject) for o in objects])


def load_objects(text: str) -> tuple[CloudObject, ...]:
    return tuple(_objects.structure(o, CloudObject) for o in load_json(text))


class RowCodec:
    """A backend's rows: :meth:`params` for its statements, :meth:`from_row` to read back."""

    def __init__(self, *, native: bool) -> None:
        self._rows = _converter(native=native)

    def params(self, record: Any) -> dict[str, Any]:
        """The record's columns, as the named parameters of an INSERT or UPDATE."""
        row: dict[str, Any] = self._rows.unstructure(record)
        return row

    def time(self, value: dt.datetime) -> Any:
        """A time as this backend's column value (a naive one is refused)."""
        return self._rows.unstructure(value, dt.datetime)

    def from_row(self, row: Mapping[str, Any], cls: type[R]) -> R:
        """The record of type ``cls`` in ``row`` (selected with ``SELECT *``; columns the
        record has no field for, such as an event's ``seq``, are ignored)."""
        try:
            return self._rows.structure(dict(row), cls)
        except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as exc:
            why = (
                "; ".join(cattrs.transform_error(exc))
                if isinstance(exc, cattrs.BaseValidationError)
                else str(exc)
            )
            raise StateError(f"a stored {cls.__name__} cannot be read: {why}") from exc


SQLITE = RowCodec(native=False)
POSTGRES = RowCodec(native=True)


def columns(cls: type[Any]) -> tuple[str, ...]:
    """The columns a record of type ``cls`` is stored in, in field order."""
    renames = _COLUMNS.get(cls, {})
    return tuple(renames.get(f.name, f.name) for f in attrs.fields(cls))


def params(record: Any) -> dict[str, Any]:
    """The record's columns, as the named parameters of an INSERT or UPDATE in sqlite.py."""
    return SQLITE.params(record)


def from_row(row: sqlite3.Row, cls: type[R]) -> R:
    """The record of type ``cls`` in a SQLite ``row`` (see :meth:`RowCodec.from_row`)."""
    return SQLITE.from_row(dict(row), cls)


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
        merged[obj.id] = _objects.unstructure(obj, CloudObject)  # first-insertion order on replace
    return dump_json(list(merged.values()))
