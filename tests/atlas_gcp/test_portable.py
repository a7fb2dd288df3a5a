"""Portable resources on GCP: the translator's regions, choices (checked by brute force over
its offerings), line items (what an estimate of the translated spec gives) and refusals."""

from __future__ import annotations

import random
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

import atlas_gcp.plugin
from atlas import estimate
from atlas.cost.catalog import Price
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
from atlas.providers import ProviderRegistry
from atlas.spec.validate import validate_spec
from atlas_gcp.catalog import load_machine_types, load_price_catalog, regions
from atlas_gcp.portable import DEFAULT_ZONES, GcpTranslator, sql_shapes

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
def translator(gcp_registry: ProviderRegistry) -> PortableTranslator:
    found = gcp_registry.portable_translator("gcp")
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
    lookup = prices or registry.price_lookup("gcp", region=where)
    return translator.translate(
        TranslationRequest("gcp", region(translator, where), spec.resources, lookup)
    )


def chosen(translation: Translation) -> dict[str, Choice]:
    return {c.resource: c for c in translation.choices}


def refused(translation: Translation) -> dict[str, str]:
    return {r.resource: r.reason for r in translation.refusals}


def concrete(translation: Translation, where: str) -> dict[str, Any]:
    resources = [doc for c in translation.choices for doc in c.resources]
    resources += list(translation.support)
    return {"name": "shop", "provider": "gcp", "region": where, "resources": resources}


def key(offer: Offer) -> tuple[Decimal, int, Decimal, str]:
    return offer.monthly, offer.vcpus or 0, offer.memory_gb or Decimal(0), offer.name


def test_the_plugin_answers_the_hook_for_gcp_alone(gcp_registry: ProviderRegistry) -> None:
    found = gcp_registry.portable_translator("gcp")
    assert isinstance(found, GcpTranslator)
    assert isinstance(found, PortableTranslator)
    assert found.provider == "gcp"
    assert atlas_gcp.plugin.atlas_portable_translator("aws") is None


def test_regions_are_the_priced_ones_with_groups_and_features(
    translator: PortableTranslator,
) -> None:
    found = {r.name: r for r in translator.regions()}
    assert tuple(found) == regions()
    assert {n: r.group for n, r in found.items()} == {
        "asia-southeast1": "asia",
        "europe-west1": "eu",
        "europe-west4": "eu",
        "us-central1": "us",
        "us-east1": "us",
    }
    assert all(r.group in REGION_GROUPS and r.title for r in found.values())
    # Cloud SQL is priced in the two regions of its "Americas" SKUs; no Arm machine type is
    # in the catalog.
    sql = {"us-central1", "us-east1"}
    assert {n for n, r in found.items() if "managed-postgres" in r.features} == sql
    assert found["us-central1"].features == {"managed-postgres", "managed-mysql"}
    assert not any("arm64" in r.features for r in found.values())
    assert not any(t.arch == "arm64" for t in load_machine_types().values())
    assert set(DEFAULT_ZONES) == set(found)
    assert all(zone.startswith(f"{name}-") for name, zone in DEFAULT_ZONES.items())


#: pd-balanced per GB-month in each region (scripts/gcp-service-prices.csv), for 100 GB.
VOLUME_MONTH = {
    "asia-southeast1": Decimal("11.00"),
    "europe-west1": Decimal("10.00"),
    "europe-west4": Decimal("11.00"),
    "us-central1": Decimal("10.00"),
    "us-east1": Decimal("10.00"),
}


def test_every_region_has_a_volume_price() -> None:
    assert set(VOLUME_MONTH) == set(regions())


