"""The Azure kinds: estimates of small specs, and validation errors with their paths."""

from __future__ import annotations

from typing import Any

import pytest

from atlas import SpecValidationError, estimate, load_spec
from atlas.providers import ProviderRegistry
from atlas_azure.resources.compute import disk_tier


def spec(*resources: dict[str, Any], region: str = "eastus") -> dict[str, Any]:
    return {"name": "small", "provider": "azure", "region": region, "resources": list(resources)}


def res(type_: str, name: str, **specifications: Any) -> dict[str, Any]:
    return {"type": type_, "name": name, "specifications": specifications}


def problems(registry: ProviderRegistry, doc: dict[str, Any], purpose: str = "create") -> list[str]:
    with pytest.raises(SpecValidationError) as info:
        load_spec(doc, registry=registry, purpose=purpose)  # type: ignore[arg-type]
    return [str(p) for p in info.value.problems]


def test_a_small_web_stack_is_priced(azure_registry: ProviderRegistry) -> None:
    doc = spec(
        res("virtual_machine", "web", size="Standard_B2s", count=2, os_disk_size_gb=100),
        res("managed_disk", "data", size_gb=500, attach_to="db"),
        res("virtual_machine", "db", size="Standard_D2s_v5"),
        res("load_balancer", "lb", targets=["web"], rules=7),
    )
    est = estimate(doc, registry=azure_registry)
    assert est.complete
    # 2 x 0.0416 x 730 + 2 x P10 19.71; P20 73.22; 0.096 x 730; 18.25 + 2 x 7.30
    assert [str(r.monthly) for r in est.breakdown] == [
        "100.16 USD", "73.22 USD", "70.08 USD", "32.85 USD",
    ]  # fmt: skip
    assert str(est.monthly) == "276.31 USD"


@pytest.mark.parametrize(
    ("sku", "size", "tier"),
    [
        ("Premium_LRS", 100, "P10"),
        ("Premium_LRS", 128, "P10"),
        ("Premium_LRS", 129, "P15"),
        ("Premium_LRS", 1024, "P30"),
        ("Premium_LRS", 32, "P-below-10"),
        ("StandardSSD_LRS", 700, "E30"),
        ("StandardSSD_LRS", 9000, "E-above-60"),
    ],
)
def test_a_disk_is_billed_as_its_size_tier(sku: str, size: int, tier: str) -> None:
    assert disk_tier(sku, size) == tier


def test_small_disks_and_databases_are_unpriced_not_invented(
    azure_registry: ProviderRegistry,
) -> None:
    doc = spec(
        res("managed_disk", "small", size_gb=32),
        res("postgresql_flexible_server", "db", sku_name="Standard_B1ms", tier="Burstable",
            version=15, storage_gb=32),
    )  # fmt: skip
    est = estimate(doc, registry=azure_registry)
    assert not est.complete
    assert est.monthly.amount == 0
    unpriced = [i.sku for r in est.breakdown for i in r.line_items if i.monthly is None]
    assert unpriced == [
        "managed_disk:Premium_LRS:P-below-10",
        "postgresql_flexible:eastus:Standard_B1ms",
        "postgresql_flexible_storage:eastus",
    ]


def test_validation_names_every_path(azure_registry: ProviderRegistry) -> None:
    doc = spec(
        res("virtual_machine", "web", size="Standard_B2z", count=2),
        res("managed_disk", "d", size_gb=40000),
        res("managed_disk", "e", size_gb=10, attach_to="web"),
        res("mysql_flexible_server", "db", sku_name="Standard_D3ds_v4", tier="GeneralPurpose",
            version="8.0.21", storage_gb=10),
        res("postgresql_flexible_server", "pg", sku_name="Standard_D2ds_v4", tier="Burstable",
            version=16, storage_gb=64),
        res("postgresql_flexible_server", "pg2", sku_name="B1ms", tier="Hyperscale",
            version=16, storage_gb=64),
    )  # fmt: skip
    assert problems(azure_registry, doc) == [
        "resources[0].specifications.image: required to create this resource (an estimate can "
        "omit it)",
        "resources[0].specifications.size: unknown VM size 'Standard_B2z' in eastus (nearest: "
        "Standard_B2s, Standard_B2ms, Standard_B20ms)",
        "resources[1].specifications.size_gb: must be from 1 to 32767; got 40000",
        "resources[2].specifications.attach_to: 'web' has 2 VMs; a disk attaches to one",
        "resources[3].specifications.storage_gb: MySQL flexible server takes 20 to 16384 GiB",
        "resources[3].specifications.sku_name: GeneralPurpose offers 2, 4, 8, 16, 32, 48, 64 "
        "vCores, not 3",
        "resources[4].specifications.sku_name: Burstable uses B-series SKUs, and "
        "Standard_D2ds_v4 is D-series",
        "resources[5].specifications.tier: 'Hyperscale' is not a tier of PostgreSQL flexible "
        "server: Burstable, GeneralPurpose, MemoryOptimized",
    ]


def test_a_region_outside_the_source_says_why(azure_registry: ProviderRegistry) -> None:
    doc = spec(res("virtual_machine", "web", size="Standard_B2s"), region="westeurope")
    assert problems(azure_registry, doc, "estimate") == [
        "region: atlas has Azure prices only for eastus, westus2 (its source table covers US "
        "regions alone), not 'westeurope'"
    ]


def test_every_field_is_documented(azure_registry: ProviderRegistry) -> None:
    from atlas.model import field_info

    for kind in azure_registry.kinds("azure").values():
        for info in field_info(kind.spec_class):
            assert info.doc, f"{kind.type}.{info.name} has no doc"
