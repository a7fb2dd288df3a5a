"""The audit trail: appended in a chain, read per workspace, and tampering found."""

from __future__ import annotations

import threading
from typing import Any

import attrs
import pytest

from atlas.model.records import AuditEntry
from atlas.store import PostgresStore, SQLiteStore
from atlas.store.audit import GENESIS, REDACTED, entry_hash, redact, verify, verify_store
from tests.atlas.store.conftest import Backend
from tests.atlas.store.factories import audit_entry as entry

Store = SQLiteStore | PostgresStore


def fill(store: Store, count: int) -> list[AuditEntry]:
    return [store.append_audit(entry(n)) for n in range(1, count + 1)]


def test_appends_are_numbered_and_chained(store: Store) -> None:
    stored = fill(store, 3)
    assert [e.seq for e in stored] == [1, 2, 3]
    assert stored[0].prev_hash == GENESIS
    assert [e.prev_hash for e in stored[1:]] == [e.hash for e in stored[:-1]]
    assert all(e.hash == entry_hash(e) for e in stored)
    assert store.audit_entries(None) == stored  # reads back exactly as sealed


def test_verify_passes_on_an_untouched_log(store: Store) -> None:
    stored = fill(store, 4)
    result = verify_store(store, page=3)  # more than one page
    assert result.ok
    assert (result.count, result.last_seq, result.last_hash) == (4, 4, stored[-1].hash)


def test_an_empty_log_verifies(store: Store) -> None:
    result = verify_store(store)
    assert result.ok
    assert (result.count, result.last_hash) == (0, GENESIS)


def test_a_row_edited_by_hand_is_named(store: Store, backend: Backend) -> None:
    fill(store, 3)
    backend.execute(store, "UPDATE audit SET actor = 'mallory' WHERE seq = 2")
    result = verify_store(store)
    assert result.bad is not None
    assert (result.bad.seq, result.bad.id) == (2, "audit-2")
    assert "hash mismatch" in result.bad.why
    assert result.count == 1


def test_an_edit_with_its_hash_recomputed_breaks_the_next_link(
    store: Store, backend: Backend
) -> None:
    stored = fill(store, 3)
    forged = attrs.evolve(stored[1], outcome="refused")
    forged_hash = entry_hash(forged)  # hex digits only
    backend.execute(
        store,
        f"UPDATE audit SET outcome = 'refused', hash = '{forged_hash}' WHERE seq = 2",  # noqa: S608
    )
    result = verify_store(store)
    assert result.bad is not None
    assert result.bad.seq == 3
    assert "broken link" in result.bad.why


def test_a_deleted_row_is_found(store: Store, backend: Backend) -> None:
    fill(store, 4)
    backend.execute(store, "DELETE FROM audit WHERE seq = 2")
    result = verify_store(store)
    assert result.bad is not None
    assert (result.bad.seq, result.bad.id) == (3, "audit-3")
    assert "missing" in result.bad.why
    assert "seq 2" in result.bad.why


def test_entries_deleted_from_the_end_leave_a_gap_the_next_append_shows(
    store: Store, backend: Backend
) -> None:
    fill(store, 3)
    backend.execute(store, "DELETE FROM audit WHERE seq = 3")
    later = store.append_audit(entry(9))
    assert later.seq == 4  # a seq is never handed out twice
    result = verify_store(store)
    assert result.bad is not None
    assert result.bad.seq == 4
    assert "seq 3" in result.bad.why


def test_a_workspace_reads_only_its_own_entries_in_pages(store: Store) -> None:
    for n in range(1, 6):
        store.append_audit(entry(n, workspace="ws-a" if n % 2 else "ws-b"))
    store.append_audit(entry(6, workspace=None))  # refused before the caller was known
    assert [e.id for e in store.audit_entries("ws-a")] == ["audit-1", "audit-3", "audit-5"]
    assert [e.id for e in store.audit_entries("ws-b")] == ["audit-2", "audit-4"]
    page = store.audit_entries("ws-a", after_seq=1, limit=1)
    assert [e.id for e in page] == ["audit-3"]
    assert len(store.audit_entries(None)) == 6


def test_concurrent_appends_never_fork_the_chain(shared: Backend, clock: Any) -> None:
    stores = [shared.open(clock=clock) for _ in range(3)]
    try:
        errors: list[BaseException] = []

        def append(store: Store, base: int) -> None:
            try:
                for n in range(base, base + 10):
                    store.append_audit(entry(n))
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=append, args=(s, 100 * i)) for i, s in enumerate(stores)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        result = verify_store(stores[0])
        assert result.ok
        assert result.count == 30
    finally:
        for s in stores:
            s.close()


def test_no_credential_is_sealed(store: Store) -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl"
    sealed = store.append_audit(
        entry(
            1,
            summary={"token": "s3cr3t-value", "note": f"Bearer {jwt}", "nested": {"api_key": "k"}},
            request_id=jwt,
        )
    )
    stored = store.audit_entries(None)[0]
    assert stored == sealed
    text = repr(stored)
    assert jwt not in text
    assert "s3cr3t" not in text
    assert "'k'" not in text
    assert stored.summary["token"] == REDACTED
    assert verify_store(store).ok


def test_redact_keeps_figures_and_replaces_credentials() -> None:
    assert redact({"changes": {"create": 2}, "password": "x", "keys": ["atlas_" + "a" * 40]}) == {
        "changes": {"create": 2},
        "password": REDACTED,
        "keys": [REDACTED],
    }


def test_verify_names_the_first_bad_entry_of_a_list() -> None:
    first = attrs.evolve(entry(1), seq=1, prev_hash=GENESIS)
    first = attrs.evolve(first, hash=entry_hash(first))
    second = attrs.evolve(entry(2), seq=2, prev_hash="f" * 64)
    second = attrs.evolve(second, hash=entry_hash(second))
    result = verify([first, second])
    assert result.bad is not None
    assert result.bad.id == "audit-2"
    assert result.last_seq == 1


@pytest.mark.parametrize("count", [0, 2])
def test_the_audit_trail_survives_snapshot_and_restore(
    store: Store, count: int, tmp_path: Any
) -> None:
    fill(store, count)
    snap = store.snapshot()
    assert len(snap.audit) == count
    with SQLiteStore(tmp_path / "copy.db") as copy:
        copy.restore(snap)
        assert copy.audit_entries(None) == list(snap.audit)
        assert verify_store(copy).ok
        assert copy.append_audit(entry(99)).seq == count + 1
        assert verify_store(copy).ok