@pytest.mark.parametrize("where", sorted(VOLUME_MONTH))
def test_the_acceptance_stack(
    gcp_registry: ProviderRegistry, translator: PortableTranslator, where: str
) -> None:
    out = translate(gcp_registry, translator, where, *STACK)
    choices = chosen(out)
    web = choices["web"]
    machine = load_machine_types()[web.offering]
    assert machine.vcpus >= 2
    assert machine.memory_gib >= 4
    assert not machine.shared_core
    assert web.offering == "e2-standard-2"  # e2-medium (4 GB, shared-core) does not count
    assert web.resources[0]["specifications"]["count"] == 2
    assert web.resources[0]["specifications"]["zone"] == DEFAULT_ZONES[where]
    assert "at least 2 vCPUs and 4 GB" in web.reason
    assert where in web.reason
    assert choices["lb"].resources[0]["specifications"] == {"targets": ["web"]}
    assert choices["lb"].monthly == Decimal("18.25")
    data = choices["data"]
    assert data.offering == "pd-balanced"  # cheaper than pd-ssd in every priced region
    assert data.monthly == VOLUME_MONTH[where]
    assert data.resources[0]["specifications"]["zone"] == DEFAULT_ZONES[where]
    if where in ("us-central1", "us-east1"):  # one "Americas" SKU prices Cloud SQL in both
        db = choices["db"]
        assert db.offering == "db-custom-1-3840 (POSTGRES_15)"  # the least memory is 3.75 GB
        assert db.resources[0]["specifications"]["tier"] == "db-custom-1-3840"
        assert db.resources[0]["specifications"]["database_version"] == "POSTGRES_15"
        # 30.15 (1 vCPU) + 3.75 GB x 5.11 + 10 GB of storage x 0.17
        assert db.monthly == Decimal("51.0125")
        assert [line.unpriced for line in db.line_items] == [None, None, None]
        assert "plus 1.70 USD for 10 GB of storage" in db.reason
        assert out.complete
        assert not out.refusals
    else:
        assert refused(out) == {"db": f"atlas has no sourced price for Cloud SQL in {where}"}


def test_the_acceptance_stack_is_priced_whole_where_cloud_sql_is(
    gcp_registry: ProviderRegistry, translator: PortableTranslator
) -> None:
    """Every line of the stack has a sourced price in each region that prices Cloud SQL, and
    each choice is the cheapest offering meeting its minimums (brute force over offerings)."""
    whole = []
    for where in regions():
        out = translate(gcp_registry, translator, where, *STACK)
        if out.refusals:
            continue
        assert out.complete, where
        assert all(line.monthly is not None for c in out.choices for line in c.line_items)
        whole.append(where)
        here = region(translator, where)
        prices = gcp_registry.price_lookup("gcp", region=where)
        choices = chosen(out)
        servers = [
            o
            for o in translator.offerings("server", here, prices)
            if _server_fits(o, 2, Decimal(4), "x86_64")
        ]
        assert choices["web"].offering == min(servers, key=key).name
        volumes = translator.offerings("volume", here, prices)
        assert choices["data"].offering == min(volumes, key=key).name
        databases = [
            o
            for o in translator.offerings("database", here, prices)
            if (o.vcpus or 0) >= 1 and (o.memory_gb or 0) >= 2 and o.name.endswith(" (POSTGRES_15)")
        ]
        assert choices["db"].offering == min(databases, key=key).name
    # Only us-central1 and us-east1 have sourced Cloud SQL rates (docs/gcp-azure.md, "Gaps").
    assert whole == ["us-central1", "us-east1"]


@pytest.mark.parametrize("where", regions())
def test_line_items_are_the_estimate_of_the_translated_spec(
    gcp_registry: ProviderRegistry, translator: PortableTranslator, where: str
) -> None:
    out = translate(
        gcp_registry,
        translator,
        where,
        *STACK,
        res("server", "box", vcpus=1, memory_gb=1, disk_gb=30),
        res("volume", "logs", size_gb=20, attach_to="box"),
        res("load_balancer", "edge", targets=["box"], listeners=[{"port": 80}, {"port": 443,
            "protocol": "https"}]),
    )  # fmt: skip
    doc = concrete(out, where)
    validate_spec(doc, registry=gcp_registry, purpose="estimate")
    validate_spec(doc, registry=gcp_registry, purpose="create")  # images and zones are given
    est = estimate(doc, registry=gcp_registry)
    assert [r.resource_name for r in est.breakdown] == [c.resource for c in out.choices]
    for got, choice in zip(est.breakdown, out.choices, strict=True):
        assert got.line_items == choice.line_items, choice.resource


