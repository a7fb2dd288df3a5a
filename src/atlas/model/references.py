"""Finding the references one resource makes to others, for validation and ordering."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import attrs

from atlas.model.fields import FieldInfo, field_info, nested_fields

__all__ = ["Reference", "iter_references"]

#: Values that hold no references (bool is an int).
_PLAIN = (str, int, float)


@attrs.frozen
class Reference:
    """``path`` (relative to the specification) names resource ``target`` of kind ``kind``."""

    path: str
    kind: str
    target: str


def iter_references(spec: Any, prefix: str = "") -> Iterator[Reference]:
    """Every reference inside a specification object, nested classes and lists included."""
    found: list[Reference] = []
    _collect(spec, prefix, found)
    return iter(found)


@functools.cache
def _walked_fields(cls: Any) -> tuple[FieldInfo, ...]:
    """The fields that may hold references: references, and those that may nest objects."""
    nested = nested_fields(cls)
    return tuple(f for f in field_info(cls) if f.ref is not None or f.name in nested)


def _collect(spec: Any, prefix: str, out: list[Reference]) -> None:
    # One plain recursive walk (no generator per object and field): validation walks every
    # resource of a spec.
    cls: type = type(spec)
    if not attrs.has(cls):
        return
    for info in _walked_fields(cls):
        value = getattr(spec, info.name)
        if value is None or (info.ref is None and isinstance(value, _PLAIN)):
            continue
        path = f"{prefix}.{info.name}" if prefix else info.name
        if info.ref is not None:
            if isinstance(value, str):
                out.append(Reference(path, info.ref, value))
            elif isinstance(value, tuple):
                for i, item in enumerate(value):
                    if isinstance(item, str):
                        out.append(Reference(f"{path}[{i}]", info.ref, item))
        elif isinstance(value, tuple):
            for i, item in enumerate(value):
                if not isinstance(item, _PLAIN):
                    _collect(item, f"{path}[{i}]", out)
        else:
            _collect(value, path, out)
