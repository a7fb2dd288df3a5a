"""Finding the references one resource makes to others, for validation and ordering."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

from atlas.model.fields import field_info

__all__ = ["Reference", "iter_references"]


@attrs.frozen
class Reference:
    """``path`` (relative to the specification) names resource ``target`` of kind ``kind``."""

    path: str
    kind: str
    target: str


def iter_references(spec: Any, prefix: str = "") -> Iterator[Reference]:
    """Every reference inside a specification object, nested classes and lists included."""
    if not attrs.has(type(spec)):
        return
    for info in field_info(type(spec)):
        value = getattr(spec, info.name)
        path = f"{prefix}.{info.name}" if prefix else info.name
        if info.ref is not None:
            yield from _refs_in(value, path, info.ref)
        else:
            yield from _nested(value, path)


def _refs_in(value: Any, path: str, kind: str) -> Iterator[Reference]:
    if isinstance(value, str):
        yield Reference(path, kind, value)
    elif isinstance(value, tuple):
        for i, item in enumerate(value):
            if isinstance(item, str):
                yield Reference(f"{path}[{i}]", kind, item)


def _nested(value: Any, path: str) -> Iterator[Reference]:
    if value is None or isinstance(value, str | int | float):
        return  # plain values hold no references
    if attrs.has(type(value)):
        yield from iter_references(value, path)
    elif isinstance(value, tuple):
        for i, item in enumerate(value):
            yield from iter_references(item, f"{path}[{i}]")
