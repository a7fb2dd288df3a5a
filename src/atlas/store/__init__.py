"""The state store: the protocol, its embedded SQLite implementation (the default) and its
PostgreSQL one (for several replicas; the ``postgres`` extra).

``open_store()`` gives the configured store: the location given, else ``$ATLAS_STATE``, else
``.atlas/state.db`` in the working directory. A ``postgresql://`` URL is a PostgreSQL store,
anything else a SQLite file (``":memory:"`` for tests). Importing this package never imports
the PostgreSQL driver: opening a PostgreSQL store does.
"""

from __future__ import annotations

from atlas.store.base import LockInfo, ObjectOwner, Snapshot, StateStore, Stats
from atlas.store.opening import is_postgres_url, open_store, redact
from atlas.store.postgres import PostgresStore
from atlas.store.sqlite import DEFAULT_STATE_PATH, STATE_ENV, SQLiteStore

__all__ = [
    "DEFAULT_STATE_PATH",
    "STATE_ENV",
    "LockInfo",
    "ObjectOwner",
    "PostgresStore",
    "SQLiteStore",
    "Snapshot",
    "StateStore",
    "Stats",
    "is_postgres_url",
    "open_store",
    "redact",
]
