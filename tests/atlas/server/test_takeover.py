"""Two replicas of the service on one PostgreSQL store: a replica that stops beating has its
operation carried on in place by the other, and its own late writes are refused.

(The same with real processes and SIGKILL is tests/atlas/server/test_replicas.py.)"""

from __future__ import annotations

import asyncio
import logging

import pytest

from atlas.server import create_app
from atlas.store import PostgresStore
from atlas.testing.memory import ManualClock, MemoryCloud
from tests.atlas.server.conftest import MakeSettings, Served, bearer, gated_provider, spec, wait_for


def census(cloud: MemoryCloud) -> dict[str, int]:
    return {k: len(cloud.objects(k)) for k in ("server", "disk", "network")}


async def test_a_replica_that_stopped_beating_is_taken_over_and_fenced_out(
    postgres_url: str,
    make_settings: MakeSettings,
    cloud: MemoryCloud,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    gate = asyncio.Event()
    with (
        PostgresStore(postgres_url, lease_seconds=1.0) as one,
        PostgresStore(postgres_url, lease_seconds=1.0) as two,
    ):
        # Replica one is paused, as far as the store can tell: its heartbeats never arrive,
        # and the resources it waits on hang until the gate opens.
        monkeypatch.setattr(one, "heartbeat", lambda *_: None)
        first = create_app(
            make_settings(
                store=one,
                shared_providers={"memory": gated_provider(cloud, clock, gate)},
                resume=False,  # it claims nothing itself: the other replica is tested
            )
        )
        second = create_app(make_settings(store=two, claim_interval=0.05))
        with caplog.at_level(logging.INFO, logger="atlas.server"):
            async with first.router.lifespan_context(first), Served(first).client(bearer()) as c1:
                r = await c1.post("/api/v1/infrastructure", json=spec())
                assert r.status_code == 201, r.text
                operation_id = r.json()["operation"]["id"]
                await asyncio.sleep(0.05)  # replica one has asked for the first resources
                async with (
                    second.router.lifespan_context(second),
                    Served(second).client(bearer()) as c2,
                ):
                    done = await wait_for(c2, operation_id, timeout=30)
                    assert done["status"] == "completed", done["error"]
                    gate.set()  # replica one wakes up, and finds it no longer holds the lock
                    for _ in range(500):
                        if first.state.service.operations.running == 0:
                            break
                        await asyncio.sleep(0.01)
                    assert first.state.service.operations.running == 0
                    seen = await c1.get(f"/api/v1/operations/{operation_id}")
                    assert seen.json()["operation"]["status"] == "completed"  # either replica
        messages = [rec.getMessage() for rec in caplog.records]
        assert any(
            m.startswith(f"operation {operation_id} is carried on by another process:")
            for m in messages
        ), messages
        assert census(cloud) == {"server": 2, "disk": 1, "network": 1}  # each exactly once
        steps = two.steps(operation_id)
        assert all(s.status in ("done", "failed") for s in steps)
        assert two.unfinished_operations() == []
