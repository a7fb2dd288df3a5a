"""A PostgreSQL database of its own for this test run, and a fresh schema in it for each test.

The server is the one every machine of the project runs, CI's included (127.0.0.1:5432, trust
authentication); ``$ATLAS_TEST_POSTGRES`` names another. The tests that need it run: they
fail, never skip, when it cannot be reached. The run's database has a random name, so runs on
one machine at once never meet, and it is dropped when the run ends.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

__all__ = ["fresh_database", "new_schema", "postgres_database", "postgres_url", "schema_url"]

SERVER = os.environ.get("ATLAS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
_schemas = itertools.count(1)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


def schema_url(database: str, schema: str) -> str:
    """The URL of a store in ``schema`` of ``database`` (libpq's ``options`` sets the
    search path of every connection)."""
    return f"{database}?options=-csearch_path%3D{schema}"


@contextlib.contextmanager
def fresh_database(prefix: str = "atlas_test") -> Iterator[str]:
    """The URL of a new database with a random name on the server, dropped on exit (its
    connections closed first, so a process killed while connected cannot keep it alive).

    :raises psycopg.OperationalError: when the server cannot be reached.
    """
    import psycopg

    name = f"{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(SERVER, autocommit=True, connect_timeout=10) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield _with_database(SERVER, name)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """The URL of a database made for this run (dropped at its end)."""
    import psycopg

    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(fresh_database())
        except psycopg.OperationalError as exc:
            pytest.fail(
                f"the tests need PostgreSQL at {SERVER} ($ATLAS_TEST_POSTGRES names another): "
                f"{exc}",
                pytrace=False,
            )
        yield url


def new_schema(database: str) -> str:
    """The URL of an empty store in a new schema of ``database``."""
    import psycopg

    schema = f"t{next(_schemas)}"
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return schema_url(database, schema)


@pytest.fixture
def postgres_url(postgres_database: str) -> str:
    """The URL of an empty store: a new schema of the run's database, for this test alone."""
    return new_schema(postgres_database)
