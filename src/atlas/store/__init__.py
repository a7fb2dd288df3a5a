"""The state store: the protocol and its embedded SQLite implementation.

``open_store()`` gives the default store: the file named by ``$ATLAS_STATE``, else
``.atlas/state.db`` in the working directory (``":memory:"`` for tests).
"""

from __future__ import annotations

from atlas.store.base import LockInfo, ObjectOwner, StateStore, Stats
from atlas.store.sqlite import DEFAULT_STATE_PATH, STATE_ENV, SQLiteStore, open_store

__all__ = [
    "DEFAULT_STATE_PATH",
    "STATE_ENV",
    "LockInfo",
    "ObjectOwner",
    "SQLiteStore",
    "StateStore",
    "Stats",
    "open_store",
]