def test_a_price_adjustment_is_what_the_choice_is_made_with(
    gcp_registry: ProviderRegistry, translator: PortableTranslator
) -> None:
    catalog = load_price_catalog()

    def discount(provider: str, sku: str, price: Price) -> Price | None:
        if sku != "instance:us-central1:n2d-standard-2":
            return None
        return attrs.evolve(price, monthly=Money("1.00", "USD"), hourly=Money("0.001", "USD"))

    prices = PriceLookup("gcp", catalog, discount, region="us-central1")
    out = translate(gcp_registry, translator, "us-central1", STACK[0], prices=prices)
    [web] = out.choices
    assert web.offering == "n2d-standard-2"
    assert web.monthly == Decimal("2.00")


def _server_fits(offer: Offer, vcpus: int, memory: Decimal, arch: str) -> bool:
    return (
        (offer.vcpus or 0) >= vcpus
        and (offer.memory_gb or 0) >= memory
        and arch in ("any", offer.arch)
    )


@pytest.mark.parametrize("where", regions())
def test_no_cheaper_machine_type_meets_the_minimums(
    gcp_registry: ProviderRegistry, translator: PortableTranslator, where: str
) -> None:
    rng = random.Random(f"gcp-{where}")
    prices = gcp_registry.price_lookup("gcp", region=where)
    offers = translator.offerings("server", region(translator, where), prices)
    assert len(offers) > 50
    for _ in range(150):
        vcpus = rng.choice([1, 1, 2, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64, 96, 180, 400])
        memory = Decimal(rng.choice([2, 3, 4, 6, 8, 12, 16, 32, 64, 128, 512, 1500])) / (
            rng.choice([1, 2, 4])
        )
        arch = rng.choice(["x86_64", "x86_64", "any", "arm64"])
        spec = {"vcpus": vcpus, "memory_gb": str(memory), "arch": arch}
        out = translate(gcp_registry, translator, where, res("server", "s", **spec))
        fits = [o for o in offers if _server_fits(o, vcpus, memory, arch)]
        if not fits:
            assert "no GCP machine type priced" in refused(out)["s"], spec
            continue
        [choice] = out.choices
        best = min(fits, key=key)
        assert choice.offering == best.name, spec
        assert choice.monthly == best.monthly.quantize(Decimal("0.01")) or (
            choice.line_items[0].monthly is not None
            and choice.line_items[0].monthly.amount == best.monthly
        )
        machine = load_machine_types()[choice.offering]
        assert machine.memory_gib >= memory
        assert (1 if machine.shared_core else machine.vcpus) >= vcpus


def test_no_cheaper_cloud_sql_tier_meets_the_minimums(
    gcp_registry: ProviderRegistry, translator: PortableTranslator
) -> None:
    rng = random.Random("gcp-sql")
    where = "us-central1"
    prices = gcp_registry.price_lookup("gcp", region=where)
    offers = translator.offerings("database", region(translator, where), prices)
    assert len(offers) == 2 * len(sql_shapes())  # PostgreSQL's and MySQL's
    native = {"postgres": "POSTGRES_15", "mysql": "MYSQL_8_0"}
    for _ in range(30):
        vcpus = rng.choice([1, 1, 2, 3, 4, 5, 8, 15, 32, 95, 96])
        memory = Decimal(rng.randint(1, 700)) / rng.choice([1, 4])
        engine, version = rng.choice([("postgres", "15"), ("mysql", "8")])
        spec = {"engine": engine, "version": version, "vcpus": vcpus, "memory_gb": str(memory)}
        out = translate(gcp_registry, translator, where, res("database", "db", **spec))
        fits = [
            o
            for o in offers
            if (o.vcpus or 0) >= vcpus
            and (o.memory_gb or 0) >= memory
            and o.name.endswith(f" ({native[engine]})")
        ]
        if not fits:
            assert "no Cloud SQL Enterprise tier has" in refused(out)["db"], spec
            continue
        [choice] = out.choices
        assert choice.offering == min(fits, key=key).name, spec


def test_cloud_sql_shapes_keep_its_rules() -> None:
    shapes = sql_shapes()
    assert shapes[0] == (1, 3840)
    for vcpus, mb in shapes:
        assert vcpus == 1 or vcpus % 2 == 0
        assert mb % 256 == 0
        assert mb >= 3840
        assert vcpus * 0.9 * 1024 <= mb <= vcpus * 6.5 * 1024
    assert (96, 624 * 1024) in shapes
    assert (1, 6656) in shapes
    assert (1, 6912) not in shapes


