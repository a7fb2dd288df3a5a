"""One writer per infrastructure: a second apply is refused, a dead holder is taken over."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from atlas.exceptions import LockedError, StateError
from atlas.store import SQLiteStore
from tests.atlas.store.conftest import Backend
from tests.atlas.store.factories import T0, FakeClock, infrastructure

REPO = Path(__file__).resolve().parents[3]
SINCE = T0.isoformat()
HERE = f"{socket.gethostname()}:{os.getpid()}"
HOLDER = "tests.atlas.store.lock_holder"


def test_a_lock_is_taken_and_described(store: SQLiteStore) -> None:
    assert store.lock_info("inf-1") is None
    store.lock("inf-1", "op-1")
    info = store.lock_info("inf-1")
    assert info is not None
    assert (info.operation_id, info.holder) == ("op-1", HERE)
    assert info.acquired_at == info.heartbeat_at == T0


def test_a_second_operation_is_refused_naming_the_holder_and_since_when(
    store: SQLiteStore,
) -> None:
    store.save_infrastructure(infrastructure())
    store.lock("inf-1", "op-1")
    with pytest.raises(LockedError) as refused:
        store.lock("inf-1", "op-2")
    assert str(refused.value) == f"infrastructure web is locked by operation op-1 since {SINCE}"
    assert (refused.value.operation_id, refused.value.since) == ("op-1", SINCE)
    # An infrastructure not saved yet (a first apply) is named by its id.
    store.lock("inf-new", "op-1")
    with pytest.raises(LockedError, match="infrastructure inf-new is locked by operation op-1"):
        store.lock("inf-new", "op-3")


def test_the_holder_may_lock_again_and_others_are_unaffected(store: SQLiteStore) -> None:
    store.lock("inf-1", "op-1")
    store.lock("inf-1", "op-1")
    store.lock("inf-2", "op-2")
    info = store.lock_info("inf-1")
    assert info is not None
    assert info.operation_id == "op-1"


def test_only_the_holding_operation_unlocks(store: SQLiteStore) -> None:
    store.lock("inf-1", "op-1")
    store.unlock("inf-1", "op-2")
    assert store.lock_info("inf-1") is not None
    store.unlock("inf-1", "op-1")
    assert store.lock_info("inf-1") is None
    store.unlock("inf-1", "op-1")  # releasing twice is harmless
    store.lock("inf-1", "op-2")


def test_a_second_operation_from_another_thread_is_refused(backend: Backend) -> None:
    with backend.open() as store:
        store.lock("inf-1", "op-1")
        outcome: list[BaseException | None] = []

        def second() -> None:
            try:
                store.lock("inf-1", "op-2")
                outcome.append(None)
            except LockedError as exc:
                outcome.append(exc)

        thread = threading.Thread(target=second)
        thread.start()
        thread.join()
    (refused,) = outcome
    assert isinstance(refused, LockedError)
    assert refused.operation_id == "op-1"


def test_of_many_operations_racing_for_one_lock_exactly_one_wins(shared: Backend) -> None:
    shared.open().close()  # migrated before the race
    contenders = 8
    start = threading.Barrier(contenders)
    won: list[str] = []
    refused: list[str] = []

    def contend(n: int) -> None:
        # Each with its own connection, as separate processes would be.
        with shared.open() as store:
            start.wait()
            try:
                store.lock("inf-1", f"op-{n}")
                won.append(f"op-{n}")
            except LockedError as exc:
                refused.append(exc.operation_id)

    threads = [threading.Thread(target=contend, args=(n,)) for n in range(contenders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
    assert refused == won * (contenders - 1)


@contextmanager
def holder_process(
    location: str, infrastructure_id: str, operation_id: str
) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the lock; closed (or killed) on the way out."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            HOLDER,
            location,
            infrastructure_id,
            operation_id,
        ],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "locked"
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()


def test_a_second_operation_in_another_process_is_refused(shared: Backend) -> None:
    with shared.open() as store:
        store.save_infrastructure(infrastructure())
        store.lock("inf-1", "op-1")
        since = store.lock_info("inf-1").acquired_at.isoformat()  # type: ignore[union-attr]
        other = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.atlas.store.lock_holder",
                shared.location,
                "inf-1",
                "op-2",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert other.returncode == 3, other.stderr
    assert other.stdout.splitlines() == [
        f"refused op-1 {since}",
        f"infrastructure web is locked by operation op-1 since {since}",
    ]


def test_a_lock_held_by_another_live_process_is_refused_here(shared: Backend) -> None:
    with shared.open() as store, holder_process(shared.location, "inf-1", "op-1") as proc:
        with pytest.raises(LockedError, match="locked by operation op-1 since"):
            store.lock("inf-1", "op-2")
        info = store.lock_info("inf-1")
        assert info is not None
        assert info.holder == f"{socket.gethostname()}:{proc.pid}"


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and pid checks are POSIX")
def test_a_lock_held_by_a_process_killed_with_sigkill_is_taken_over(shared: Backend) -> None:
    # A lease of an hour: only the dead pid can explain the takeover.
    with shared.open(lease_seconds=3600) as store:
        with holder_process(shared.location, "inf-1", "op-1") as proc:
            with pytest.raises(LockedError):
                store.lock("inf-1", "op-2")
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)  # reaped: a zombie would still answer signal 0
        store.lock("inf-1", "op-2")
        info = store.lock_info("inf-1")
    assert info is not None
    assert (info.operation_id, info.holder) == ("op-2", HERE)


def test_a_holder_on_another_host_is_trusted_until_its_lease_runs_out(
    backend: Backend, clock: FakeClock
) -> None:
    with backend.open(clock=clock, lease_seconds=120) as store:
        store.lock("inf-1", "op-1")
        backend.execute(store, "UPDATE locks SET holder = 'elsewhere:1'")  # a replica elsewhere
        clock.advance(119)
        with pytest.raises(LockedError):
            store.lock("inf-1", "op-2")
        clock.advance(2)
        store.lock("inf-1", "op-2")


def test_heartbeats_keep_a_lease_alive_and_an_expired_lease_is_taken_over(
    backend: Backend, clock: FakeClock
) -> None:
    store = backend.open(clock=clock, lease_seconds=120)
    store.lock("inf-1", "op-1")
    for _ in range(5):  # ten minutes of work, a heartbeat every two
        clock.advance(100)
        store.heartbeat("inf-1", "op-1")
        with pytest.raises(LockedError, match="op-1"):
            store.lock("inf-1", "op-2")
    info = store.lock_info("inf-1")
    assert info is not None
    assert (info.acquired_at, info.heartbeat_at) == (T0, clock.now)

    clock.advance(121)  # the holder stopped beating
    store.lock("inf-1", "op-2")
    info = store.lock_info("inf-1")
    assert info is not None
    assert (info.operation_id, info.acquired_at) == ("op-2", clock.now)
    # The old holder learns it lost the lock the next time it beats, and cannot unlock.
    with pytest.raises(LockedError, match="locked by operation op-2"):
        store.heartbeat("inf-1", "op-1")
    store.unlock("inf-1", "op-1")
    assert store.lock_info("inf-1") is not None
    store.close()


def test_a_heartbeat_without_the_lock_is_an_error(store: SQLiteStore) -> None:
    with pytest.raises(StateError, match="nobody does"):
        store.heartbeat("inf-1", "op-1")
