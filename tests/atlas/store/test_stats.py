"""``stats`` is counted from the records."""

from __future__ import annotations

from decimal import Decimal

from atlas.store import SQLiteStore
from tests.atlas.store.factories import event, infrastructure, operation, resource


def test_stats_count_live_infrastructures_their_resources_cost_and_running_operations(
    store: SQLiteStore,
) -> None:
    store.save_infrastructure(infrastructure(id="i1", name="a", monthly_cost=Decimal("0.00893")))
    store.save_infrastructure(
        infrastructure(id="i2", name="b", status="provisioning", monthly_cost=Decimal("12.10"))
    )
    store.save_infrastructure(
        infrastructure(id="i3", name="c", status="destroyed", monthly_cost=Decimal("99"))
    )
    store.save_infrastructure(
        infrastructure(id="i4", name="d", workspace="ws-b", monthly_cost=Decimal("5"))
    )
    store.save_resource(resource(infrastructure_id="i1", name="x"))
    store.save_resource(resource(infrastructure_id="i1", name="gone", status="deleted"))
    store.save_resource(resource(infrastructure_id="i2", name="y"))
    store.save_resource(resource(infrastructure_id="i3", name="z"))  # of a destroyed one
    store.start_operation(operation(id="o1", infrastructure_id="i2"), [], event("e1"))
    store.start_operation(
        operation(id="o2", infrastructure_id="i1", status="completed"), [], event("e2")
    )
    stats = store.stats("ws-a")
    assert stats.total_infrastructures == 2
    assert stats.active_infrastructures == 1
    assert stats.total_resources == 2
    assert stats.estimated_monthly_cost == Decimal("12.10893")
    assert str(stats.estimated_monthly_cost) == "12.10893"
    assert stats.operations_in_progress == 1
