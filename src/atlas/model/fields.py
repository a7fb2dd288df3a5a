"""Field declarations for resource specification classes.

A specification class is a plain frozen attrs class. What validation needs to know about a field
beyond its type rides in the field's metadata, declared through :func:`spec_field`:

- ``ref``: the field names other resources of this kind (a name, or a tuple of names);
- ``create_only``: an estimate can do without it, creating the resource cannot;
- ``check``: a function of the value returning a problem message, or ``None`` when it is fine;
- ``doc``: one line for the reference documentation (a test keeps docs and fields in step).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Final, NewType

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


def spec_field(
    *,
    doc: str,
    default: Any = attrs.NOTHING,
    factory: Callable[[], Any] | None = None,
    ref: str | None = None,
    create_only: bool = False,
    check: Check | None = None,
) -> Any:
    """Declare a specification field (see the module docstring for the options)."""
    meta = {_KEY: {"doc": doc, "ref": ref, "create_only": create_only, "check": check}}
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
            )
        )
    return tuple(infos)
