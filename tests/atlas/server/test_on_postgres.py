"""The HTTP API on a PostgresStore: an infrastructure created and destroyed through it, the
events of its operation, its audit trail, and the health report naming the backend."""

from __future__ import annotations

from atlas.server import create_app
from atlas.store import PostgresStore
from atlas.store.audit import verify_store
from tests.atlas.server.conftest import MakeSettings, Served, bearer, created, wait_for


async def test_the_api_works_on_a_postgres_store(
    postgres_url: str, make_settings: MakeSettings
) -> None:
    with PostgresStore(postgres_url) as store:
        app = create_app(make_settings(store=store))
        async with app.router.lifespan_context(app), Served(app).client(bearer()) as c:
            health = await c.get("/api/v1/health")
            assert health.status_code == 200
            report = store.check()
            assert health.json()["store"] == {
                "status": "ok",
                "backend": "postgresql",
                "schema_version": 6,
                "durable": report["durable"],
                "writable": True,
            }
            infra = await created(c)
            assert infra["status"] == "active"
            r = await c.delete(f"/api/v1/infrastructure/{infra['id']}")
            assert r.status_code == 200, r.text
            op = await wait_for(c, r.json()["operation"]["id"])
            assert op["status"] == "completed", op
        listed = store.list_infrastructures("ws-a")
        assert [(i.id, i.status) for i in listed] == [(infra["id"], "destroyed")]
        assert store.pending_events() == []  # delivered from the outbox, as on SQLite
        # Two requests that changed something, and the ends of their two operations.
        trail = store.audit_entries("ws-a")
        assert sorted(e.action for e in trail) == [
            "DELETE /api/v1/infrastructure/{id}",
            "POST /api/v1/infrastructure",
            "operation.apply",
            "operation.destroy",
        ]
        assert {e.actor for e in trail} == {"user-1"}
        assert verify_store(store).ok
