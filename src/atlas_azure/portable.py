"""Portable resources on Azure: ``server``, ``volume``, ``database`` and ``load_balancer`` in
Azure's own kinds (see :mod:`atlas.portable.contract` for the rules kept, and the "Portable
kinds" section of docs/gcp-azure.md for the choices made here).

- ``server`` → ``virtual_machine``: the cheapest VM size meeting the vCPU, memory and
  architecture minimums. B-series sizes are burstable (they sustain a fraction of their
  vCPUs): they count as **one** vCPU, so they meet a one-vCPU minimum and never a larger one.
  A boot disk (``disk_gb``) is the OS disk, of the SKU whose size tier is cheapest.
- ``volume`` → ``managed_disk``: of the SKU (Premium SSD, Standard SSD) whose size tier for
  that size is cheapest.
- ``database`` → ``postgresql_flexible_server`` or ``mysql_flexible_server``: the cheapest
  compute SKU meeting the minimums among those the catalog prices in the region (PostgreSQL's
  ``Standard_B1ms`` in eastus and ``Standard_D2ds_v5`` in eastus and westus2 today; no MySQL
  SKU), B-series counting as one vCPU. Storage is the engine's least (32 / 20 GiB) or more,
  and a PostgreSQL server's is a Premium SSD size, so it is rounded up to the next one.
- ``load_balancer`` → ``load_balancer``: a Standard load balancer, one rule per listener
  (http and tcp; an https listener is refused, as a Standard load balancer does not terminate
  TLS).
- ``firewall`` and ``network``: refused (atlas has no Azure kind for them yet).

A resource whose offerings have no price in the region is refused ("atlas has no sourced
price for ..."): a cheapest choice needs prices to compare. A choice whose offering is priced
but a part is not (an OS disk of 64 GiB or less) keeps that part as an unpriced line, so its
estimate says it is incomplete.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from decimal import Decimal

import attrs

from atlas.cost.estimate import LineItem, PriceLookup
from atlas.model.fields import Label
from atlas.model.infrastructure import ResourceSpec
from atlas.portable.contract import (
    Choice,
    Offer,
    Refusal,
    Region,
    Translation,
    TranslationRequest,
    monthly_total,
)
from atlas.portable.helpers import (
    PerLookup,
    by_price,
    gb_text,
    meeting,
    minimums_text,
    native_doc,
    offer_monthly,
    priced_total,
    translate_each,
    usd_text,
    vcpus_text,
)
from atlas.portable.kinds import DatabaseNeeds, LoadBalancerNeeds, ServerNeeds, VolumeNeeds
from atlas.providers.declarations import ResourceKind
from atlas_azure.catalog import VmSize, load_price_catalog, load_sizes, vm_sku
from atlas_azure.catalog import regions as catalog_regions
from atlas_azure.resources import compute, database, network

__all__ = ["DATABASE_VERSIONS", "IMAGES", "AzureTranslator", "disk_offers"]

PROVIDER = "azure"

_REGIONS: Mapping[str, tuple[str, str]] = {
    "eastus": ("us", "East US (Virginia)"),
    "westus2": ("us", "West US 2 (Washington)"),
}
#: A portable image name and architecture -> a Marketplace image URN.
IMAGES: Mapping[tuple[str, str], str] = {
    ("ubuntu-24.04", "x86_64"): "Canonical:ubuntu-24_04-lts:server:latest",
    ("ubuntu-24.04", "arm64"): "Canonical:ubuntu-24_04-lts:server-arm64:latest",
    ("ubuntu-22.04", "x86_64"): "Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:latest",
    ("ubuntu-22.04", "arm64"): "Canonical:0001-com-ubuntu-server-jammy:22_04-lts-arm64:latest",
    ("debian-12", "x86_64"): "Debian:debian-12:12-gen2:latest",
    ("debian-12", "arm64"): "Debian:debian-12:12-arm64:latest",
}
_DISK_SKUS: tuple[compute.DiskSku, ...] = ("Premium_LRS", "StandardSSD_LRS")
_TIER_LETTERS: Mapping[str, str] = {"Premium_LRS": "P", "StandardSSD_LRS": "E"}
_DISK_TITLES: Mapping[str, str] = {"Premium_LRS": "Premium SSD", "StandardSSD_LRS": "Standard SSD"}


@attrs.frozen
class _Engine:
    """A flexible-server engine: its native kind, SKU family, tiers and versions."""

    title: str
    kind: ResourceKind
    family: str
    tiers: Mapping[str, database.Tier]
    storage_gb: tuple[int, int]
    #: portable version -> the version the native kind (Azure's API) takes.
    versions: Mapping[str, str]
    #: the sizes (GiB) storage is provisioned in, or None for any size in the range.
    storage_sizes: tuple[int, ...] | None = None

    def storage(self, wanted: int) -> int | None:
        """The GiB provisioned for ``wanted`` GiB (at least the least), None above the most."""
        least = max(wanted, self.storage_gb[0])
        if self.storage_sizes is not None:
            return database.provisioned_size(least, self.storage_sizes)
        return least if least <= self.storage_gb[1] else None


#: PostgreSQL 13 to 17 and MySQL 8.0, the flexible-server versions Microsoft supports
#: ("Supported versions of PostgreSQL in Azure Database for PostgreSQL flexible server";
#: MySQL flexible server's `--version 8.0.21`).
_ENGINES: Mapping[str, _Engine] = {
    "postgres": _Engine(
        "Azure Database for PostgreSQL flexible server",
        database.POSTGRES_KIND,
        "postgresql_flexible",
        database.POSTGRES_TIERS,
        database.POSTGRES_STORAGE_GB,
        {v: v for v in ("13", "14", "15", "16", "17")},
        database.POSTGRES_STORAGE_SIZES,
    ),
    "mysql": _Engine(
        "Azure Database for MySQL flexible server",
        database.MYSQL_KIND,
        "mysql_flexible",
        database.MYSQL_TIERS,
        database.MYSQL_STORAGE_GB,
        {"8": "8.0.21", "8.0": "8.0.21"},
    ),
}
#: portable "engine:version" -> native version, every engine's.
DATABASE_VERSIONS: Mapping[str, str] = {
    f"{engine}:{version}": native
    for engine, e in _ENGINES.items()
    for version, native in e.versions.items()
}
_ENGINE_NAMES = {"postgres": "PostgreSQL", "mysql": "MySQL"}


#: Offers per price lookup (one per translation request), made once however many resources ask.
_OFFERS = PerLookup()


def burstable(size: str) -> bool:
    """B-series sizes (``Standard_B2s``, ``Standard_B2ats_v2``) are burstable."""
    return size.startswith("Standard_B")


def _counted_vcpus(size: VmSize) -> int:
    """One for a burstable size (it sustains a fraction of its vCPUs), else its vCPUs."""
    return 1 if burstable(size.name) else size.vcpus


def _tier_range(number: int) -> tuple[int, int]:
    """The sizes (GiB) billed as tier ``number``: above the tier below, up to its own."""
    numbers = sorted(compute.TIERS)
    i = numbers.index(number)
    low = compute.TIERS[10] // 2 + 1 if i == 0 else compute.TIERS[numbers[i - 1]] + 1
    return low, compute.TIERS[number]


@attrs.frozen
class DiskTier:
    """A priced managed-disk size tier: the sizes (GiB) it bills, and its month."""

    sku: compute.DiskSku
    tier: str
    low: int
    high: int
    monthly: Decimal

    @property
    def name(self) -> str:
        return f"{self.sku} {self.tier}"


def disk_tiers(prices: PriceLookup) -> tuple[DiskTier, ...]:
    """Every priced managed-disk size tier, SKU then size."""
    return _OFFERS(prices, ("disk_tiers",), lambda: _make_disk_tiers(prices))


def _make_disk_tiers(prices: PriceLookup) -> list[DiskTier]:
    out = []
    for sku in _DISK_SKUS:
        for number in sorted(compute.TIERS):
            tier = f"{_TIER_LETTERS[sku]}{number}"
            price = prices.price(f"managed_disk:{sku}:{tier}")
            if price is not None:
                low, high = _tier_range(number)
                out.append(DiskTier(sku, tier, low, high, price.monthly.amount))
    return out


def disk_offers(prices: PriceLookup) -> list[Offer]:
    """The priced tiers as offers (``max_gb`` the largest size a tier bills)."""
    return [Offer(t.name, t.monthly, max_gb=t.high) for t in disk_tiers(prices)]


@attrs.frozen
class AzureTranslator:
    """The :class:`~atlas.portable.PortableTranslator` of the ``azure`` provider."""

    provider: str = PROVIDER

    def regions(self) -> Sequence[Region]:
        return _regions()

    def offerings(self, kind: str, region: Region, prices: PriceLookup) -> Sequence[Offer]:
        if kind == "server":
            return self._server_offers(region.name, prices)
        if kind == "volume":
            return disk_offers(prices)
        if kind == "database":
            return [o for engine in _ENGINES for o in self._database_offers(engine, prices)]
        if kind == "load_balancer":
            return self._load_balancer_offers(prices)
        return ()

    # -- offerings ---------------------------------------------------------------------------

    def _server_offers(self, region: str, prices: PriceLookup) -> tuple[Offer, ...]:
        return _OFFERS(
            prices, ("_server_offers", region), lambda: self._make_server_offers(region, prices)
        )

    def _make_server_offers(self, region: str, prices: PriceLookup) -> list[Offer]:
        out = []
        for name, size in sorted(load_sizes().items()):
            if region not in size.regions:
                continue
            price = prices.price(vm_sku(region, name))
            if price is not None:
                out.append(
                    Offer(
                        name,
                        price.monthly.amount,
                        vcpus=_counted_vcpus(size),
                        memory_gb=size.memory_gib,
                        arch=size.arch,
                    )
                )
        return out

    def _database_offers(self, engine: str, prices: PriceLookup) -> tuple[Offer, ...]:
        return _OFFERS(
            prices, ("_database_offers", engine), lambda: self._make_database_offers(engine, prices)
        )

    def _make_database_offers(self, engine: str, prices: PriceLookup) -> list[Offer]:
        """The compute SKUs of ``engine`` priced in the region, each with its tier's shape
        (a flexible server's SKU is named after the VM size it runs on)."""
        e = _ENGINES[engine]
        catalog = prices.catalog
        if catalog is None:
            return []
        sizes = load_sizes()
        versions = tuple(e.versions)
        out = []
        for sku in catalog.variants(f"{e.family}:{prices.region}"):
            tier = self._tier_of(e, sku)
            price = prices.price(f"{e.family}:{prices.region}:{sku}")
            size = sizes.get(sku)
            if tier is None or price is None or size is None:
                continue
            out.append(
                Offer(
                    f"{sku} ({_ENGINE_NAMES[engine]})",
                    price.monthly.amount,
                    vcpus=_counted_vcpus(size),
                    memory_gb=size.memory_gib,
                    arch=size.arch,
                    engine=engine,
                    versions=versions,
                    max_gb=e.storage_gb[1],
                )
            )
        return out

    @staticmethod
    def _tier_of(engine: _Engine, sku: str) -> str | None:
        for name, tier in engine.tiers.items():
            if not list(database._sku_problems(sku, name, tier)):
                return name
        return None

    def _load_balancer_offers(self, prices: PriceLookup) -> list[Offer]:
        price = prices.price("lb-rules:standard:first-5")
        if price is None:
            return []
        return [Offer("standard", price.monthly.amount)]

    # -- translation -------------------------------------------------------------------------

    def translate(self, request: TranslationRequest) -> Translation:
        servers = {r.name: r for r in request.resources if r.type == "server"}
        return translate_each(request.resources, lambda r: self._translate_one(r, request, servers))

    def _translate_one(  # noqa: PLR0911 - one answer per portable kind
        self, res: ResourceSpec, request: TranslationRequest, servers: Mapping[str, ResourceSpec]
    ) -> Choice | Refusal:
        region, prices = request.region, request.prices
        if res.type == "server":
            return self._server(res, region, prices)
        if res.type == "volume":
            return self._volume(res, prices, servers)
        if res.type == "database":
            return self._database(res, region, prices)
        if res.type == "load_balancer":
            return self._load_balancer(res, prices)
        if res.type == "firewall":
            return Refusal(
                res.name,
                "atlas has no Azure network security group kind yet, so a firewall cannot be "
                "placed on Azure",
            )
        if res.type == "network":
            return Refusal(
                res.name,
                "atlas has no Azure virtual network kind yet, so a network cannot be placed",
            )
        return Refusal(res.name, f"{res.type!r} is not a portable kind Azure translates")

    def _server(self, res: ResourceSpec, region: Region, prices: PriceLookup) -> Choice | Refusal:
        need: ServerNeeds = res.specifications
        wants = f"{minimums_text(need.vcpus, need.memory_gb)} ({need.arch})"
        offers = self._server_offers(region.name, prices)
        if not offers:
            return Refusal(res.name, f"atlas has no sourced price for an Azure VM in {region.name}")
        fits = meeting(offers, need.vcpus, need.memory_gb, need.arch)
        if not fits:
            return Refusal(res.name, f"no Azure VM size priced in {region.name} has {wants}")
        best = min(fits, key=by_price)
        assert best.arch is not None
        image = IMAGES.get((need.image, best.arch))
        if image is None:
            known = ", ".join(sorted({name for name, _ in IMAGES}))
            return Refusal(
                res.name, f"atlas knows no Azure image for {need.image!r} (it knows {known})"
            )
        size = load_sizes()[best.name]
        spec = compute.VirtualMachineSpec(
            size=best.name,
            image=image,
            os_disk_size_gb=need.disk_gb,
            os_disk_type=self._disk_sku(need.disk_gb, prices) if need.disk_gb else "Premium_LRS",
            count=need.count,
        )
        lines = tuple(compute.VM_KIND.price(spec, prices))  # type: ignore[misc]
        shared = f", burstable: {size.vcpus} vCPUs that count as 1" if burstable(size.name) else ""
        times = f" each, {usd_text(priced_total(lines))} for {need.count}" if need.count > 1 else ""
        disk = self._disk_note(lines[1:], need.disk_gb)
        each = usd_text(offer_monthly(best))
        reason = (
            f"{best.name} ({vcpus_text(size.vcpus)}, {gb_text(size.memory_gib)} GiB{shared}) is "
            f"the cheapest Azure VM size in {region.name} with {wants}, at {each} a month"
            f"{times}{disk}"
        )
        return Choice(
            res.name, best.name, reason, (native_doc("virtual_machine", res.name, spec),), lines
        )

    @staticmethod
    def _disk_note(lines: Sequence[LineItem], size: int | None) -> str:
        if not lines or size is None:
            return ""
        line = lines[0]
        if line.monthly is None:
            return f", plus a {size} GiB OS disk atlas has no price for"
        return f", plus {usd_text(line.monthly.amount)} for the {size} GiB OS disk"

    @staticmethod
    def _disk_fits(size_gb: int, prices: PriceLookup) -> list[DiskTier]:
        """The priced tiers that bill a disk of ``size_gb``, cheapest first (then by name)."""
        fits = [t for t in disk_tiers(prices) if t.low <= size_gb <= t.high]
        return sorted(fits, key=lambda t: (t.monthly, t.name))

    def _disk_sku(self, size_gb: int, prices: PriceLookup) -> compute.DiskSku:
        """The SKU whose tier for ``size_gb`` is the cheapest priced one (else Premium)."""
        fits = self._disk_fits(size_gb, prices)
        return fits[0].sku if fits else _DISK_SKUS[0]

    def _volume(
        self, res: ResourceSpec, prices: PriceLookup, servers: Mapping[str, ResourceSpec]
    ) -> Choice | Refusal:
        need: VolumeNeeds = res.specifications
        fits = self._disk_fits(need.size_gb, prices)
        if not fits:
            priced = ", ".join(f"{t.tier} ({t.low}-{t.high} GiB)" for t in disk_tiers(prices))
            return Refusal(
                res.name,
                f"atlas has no sourced price for a {need.size_gb} GiB managed disk (it prices "
                f"the tiers {priced or 'of none'})",
            )
        server = servers.get(need.attach_to) if need.attach_to else None
        if server is not None and server.specifications.count > 1:
            return Refusal(
                res.name,
                f"a managed disk attaches to one VM, and {need.attach_to!r} has "
                f"{server.specifications.count}",
            )
        best = fits[0]
        spec = compute.ManagedDiskSpec(size_gb=need.size_gb, sku=best.sku, attach_to=need.attach_to)
        lines = tuple(compute.DISK_KIND.price(spec, prices))  # type: ignore[misc]
        reason = (
            f"{_DISK_TITLES[best.sku]} is the cheapest managed disk for {need.size_gb} GiB, "
            f"billed as its tier {best.tier} (up to {best.high} GiB) at "
            f"{usd_text(best.monthly)} a month"
        )
        return Choice(
            res.name, best.name, reason, (native_doc("managed_disk", res.name, spec),), lines
        )

    def _database(self, res: ResourceSpec, region: Region, prices: PriceLookup) -> Choice | Refusal:
        need: DatabaseNeeds = res.specifications
        engine = _ENGINES[need.engine]
        title = f"{_ENGINE_NAMES[need.engine]} {need.version}"
        version = engine.versions.get(str(need.version))
        if version is None:
            offered = ", ".join(engine.versions)
            return Refusal(
                res.name,
                f"{engine.title} runs {_ENGINE_NAMES[need.engine]} {offered} in atlas, not {title}",
            )
        if need.nodes > 1:
            return Refusal(
                res.name,
                f"atlas's {engine.title} kind has no standby (high availability) yet, so "
                f"{need.nodes} nodes cannot be offered",
            )
        offers = self._database_offers(need.engine, prices)
        if not offers:
            return Refusal(
                res.name, f"atlas has no sourced price for {engine.title} in {region.name}"
            )
        wants = minimums_text(need.vcpus, need.memory_gb)
        fits = meeting(offers, need.vcpus, need.memory_gb)
        if not fits:
            return Refusal(
                res.name, f"no {engine.title} compute SKU priced in {region.name} has {wants}"
            )
        storage = engine.storage(need.storage_gb)
        if storage is None:
            return Refusal(
                res.name,
                f"{engine.title} holds at most {engine.storage_gb[1]} GiB, not "
                f"{need.storage_gb} GB",
            )
        best = min(fits, key=by_price)
        sku = best.name.split()[0]
        tier = self._tier_of(engine, sku)
        assert tier is not None
        spec = database.FlexibleServerSpec(
            sku_name=sku, tier=tier, version=Label(version), storage_gb=storage
        )
        lines = tuple(engine.kind.price(spec, prices))  # type: ignore[misc]
        extra = (
            f", plus {storage} GiB of storage atlas has no price for"
            if lines[-1].monthly is None
            else f", plus {usd_text(lines[-1].monthly.amount)} for {storage} GiB of storage"
        )
        size = load_sizes()[sku]
        shape = f"{vcpus_text(size.vcpus)}, {gb_text(size.memory_gib)} GiB"
        if burstable(sku) and size.vcpus > 1:
            shape += f", burstable: {size.vcpus} vCPUs that count as 1"
        elif burstable(sku):
            shape += ", burstable"
        names = [o.name.split()[0] for o in sorted(offers, key=by_price)]
        priced = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        reason = (
            f"{sku} ({tier}, {shape}) is the cheapest of the {len(offers)} {engine.title} "
            f"compute SKU{'s' if len(offers) > 1 else ''} atlas prices in {region.name} "
            f"({priced}) with {wants}, for {title}, at {usd_text(offer_monthly(best))} a month"
            f"{extra}"
            f"{self._storage_note(engine, need.storage_gb, storage)}"
        )
        return Choice(
            res.name, best.name, reason, (native_doc(engine.kind.type, res.name, spec),), lines
        )

    @staticmethod
    def _storage_note(engine: _Engine, wanted: int, storage: int) -> str:
        if storage == wanted:
            return ""
        if wanted < engine.storage_gb[0] and storage == engine.storage_gb[0]:
            return f" ({storage} GiB is the least it provisions)"
        return f" ({wanted} GB rounded up to {storage} GiB, the next size it provisions)"

    def _load_balancer(self, res: ResourceSpec, prices: PriceLookup) -> Choice | Refusal:
        need: LoadBalancerNeeds = res.specifications
        https = [str(li.port) for li in need.listeners if li.protocol == "https"]
        if https:
            return Refusal(
                res.name,
                f"an Azure Standard load balancer works at layer 4 and does not terminate TLS; "
                f"an https listener (port {', '.join(https)}) needs Application Gateway, which "
                "atlas has no price for",
            )
        if not self._load_balancer_offers(prices):
            return Refusal(res.name, "atlas has no sourced price for an Azure load balancer")
        spec = network.LoadBalancerSpec(rules=len(need.listeners), targets=need.targets)
        lines = tuple(network.KIND.price(spec, prices))  # type: ignore[misc]
        total = monthly_total(lines)
        assert total is not None
        rules = len(need.listeners)
        listens = ", ".join(f"{li.protocol} {li.port}" for li in need.listeners)
        reason = (
            f"a Standard load balancer with {rules} rule{'s' if rules > 1 else ''} (one per "
            f"listener: {listens}) is Azure's offering, at {usd_text(total)} a month before data "
            "processing, which depends on traffic"
        )
        return Choice(
            res.name, "standard", reason, (native_doc("load_balancer", res.name, spec),), lines
        )


@functools.cache
def _regions() -> tuple[Region, ...]:
    catalog = load_price_catalog()
    sizes = load_sizes()
    out = []
    for name in catalog_regions():
        group, title = _REGIONS[name]
        features = set()
        if any(s.arch == "arm64" and name in s.regions for s in sizes.values()):
            features.add("arm64")
        for engine, word in (("postgres", "managed-postgres"), ("mysql", "managed-mysql")):
            if catalog.variants(f"{_ENGINES[engine].family}:{name}"):
                features.add(word)
        out.append(Region(name, group, frozenset(features), title))
    return tuple(out)
