"""The Azure kinds: estimates of small specs, and validation errors with their paths."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from atlas import SpecValidationError, estimate, load_spec
from atlas.providers import ProviderRegistry
from atlas_azure.resources.compute import disk_tier
from atlas_azure.resources.database import POSTGRES_STORAGE_SIZES, provisioned_size


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


def test_small_disks_and_unsourced_databases_are_unpriced_not_invented(
    azure_registry: ProviderRegistry,
) -> None:
    doc = spec(
        res("managed_disk", "small", size_gb=32),
        # B2s was not sourced for flexible server (only B1ms and D2ds_v5 were), nor MySQL.
        res("postgresql_flexible_server", "db", sku_name="Standard_B2s", tier="Burstable",
            version=15, storage_gb=32),
        res("mysql_flexible_server", "my", sku_name="Standard_B1ms", tier="Burstable",
            version="8.0.21", storage_gb=20),
    )  # fmt: skip
    est = estimate(doc, registry=azure_registry)
    assert not est.complete
    unpriced = [i.sku for r in est.breakdown for i in r.line_items if i.monthly is None]
    assert unpriced == [
        "managed_disk:Premium_LRS:P-below-10",
        "postgresql_flexible:eastus:Standard_B2s",
        "mysql_flexible:eastus:Standard_B1ms",
        "mysql_flexible_storage:eastus",
    ]
    # The storage of the PostgreSQL server is priced: it does not depend on the compute SKU.
    storage = est.breakdown[1].line_items[1]
    assert storage.sku == "postgresql_flexible_storage:eastus"
    assert storage.monthly is not None
    assert storage.monthly.amount == Decimal("0.115") * 32


@pytest.mark.parametrize(
    ("where", "sku", "compute"),
    [
        ("eastus", "Standard_B1ms", "0.017"),
        ("eastus", "Standard_D2ds_v5", "0.178"),
        ("westus2", "Standard_D2ds_v5", "0.178"),
    ],
)
def test_a_sourced_postgresql_server_is_priced_compute_and_storage(
    azure_registry: ProviderRegistry, where: str, sku: str, compute: str
) -> None:
    tier = "Burstable" if "_B" in sku else "GeneralPurpose"
    doc = spec(
        res("postgresql_flexible_server", "db", sku_name=sku, tier=tier, version=15,
            storage_gb=128),
        region=where,
    )  # fmt: skip
    est = estimate(doc, registry=azure_registry)
    assert est.complete
    [server] = est.breakdown
    assert [i.sku for i in server.line_items] == [
        f"postgresql_flexible:{where}:{sku}",
        f"postgresql_flexible_storage:{where}",
    ]
    hourly = Decimal(compute)
    assert (
        server.monthly.amount == (hourly * 730).quantize(Decimal("0.01")) + Decimal("0.115") * 128
    )


def test_postgresql_storage_is_a_premium_ssd_size(azure_registry: ProviderRegistry) -> None:
    assert provisioned_size(10, POSTGRES_STORAGE_SIZES) == 32
    assert provisioned_size(100, POSTGRES_STORAGE_SIZES) == 128
    assert provisioned_size(4095, POSTGRES_STORAGE_SIZES) == 4095
    assert provisioned_size(40000, POSTGRES_STORAGE_SIZES) is None
    doc = spec(
        res("postgresql_flexible_server", "db", sku_name="Standard_B1ms", tier="Burstable",
            version=15, storage_gb=100),
        res("mysql_flexible_server", "my", sku_name="Standard_B1ms", tier="Burstable",
            version="8.0.21", storage_gb=100),  # MySQL takes any size in its range
    )  # fmt: skip
    assert problems(azure_registry, doc, "estimate") == [
        "resources[0].specifications.storage_gb: PostgreSQL flexible server provisions 32, 64, "
        "128, 256, 512, 1024, 2048, 4095, 4096, 8192, 16384, 32768 GiB, not 100 (the next size "
        "up is 128)"
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
