"""The GCP kinds: estimates of small specs, and validation errors with their paths."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from atlas import SpecValidationError, estimate, load_spec
from atlas.providers import ProviderRegistry


def spec(*resources: dict[str, Any], region: str = "us-central1") -> dict[str, Any]:
    return {"name": "small", "provider": "gcp", "region": region, "resources": list(resources)}


def res(type_: str, name: str, **specifications: Any) -> dict[str, Any]:
    return {"type": type_, "name": name, "specifications": specifications}


def problems(registry: ProviderRegistry, doc: dict[str, Any], purpose: str = "create") -> list[str]:
    with pytest.raises(SpecValidationError) as info:
        load_spec(doc, registry=registry, purpose=purpose)  # type: ignore[arg-type]
    return [str(p) for p in info.value.problems]


def test_a_small_web_stack_is_priced(gcp_registry: ProviderRegistry) -> None:
    doc = spec(
        res("instance", "web", machine_type="e2-standard-2", image="debian-12"),
        res("disk", "data", size_gb=100, attach_to="web"),
        res("load_balancer", "lb", targets=["web"]),
    )
    est = estimate(doc, registry=gcp_registry)
    assert est.complete
    # 0.06701 x 730 = 48.92; 100 GB x 0.10; one forwarding rule 0.025 x 730 = 18.25
    assert str(est.monthly) == "77.17 USD"
    assert [str(r.monthly) for r in est.breakdown] == ["48.92 USD", "10.00 USD", "18.25 USD"]


def test_the_corrected_e2_small_is_what_an_estimate_uses(gcp_registry: ProviderRegistry) -> None:
    est = estimate(spec(res("instance", "tiny", machine_type="e2-small")), registry=gcp_registry)
    assert str(est.monthly) == "12.23 USD"  # 0.01675 x 730, not the table's 0.04947 x 730


def test_count_and_boot_disk(gcp_registry: ProviderRegistry) -> None:
    doc = spec(
        res("instance", "web", machine_type="n2-standard-2", count=3, boot_disk_size_gb=20,
            boot_disk_type="pd-ssd"),
        region="us-central1",
    )  # fmt: skip
    [web] = estimate(doc, registry=gcp_registry).breakdown
    assert [i.description for i in web.line_items] == [
        "Compute Engine n2-standard-2 x 3",
        "Boot disk pd-ssd 20 GB x 3",
    ]
    assert web.line_items[1].quantity == 60
    assert str(web.line_items[1].monthly) == "10.20 USD"  # 60 GB x 0.17


def test_cloud_sql_prices_cpu_memory_and_storage(gcp_registry: ProviderRegistry) -> None:
    by_tier = res("sql_instance", "db", database_version="POSTGRES_15", tier="db-custom-2-7680",
                  storage_gb=20)  # fmt: skip
    by_shape = res("sql_instance", "db2", database_version="MYSQL_8_0", vcpus=2, memory_gb=7.5,
                   storage_gb=20)  # fmt: skip
    est = estimate(spec(by_tier, by_shape), registry=gcp_registry)
    assert est.complete
    tier, shape = est.breakdown
    assert [i.monthly for i in tier.line_items] == [i.monthly for i in shape.line_items]
    cpu, memory, storage = tier.line_items
    assert (cpu.quantity, memory.quantity, storage.quantity) == (2, Decimal("7.5"), 20)
    assert str(cpu.monthly) == "60.30 USD"  # 2 x 0.0413 x 730
    assert str(storage.monthly) == "3.40 USD"  # 20 GB x 0.17


def test_cloud_sql_outside_us_central1_says_what_is_unknown(gcp_registry: ProviderRegistry) -> None:
    db = res("sql_instance", "db", database_version="POSTGRES_15", tier="db-custom-1-3840",
              storage_gb=10)  # fmt: skip
    est = estimate(spec(db, region="europe-west1"), registry=gcp_registry)
    assert not est.complete
    [found] = est.breakdown
    assert all(line.monthly is None for line in found.line_items)
    assert "sql-storage:europe-west1:ssd" in str(found.line_items[-1].unpriced)


def test_forwarding_rules_beyond_five_cost_less(gcp_registry: ProviderRegistry) -> None:
    est = estimate(spec(res("load_balancer", "lb", forwarding_rules=7)), registry=gcp_registry)
    assert str(est.monthly) == "105.85 USD"  # 5 x 18.25 + 2 x 7.30


def test_the_vm_minimum_is_one_minute(gcp_registry: ProviderRegistry) -> None:
    catalog = gcp_registry.catalog("gcp")
    assert catalog is not None
    price = catalog.price("instance:europe-west4:e2-standard-4")
    assert price is not None
    assert price.billing is not None
    monthly, hourly = price.monthly.amount, price.hourly.amount
    assert price.billing.unit_cost(monthly, hourly, 10) == price.billing.unit_cost(
        monthly, hourly, 60
    )
    assert price.billing.unit_cost(monthly, hourly, 61) > price.billing.unit_cost(
        monthly, hourly, 60
    )


def test_validation_names_every_path(gcp_registry: ProviderRegistry) -> None:
    doc = spec(
        res("instance", "web", machine_type="e2-standrd-2", zone="us-east1-b"),
        res("disk", "data", size_gb=0),
        res("sql_instance", "db", database_version="POSTGRES_15", tier="db-f1-micro",
            storage_gb=10),
        res("sql_instance", "db2", database_version="POSTGRES_14", vcpus=200, memory_gb=8,
            storage_gb=10),
    )  # fmt: skip
    assert problems(gcp_registry, doc) == [
        "resources[0].specifications.image: required to create this resource (an estimate can "
        "omit it)",
        "resources[0].specifications.machine_type: unknown machine type 'e2-standrd-2' in atlas's "
        "catalog (nearest: e2-standard-2, e2-standard-32, n2-standard-2)",
        "resources[0].specifications.zone: 'us-east1-b' is not a zone of us-central1",
        "resources[1].specifications.size_gb: must be at least 1; got 0",
        "resources[1].specifications.zone: give a zone, or attach_to",
        "resources[2].specifications.tier: 'db-f1-micro' is not a dedicated-core tier "
        "db-custom-<vCPUs>-<memory MB> (shared-core tiers are not priced offline)",
        "resources[3].specifications.database_version: must be one of 'POSTGRES_15', "
        "'MYSQL_8_0'; got 'POSTGRES_14'",
    ]


def test_validation_of_region_shape_and_placement(gcp_registry: ProviderRegistry) -> None:
    assert problems(gcp_registry, spec(res("instance", "a", machine_type="e2-small"),
                                       region="us-west9"), "estimate") == [
        "region: atlas has no GCP prices for region 'us-west9' (nearest: us-east1, europe-west4, "
        "europe-west1)"
    ]  # fmt: skip
    doc = spec(
        res("instance", "web", machine_type="e2-small", zone="us-central1-a", count=2),
        res("disk", "data", size_gb=10, attach_to="web", zone="us-central1-b"),
        res("disk", "loose", size_gb=10),
        res("sql_instance", "db", database_version="MYSQL_8_0", vcpus=4, storage_gb=10),
        res("sql_instance", "db2", database_version="MYSQL_8_0", tier="db-custom-2-7680",
            vcpus=2, storage_gb=10),
        res("sql_instance", "db3", database_version="MYSQL_8_0", vcpus=200, memory_gb=700,
            storage_gb=10),
    )  # fmt: skip
    assert problems(gcp_registry, doc, "estimate") == [
        "resources[1].specifications.attach_to: 'web' has 2 instances; a disk attaches to one",
        "resources[1].specifications.zone: us-central1-b is not 'web''s zone (us-central1-a): a "
        "zonal disk attaches only to an instance of its zone",
        "resources[2].specifications.zone: give a zone, or attach_to",
        "resources[3].specifications.memory_gb: vcpus and memory_gb go together",
        "resources[4].specifications.tier: give either tier, or vcpus and memory_gb",
        "resources[5].specifications.vcpus: Cloud SQL takes 1 to 96 vCPUs",
        "resources[5].specifications.memory_gb: Cloud SQL takes up to 624 GB",
    ]


def test_every_field_is_documented(gcp_registry: ProviderRegistry) -> None:
    from atlas.model import field_info

    for kind in gcp_registry.kinds("gcp").values():
        for info in field_info(kind.spec_class):
            assert info.doc, f"{kind.type}.{info.name} has no doc"


def test_a_short_run_is_billed_its_minute(gcp_registry: ProviderRegistry) -> None:
    from atlas.cost.billing import parse_duration
    from atlas.cost.engine import estimate_spec

    doc = spec(res("instance", "web", machine_type="n2-standard-2", count=100))
    loaded = load_spec(doc, registry=gcp_registry, purpose="estimate")
    ten_seconds = estimate_spec(loaded, gcp_registry, duration=parse_duration("10s"))
    a_minute = estimate_spec(loaded, gcp_registry, duration=parse_duration("60s"))
    [line] = ten_seconds.breakdown[0].line_items
    [same] = a_minute.breakdown[0].line_items
    assert line.run_cost == same.run_cost
    assert line.run_cost is not None
    assert line.run_cost.amount > 0
