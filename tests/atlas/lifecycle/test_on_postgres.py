"""The lifecycle's own tests once more, on a PostgresStore: apply, update, rollback, a stop
and what resumes it, imports and saved plans, through AsyncAtlas on the memory cloud, with the
state in PostgreSQL (a schema of its own per test). The store's contract is tested on both
backends in tests/atlas/store; this is the lifecycle leaning on it for real."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from atlas.store import PostgresStore

# Collected again here, where ``store`` is a PostgreSQL one.
from tests.atlas.lifecycle.test_apply import *  # noqa: F403
from tests.atlas.lifecycle.test_apply_plan import *  # noqa: F403
from tests.atlas.lifecycle.test_import import *  # noqa: F403
from tests.atlas.lifecycle.test_stop import *  # noqa: F403


@pytest.fixture
def store(postgres_url: str) -> Iterator[PostgresStore]:
    with PostgresStore(postgres_url) as opened:
        yield opened
