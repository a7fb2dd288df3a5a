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

import math
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final
from urllib.parse import unquote

from atlas.store.sqlite import DEFAULT_STATE_PATH, STATE_ENV, SQLiteStore

if TYPE_CHECKING:
    from atlas.store.postgres import PostgresStore

__all__ = [
    "DEFAULT_LEASE_SECONDS",
    "DEFAULT_POOL_SIZE",
    "LEASE_ENV",
    "POOL_SIZE_ENV",
    "chosen_location",
    "is_postgres_url",
    "lease_from_env",
    "open_store",
    "passwords_in",
    "pool_size_from_env",
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


#: Seconds after its last heartbeat that a lock's holder on another host is taken to be gone.
LEASE_ENV: Final = "ATLAS_LEASE_SECONDS"
DEFAULT_LEASE_SECONDS: Final = 120.0


def lease_from_env(env: Mapping[str, str] | None = None) -> float:
    """``$ATLAS_LEASE_SECONDS``, else the default; a clear error for anything but a positive
    number of seconds (at least one: a shorter lease would be lost to a busy moment)."""
    raw = (os.environ if env is None else env).get(LEASE_ENV, "").strip()
    if not raw:
        return DEFAULT_LEASE_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and 1.0 <= seconds <= 86400.0):
        raise ValueError(f"{LEASE_ENV} must be a number of seconds from 1 to 86400, not {raw!r}")
    return seconds


#: The most connections a PostgreSQL store holds open at once.
POOL_SIZE_ENV: Final = "ATLAS_STATE_POOL_SIZE"
DEFAULT_POOL_SIZE: Final = 4


def pool_size_from_env(env: Mapping[str, str] | None = None) -> int:
    """``$ATLAS_STATE_POOL_SIZE``, else the default; a clear error for anything but a whole
    number from 1 to 1000."""
    raw = (os.environ if env is None else env).get(POOL_SIZE_ENV, "").strip()
    if not raw:
        return DEFAULT_POOL_SIZE
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 1000:
        raise ValueError(f"{POOL_SIZE_ENV} must be a whole number from 1 to 1000, not {raw!r}")
    return int(raw)


def open_store(
    location: str | os.PathLike[str] | None = None,
    *,
    lease_seconds: float | None = None,
) -> SQLiteStore | PostgresStore:
    """The configured store: ``location``, else ``$ATLAS_STATE``, else ``.atlas/state.db``.

    A ``postgresql://`` (or ``postgres://``) URL opens a :class:`PostgresStore` (which needs
    the ``postgres`` extra), holding at most ``$ATLAS_STATE_POOL_SIZE`` connections (4);
    anything else is the path of a SQLite file. The lease of its locks is ``lease_seconds``,
    else ``$ATLAS_LEASE_SECONDS``, else two minutes.
    """
    if lease_seconds is None:
        lease_seconds = lease_from_env()
    chosen = chosen_location(location)
    if is_postgres_url(chosen):
        from atlas.store.postgres import PostgresStore  # noqa: PLC0415 - the optional extra

        return PostgresStore(chosen, lease_seconds=lease_seconds, pool_size=pool_size_from_env())
    return SQLiteStore(chosen, lease_seconds=lease_seconds)