def test_shared_core_types_count_as_one_vcpu(
    gcp_registry: ProviderRegistry, translator: PortableTranslator
) -> None:
    tiny = translate(gcp_registry, translator, "us-central1", res("server", "t", vcpus=1,
                     memory_gb="0.5"))  # fmt: skip
    [choice] = tiny.choices
    assert choice.offering == "e2-micro"
    assert "shared-core: bursts to 2 vCPUs and counts as 1" in choice.reason
    # e2-medium has 2 vCPUs (shared) and 4 GB, and costs less than what 2 vCPUs get:
    two = chosen(translate(gcp_registry, translator, "us-central1", STACK[0]))["web"]
    medium = next(
        o
        for o in translator.offerings("server", region(translator, "us-central1"),
                                      gcp_registry.price_lookup("gcp", region="us-central1"))
        if o.name == "e2-medium"
    )  # fmt: skip
    assert medium.vcpus == 1
    assert medium.memory_gb == 4
    assert two.line_items[0].monthly is not None
    assert medium.monthly * 2 < two.line_items[0].monthly.amount
    assert two.offering != "e2-medium"
    one = chosen(translate(gcp_registry, translator, "us-central1", res("server", "m",
                 vcpus=1, memory_gb=4)))["m"]  # fmt: skip
    assert one.offering == "e2-medium"


def test_a_boot_disk_is_priced_where_disks_are(
    gcp_registry: ProviderRegistry, translator: PortableTranslator
) -> None:
    server = res("server", "box", vcpus=2, memory_gb=8, disk_gb=50, count=3)
    here = chosen(translate(gcp_registry, translator, "us-central1", server))["box"]
    assert [line.description for line in here.line_items] == [
        "Compute Engine e2-standard-2 x 3",
        "Boot disk pd-balanced 50 GB x 3",
    ]
    assert here.monthly == Decimal("161.76")  # 3 x 48.92 + 150 GB x 0.10
    assert "15.00 USD for the 50 GB boot disk" in here.reason
    there = chosen(translate(gcp_registry, translator, "europe-west4", server))["box"]
    assert there.line_items[1].monthly is not None
    assert there.line_items[1].monthly.amount == Decimal("16.50")  # 150 GB x 0.11
    assert "16.50 USD for the 50 GB boot disk" in there.reason
    # A catalog without that region's disk prices keeps the boot disk as an unpriced line.
    catalog = load_price_catalog()
    kept = {k: v for k, v in catalog.prices.items() if not k.startswith("disk:europe-west4:")}
    bare = PriceLookup("gcp", attrs.evolve(catalog, prices=kept), region="europe-west4")
    unpriced = chosen(translate(gcp_registry, translator, "europe-west4", server, prices=bare))
    assert unpriced["box"].monthly is None
    assert unpriced["box"].line_items[1].unpriced
    assert "boot disk atlas has no price for here" in unpriced["box"].reason


@pytest.mark.parametrize(
    ("resource", "words"),
    [
        (res("firewall", "fw", targets=["web"]), "atlas has no GCP firewall kind"),
        (res("network", "net", ip_range="10.10.0.0/16"), "no GCP VPC network kind"),
        (
            res("database", "db", engine="postgres", version="16"),
            "offers PostgreSQL 15 and MySQL 8.0, not PostgreSQL 16",
        ),
        (
            res("database", "db", engine="mysql", version=8, nodes=2),
            "no standby (high availability) yet, so 2 nodes",
        ),
        (
            res("load_balancer", "lb", listeners=[{"port": 5432, "protocol": "tcp"}]),
            "a tcp listener (port 5432) needs a network load balancer",
        ),
        (res("server", "s", vcpus=2, memory_gb=4, image="windows-11"), "no GCP image for"),
        (res("server", "s", vcpus=2, memory_gb=4, arch="arm64"), "no GCP machine type priced"),
        (res("server", "s", vcpus=400, memory_gb=4), "has at least 400 vCPUs"),
        (res("volume", "v", size_gb=10, attach_to="web"), "has 2"),
    ],
)
def test_refusals_say_why(
    gcp_registry: ProviderRegistry,
    translator: PortableTranslator,
    resource: dict[str, Any],
    words: str,
) -> None:
    out = translate(gcp_registry, translator, "us-central1", STACK[0], resource)
    assert words in refused(out)[resource["specifications"] and resource["name"]]
    assert "web" in chosen(out)


