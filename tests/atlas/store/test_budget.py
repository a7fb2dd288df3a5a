"""The rate budget shared through the store: never more than the limit in any sliding window,
whatever number of processes take from it, and never a token in the store."""

from __future__ import annotations

import asyncio
import json
import os
import random
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas.credentials import Secret
from atlas.http import RateLimiter, RateLimitProfile, Window
from atlas.http.budget import account_key, set_budget_factory
from atlas.store import SQLiteStore
from atlas.store.budget import PostgresBudget, SQLiteBudget, StoreBudget, budget_for_store
from tests.atlas.http.http_fakes import FakeTime

TOKEN = "dop_v1_" + "5ec2e7" * 10 + "beef"
PROFILE = RateLimitProfile(windows=(Window(5, 10.0), Window(12, 60.0)))
SRC = str(Path(__file__).resolve().parents[3] / "src")


def worst_window(slots: Sequence[tuple[float, float]], span: float) -> int:
    """The most requests a server could have counted in one sliding window of ``span``: it
    counts each at some moment between its grant and its end, so a window holds every
    request whose ``[grant, end]`` meets it. The worst windows end at a grant."""
    return max((sum(1 for g, e in slots if g <= t and e > t - span) for t, _ in slots), default=0)


def assert_within(slots: Sequence[tuple[float, float]], profile: RateLimitProfile) -> None:
    for window in profile.windows:
        assert worst_window(slots, window.seconds) <= window.limit, window


@pytest.fixture(params=["sqlite", "postgres"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    path = tmp_path / "state.db"
    SQLiteStore(path).close()
    return str(path)


def open_budget(location: str, profile: RateLimitProfile = PROFILE, **kw: float) -> StoreBudget:
    key = account_key(profile, Secret(TOKEN))
    if location.startswith("postgresql://"):
        return PostgresBudget(location, profile, key, **kw)
    return SQLiteBudget(location, profile, key, **kw)


@pytest.fixture
def two(location: str) -> Iterator[tuple[StoreBudget, StoreBudget]]:
    """Two budgets of one account on one database: two replicas' views."""
    a, b = open_budget(location), open_budget(location)
    yield a, b
    a.close()  # type: ignore[attr-defined]
    b.close()  # type: ignore[attr-defined]


# -- the window bound, with a fake clock ---------------------------------------------------


def run_schedule(
    budgets: Sequence[StoreBudget], steps: Sequence[tuple[int, float, float]]
) -> list[tuple[float, float]]:
    """Each step: a replica asks at the current time (moved on by ``gap``) and, if granted,
    its request lasts ``duration``. Returns every granted slot's (grant, end)."""
    now, done, open_ = 1_000.0, [], []
    for who, gap, duration in steps:
        now += gap
        for slot, budget, end, started in [o for o in open_ if o[2] <= now]:
            budget.end(slot, end)
            done.append((started, end))
            open_.remove((slot, budget, end, started))
        budget = budgets[who % len(budgets)]
        grant = budget.grant(now)
        if grant.slot is None:
            assert grant.delay > 0
        else:
            open_.append((grant.slot, budget, now + duration, now))
    done += [(started, end) for _, _, end, started in open_]
    return done


@settings(max_examples=25, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.integers(0, 2),
            st.floats(0.0, 3.0),
            st.floats(0.0, 8.0),
        ),
        min_size=1,
        max_size=80,
    )
)
def test_no_sliding_window_ever_holds_more_than_the_limit(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[int, float, float]]
) -> None:
    path = tmp_path_factory.mktemp("budget") / "state.db"
    budgets = [open_budget(str(path)) for _ in range(3)]
    try:
        assert_within(run_schedule(budgets, steps), PROFILE)
    finally:
        for b in budgets:
            b.close()  # type: ignore[attr-defined]


def test_two_replicas_share_one_window(two: tuple[StoreBudget, StoreBudget]) -> None:
    a, b = two
    granted = [a.grant(1_000.0).slot for _ in range(3)] + [b.grant(1_000.0).slot for _ in range(3)]
    assert sum(s is not None for s in granted) == 5  # not 5 each
    refused = b.grant(1_000.0)
    assert refused.slot is None
    assert refused.delay > 0
    assert "in flight" in refused.why
    for slot in filter(None, granted):
        a.end(slot, 1_001.0)
    # Ended at 1,001: they count until 1,011, a window's span after their end.
    assert a.grant(1_010.5).slot is None
    assert b.grant(1_010.5).delay == pytest.approx(0.5)
    assert b.grant(1_011.0).slot is not None


def test_a_slot_stranded_in_flight_expires(location: str) -> None:
    budget = open_budget(location, max_flight=30.0)
    try:
        for _ in range(5):
            assert budget.grant(0.0).slot is not None  # never ended: the process died
        assert budget.grant(35.0).slot is None  # counted until 30, then a span: 40
        assert budget.grant(40.0).slot is not None
    finally:
        budget.close()  # type: ignore[attr-defined]


def test_the_providers_remaining_count_caps_every_replica(
    two: tuple[StoreBudget, StoreBudget],
) -> None:
    a, b = two
    first = a.grant(1_000.0)
    assert first.slot is not None
    assert first.remaining is None  # the provider has said nothing yet
    # Its answer: 3 left (another client of the token spent the rest); one was in flight.
    a.learn(first.slot, 1, 3, 1_000.1, 60.0)
    grants = [b.grant(1_000.2) for _ in range(3)]
    assert [g.remaining for g in grants[:2]] == [1, 0]
    assert grants[2].slot is None  # the window has room (3 of 5), the provider has not
    # The provider's word holds only so long: then the window alone decides.
    assert b.grant(1_060.2).slot is not None


