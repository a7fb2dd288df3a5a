"""Portable resources on Azure: the translator's regions, choices (checked by brute force over
its offerings), line items (what an estimate of the translated spec gives) and refusals."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest

import atlas_azure.plugin
from atlas import estimate
from atlas.cost.catalog import Price, Source
from atlas.cost.estimate import PriceLookup
from atlas.cost.money import Money
from atlas.portable import (
    REGION_GROUPS,
    Choice,
    Offer,
    PortableTranslator,
    Region,
    Translation,
    TranslationRequest,
)
from atlas.portable.kinds import PORTABLE_INFO, PORTABLE_KINDS
from atlas.portable.resolve import compare
from atlas.providers import ProviderRegistry
from atlas.spec.validate import validate_spec
from atlas_azure.catalog import load_price_catalog, load_sizes, regions
from atlas_azure.portable import AzureTranslator, burstable, disk_offers
from atlas_azure.resources.compute import disk_tier
from atlas_azure.resources.database import POSTGRES_STORAGE_SIZES
from tests import portable_translation
from tests.atlas_gcp.test_portable import kit_stacks, stack_cells, stack_table

PORTABLE = ProviderRegistry({"any": PORTABLE_INFO}, {"any": PORTABLE_KINDS}, {})
STACK: tuple[dict[str, Any], ...] = (
    {"type": "server", "name": "web", "specifications": {"vcpus": 2, "memory_gb": 4, "count": 2}},
    {"type": "volume", "name": "data", "specifications": {"size_gb": 100}},
    {
        "type": "database",
        "name": "db",
        "specifications": {"engine": "postgres", "version": 15, "vcpus": 1, "memory_gb": 2},
    },
    {"type": "load_balancer", "name": "lb", "specifications": {"targets": ["web"]}},
)


def res(type_: str, name: str, **specifications: Any) -> dict[str, Any]:
    return {"type": type_, "name": name, "specifications": specifications}


@pytest.fixture(scope="module")
def translator(azure_registry: ProviderRegistry) -> PortableTranslator:
    found = azure_registry.portable_translator("azure")
    assert found is not None
    return found


def region(translator: PortableTranslator, name: str) -> Region:
    return next(r for r in translator.regions() if r.name == name)


def translate(
    registry: ProviderRegistry,
    translator: PortableTranslator,
    where: str,
    *resources: dict[str, Any],
    prices: PriceLookup | None = None,
) -> Translation:
    doc = {"name": "shop", "provider": "any", "region": "any", "resources": list(resources)}
    spec = validate_spec(doc, registry=PORTABLE, purpose="estimate")
    lookup = prices or registry.price_lookup("azure", region=where)
    return translator.translate(
        TranslationRequest("azure", region(translator, where), spec.resources, lookup)
    )


def chosen(translation: Translation) -> dict[str, Choice]:
    return {c.resource: c for c in translation.choices}


def refused(translation: Translation) -> dict[str, str]:
    return {r.resource: r.reason for r in translation.refusals}


def concrete(translation: Translation, where: str) -> dict[str, Any]:
    resources = [doc for c in translation.choices for doc in c.resources]
    resources += list(translation.support)
    return {"name": "shop", "provider": "azure", "region": where, "resources": resources}


def key(offer: Offer) -> tuple[Decimal, int, Decimal, str]:
    return offer.monthly, offer.vcpus or 0, offer.memory_gb or Decimal(0), offer.name


def test_the_plugin_answers_the_hook_for_azure_alone(azure_registry: ProviderRegistry) -> None:
    found = azure_registry.portable_translator("azure")
    assert isinstance(found, AzureTranslator)
    assert isinstance(found, PortableTranslator)
    assert found.provider == "azure"
    assert atlas_azure.plugin.atlas_portable_translator("gcp") is None


def test_regions_are_the_priced_us_ones(translator: PortableTranslator) -> None:
    found = {r.name: r for r in translator.regions()}
    assert tuple(found) == regions() == ("eastus", "westus2")
    assert all(r.group == "us" and r.group in REGION_GROUPS and r.title for r in found.values())
    # Dp/Ep sizes are Arm; flexible-server PostgreSQL compute is priced in both, MySQL in none.
    assert all(r.features == {"arm64", "managed-postgres"} for r in found.values())


@pytest.mark.parametrize("where", ["eastus", "westus2"])
def test_the_acceptance_stack(
    azure_registry: ProviderRegistry, translator: PortableTranslator, where: str
) -> None:
    out = translate(azure_registry, translator, where, *STACK)
    choices = chosen(out)
    web = choices["web"]
    size = load_sizes()[web.offering]
    assert size.vcpus >= 2
    assert size.memory_gib >= 4
    assert not burstable(size.name)  # Standard_B2s (2 vCPUs, 4 GiB) is cheaper, and burstable
    assert web.resources[0]["specifications"]["count"] == 2
    assert "at least 2 vCPUs and 4 GB (x86_64)" in web.reason
    assert choices["data"].offering == "Premium_LRS P10"
    assert choices["data"].monthly == Decimal("19.71")
    assert choices["lb"].resources[0]["specifications"] == {"targets": ["web"]}
    assert choices["lb"].monthly == Decimal("18.25")
    assert refused(out) == {}
    # The database is the cheapest priced compute SKU with 1 vCPU and 2 GB, by brute force.
    db = choices["db"]
    prices = azure_registry.price_lookup("azure", region=where)
    offers = translator.offerings("database", region(translator, where), prices)
    fits = [o for o in offers if _fits(o, 1, Decimal(2), "any") and o.name.endswith("(PostgreSQL)")]
    assert db.offering == min(fits, key=key).name
    assert db.offering == {"eastus": "Standard_B1ms", "westus2": "Standard_D2ds_v5"}[where] + (
        " (PostgreSQL)"
    )  # westus2 has no sourced B1ms figure, so D2ds_v5 is the cheapest it prices
    assert db.resources[0]["type"] == "postgresql_flexible_server"
    assert db.resources[0]["specifications"]["storage_gb"] == 32  # 10 GB asks the least
    assert [i.sku for i in db.line_items] == [
        f"postgresql_flexible:{where}:{db.offering.split()[0]}",
        f"postgresql_flexible_storage:{where}",
    ]
    assert all(i.monthly is not None for i in db.line_items)
    assert "(32 GiB is the least it provisions)" in db.reason
    assert f"atlas prices in {where}" in db.reason


def test_the_acceptance_stack_is_priced_whole_in_two_azure_regions(
    azure_registry: ProviderRegistry,
) -> None:
    """Issue 16: every resource chosen and priced, the estimate complete, in both regions,
    and a comparison across Azure places the stack in both and leaves neither out."""
    assert len(regions()) >= 2
    for where in regions():
        out = portable_translation.translate(
            AzureTranslator(), where, portable_translation.ACCEPTANCE
        )
        assert out.complete, (where, out.refusals)
        assert all(c.monthly is not None for c in out.choices), where
        portable_translation.check_against_estimate("azure", where, out)
    doc = {**portable_translation.ACCEPTANCE, "placement": {"regions": ["us"]}}
    del doc["region"]
    comparison = compare(doc, registry=azure_registry)
    assert [(c.provider, c.region.name) for c in comparison.candidates] == [
        ("azure", "eastus"),
        ("azure", "westus2"),
    ]  # cheapest first: B1ms in eastus, D2ds_v5 (the one SKU priced) in westus2
    assert all(c.monthly is not None for c in comparison.candidates)
    assert comparison.excluded == ()


@pytest.mark.parametrize("where", regions())
def test_line_items_are_the_estimate_of_the_translated_spec(
    azure_registry: ProviderRegistry, translator: PortableTranslator, where: str
) -> None:
    out = translate(
        azure_registry,
        translator,
        where,
        *STACK,
        res("server", "box", vcpus=2, memory_gb=8, arch="arm64", disk_gb=200),
        res("server", "tiny", vcpus=1, memory_gb=1, disk_gb=30),
        res("volume", "logs", size_gb=700, attach_to="box"),
        res("load_balancer", "edge", targets=["box"], listeners=[{"port": 80}, {"port": 5432,
            "protocol": "tcp"}]),
    )  # fmt: skip
    doc = concrete(out, where)
    validate_spec(doc, registry=azure_registry, purpose="estimate")
    validate_spec(doc, registry=azure_registry, purpose="create")  # images are given
    est = estimate(doc, registry=azure_registry)
    assert [r.resource_name for r in est.breakdown] == [c.resource for c in out.choices]
    for got, choice in zip(est.breakdown, out.choices, strict=True):
        assert got.line_items == choice.line_items, choice.resource
    assert chosen(out)["logs"].offering == "StandardSSD_LRS E30"
    tiny = chosen(out)["tiny"]
    assert tiny.monthly is None  # a 30 GiB OS disk is billed at a tier atlas has no price for
    assert "30 GiB OS disk atlas has no price for" in tiny.reason


def _fits(offer: Offer, vcpus: int, memory: Decimal, arch: str) -> bool:
    return (
        (offer.vcpus or 0) >= vcpus
        and (offer.memory_gb or 0) >= memory
        and arch in ("any", offer.arch)
    )


@pytest.mark.parametrize("where", regions())
def test_no_cheaper_vm_size_meets_the_minimums(
    azure_registry: ProviderRegistry, translator: PortableTranslator, where: str
) -> None:
    rng = random.Random(f"azure-{where}")
    prices = azure_registry.price_lookup("azure", region=where)
    offers = translator.offerings("server", region(translator, where), prices)
    assert len(offers) > 200
    for _ in range(150):
        vcpus = rng.choice([1, 1, 2, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64, 96, 120])
        memory = Decimal(rng.choice([2, 3, 4, 6, 8, 12, 16, 32, 64, 128, 512, 1000])) / (
            rng.choice([1, 2, 4])
        )
        arch = rng.choice(["x86_64", "x86_64", "any", "arm64"])
        spec = {"vcpus": vcpus, "memory_gb": str(memory), "arch": arch}
        out = translate(azure_registry, translator, where, res("server", "s", **spec))
        fits = [o for o in offers if _fits(o, vcpus, memory, arch)]
        if not fits:
            assert "no Azure VM size priced" in refused(out)["s"], spec
            continue
        [choice] = out.choices
        assert choice.offering == min(fits, key=key).name, spec
        size = load_sizes()[choice.offering]
        assert size.memory_gib >= memory
        assert (1 if burstable(size.name) else size.vcpus) >= vcpus


@pytest.mark.parametrize("size_gb", [1, 64, 65, 100, 128, 129, 256, 300, 512, 513, 1024, 1025])
def test_no_cheaper_disk_tier_bills_the_size(
    azure_registry: ProviderRegistry, translator: PortableTranslator, size_gb: int
) -> None:
    prices = azure_registry.price_lookup("azure", region="eastus")
    offers = translator.offerings("volume", region(translator, "eastus"), prices)
    assert list(offers) == disk_offers(prices)
    out = translate(azure_registry, translator, "eastus", res("volume", "v", size_gb=size_gb))
    # A disk is billed as the tier its size falls in (what the native pricer says).
    fits = [o for o in offers if disk_tier(o.name.split()[0], size_gb) == o.name.split()[1]]
    if not fits:
        assert f"no sourced price for a {size_gb} GiB managed disk" in refused(out)["v"]
        return
    [choice] = out.choices
    best = min(fits, key=key)
    assert choice.offering == best.name
    assert choice.monthly == best.monthly
    assert choice.line_items[0].sku == f"managed_disk:{best.name.replace(' ', ':')}"


def _priced_databases() -> PriceLookup:
    """The shipped catalog plus flexible-server figures made up for this test (the shipped
    one has two SKUs in eastus), to exercise the choice among many compute SKUs."""
    catalog = load_price_catalog()
    made_up = Source("test", "figures made up for a test: not prices")

    def price(sku: str, monthly: str) -> Price:
        amount = Decimal(monthly)
        return Price(sku, Money(amount, "USD"), Money(amount / 730, "USD"), "month", "test")

    skus = {
        "Standard_B1ms": "12", "Standard_B2s": "25", "Standard_B2ms": "50",
        "Standard_D2ds_v5": "125", "Standard_D4ds_v5": "250", "Standard_E2ds_v5": "160",
        "Standard_E4ds_v5": "320", "Standard_D96ds_v5": "6000",
    }  # fmt: skip
    figures = [price(f"postgresql_flexible:eastus:{s}", m) for s, m in skus.items()]
    figures.append(price("postgresql_flexible_storage:eastus", "0.115"))
    return PriceLookup("azure", catalog.with_prices(figures, made_up), region="eastus")


def test_a_database_is_the_cheapest_priced_compute_sku(
    azure_registry: ProviderRegistry, translator: PortableTranslator
) -> None:
    prices = _priced_databases()
    offers = translator.offerings("database", region(translator, "eastus"), prices)
    assert {o.name for o in offers} == {
        f"{sku} (PostgreSQL)" for sku in (
            "Standard_B1ms", "Standard_B2s", "Standard_B2ms", "Standard_D2ds_v5",
            "Standard_D4ds_v5", "Standard_E2ds_v5", "Standard_E4ds_v5", "Standard_D96ds_v5",
        )
    }  # fmt: skip
    rng = random.Random("azure-db")
    for _ in range(40):
        vcpus = rng.choice([1, 1, 2, 3, 4, 8, 100])
        memory = Decimal(rng.choice([1, 2, 4, 8, 12, 16, 32, 400]))
        spec = {"engine": "postgres", "version": "15", "vcpus": vcpus, "memory_gb": str(memory)}
        out = translate(azure_registry, translator, "eastus", res("database", "db", **spec),
                        prices=prices)  # fmt: skip
        fits = [o for o in offers if _fits(o, vcpus, memory, "any")]
        if not fits:
            assert "no Azure Database for PostgreSQL flexible server compute" in refused(out)["db"]
            continue
        [choice] = out.choices
        assert choice.offering == min(fits, key=key).name, spec
        validate_spec(concrete(out, "eastus"), registry=azure_registry, purpose="create")
    small = chosen(translate(azure_registry, translator, "eastus", STACK[2], prices=prices))["db"]
    assert small.offering == "Standard_B1ms (PostgreSQL)"
    assert small.resources[0]["specifications"] == {
        "sku_name": "Standard_B1ms", "tier": "Burstable", "version": "15", "storage_gb": 32,
    }  # fmt: skip
    assert small.monthly == Decimal("12") + Decimal("0.115") * 32  # 32 GiB: the least storage
    two = {"engine": "postgres", "version": "15", "vcpus": 2, "memory_gb": 4}
    pick = chosen(translate(azure_registry, translator, "eastus", res("database", "d", **two),
                            prices=prices))["d"]  # fmt: skip
    assert (
        pick.offering == "Standard_D2ds_v5 (PostgreSQL)"
    )  # Standard_B2s is burstable: one vCPU counted


@pytest.mark.parametrize("where", regions())
def test_no_cheaper_sourced_flexible_server_meets_the_minimums(
    azure_registry: ProviderRegistry, translator: PortableTranslator, where: str
) -> None:
    """Over the shipped (sourced) prices: the choice is the cheapest fitting offer, storage the
    next Premium SSD size up, and the translated spec validates and estimates to its lines."""
    rng = random.Random(f"azure-db-{where}")
    prices = azure_registry.price_lookup("azure", region=where)
    offers = [
        o
        for o in translator.offerings("database", region(translator, where), prices)
        if o.name.endswith("(PostgreSQL)")
    ]
    assert offers
    sizes = POSTGRES_STORAGE_SIZES
    for _ in range(40):
        vcpus = rng.choice([1, 1, 2, 2, 3, 4])
        memory = Decimal(rng.choice([1, 2, 2, 4, 8, 9, 16]))
        storage = rng.choice([10, 32, 33, 100, 128, 500, 1000, 5000])
        spec = {"engine": "postgres", "version": "16", "vcpus": vcpus,
                "memory_gb": str(memory), "storage_gb": storage}  # fmt: skip
        out = translate(azure_registry, translator, where, res("database", "db", **spec))
        fits = [o for o in offers if _fits(o, vcpus, memory, "any")]
        if not fits:
            assert (
                "no Azure Database for PostgreSQL flexible server compute SKU priced in"
                in (refused(out)["db"])
            ), spec
            continue
        [choice] = out.choices
        best = min(fits, key=key)
        assert choice.offering == best.name, spec
        provisioned = choice.resources[0]["specifications"]["storage_gb"]
        assert provisioned == min(s for s in sizes if s >= max(storage, 32)), spec
        [compute, disk] = choice.line_items
        assert compute.monthly is not None
        assert disk.monthly is not None
        assert compute.monthly.amount == best.monthly
        assert choice.monthly == best.monthly + Decimal("0.115") * provisioned
        doc = concrete(out, where)
        validate_spec(doc, registry=azure_registry, purpose="create")
        [got] = estimate(doc, registry=azure_registry).breakdown
        assert got.line_items == choice.line_items


def test_postgresql_storage_is_rounded_up_to_a_size_azure_provisions(
    azure_registry: ProviderRegistry, translator: PortableTranslator
) -> None:
    db = res("database", "db", engine="postgres", version=16, vcpus=2, memory_gb=8,
             storage_gb=100)  # fmt: skip
    [choice] = translate(azure_registry, translator, "westus2", db).choices
    assert choice.offering == "Standard_D2ds_v5 (PostgreSQL)"
    assert choice.resources[0]["specifications"]["storage_gb"] == 128
    assert "(100 GB rounded up to 128 GiB, the next size it provisions)" in choice.reason
    assert (
        "of the 1 Azure Database for PostgreSQL flexible server compute SKU atlas prices in "
        "westus2 (Standard_D2ds_v5)" in choice.reason
    )
    # 0.178 x 730 for the compute, 0.115 a GiB-month for 128 GiB.
    assert choice.monthly == Decimal("129.94") + Decimal("0.115") * 128


def test_burstable_sizes_count_as_one_vcpu(
    azure_registry: ProviderRegistry, translator: PortableTranslator
) -> None:
    prices = azure_registry.price_lookup("azure", region="eastus")
    offers = {o.name: o for o in translator.offerings("server", region(translator, "eastus"),
                                                      prices)}  # fmt: skip
    assert offers["Standard_B2s"].vcpus == 1
    assert offers["Standard_B2s"].memory_gb == 4
    web = chosen(translate(azure_registry, translator, "eastus", STACK[0]))["web"]
    assert web.line_items[0].monthly is not None
    assert offers["Standard_B2s"].monthly * 2 < web.line_items[0].monthly.amount
    one = chosen(translate(azure_registry, translator, "eastus", res("server", "m", vcpus=1,
                 memory_gb=4)))["m"]  # fmt: skip
    assert burstable(one.offering)
    assert "burstable: " in one.reason
    assert "that count as 1" in one.reason


@pytest.mark.parametrize(
    ("resource", "words"),
    [
        (res("firewall", "fw", targets=["web"]), "no Azure network security group kind"),
        (res("network", "net", ip_range="10.10.0.0/16"), "no Azure virtual network kind"),
        (
            res("database", "db", engine="postgres", version="9"),
            "runs PostgreSQL 13, 14, 15, 16, 17 in atlas, not PostgreSQL 9",
        ),
        (
            res("database", "db", engine="mysql", version=8),
            "no sourced price for Azure Database for MySQL flexible server in eastus",
        ),
        (
            res("database", "db", engine="mysql", version=8, nodes=3),
            "no standby (high availability) yet, so 3 nodes",
        ),
        (
            res("database", "db", engine="postgres", version=15, storage_gb=40000),
            "Azure Database for PostgreSQL flexible server holds at most 32768 GiB, not 40000 GB",
        ),
        (
            res("database", "db", engine="postgres", version=15, vcpus=4),
            "no Azure Database for PostgreSQL flexible server compute SKU priced in eastus has "
            "at least 4 vCPUs",
        ),
        (
            res("load_balancer", "lb", listeners=[{"port": 443, "protocol": "https"}]),
            "does not terminate TLS; an https listener (port 443) needs Application Gateway",
        ),
        (res("server", "s", vcpus=2, memory_gb=4, image="windows-11"), "no Azure image for"),
        (res("server", "s", vcpus=400, memory_gb=4), "has at least 400 vCPUs"),
        (res("volume", "v", size_gb=100, attach_to="web"), "and 'web' has 2"),
        (res("volume", "v", size_gb=2000), "no sourced price for a 2000 GiB managed disk"),
    ],
)
def test_refusals_say_why(
    azure_registry: ProviderRegistry,
    translator: PortableTranslator,
    resource: dict[str, Any],
    words: str,
) -> None:
    out = translate(azure_registry, translator, "eastus", STACK[0], resource)
    assert words in refused(out)[resource["name"]]
    assert "web" in chosen(out)


def test_alike_resources_get_one_answer_under_their_own_names(
    azure_registry: ProviderRegistry, translator: PortableTranslator
) -> None:
    many = [res("server", f"web{i}", vcpus=2, memory_gb=4) for i in range(3)]
    out = translate(azure_registry, translator, "eastus", *many)
    assert [c.resource for c in out.choices] == ["web0", "web1", "web2"]
    assert [c.resources[0]["name"] for c in out.choices] == ["web0", "web1", "web2"]
    assert len({c.offering for c in out.choices}) == 1
    first, second = (c.resources[0]["specifications"] for c in out.choices[:2])
    assert first == second
    assert first is not second  # each resource's document is its own
    assert out == translate(azure_registry, translator, "eastus", *many)


def test_the_documented_stack_table_is_what_azure_chooses(
    azure_registry: ProviderRegistry, translator: PortableTranslator
) -> None:
    documented = stack_table("azure")
    assert set(documented) == set(regions())
    for where, cells in documented.items():
        assert stack_cells(translate(azure_registry, translator, where, *STACK)) == cells, where


@pytest.mark.parametrize("where", regions())
def test_the_conformance_kit_holds(
    azure_registry: ProviderRegistry, translator: PortableTranslator, where: str
) -> None:
    """The core's brute-force kit, where the installed atlas has it."""
    kit = pytest.importorskip("atlas.testing.portable")
    for stack in kit_stacks(random.Random(f"kit-{where}"), 8):
        doc = {"name": "shop", "provider": "any", "region": "any", "resources": list(stack)}
        spec = validate_spec(doc, registry=PORTABLE, purpose="estimate")
        prices = azure_registry.price_lookup("azure", region=where)
        request = TranslationRequest("azure", region(translator, where), spec.resources, prices)
        kit.check_translation(translator, request, registry=azure_registry)
