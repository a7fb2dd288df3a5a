"""The store's durability settings are in force, verified, and reported by ``check()``."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
import uuid
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import pytest

from atlas.exceptions import StateError
from atlas.model.records import EventRecord
from atlas.store import DEFAULT_STATE_PATH, STATE_ENV, SQLiteStore, open_store
from atlas.store.schema import BUSY_TIMEOUT_MS, SCHEMA_VERSION, verify_settings
from tests.atlas.store.factories import infrastructure


def _read(store: SQLiteStore, pragma: str) -> object:
    # The per-connection settings can only be read on the store's own connection.
    conn = store._conn
    assert conn is not None
    return conn.execute(f"PRAGMA {pragma}").fetchone()[0]


def test_a_file_store_runs_with_wal_full_sync_foreign_keys_and_a_busy_timeout(
    db_path: Path,
) -> None:
    with SQLiteStore(db_path) as store:
        assert _read(store, "journal_mode") == "wal"
        assert _read(store, "synchronous") == 2  # FULL
        assert _read(store, "foreign_keys") == 1
        assert _read(store, "busy_timeout") == BUSY_TIMEOUT_MS
        health = store.check()
    assert health["journal_mode"] == "wal"
    assert health["synchronous"] == "FULL"
    assert health["foreign_keys"] is True
    assert health["busy_timeout_ms"] == BUSY_TIMEOUT_MS
    assert health["schema_version"] == SCHEMA_VERSION == 6
    assert health["durable"] is True
    # WAL is a property of the file: another connection sees it too.
    with closing(sqlite3.connect(db_path, isolation_level=None)) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_parent_directory_of_a_file_store_is_created(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "state.db"
    with SQLiteStore(path):
        pass
    assert path.is_file()


def test_an_in_memory_store_works_and_says_it_has_no_wal() -> None:
    with SQLiteStore() as store:
        store.save_infrastructure(infrastructure())
        assert store.get_infrastructure("ws-a", "web") == infrastructure()
        health = store.check()
    assert health["journal_mode"] == "memory"
    assert health["synchronous"] == "FULL"
    assert health["durable"] is False
    assert "no WAL" in health["note"]


@pytest.mark.parametrize(
    ("pragma", "named"),
    [
        ("journal_mode=DELETE", "journal_mode"),
        ("synchronous=NORMAL", "synchronous"),
        ("foreign_keys=OFF", "foreign_keys"),
        ("busy_timeout=0", "busy_timeout_ms"),
    ],
)
def test_a_setting_sqlite_did_not_keep_is_refused_by_name(
    db_path: Path, pragma: str, named: str
) -> None:
    with SQLiteStore(db_path) as store:
        conn = store._conn
        assert conn is not None
        conn.execute(f"PRAGMA {pragma}")
        with pytest.raises(StateError, match=named):
            store.check()
        with pytest.raises(StateError, match=named):
            verify_settings(conn, in_memory=False)


def test_a_path_that_cannot_be_a_directory_is_a_state_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StateError, match="cannot open the state store"):
        SQLiteStore(blocker / "state.db")


def test_a_closed_store_says_so(db_path: Path) -> None:
    store = SQLiteStore(db_path)
    store.close()
    store.close()  # closing twice is harmless
    with pytest.raises(StateError, match="closed"):
        store.check()


def test_open_store_uses_the_argument_then_the_environment_then_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(STATE_ENV, raising=False)
    with open_store() as store:
        assert store.check()["path"] == str(DEFAULT_STATE_PATH)
    assert (tmp_path / ".atlas" / "state.db").is_file()

    monkeypatch.setenv(STATE_ENV, str(tmp_path / "env.db"))
    with open_store() as store:
        assert store.check()["path"] == str(tmp_path / "env.db")
    with open_store(tmp_path / "arg.db") as store:
        assert store.check()["path"] == str(tmp_path / "arg.db")
    monkeypatch.setenv(STATE_ENV, ":memory:")
    with open_store() as store:
        assert store.check()["durable"] is False


def test_foreign_keys_are_enforced_not_merely_reported(db_path: Path) -> None:
    with SQLiteStore(db_path) as store:
        conn = store._conn
        assert conn is not None
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            conn.execute(
                "INSERT INTO steps (operation_id, idx, resource, type, action, status,"
                " provider_ids) VALUES ('no-such-op', 0, 'r', 't', 'create', 'pending', '[]')"
            )


def test_check_tries_a_write_that_changes_nothing(db_path: Path) -> None:
    with SQLiteStore(db_path) as store:
        for _ in range(3):
            assert store.check()["writable"] is True
        assert store.check()["busy_timeout_ms"] == BUSY_TIMEOUT_MS  # the probe's own undone
        assert store.list_infrastructures("default") == []
        conn = store._conn
        assert conn is not None
        # Root writes whatever the permissions say: read-only as a read-only file would be.
        conn.execute("PRAGMA query_only = ON")
        report = store.check()
        assert (report["writable"], report["write_error"]) == (
            False,
            "attempt to write a readonly database",
        )
        conn.execute("PRAGMA query_only = OFF")
        assert store.check()["writable"] is True


def test_check_never_waits_for_another_writer(db_path: Path) -> None:
    """A CLI apply holding the write lock is no trouble, and health must not wait out the busy
    timeout behind it."""
    with (
        SQLiteStore(db_path) as store,
        closing(sqlite3.connect(db_path, isolation_level=None)) as cli,
    ):
        cli.execute("BEGIN IMMEDIATE")
        start = time.monotonic()
        assert store.check()["writable"] is True
        assert time.monotonic() - start < BUSY_TIMEOUT_MS / 1000 / 2
        cli.execute("ROLLBACK")


def big_event() -> EventRecord:
    return EventRecord(
        id=uuid.uuid4().hex,
        type="infrastructure.created",
        time=dt.datetime.now(dt.UTC),
        workspace="ws-a",
        infrastructure_id="infra-1",
        infrastructure_name="shop",
        operation_id=None,
        cost_change=Decimal(0),
        currency="USD",
        data={"padding": "x" * 100_000},
    )


def test_a_write_that_failed_for_storage_is_remembered_until_one_commits(
    db_path: Path,
) -> None:
    """A full disk is not seen by a write that is rolled back: the last real write's failure
    is what tells, until a write commits again."""
    with SQLiteStore(db_path) as store:
        conn = store._conn
        assert conn is not None
        conn.execute("PRAGMA max_page_count = 1")  # as many pages as it has: a full disk
        with pytest.raises(StateError, match="full"):
            store.add_events([big_event()])
        report = store.check()  # its own write is rolled back, never flushed: it cannot see
        assert (report["writable"], report["write_error"]) == (False, "database or disk is full")
        conn.execute("PRAGMA max_page_count = 1073741823")
        assert store.check()["writable"] is False  # still: nothing has been written since
        store.lock("infra-1", "op-1")  # a write transaction that commits
        assert store.check()["writable"] is True
