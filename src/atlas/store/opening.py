"""Which store a location names: a ``postgresql://`` URL is a PostgreSQL store, anything else
a SQLite file (``":memory:"`` for tests).

One rule for every way a location is given: ``open_store(location)``, ``$ATLAS_STATE``, the
command line's ``--state``. SQLite stays the embedded default, so that nothing but the standard
library is needed until a URL asks for more.

A URL may carry a password; :func:`redact` is how it is shown anywhere (messages, ``repr``,
``check()``, logs): the password, in the authority or as a ``password=`` parameter, is
replaced by ``***``.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Final
from urllib.parse import unquote

from atlas.store.sqlite import DEFAULT_STATE_PATH, STATE_ENV, SQLiteStore

if TYPE_CHECKING:
    from atlas.store.postgres import PostgresStore

__all__ = [
    "chosen_location",
    "is_postgres_url",
    "open_store",
    "passwords_in",
    "redact",
    "shown_location",
]

#: The schemes libpq accepts for a connection URI.
POSTGRES_SCHEMES: Final = ("postgresql", "postgres")
_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://")
_HIDDEN = "***"


def is_postgres_url(location: str | os.PathLike[str]) -> bool:
    """Whether ``location`` is a PostgreSQL connection URI (by its scheme, in any case)."""
    found = _SCHEME.match(os.fspath(location))
    return found is not None and found["scheme"].lower() in POSTGRES_SCHEMES


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***``; any other text unchanged."""
    url = _USERINFO.sub(lambda m: f"{m['head']}{m['user']}:{_HIDDEN}@", url, count=1)
    return _PASSWORD_PARAM.sub(lambda m: f"{m['key']}{_HIDDEN}", url)


def passwords_in(url: str) -> tuple[str, ...]:
    """Every form the password takes in ``url`` (as written, and percent-decoded): what to
    scrub from text a driver gives back, which may quote the URL it could not read."""
    found = [m["password"] for m in _USERINFO.finditer(url)]
    found += [m["value"] for m in _PASSWORD_PARAM.finditer(url)]
    forms = {f for raw in found if raw for f in (raw, unquote(raw))}
    return tuple(sorted(forms, key=len, reverse=True))  # the longest first


#: ``scheme://user:password@``: the password is everything up to the last ``@`` of the
#: authority (libpq splits there too).
_USERINFO = re.compile(
    r"^(?P<head>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:/?#@]*):(?P<password>[^/?#]*)@"
)
_PASSWORD_PARAM = re.compile(r"(?P<key>[?&]password=)(?P<value>[^&#]*)")


def chosen_location(location: str | os.PathLike[str] | None = None) -> str:
    """The location :func:`open_store` opens: ``location``, else ``$ATLAS_STATE``, else the
    default file."""
    return os.fspath(location or os.environ.get(STATE_ENV) or DEFAULT_STATE_PATH)


def shown_location(location: str) -> str:
    """How a location is named in messages: a URL without its password, a path as it is."""
    return redact(location) if is_postgres_url(location) else location


def open_store(
    location: str | os.PathLike[str] | None = None,
    *,
    lease_seconds: float = 120.0,
) -> SQLiteStore | PostgresStore:
    """The configured store: ``location``, else ``$ATLAS_STATE``, else ``.atlas/state.db``.

    A ``postgresql://`` (or ``postgres://``) URL opens a :class:`PostgresStore` (which needs
    the ``postgres`` extra); anything else is the path of a SQLite file.
    """
    chosen = chosen_location(location)
    if is_postgres_url(chosen):
        from atlas.store.postgres import PostgresStore  # noqa: PLC0415 - the optional extra

        return PostgresStore(chosen, lease_seconds=lease_seconds)
    return SQLiteStore(chosen, lease_seconds=lease_seconds)
