"""Stores for the state store's tests, of every backend: SQLite in memory, SQLite in a file in
a temporary directory, and PostgreSQL (a schema of its own in the run's database).

``store`` is parametrised over the three, so every behaviour is checked on each. ``backend``
is the same choice with a way to open the store's database again (as another process or replica
would) and to write to it behind the store's back (as a replica elsewhere would).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from atlas.store import PostgresStore, SQLiteStore
from atlas.store.base import StateStore
from tests.atlas.store.factories import FakeClock

#: Every backend, and those whose database a second store can open too.
BACKENDS = ("memory", "file", "postgres")
SHARED = ("file", "postgres")


@attrs.frozen
class Backend:
    """One backend, at one location: a path, ``:memory:`` or a URL."""

    name: str
    location: str

    def open(self, **options: Any) -> SQLiteStore | PostgresStore:
        if self.name == "postgres":
            return PostgresStore(self.location, **options)
        return SQLiteStore(self.location, **options)

    def execute(self, store: StateStore, sql: str) -> None:
        """Run ``sql`` on ``store``'s own database, committed, outside its methods."""
        if isinstance(store, PostgresStore):
            with store._pool.connection() as conn:
                conn.execute(sql)  # type: ignore[arg-type]
            return
        assert isinstance(store, SQLiteStore)
        assert store._conn is not None
        with store._conn:
            store._conn.execute(sql)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "state.db"


def _backend(request: pytest.FixtureRequest, db_path: Path) -> Backend:
    name = request.param
    if name == "postgres":
        return Backend(name, request.getfixturevalue("postgres_url"))
    return Backend(name, ":memory:" if name == "memory" else str(db_path))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, db_path: Path) -> Backend:
    return _backend(request, db_path)


@pytest.fixture(params=SHARED)
def shared(request: pytest.FixtureRequest, db_path: Path) -> Backend:
    """A backend whose database another store (another process) can open too."""
    return _backend(request, db_path)


@pytest.fixture
def store(backend: Backend, clock: FakeClock) -> Iterator[SQLiteStore | PostgresStore]:
    """Every behaviour holds for each: ``:memory:`` is what most users' tests will open."""
    with backend.open(clock=clock) as opened:
        yield opened
