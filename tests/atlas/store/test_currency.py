"""A provider billed in euros: its currency stays with every amount through an apply, an update
and a destroy: in the records (after the store is closed and opened again), the events, the
statistics and what the command line prints."""

from __future__ import annotations

from decimal import Decimal

import pytest

from atlas import AsyncAtlas, SpecValidationError
from atlas.cli.render import render_plan, render_view
from atlas.spec import validate_spec
from atlas.store import SQLiteStore
from tests.atlas.store.conftest import Backend
from tests.atlas.store.euro import EuroCloud, euro_registry, euro_spec
from tests.atlas.store.factories import infrastructure


async def test_an_apply_in_euros_is_recorded_and_evented_in_euros(shared: Backend) -> None:
    cloud = EuroCloud()
    spec = euro_spec(web="small", db="large")
    with shared.open() as store:
        async with AsyncAtlas(
            store=store, registry=euro_registry(), providers={"euro": cloud}
        ) as a:
            plan = await a.plan(spec)
            assert (plan.currency, str(plan.cost_change)) == ("EUR", "22.36 EUR")
            op = await a.apply(spec)
            assert op.status == "completed", op.error
    with shared.open() as store:  # what was written, not what was kept in memory
        infra = store.get_infrastructure("default", "shop")
        assert infra is not None
        assert (infra.monthly_cost, infra.currency) == (Decimal("22.36"), "EUR")
        resources = store.list_resources(infra.id)
        assert {(r.name, r.monthly_cost, r.currency) for r in resources} == {
            ("web", Decimal("4.51"), "EUR"),
            ("db", Decimal("17.85"), "EUR"),
        }
        recorded = store.get_operation("default", op.id)
        assert recorded is not None
        assert (recorded.cost_change, recorded.currency) == (Decimal("22.36"), "EUR")
        events = store.events_of("default", op.id)
        assert [(e.type, e.cost_change, e.currency) for e in events] == [
            ("deployment.started", Decimal("22.36"), "EUR"),
            ("deployment.completed", Decimal("22.36"), "EUR"),
            ("infrastructure.created", Decimal("22.36"), "EUR"),
        ]
        assert store.pending_events() == []  # and delivered, as they were


async def test_an_update_and_a_destroy_change_the_cost_in_euros(store: SQLiteStore) -> None:
    cloud = EuroCloud()
    async with AsyncAtlas(store=store, registry=euro_registry(), providers={"euro": cloud}) as a:
        await a.apply(euro_spec(web="small"))
        plan = await a.plan(euro_spec(web="large"))
        assert "Monthly cost: 4.51 -> 17.85 EUR (+13.34)" in render_plan(plan)
        grown = await a.apply(euro_spec(web="large"))
        assert (grown.cost_change, grown.currency) == (Decimal("13.34"), "EUR")
        view = a.get("shop")
        assert render_view(view).startswith("shop (euro, eu-west): active, 17.85 EUR a month")
        gone = await a.destroy("shop")
        assert (gone.status, gone.cost_change, gone.currency) == (
            "completed",
            Decimal("-17.85"),
            "EUR",
        )
        assert [e.currency for e in store.events_of("default", gone.id)] == ["EUR"] * 3
    assert cloud.objects == {}


async def test_stats_never_add_up_two_currencies(store: SQLiteStore) -> None:
    async with AsyncAtlas(
        store=store, registry=euro_registry(), providers={"euro": EuroCloud()}
    ) as a:
        assert (a.stats().estimated_monthly_cost, a.stats().currency) == (Decimal(0), None)
        await a.apply(euro_spec(web="small", db="large"))
        stats = a.stats()
        assert (stats.estimated_monthly_cost, stats.currency) == (Decimal("22.36"), "EUR")
        store.save_infrastructure(
            infrastructure(id="inf-usd", workspace="default", name="other", currency="USD")
        )
        stats = a.stats()
    assert stats.monthly_costs == {"EUR": Decimal("22.36"), "USD": Decimal("6.00")}
    assert (stats.estimated_monthly_cost, stats.currency) == (None, None)
    assert stats.total_infrastructures == 2


def test_a_budget_without_a_currency_is_in_the_providers() -> None:
    spec = validate_spec({**euro_spec(), "budget": {"monthly_limit": 50}}, registry=euro_registry())
    assert spec.budget is not None
    assert spec.budget.currency == "EUR"


def test_a_budget_in_another_currency_is_refused_with_its_path() -> None:
    with pytest.raises(SpecValidationError) as info:
        validate_spec(
            {**euro_spec(), "budget": {"monthly_limit": 50, "currency": "USD"}},
            registry=euro_registry(),
        )
    assert [p.path for p in info.value.problems] == ["budget.currency"]
    assert "must be EUR" in str(info.value)
