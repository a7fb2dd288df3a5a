"""Operations outlive their request; a shutdown leaves them unfinished with their lock free,
and the next start carries each on in place from the journal (the same operation id)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from atlas.credentials import Secret
from atlas.exceptions import CredentialsError
from atlas.providers import ProviderRegistry
from atlas.server import create_app
from atlas.store import SQLiteStore
from atlas.testing.memory import ManualClock, MemoryCloud, MemoryProvider
from tests.atlas.server.conftest import (
    MakeSettings,
    Served,
    bearer,
    gated_provider,
    spec,
    wait_for,
)


async def interrupt(make_settings: MakeSettings, cloud: MemoryCloud, clock: ManualClock) -> str:
    """Start creating the spec and shut down while its resources are waited for; the id of
    the operation left behind."""
    gated = gated_provider(cloud, clock, asyncio.Event())
    app = create_app(make_settings(shared_providers={"memory": gated}))
    async with app.router.lifespan_context(app), Served(app).client(bearer()) as c:
        r = await c.post("/api/v1/infrastructure", json=spec())
        assert r.status_code == 201
        await asyncio.sleep(0.05)  # the first resources are asked for, then waited on
    operation_id: str = r.json()["operation"]["id"]
    return operation_id


def census(cloud: MemoryCloud) -> dict[str, int]:
    return {k: len(cloud.objects(k)) for k in ("server", "disk", "network")}


async def test_shutdown_leaves_the_operation_to_the_next_start(
    make_settings: MakeSettings, store: SQLiteStore, cloud: MemoryCloud, clock: ManualClock
) -> None:
    operation_id = await interrupt(make_settings, cloud, clock)
    interrupted = store.get_operation("ws-a", operation_id)
    assert interrupted is not None
    assert interrupted.status == "in_progress"
    assert store.unfinished_operations() == [interrupted]
    assert store.lock_info(interrupted.infrastructure_id) is None

    second = create_app(make_settings())  # the same store; the cloud's waits no longer hang
    async with second.router.lifespan_context(second), Served(second).client(bearer()) as c:
        done = await wait_for(c, operation_id)
        assert done["status"] == "completed", done["error"]
        ops = await c.get(f"/api/v1/infrastructure/{done['infrastructure_id']}/operations")
        assert [op["id"] for op in ops.json()["operations"]] == [operation_id]
        infra = (await c.get("/api/v1/infrastructure/shop")).json()["infrastructure"]
    assert infra["status"] == "active"
    assert census(cloud) == {"server": 2, "disk": 1, "network": 1}  # nothing made twice
    assert store.unfinished_operations() == []


async def test_a_resume_that_cannot_start_is_logged_and_kept(
    make_settings: MakeSettings,
    store: SQLiteStore,
    cloud: MemoryCloud,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    operation_id = await interrupt(make_settings, cloud, clock)

    def no_credentials(name: str, jwt: Secret | None) -> Any:
        raise CredentialsError("no memory cloud token found", sources_tried=["env X: not set"])

    second = create_app(make_settings(shared_providers={}, provider_factory=no_credentials))
    with caplog.at_level(logging.INFO, logger="atlas.server"):
        async with second.router.lifespan_context(second):
            for _ in range(200):
                if second.state.service.operations.running == 0:
                    break
                await asyncio.sleep(0.01)
    messages = [r.getMessage() for r in caplog.records]
    assert f"carrying on operation {operation_id} (apply) of workspace ws-a from its journal" in (
        messages
    )
    assert "operation (not started) ended with an error" in messages
    [still] = store.unfinished_operations()
    assert still.id == operation_id  # left for a process with credentials
    assert store.lock_info(still.infrastructure_id) is None  # and free for it at once


async def test_a_resume_refused_by_another_holders_lock_is_logged_calmly(
    make_settings: MakeSettings,
    store: SQLiteStore,
    cloud: MemoryCloud,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The server starts while an `atlas apply` on the same state carries on with the
    interrupted operation: the lock refusal is expected, and is no error with a traceback."""
    operation_id = await interrupt(make_settings, cloud, clock)
    interrupted = store.get_operation("ws-a", operation_id)
    assert interrupted is not None
    store.lock(interrupted.infrastructure_id, "op-of-the-cli")  # alive, and not stale
    made = census(cloud)
    second = create_app(make_settings())
    with caplog.at_level(logging.DEBUG):
        async with second.router.lifespan_context(second):
            for _ in range(200):
                if second.state.service.operations.running == 0:
                    break
                await asyncio.sleep(0.01)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info] == []
    # The live holder's operation is not even claimed: nothing is tried, nothing is logged.
    assert not [r for r in caplog.records if operation_id in r.getMessage()]
    assert [op.id for op in store.unfinished_operations()] == [operation_id]  # untouched
    assert census(cloud) == made  # nothing touched


async def test_resume_can_be_turned_off(
    make_settings: MakeSettings, store: SQLiteStore, cloud: MemoryCloud, clock: ManualClock
) -> None:
    await interrupt(make_settings, cloud, clock)
    second = create_app(make_settings(resume=False))
    async with second.router.lifespan_context(second):
        assert second.state.service.operations.running == 0
    assert len(store.unfinished_operations()) == 1


def snapshot(store: SQLiteStore, operation_id: str) -> tuple[Any, ...]:
    """What a refused request must leave exactly as it was."""
    op = store.get_operation("ws-a", operation_id)
    assert op is not None
    infra = store.get_infrastructure("ws-a", "shop")
    assert infra is not None
    resources = sorted((r.name, r.status) for r in store.list_resources(infra.id))
    steps = [(s.index, s.status) for s in store.steps(operation_id)]
    return (op.status, op.error, infra.status, resources, steps, store.unfinished_operations())


async def test_without_a_credential_delete_and_put_change_nothing_and_the_apply_resumes_later(
    make_settings: MakeSettings,
    store: SQLiteStore,
    registry: ProviderRegistry,
    cloud: MemoryCloud,
    clock: ManualClock,
) -> None:
    operation_id = await interrupt(make_settings, cloud, clock)
    before = snapshot(store, operation_id)
    assert before[0] == "in_progress"
    made = census(cloud)

    def no_token(name: str, jwt: Secret | None) -> Any:
        # The chain the core builds from the provider's declaration, with nothing to find.
        return MemoryProvider(cloud, credentials=registry.credentials(name, jwt=jwt, env={}))

    second = create_app(make_settings(shared_providers={}, provider_factory=no_token))
    async with second.router.lifespan_context(second), Served(second).client(bearer()) as c:
        for _ in range(200):  # the resume at start fails before writing anything
            if second.state.service.operations.running == 0:
                break
            await asyncio.sleep(0.01)
        recorded = store.get_infrastructure("ws-a", "shop")
        assert recorded is not None
        infra_id = recorded.id
        deleted = await c.delete(f"/api/v1/infrastructure/{infra_id}")
        put = await c.put(f"/api/v1/infrastructure/{infra_id}", json=spec())
    for r in (deleted, put):
        assert r.status_code == 424, r.text
        assert r.json()["code"] == "CREDENTIALS_ERROR"
        assert "ATLAS_MEMORY_TOKEN" in r.text
    assert snapshot(store, operation_id) == before
    assert census(cloud) == made  # nothing was sent to the cloud

    third = create_app(make_settings())  # a start with the credential resumes it
    async with third.router.lifespan_context(third), Served(third).client(bearer()) as c:
        done = await wait_for(c, operation_id)
        assert done["status"] == "completed", done["error"]
    assert census(cloud) == {"server": 2, "disk": 1, "network": 1}  # each exactly once
    assert store.unfinished_operations() == []
