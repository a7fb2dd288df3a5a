"""What is PostgreSQL's own: the store chosen by a URL, its schema versions, its health report,
a password that never shows, and the ways the server can fail it.

Everything both stores share is tested on both (the ``store`` fixture of this package)."""

from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

from atlas.exceptions import StateError, StoreSchemaError
from atlas.store import (
    STATE_ENV,
    PostgresStore,
    SQLiteStore,
    is_postgres_url,
    open_store,
    pgschema,
    redact,
    schema,
)
from tests.atlas.store.factories import event, infrastructure
from tests.postgres import schema_url

PASSWORD = "s3cret-Pa55"  # trust authentication takes any password: made up


def _admin(url: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(url, autocommit=True)


def _version(url: str) -> int:
    with _admin(url) as conn:
        return pgschema.version(conn)


def _tables(url: str) -> set[str]:
    with _admin(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        ).fetchall()
    return {str(r[0]) for r in rows}


def _with_password(url: str) -> str:
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{PASSWORD}@", 1)


# -- chosen by a URL -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "postgres"),
    [
        ("postgresql://db.example/atlas", True),
        ("postgres://u:p@db.example:5433/atlas?sslmode=require", True),
        ("PostgreSQL://db.example/atlas", True),
        (".atlas/state.db", False),
        ("/var/lib/atlas/postgresql.db", False),
        (":memory:", False),
        ("sqlite://x", False),
    ],
)
def test_a_postgresql_url_names_a_postgres_store_and_anything_else_a_file(
    location: str, postgres: bool
) -> None:
    assert is_postgres_url(location) is postgres


def test_open_store_picks_the_backend_by_the_url(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_store(postgres_url) as store:
        assert isinstance(store, PostgresStore)
        assert store.check()["backend"] == "postgresql"
    monkeypatch.setenv(STATE_ENV, postgres_url)
    with open_store() as store:
        assert isinstance(store, PostgresStore)
    with open_store(tmp_path / "state.db") as store:
        assert isinstance(store, SQLiteStore)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://atlas:hunter2@db:5432/atlas", "postgresql://atlas:***@db:5432/atlas"),
        ("postgresql://atlas:p%40ss@db/atlas", "postgresql://atlas:***@db/atlas"),
        ("postgresql://atlas@db/atlas", "postgresql://atlas@db/atlas"),
        (
            "postgresql://db/atlas?user=atlas&password=hunter2&sslmode=require",
            "postgresql://db/atlas?user=atlas&password=***&sslmode=require",
        ),
        ("postgresql:///atlas?host=/run/postgresql", "postgresql:///atlas?host=/run/postgresql"),
    ],
)
def test_a_url_is_shown_without_its_password(url: str, shown: str) -> None:
    assert redact(url) == shown


# -- the schema ------------------------------------------------------------------------------


def test_postgres_and_sqlite_number_their_schema_versions_alike() -> None:
    assert pgschema.SCHEMA_VERSION == schema.SCHEMA_VERSION
    assert [v for v, _ in pgschema.MIGRATIONS] == sorted({v for v, _ in pgschema.MIGRATIONS})


def test_an_empty_schema_is_migrated_to_the_latest_version(postgres_url: str) -> None:
    assert _version(postgres_url) == 0
    with PostgresStore(postgres_url) as store:
        assert store.check()["schema_version"] == pgschema.SCHEMA_VERSION
    assert _version(postgres_url) == pgschema.SCHEMA_VERSION
    assert _tables(postgres_url) == pgschema.TABLES


def test_reopening_keeps_the_records_and_migrates_nothing(postgres_url: str) -> None:
    with PostgresStore(postgres_url) as store:
        store.save_infrastructure(infrastructure())
    with PostgresStore(postgres_url) as store:
        assert store.get_infrastructure("ws-a", "inf-1") == infrastructure()
        assert store.check()["schema_version"] == pgschema.SCHEMA_VERSION


def test_a_store_written_by_a_newer_atlas_is_refused_and_left_alone(postgres_url: str) -> None:
    with PostgresStore(postgres_url) as store:
        store.save_infrastructure(infrastructure())
    newer = pgschema.SCHEMA_VERSION + 1
    with _admin(postgres_url) as conn:
        conn.execute("UPDATE atlas_schema SET version = %s", (newer,))
    with pytest.raises(StoreSchemaError, match=f"schema version {newer}, newer than"):
        PostgresStore(postgres_url)
    assert _version(postgres_url) == newer
    assert _tables(postgres_url) == pgschema.TABLES


