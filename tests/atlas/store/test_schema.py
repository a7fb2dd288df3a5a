"""The schema is versioned: migrations run once, in order, and a newer store is refused."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest

from atlas.exceptions import StateError, StoreSchemaError
from atlas.store import SQLiteStore
from atlas.store.schema import MIGRATIONS, SCHEMA_VERSION, migrate
from tests.atlas.store.factories import infrastructure

TABLES = {
    "audit",
    "budget_crossings",
    "budgets",
    "events",
    "infrastructures",
    "lock_tokens",
    "locks",
    "operations",
    "resources",
    "steps",
}


def _version(path: Path) -> int:
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _tables(path: Path) -> set[str]:
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {r[0] for r in rows} - {"sqlite_sequence"}


def test_an_empty_file_is_migrated_to_the_latest_version(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    sqlite3.connect(db_path).close()  # exists, empty, version 0
    assert _version(db_path) == 0
    with SQLiteStore(db_path) as store:
        assert store.check()["schema_version"] == SCHEMA_VERSION
    assert _version(db_path) == SCHEMA_VERSION == len(MIGRATIONS)
    assert _tables(db_path) == TABLES


def test_reopening_keeps_the_records_and_migrates_nothing(db_path: Path) -> None:
    with SQLiteStore(db_path) as store:
        store.save_infrastructure(infrastructure())
    with SQLiteStore(db_path) as store:
        assert store.get_infrastructure("ws-a", "inf-1") == infrastructure()
        assert store.check()["schema_version"] == SCHEMA_VERSION


def test_a_store_written_by_a_newer_atlas_is_refused_and_left_alone(db_path: Path) -> None:
    with SQLiteStore(db_path) as store:
        store.save_infrastructure(infrastructure())
    with closing(sqlite3.connect(db_path, isolation_level=None)) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreSchemaError, match=f"schema version {SCHEMA_VERSION + 1}"):
        SQLiteStore(db_path)
    assert _version(db_path) == SCHEMA_VERSION + 1
    assert _tables(db_path) == TABLES
    assert issubclass(StoreSchemaError, StateError)


def test_each_migration_is_one_transaction(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    good = ("CREATE TABLE a (x TEXT)",)
    broken = ("CREATE TABLE b (x TEXT)", "CREATE TABLE a (x TEXT)")  # fails half-way
    with pytest.raises(sqlite3.OperationalError, match="already exists"):
        migrate(conn, [good, broken])
    # The first migration stands; nothing of the second does.
    assert int(conn.execute("PRAGMA user_version").fetchone()[0]) == 1
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert names == {"a"}
    assert not conn.in_transaction
    conn.close()


def test_a_failed_migration_is_a_state_error_when_opening(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    with closing(sqlite3.connect(db_path, isolation_level=None)) as conn:
        conn.execute("CREATE TABLE infrastructures (x TEXT)")  # not an atlas store
    with pytest.raises(StateError, match="cannot prepare the state store"):
        SQLiteStore(db_path)
    assert _version(db_path) == 0


def test_processes_opening_a_new_file_at_once_migrate_it_once(db_path: Path) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def open_it() -> None:
        start.wait()
        try:
            SQLiteStore(db_path).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _version(db_path) == SCHEMA_VERSION