def test_kinds_with_nothing_to_choose_have_no_offerings(
    gcp_registry: ProviderRegistry, translator: PortableTranslator
) -> None:
    where = region(translator, "europe-west1")
    prices = gcp_registry.price_lookup("gcp", region="europe-west1")
    assert translator.offerings("firewall", where, prices) == ()
    assert translator.offerings("network", where, prices) == ()
    assert [o.name for o in translator.offerings("volume", where, prices)] == [
        "pd-balanced",
        "pd-ssd",
    ]
    assert list(translator.offerings("database", where, prices)) == []
    assert [o.name for o in translator.offerings("load_balancer", where, prices)] == [
        "external-application-lb"
    ]


def test_translation_is_deterministic(
    gcp_registry: ProviderRegistry, translator: PortableTranslator
) -> None:
    runs: Sequence[Translation] = [
        translate(gcp_registry, translator, "us-central1", *STACK) for _ in range(2)
    ]
    assert runs[0] == runs[1]


def stack_table(provider: str) -> dict[str, list[str]]:
    """The rows of ``provider`` in docs/gcp-azure.md's table of the acceptance stack."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "gcp-azure.md").read_text()
    section = page.split("## Portable kinds", 1)[1].split("\n## ", 1)[0]
    table = section.split("| Provider | Region | `web` (x 2) |", 1)[1]
    rows = {}
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] == provider:
            rows[cells[1]] = cells[2:]
    return rows


def stack_cells(translation: Translation) -> list[str]:
    choices = chosen(translation)
    cells = []
    for name in ("web", "data", "db", "lb"):
        c = choices.get(name)
        price = "unpriced" if c is None or c.monthly is None else str(c.monthly)
        cells.append("refused" if c is None else f"`{c.offering}` {price}")
    return cells


def test_the_documented_stack_table_is_what_gcp_chooses(
    gcp_registry: ProviderRegistry, translator: PortableTranslator
) -> None:
    documented = stack_table("gcp")
    assert set(documented) == set(regions())
    for where, cells in documented.items():
        assert stack_cells(translate(gcp_registry, translator, where, *STACK)) == cells, where


def kit_stacks(
    rng: random.Random, count: int, archs: Sequence[str] = ("x86_64", "arm64", "any")
) -> list[tuple[dict[str, Any], ...]]:
    """The acceptance stack, then ``count`` stacks of random minimums that a priced type
    meets (the kit estimates the translated spec: a refused server would leave the load
    balancer's target dangling)."""
    stacks = [STACK]
    for _ in range(count):
        server = {
            "vcpus": rng.choice([1, 2, 4, 8, 16]),
            "memory_gb": rng.choice([1, 2, 4, 8, 32]),
            "arch": rng.choice(archs),
            "disk_gb": rng.choice([None, 20, 100]),
        }
        database = {
            "engine": "postgres",
            "version": "15",
            "vcpus": rng.choice([1, 2, 4]),
            "memory_gb": rng.choice([1, 4, 16]),
        }
        stacks.append(
            (
                res("server", "web", **{k: v for k, v in server.items() if v is not None}),
                res("volume", "data", size_gb=rng.choice([10, 100, 700])),
                res("database", "db", **database),
                res("load_balancer", "lb", targets=["web"]),
            )
        )
    return stacks


@pytest.mark.parametrize("where", regions())
def test_the_conformance_kit_holds(
    gcp_registry: ProviderRegistry, translator: PortableTranslator, where: str
) -> None:
    """The core's brute-force kit, where the installed atlas has it."""
    kit = pytest.importorskip("atlas.testing.portable")
    # GCP's catalog has no Arm machine type.
    for stack in kit_stacks(random.Random(f"kit-{where}"), 8, archs=("x86_64", "any")):
        doc = {"name": "shop", "provider": "any", "region": "any", "resources": list(stack)}
        spec = validate_spec(doc, registry=PORTABLE, purpose="estimate")
        prices = gcp_registry.price_lookup("gcp", region=where)
        request = TranslationRequest("gcp", region(translator, where), spec.resources, prices)
        kit.check_translation(translator, request, registry=gcp_registry)