def test_each_migration_is_one_transaction(postgres_url: str) -> None:
    good = (1, ("CREATE TABLE a (x text)",))
    broken = (2, ("CREATE TABLE b (x text)", "CREATE TABLE a (x text)"))  # fails half-way
    with _admin(postgres_url) as conn:
        with pytest.raises(psycopg.errors.DuplicateTable):
            pgschema.migrate(conn, [good, broken])
        assert pgschema.version(conn) == 1  # the first stands; nothing of the second does
    assert _tables(postgres_url) == {"a", "atlas_schema"}


def test_a_failed_migration_is_a_state_error_when_opening(postgres_url: str) -> None:
    with _admin(postgres_url) as conn:
        conn.execute("CREATE TABLE infrastructures (x text)")  # not an atlas store
    with pytest.raises(StateError, match="cannot prepare the state store"):
        PostgresStore(postgres_url)
    assert _version(postgres_url) == 0
    assert _tables(postgres_url) == {"atlas_schema", "infrastructures"}


def test_replicas_opening_a_new_database_at_once_migrate_it_once(postgres_url: str) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def open_it() -> None:
        start.wait()
        try:
            PostgresStore(postgres_url).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _version(postgres_url) == pgschema.SCHEMA_VERSION


def test_the_store_lives_in_the_schema_the_url_names(postgres_database: str) -> None:
    with _admin(postgres_database) as conn:
        conn.execute("CREATE SCHEMA left_one")
        conn.execute("CREATE SCHEMA right_one")
    with (
        PostgresStore(schema_url(postgres_database, "left_one")) as left,
        PostgresStore(schema_url(postgres_database, "right_one")) as right,
    ):
        left.save_infrastructure(infrastructure())
        assert right.list_infrastructures("ws-a") == []


# -- health ----------------------------------------------------------------------------------


def test_check_reports_the_settings_in_force(postgres_url: str) -> None:
    with PostgresStore(postgres_url, pool_size=3) as store:
        report = store.check()
    assert report["backend"] == "postgresql"
    assert report["url"] == postgres_url  # no password in it to hide
    assert report["server_version"].split(".")[0].isdigit()
    assert report["isolation"] == "read committed"
    assert report["schema_version"] == pgschema.SCHEMA_VERSION
    assert report["writable"] is True
    assert report["durable"] is (report["fsync"] and report["synchronous_commit"] != "off")
    assert report["pool"]["max"] == 3


def test_a_read_only_database_opens_reads_and_says_it_cannot_write(postgres_url: str) -> None:
    with PostgresStore(postgres_url) as store:
        store.save_infrastructure(infrastructure())
    read_only = postgres_url.replace(
        "?options=", "?options=-cdefault_transaction_read_only%3Don%20"
    )
    with PostgresStore(read_only) as store:
        assert store.get_infrastructure("ws-a", "web") == infrastructure()
        report = store.check()
        assert (report["writable"], report["write_error"]) == (
            False,
            "cannot execute UPDATE in a read-only transaction",
        )
        with pytest.raises(StateError, match="read-only transaction"):
            store.save_infrastructure(infrastructure(name="other", id="inf-2"))


def test_a_write_that_failed_for_storage_is_remembered_until_one_commits(
    postgres_url: str,
) -> None:
    """A full disk is not seen by a write that is rolled back: the last real write's failure
    is what tells, until a write commits again."""
    with PostgresStore(postgres_url) as store:
        with _admin(postgres_url) as conn:
            conn.execute(
                """CREATE FUNCTION full_disk() RETURNS trigger LANGUAGE plpgsql AS $$
                   BEGIN RAISE EXCEPTION 'could not extend file' USING ERRCODE = 'disk_full';
                   END $$"""
            )
            conn.execute(
                "CREATE TRIGGER disk_is_full BEFORE INSERT ON events"
                " FOR EACH ROW EXECUTE FUNCTION full_disk()"
            )
        with pytest.raises(StateError, match="could not extend file"):
            store.add_events([event()])
        report = store.check()
        assert (report["writable"], report["write_error"]) == (False, "could not extend file")
        with _admin(postgres_url) as conn:
            conn.execute("DROP TRIGGER disk_is_full ON events")
        assert store.check()["writable"] is False  # still: nothing has been written since
        store.lock("infra-1", "op-1")  # a write transaction that commits
        assert store.check()["writable"] is True