# -- several processes on one database ----------------------------------------------------

WORKER = """
import json, random, sys, time
from atlas.credentials import Secret
from atlas.http import RateLimitProfile, Window
from atlas.http.budget import account_key
from atlas.store.budget import PostgresBudget, SQLiteBudget

location, seed, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
profile = RateLimitProfile(windows=(Window(8, 1.0),))
key = account_key(profile, Secret(sys.argv[4]))
kind = PostgresBudget if location.startswith("postgresql://") else SQLiteBudget
budget = kind(location, profile, key)
rng, slots = random.Random(seed), []
while len(slots) < count:
    grant = budget.grant(time.time())
    if grant.slot is None:
        time.sleep(min(grant.delay, 0.05))
        continue
    started = time.time()
    time.sleep(rng.uniform(0.0, 0.03))
    ended = time.time()
    budget.end(grant.slot, ended)
    slots.append((started, ended))
print(json.dumps(slots))
"""


def test_processes_on_one_database_never_exceed_the_limit_together(location: str) -> None:
    env = {**os.environ, "PYTHONPATH": SRC}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, location, str(seed), "20", TOKEN],
            stdout=subprocess.PIPE,
            env=env,
        )
        for seed in range(3)
    ]
    slots: list[tuple[float, float]] = []
    for worker in workers:
        out, _ = worker.communicate(timeout=60)
        assert worker.returncode == 0
        slots += [tuple(s) for s in json.loads(out)]  # type: ignore[misc]
    assert len(slots) == 60
    # 60 requests at 8 a second: about 7 s, and never 9 in one second, summed over processes.
    assert worst_window(slots, 1.0) <= 8


# -- through the limiter ------------------------------------------------------------------


async def test_two_limiters_on_one_budget_keep_to_the_limit(
    location: str, fake_time: FakeTime
) -> None:
    budgets = [open_budget(location), open_budget(location)]
    limiters = [
        RateLimiter(
            PROFILE,
            clock=fake_time.clock,
            sleep=fake_time.sleep,
            wall_clock=fake_time.wall,
            budget=b,
        )
        for b in budgets
    ]
    slots: list[tuple[float, float]] = []

    async def one(limiter: RateLimiter, rng: random.Random) -> None:
        permit = await limiter.acquire()
        # On the budget's own clock: the same floats it compared (at 1.7e9 s, a sum rounds).
        started = fake_time.wall()
        await fake_time.sleep(rng.uniform(0.0, 2.0))
        limiter.release(permit)
        slots.append((started, fake_time.wall()))

    rng = random.Random(7)
    await asyncio.gather(*(one(limiters[i % 2], rng) for i in range(30)))
    assert len(slots) == 30
    assert_within(slots, PROFILE)
    for b in budgets:
        b.close()  # type: ignore[attr-defined]


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


# -- no secret in the store ---------------------------------------------------------------


def test_the_account_key_never_holds_the_token() -> None:
    key = account_key(PROFILE, Secret(TOKEN))
    assert TOKEN not in key
    assert "5ec2e7" not in key
    assert len(key) == 64
    assert key != account_key(PROFILE, Secret(TOKEN + "x"))
    assert key != account_key(RateLimitProfile(windows=(Window(6, 10.0),)), Secret(TOKEN))


async def test_shared_limiters_take_their_budget_from_the_store(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = SQLiteStore(path)
    factory = budget_for_store(store)
    assert factory is not None
    assert budget_for_store(SQLiteStore(":memory:")) is None  # nobody else could see it
    previous = set_budget_factory(factory)
    try:
        profile = RateLimitProfile(windows=(Window(3, 1.0),))  # its own registry entry
        limiter = RateLimiter.shared(profile, Secret(TOKEN))
        assert limiter.budget is not None
        permit = await limiter.acquire()
        assert permit.slot is not None
        limiter.release(permit, {"x": "1"}, status=200)
    finally:
        set_budget_factory(previous)
    store.close()
    raw = path.read_bytes() + (
        Path(f"{path}-wal").read_bytes() if Path(f"{path}-wal").exists() else b""
    )
    assert TOKEN.encode() not in raw
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT account FROM rate_accounts").fetchall()
    assert rows == [(account_key(profile, Secret(TOKEN)),)]


async def test_an_atlas_on_a_file_shares_its_budget_until_closed(tmp_path: Path) -> None:
    from atlas import AsyncAtlas
    from atlas.http.budget import budget_factory

    previous = set_budget_factory(None)
    try:
        async with AsyncAtlas(store=SQLiteStore(":memory:")):
            assert budget_factory() is None  # no other process can see this store
        async with AsyncAtlas(store=SQLiteStore(tmp_path / "state.db")):
            factory = budget_factory()
            assert factory is not None
            profile = RateLimitProfile(windows=(Window(4, 1.0),))
            assert RateLimiter.shared(profile, Secret(TOKEN)).budget is not None
        assert budget_factory() is None
        assert RateLimiter.shared(profile, Secret(TOKEN)).budget is None
    finally:
        set_budget_factory(previous)
