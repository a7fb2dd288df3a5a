"""The cattrs converter that turns spec documents into specification classes, strictly.

cattrs coerces by default (``int("5")``, a string iterated into a tuple of letters); a spec must
not, so every primitive hook here checks the JSON type, and every error is turned into a
:class:`~atlas.exceptions.Problem` carrying the exact path of the offending value.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, get_args, get_origin

import attrs
import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError

from atlas.exceptions import Problem
from atlas.model.fields import Label

__all__ = ["describe", "make_converter", "problems_from_cattrs"]

_NAMES: dict[type, str] = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "a string",
    Decimal: "a number",
}


def describe(value: Any) -> str:
    """A short, human description of a JSON value for error messages."""
    if value is None:
        return "null"
    names = {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }
    return f"{names.get(type(value), type(value).__name__)} ({value!r:.40})"


class _ItemErrors(Exception):
    """Errors of several list items, kept with their indexes."""

    def __init__(self, errors: list[tuple[int, Exception]]) -> None:
        super().__init__(f"{len(errors)} invalid items")
        self.errors = errors


def _expected(kind: str, value: Any) -> TypeError:
    return TypeError(f"expected {kind}, got {describe(value)}")


def _str(value: Any, _: type) -> str:
    if not isinstance(value, str):
        raise _expected("a string", value)
    return value


def _int(value: Any, _: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _expected("a whole number", value)
    return value


def _bool(value: Any, _: type) -> bool:
    if not isinstance(value, bool):
        raise _expected("true or false", value)
    return value


def _float(value: Any, _: type) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _expected("a number", value)
    return float(value)


def _decimal(value: Any, _: type) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _expected("a number", value)
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise _expected("a number", value) from None


def _label(value: Any, _: type) -> Label:
    if isinstance(value, str):
        return Label(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return Label(str(value))
    if isinstance(value, float):
        raise TypeError(f"write {value!r} in quotes: as a number it may lose digits (1.10 is 1.1)")
    raise _expected("a string", value)


def _is_literal(t: Any) -> bool:
    return get_origin(t) is Literal


def _literal(t: Any) -> Callable[[Any, Any], Any]:
    allowed = get_args(t)

    def hook(value: Any, _: Any) -> Any:
        # bool is an int in Python: True must not pass for 1, nor 1 for True.
        for a in allowed:
            if value == a and type(value) is type(a):
                return value
        raise ValueError(f"must be one of {', '.join(repr(a) for a in allowed)}; got {value!r}")

    return hook


def _is_variadic_tuple(t: Any) -> bool:
    args = get_args(t)
    return get_origin(t) is tuple and len(args) == 2 and args[1] is Ellipsis


def _is_simple_union(t: Any) -> bool:
    """Unions of primitives and literals (``int | str``), which cattrs cannot pick between."""
    if get_origin(t) not in (typing.Union, types.UnionType):
        return False
    members = [a for a in get_args(t) if a is not type(None)]
    return len(members) > 1 and all(a in _NAMES or _is_literal(a) for a in members)


def make_converter() -> cattrs.Converter:
    """A strict converter: exact JSON types, no unknown keys, every error reported."""
    conv = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    for t, hook in ((str, _str), (int, _int), (bool, _bool), (float, _float), (Decimal, _decimal)):
        conv.register_structure_hook(t, hook)
    # A NewType would dispatch to its base type's hook; a predicate hook takes precedence.
    conv.register_structure_hook_func(lambda t: t is Label, _label)
    conv.register_structure_hook_factory(_is_literal, _literal)

    def tuple_factory(t: Any) -> Callable[[Any, Any], tuple[Any, ...]]:
        item_type = get_args(t)[0]
        item_hook = conv.get_structure_hook(item_type)

        def hook(value: Any, _: Any) -> tuple[Any, ...]:
            if not isinstance(value, list | tuple):
                raise _expected("a list", value)
            out, errors = [], []
            for i, item in enumerate(value):
                try:
                    out.append(item_hook(item, item_type))
                except Exception as exc:  # collected: every bad item is reported
                    errors.append((i, exc))
            if errors:
                raise _ItemErrors(errors)
            return tuple(out)

        return hook

    def union_factory(t: Any) -> Callable[[Any, Any], Any]:
        members = [a for a in get_args(t) if a is not type(None)]
        optional = len(members) < len(get_args(t))

        def hook(value: Any, _: Any) -> Any:
            if value is None and optional:
                return None
            for member in members:
                try:
                    return conv.structure(value, member)
                except (TypeError, ValueError):
                    continue
            raise _expected(" or ".join(_describe_type(m) for m in members), value)

        return hook

    conv.register_structure_hook_factory(_is_variadic_tuple, tuple_factory)
    conv.register_structure_hook_factory(_is_simple_union, union_factory)
    return conv


def _describe_type(t: Any) -> str:
    if _is_literal(t):
        return " or ".join(repr(a) for a in get_args(t))
    return _NAMES.get(t, getattr(t, "__name__", str(t)))


def problems_from_cattrs(exc: BaseException, path: str) -> Iterator[Problem]:
    """Flatten a cattrs error tree into problems with exact paths below ``path``."""
    if isinstance(exc, ClassValidationError):
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            yield from problems_from_cattrs(sub, f"{path}.{note.name}")
        for sub in without:
            yield from problems_from_cattrs(sub, path)
    elif isinstance(exc, IterableValidationError):
        with_index, without = exc.group_exceptions()
        for sub, inote in with_index:
            yield from problems_from_cattrs(sub, f"{path}[{inote.index}]")
        for sub in without:
            yield from problems_from_cattrs(sub, path)
    elif isinstance(exc, _ItemErrors):
        for index, sub in exc.errors:
            yield from problems_from_cattrs(sub, f"{path}[{index}]")
    elif isinstance(exc, ForbiddenExtraKeysError):
        yield from _unknown_fields(exc, path)
    elif isinstance(exc, KeyError):
        yield Problem(path, "required field missing")
    elif isinstance(exc, cattrs.errors.StructureHandlerNotFoundError):
        yield Problem(path, f"atlas cannot read this field's type ({exc})")
    else:
        yield Problem(path, str(exc))


def _unknown_fields(exc: ForbiddenExtraKeysError, path: str) -> Iterator[Problem]:
    fields = [a.name for a in attrs.fields(exc.cl)] if attrs.has(exc.cl) else []
    for key in sorted(exc.extra_fields):
        close = difflib.get_close_matches(key, fields, n=2, cutoff=0.6)
        if close:
            yield Problem(
                f"{path}.{key}", f"unknown field (did you mean {' or '.join(map(repr, close))}?)"
            )
        else:
            yield Problem(f"{path}.{key}", f"unknown field; known fields: {', '.join(fields)}")
