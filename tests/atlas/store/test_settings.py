"""The store's durability settings are in force, verified, and reported by ``check()``."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from atlas.exceptions import StateError
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
    assert health["schema_version"] == SCHEMA_VERSION == 3
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