def test_check_never_waits_for_a_lock_held_elsewhere(postgres_url: str) -> None:
    with (
        PostgresStore(postgres_url) as store,
        _admin(postgres_url) as other,
        other.transaction(),
    ):
        other.execute("LOCK TABLE locks IN ACCESS EXCLUSIVE MODE")  # a migration, say
        start = time.monotonic()
        assert store.check()["writable"] is True
        assert time.monotonic() - start < 5


def test_a_connection_the_server_dropped_is_replaced_not_failed(postgres_url: str) -> None:
    with PostgresStore(postgres_url) as store:
        store.save_infrastructure(infrastructure())
        with _admin(postgres_url) as admin:  # a restart, as far as the store can tell
            admin.execute(
                """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                   WHERE datname = current_database() AND pid <> pg_backend_pid()"""
            )
        assert store.get_infrastructure("ws-a", "web") == infrastructure()


def test_events_are_numbered_in_commit_order(postgres_url: str) -> None:
    """A transaction that takes a number first but commits last has its events delivered
    after those committed before it, as SQLite's single writer orders them."""
    with PostgresStore(postgres_url) as store, _admin(postgres_url) as slow:
        done = threading.Event()
        with slow.transaction():
            (seq,) = slow.execute(  # type: ignore[misc]
                "UPDATE atlas_counters SET value = value + 1 WHERE name = 'events' RETURNING value"
            ).fetchone()
            writer = threading.Thread(
                target=lambda: (store.add_events([event("second")]), done.set())
            )
            writer.start()
            assert not done.wait(0.5)  # it waits for the counter, held by the slow one
            slow.execute(
                """INSERT INTO events (seq, id, type, time, workspace, infrastructure_id,
                       infrastructure_name, cost_change, currency, data)
                   VALUES (%s, 'first', 'deployment.started', now(), 'ws-a', 'inf-1', 'web',
                       0, 'USD', '{}')""",
                (seq,),
            )
        writer.join(timeout=30)
        assert done.is_set()
        assert [e.id for e in store.pending_events()] == ["first", "second"]


def test_a_closed_store_says_so(postgres_url: str) -> None:
    store = PostgresStore(postgres_url)
    store.close()
    store.close()  # closing twice is harmless
    with pytest.raises(StateError, match="closed"):
        store.check()


# -- what can go wrong, and the password that never shows ------------------------------------


def test_a_password_never_shows_in_repr_health_or_errors(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = _with_password(postgres_url)
    with PostgresStore(url) as store:
        shown = [repr(store), str(store.check())]
        store.save_infrastructure(infrastructure())
        with pytest.raises(StateError) as refused:
            store.save_infrastructure(infrastructure(id="inf-2"))
        shown.append(str(refused.value))
    assert "***" in shown[0]
    assert not [text for text in shown if PASSWORD in text]
    assert not [r for r in caplog.records if PASSWORD in r.getMessage()]


def test_an_unreachable_server_is_a_clear_state_error(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"postgresql://atlas:{PASSWORD}@127.0.0.1:1/atlas"
    start = time.monotonic()
    with pytest.raises(StateError) as refused:
        PostgresStore(url, connect_timeout=5)
    message = str(refused.value)
    assert message.startswith("cannot reach the state store at postgresql://atlas:***@127.0.0.1:1")
    assert "Connection refused" in message
    assert "\n" not in message
    assert PASSWORD not in message
    assert not [r for r in caplog.records if PASSWORD in r.getMessage()]
    assert time.monotonic() - start < 10


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://atlas:{PASSWORD}@db/atlas?no_such_option=1",
        f"postgresql://atlas:{PASSWORD}%zz@db/atlas",  # not percent-encoding: libpq quotes it
    ],
)
def test_a_url_libpq_cannot_read_is_a_state_error(url: str) -> None:
    with pytest.raises(StateError, match="not a valid PostgreSQL URL") as refused:
        PostgresStore(url)
    assert PASSWORD not in str(refused.value)


def test_without_the_driver_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if it were not installed
    with pytest.raises(StateError) as refused:
        open_store("postgresql://atlas@db/atlas")
    assert str(refused.value) == (
        "a postgresql:// state store needs the postgres extra (psycopg is not installed): "
        "pip install 'atlas-infra[postgres]'"
    )
