"""Readers for request-body fields that reject bad input with an error naming the field.

Each reader takes the object, the key and a ``where`` prefix for nested objects
(``forwarding_rules[0].``), so messages point at the exact field as DigitalOcean's do.
Absent and ``null`` are the same: the default, or for a reader given none, "is required".
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Collection
from functools import partial
from typing import Any, TypeVar

from atlas_digitalocean.emulator.errors import ApiError
from atlas_digitalocean.emulator.exchange import JSON

T = TypeVar("T")
Check = Callable[[Any, str, str], T]
"""Checks a given value for the field ``where + key``; returns it or raises a 422."""

TAG_PATTERN = r"[a-zA-Z0-9_\-:]+"
TAG_MAX_LENGTH = 255


class _Required(enum.Enum):
    REQUIRED = enum.auto()


_REQUIRED = _Required.REQUIRED


def _invalid(where: str, key: str, problem: str) -> ApiError:
    return ApiError.unprocessable(f"{where}{key} {problem}")


def _read(obj: JSON, key: str, where: str, default: T | _Required, check: Check[T]) -> T:
    value = obj.get(key)
    if value is not None:
        return check(value, key, where)
    if isinstance(default, _Required):
        raise _invalid(where, key, "is required")
    return default


def _is(kind: type[T], noun: str) -> Check[T]:
    def check(value: Any, key: str, where: str) -> T:
        if not isinstance(value, kind):
            raise _invalid(where, key, f"must be {noun}")
        return value

    return check


def _check_str(
    value: Any, key: str, where: str, *, pattern: str | None = None, max_length: int | None = None
) -> str:
    if not isinstance(value, str):
        raise _invalid(where, key, "must be a string")
    if max_length is not None and len(value) > max_length:
        raise _invalid(where, key, f"must be at most {max_length} characters")
    if pattern is not None and not re.fullmatch(pattern, value):
        raise _invalid(where, key, f"has an invalid format: {value!r}")
    return value


def _check_int(
    value: Any, key: str, where: str, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    # bool is an int in Python but not in JSON Schema.
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(where, key, "must be an integer")
    if minimum is not None and value < minimum:
        raise _invalid(where, key, f"must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise _invalid(where, key, f"must be at most {maximum}")
    return value


def string(
    obj: JSON,
    key: str,
    default: str | _Required = _REQUIRED,
    *,
    where: str = "",
    pattern: str | None = None,
    max_length: int | None = None,
) -> str:
    """A string; one with no default is required, and an empty one counts as absent."""
    if obj.get(key) == "" and isinstance(default, _Required):
        raise _invalid(where, key, "is required")
    check = partial(_check_str, pattern=pattern, max_length=max_length)
    return _read(obj, key, where, default, check)


def integer(
    obj: JSON,
    key: str,
    default: int | _Required = _REQUIRED,
    *,
    where: str = "",
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    """An integer (not a boolean) within the bounds given; one with no default is required."""
    return _read(obj, key, where, default, partial(_check_int, minimum=minimum, maximum=maximum))


def choice(obj: JSON, key: str, choices: Collection[str], default: str, *, where: str = "") -> str:
    value = string(obj, key, default, where=where)
    if value not in choices:
        raise _invalid(where, key, f"must be one of {', '.join(sorted(choices))}; got {value!r}")
    return value


def optional_bool(obj: JSON, key: str, default: bool, *, where: str = "") -> bool:
    return _read(obj, key, where, default, _is(bool, "a boolean"))


def optional_object(obj: JSON, key: str, *, where: str = "") -> JSON:
    return _read(obj, key, where, {}, _is(dict, "an object"))


def str_list(obj: JSON, key: str, *, where: str = "", pattern: str | None = None) -> list[str]:
    """A list of strings; absent and ``null`` both mean empty, as DigitalOcean treats them."""
    items: list[Any] = _read(obj, key, where, [], _is(list, "an array of strings"))
    for index, item in enumerate(items):
        _check_str(item, f"{key}[{index}]", where, pattern=pattern)
    return list(items)


def int_list(obj: JSON, key: str, *, where: str = "") -> list[int]:
    items: list[Any] = _read(obj, key, where, [], _is(list, "an array of integers"))
    for index, item in enumerate(items):
        _check_int(item, f"{key}[{index}]", where)
    return list(items)


def object_list(obj: JSON, key: str, *, where: str = "") -> list[JSON]:
    items: list[Any] = _read(obj, key, where, [], _is(list, "an array of objects"))
    if not all(isinstance(item, dict) for item in items):
        raise _invalid(where, key, "must be an array of objects")
    return list(items)


def is_tag_name(name: str) -> bool:
    return len(name) <= TAG_MAX_LENGTH and re.fullmatch(TAG_PATTERN, name) is not None


def tag_names(obj: JSON, key: str = "tags") -> list[str]:
    """Tag names from a create body; a bad one is a 422 naming the field."""
    names = str_list(obj, key)
    for index, name in enumerate(names):
        if not is_tag_name(name):
            raise ApiError.unprocessable(f"{key}[{index}] is not a valid tag name: {name!r}")
    return names
