"""Stores for the state store's tests: in memory, and a real file in a temporary directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from atlas.store import SQLiteStore
from tests.atlas.store.factories import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "state.db"


@pytest.fixture(params=["memory", "file"])
def store(request: pytest.FixtureRequest, db_path: Path, clock: FakeClock) -> Iterator[SQLiteStore]:
    """Every behaviour holds for both: ``:memory:`` is what most users' tests will open."""
    path = ":memory:" if request.param == "memory" else db_path
    with SQLiteStore(path, clock=clock) as opened:
        yield opened
