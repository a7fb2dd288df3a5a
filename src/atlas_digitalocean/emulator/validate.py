"""Readers for request-body fields that reject bad input with an error naming the field.

Each reader takes the object, the key and a ``where`` prefix for nested objects
(``forwarding_rules[0].``), so messages point at the exact field as DigitalOcean's do.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from atlas_digitalocean.emulator.errors import ApiError
from atlas_digitalocean.emulator.wire import JSON

_MISSING = object()


def _invalid(where: str, key: str, problem: str) -> ApiError:
    return ApiError.unprocessable(f"{where}{key} {problem}")


def _get(obj: JSON, key: str) -> Any:
    value = obj.get(key, _MISSING)
    return _MISSING if value is None else value


def required_str(
    obj: JSON,
    key: str,
    *,
    where: str = "",
    pattern: str | None = None,
    max_length: int | None = None,
) -> str:
    value = _get(obj, key)
    if value is _MISSING or value == "":
        raise _invalid(where, key, "is required")
    return _check_str(value, key, where, pattern, max_length)


def optional_str(
    obj: JSON,
    key: str,
    default: str,
    *,
    where: str = "",
    pattern: str | None = None,
    max_length: int | None = None,
) -> str:
    value = _get(obj, key)
    if value is _MISSING:
        return default
    return _check_str(value, key, where, pattern, max_length)


def _check_str(
    value: Any, key: str, where: str, pattern: str | None, max_length: int | None
) -> str:
    if not isinstance(value, str):
        raise _invalid(where, key, "must be a string")
    if max_length is not None and len(value) > max_length:
        raise _invalid(where, key, f"must be at most {max_length} characters")
    if pattern is not None and not re.fullmatch(pattern, value):
        raise _invalid(where, key, f"has an invalid format: {value!r}")
    return value


def choice(obj: JSON, key: str, choices: Collection[str], default: str, *, where: str = "") -> str:
    value = optional_str(obj, key, default, where=where)
    if value not in choices:
        raise _invalid(where, key, f"must be one of {', '.join(sorted(choices))}; got {value!r}")
    return value


def required_int(
    obj: JSON, key: str, *, where: str = "", minimum: int | None = None, maximum: int | None = None
) -> int:
    value = _get(obj, key)
    if value is _MISSING:
        raise _invalid(where, key, "is required")
    return _check_int(value, key, where, minimum, maximum)


def optional_int(
    obj: JSON,
    key: str,
    default: int,
    *,
    where: str = "",
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    value = _get(obj, key)
    if value is _MISSING:
        return default
    return _check_int(value, key, where, minimum, maximum)


def _check_int(value: Any, key: str, where: str, minimum: int | None, maximum: int | None) -> int:
    # bool is an int in Python but not in JSON Schema.
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(where, key, "must be an integer")
    if minimum is not None and value < minimum:
        raise _invalid(where, key, f"must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise _invalid(where, key, f"must be at most {maximum}")
    return value


def optional_bool(obj: JSON, key: str, default: bool, *, where: str = "") -> bool:
    value = _get(obj, key)
    if value is _MISSING:
        return default
    if not isinstance(value, bool):
        raise _invalid(where, key, "must be a boolean")
    return value


def str_list(obj: JSON, key: str, *, where: str = "", pattern: str | None = None) -> list[str]:
    """A list of strings; absent and ``null`` both mean empty, as DigitalOcean treats them."""
    value = _get(obj, key)
    if value is _MISSING:
        return []
    if not isinstance(value, list):
        raise _invalid(where, key, "must be an array of strings")
    for index, item in enumerate(value):
        _check_str(item, f"{key}[{index}]", where, pattern, None)
    return list(value)


def int_list(obj: JSON, key: str, *, where: str = "") -> list[int]:
    value = _get(obj, key)
    if value is _MISSING:
        return []
    if not isinstance(value, list):
        raise _invalid(where, key, "must be an array of integers")
    for index, item in enumerate(value):
        _check_int(item, f"{key}[{index}]", where, None, None)
    return list(value)


def optional_object(obj: JSON, key: str, *, where: str = "") -> JSON:
    value = _get(obj, key)
    if value is _MISSING:
        return {}
    if not isinstance(value, dict):
        raise _invalid(where, key, "must be an object")
    return value


def object_list(obj: JSON, key: str, *, where: str = "") -> list[JSON]:
    value = _get(obj, key)
    if value is _MISSING:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise _invalid(where, key, "must be an array of objects")
    return list(value)
