"""Field declarations for resource specification classes.

A specification class is a plain frozen attrs class. What validation needs to know about a field
beyond its type rides in the field's metadata, declared through :func:`spec_field`:

- ``ref``: the field names other resources of this kind (a name, or a tuple of names);
- ``weak``: (with ``ref``) the reference may close a cycle (a security group admitting
  itself, two admitting each other): it orders the creates only where no cycle forbids it,
  and the provider completes what needs both once both exist;
- ``create_only``: an estimate can do without it, creating the resource cannot;
- ``check``: a function of the value returning a problem message, or ``None`` when it is fine;
- ``doc``: one line for the reference documentation (a test keeps docs and fields in step).
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final, Literal, NewType, get_args, get_origin

import attrs

__all__ = ["Check", "FieldInfo", "Label", "field_info", "spec_field"]

#: Text that YAML may have read as a whole number (a version ``15``, a port ``80``): a whole
#: number is accepted and kept as its decimal text; a float is refused (``1.10`` would be lost).
Label = NewType("Label", str)

Check = Callable[[Any], "str | None"]

_KEY: Final = "atlas"


@attrs.frozen
class FieldInfo:
    """What atlas knows of one specification field."""

    name: str
    doc: str
    ref: str | None = None
    create_only: bool = False
    check: Check | None = None
    required: bool = False
    weak: bool = False


def spec_field(
    *,
    doc: str,
    default: Any = attrs.NOTHING,
    factory: Callable[[], Any] | None = None,
    ref: str | None = None,
    create_only: bool = False,
    check: Check | None = None,
    weak: bool = False,
) -> Any:
    """Declare a specification field (see the module docstring for the options)."""
    meta = {
        _KEY: {"doc": doc, "ref": ref, "create_only": create_only, "check": check, "weak": weak}
    }
    if factory is not None:
        return attrs.field(factory=factory, metadata=meta, kw_only=True)
    return attrs.field(default=default, metadata=meta, kw_only=True)


def field_info(cls: type) -> tuple[FieldInfo, ...]:
    """The :class:`FieldInfo` of every field of an attrs specification class, in order.

    Cached per class: a class's fields never change, and validation asks once per object."""
    return _field_info(cls)


@functools.cache
def _field_info(cls: Any) -> tuple[FieldInfo, ...]:
    infos = []
    for a in attrs.fields(cls):
        meta = a.metadata.get(_KEY, {})
        infos.append(
            FieldInfo(
                name=a.name,
                doc=meta.get("doc", ""),
                ref=meta.get("ref"),
                create_only=meta.get("create_only", False),
                check=meta.get("check"),
                required=a.default is attrs.NOTHING,
                weak=meta.get("weak", False),
            )
        )
    return tuple(infos)


#: Types whose values hold no objects of specification classes.
_PLAIN_TYPES: Final = frozenset({str, int, float, bool, Decimal, type(None)})


def nested_fields(cls: type) -> frozenset[str]:
    """The fields of an attrs specification class whose declared type may hold objects of
    specification classes (``tuple[InboundRule, ...]``, ``HealthCheck | None``).

    The others hold plain values (strings, numbers, tuples of them...), and walks over
    specifications (checks, references) skip them. A type atlas cannot read counts as one that
    may hold objects. Cached per class."""
    return _nested_fields(cls)


@functools.cache
def _nested_fields(cls: Any) -> frozenset[str]:
    names = [a.name for a in attrs.fields(cls)]
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # an annotation that does not resolve: assume any field may nest
        return frozenset(names)
    return frozenset(n for n in names if n not in hints or _may_hold_objects(hints[n]))


def _may_hold_objects(t: Any) -> bool:
    if (isinstance(t, type) and t in _PLAIN_TYPES) or get_origin(t) is Literal:
        return False
    if isinstance(t, NewType):
        return _may_hold_objects(t.__supertype__)
    if get_origin(t) in (tuple, typing.Union, types.UnionType):
        return any(_may_hold_objects(a) for a in get_args(t) if a is not Ellipsis)
    return True  # a specification class, or a type not known here
