"""PEP 562 lazy exports: a package's public names, each imported from its home on first use.

A package lists ``_HOMES = {name: module}`` and binds ``__getattr__, __dir__ = exports(...)``;
its ``if TYPE_CHECKING:`` block imports the same names for type checkers.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["exports"]


def exports(
    package: str, namespace: dict[str, Any], homes: Mapping[str, str], names: Iterable[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose globals are ``namespace``."""
    public = frozenset(names)
    missing = public - homes.keys()
    if missing:  # a name exported without a home would fail only when first used
        raise ImportError(f"{package}: no home for {', '.join(sorted(missing))}")

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        namespace[name] = value  # later look-ups are ordinary ones
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | public)

    return __getattr__, __dir__
