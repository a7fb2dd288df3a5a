"""Portable resources on GCP: ``server``, ``volume``, ``database`` and ``load_balancer`` in
GCP's own kinds (see :mod:`atlas.portable.contract` for the rules kept, and the "Portable
kinds" section of docs/gcp-azure.md for the choices made here).

- ``server`` → ``instance``: the cheapest machine type meeting the vCPU, memory and
  architecture minimums. Shared-core types (``e2-micro``, ``e2-small``, ``e2-medium``) burst
  to 2 vCPUs but sustain a fraction of one: they count as **one** vCPU, so they meet a
  one-vCPU minimum and never a larger one. ``c3-*-lssd`` types are left out (their catalog
  price leaves out the local SSD).
- ``volume`` → ``disk``: the cheapest Persistent Disk type per GB.
- ``database`` → ``sql_instance``: the smallest Cloud SQL Enterprise ``db-custom`` tier
  meeting the minimums (Cloud SQL's shape rules below).
- ``load_balancer`` → ``load_balancer``: an external Application Load Balancer, one
  forwarding rule per listener (http and https; a tcp listener is refused).
- ``firewall`` and ``network``: refused (atlas has no GCP kind for them yet).

A resource whose offerings have no price in the region is refused ("atlas has no sourced
price for ..."): a cheapest choice needs prices to compare. A choice whose offering is priced
but a part is not (Cloud SQL storage, a boot disk outside us-central1) keeps that part as an
unpriced line, so its estimate says it is incomplete.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal

import attrs

from atlas.cost.estimate import LineItem, PriceLookup
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
    shape_text,
    translate_each,
    usd_text,
)
from atlas.portable.kinds import DatabaseNeeds, LoadBalancerNeeds, ServerNeeds, VolumeNeeds
from atlas_gcp.catalog import MachineType, instance_sku, load_machine_types, load_price_catalog
from atlas_gcp.catalog import regions as catalog_regions
from atlas_gcp.resources import compute, network, sql

__all__ = [
    "DEFAULT_ZONES",
    "IMAGES",
    "GcpTranslator",
    "sql_shapes",
]

PROVIDER = "gcp"

#: Region name prefix -> region group (``atlas.portable.REGION_GROUPS``).
_GROUP_BY_PREFIX: Mapping[str, str] = {
    "us": "us",
    "europe": "eu",
    "asia": "asia",
    "australia": "oceania",
    "southamerica": "sa",
    "northamerica": "ca",
    "me": "me",
    "africa": "af",
}
_TITLES: Mapping[str, str] = {
    "asia-southeast1": "Singapore",
    "europe-west1": "Belgium",
    "europe-west4": "Netherlands",
    "us-central1": "Iowa",
    "us-east1": "South Carolina",
}
#: The zone a translation puts an instance and its disks in (Google's "Regions and zones"
#: page: us-east1 and europe-west1 have no zone ``-a``).
DEFAULT_ZONES: Mapping[str, str] = {
    "asia-southeast1": "asia-southeast1-a",
    "europe-west1": "europe-west1-b",
    "europe-west4": "europe-west4-a",
    "us-central1": "us-central1-a",
    "us-east1": "us-east1-b",
}
#: A portable image name and architecture -> the public image family on GCP.
IMAGES: Mapping[tuple[str, str], str] = {
    ("ubuntu-24.04", "x86_64"): "ubuntu-2404-lts-amd64",
    ("ubuntu-24.04", "arm64"): "ubuntu-2404-lts-arm64",
    ("ubuntu-22.04", "x86_64"): "ubuntu-2204-lts",
    ("ubuntu-22.04", "arm64"): "ubuntu-2204-lts-arm64",
    ("debian-12", "x86_64"): "debian-12",
    ("debian-12", "arm64"): "debian-12-arm64",
}
#: The cheapest disk type comes first when prices tie.
_DISK_TYPES: tuple[compute.DiskType, ...] = ("pd-balanced", "pd-ssd")
_ENGINE_TITLES = {"postgres": "PostgreSQL", "mysql": "MySQL"}
#: engine -> the Cloud SQL version its offers run, and the portable versions that ask for it.
_SQL_ENGINES: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "postgres": ("POSTGRES_15", ("15",)),
    "mysql": ("MYSQL_8_0", ("8", "8.0")),
}
#: portable "engine:version" -> Cloud SQL database_version (the native kind's choices).
_SQL_VERSIONS: Mapping[str, str] = {
    f"{engine}:{version}": native
    for engine, (native, versions) in _SQL_ENGINES.items()
    for version in versions
}
_LB_OFFERING = "external-application-lb"
#: Cloud SQL dedicated-core shapes ("db-custom-<vCPUs>-<MB>"): 1 or an even number of vCPUs
#: up to 96; memory a multiple of 256 MB, 0.9 to 6.5 GB per vCPU and at least 3.75 GB.
_SQL_VCPUS = (1, *range(2, sql.MAX_VCPUS + 1, 2))
_MB_STEP = 256
_SQL_MIN_MB = 3840
#: Cloud SQL's largest storage, 64 TB.
_SQL_MAX_STORAGE_GB = 65536


def _group(region: str) -> str:
    return _GROUP_BY_PREFIX[region.split("-", 1)[0]]


#: Offers per price lookup (one per translation request), made once however many resources ask.
_OFFERS = PerLookup()


def _sql_offer(engine: str, vcpus: int, mb: int, rates: tuple[Decimal, Decimal]) -> Offer:
    """Tier ``db-custom-<vcpus>-<mb>`` running ``engine``, priced with ``rates``; named with
    its database version, as each engine has its own offers."""
    version, versions = _SQL_ENGINES[engine]
    per_vcpu, per_gb = rates
    memory = Decimal(mb) / 1024
    return Offer(
        f"db-custom-{vcpus}-{mb} ({version})",
        vcpus * per_vcpu + memory * per_gb,
        vcpus=vcpus,
        memory_gb=memory,
        engine=engine,
        versions=versions,
        max_gb=_SQL_MAX_STORAGE_GB,
    )


def _counted_vcpus(machine: MachineType) -> int:
    """The vCPUs a machine type counts for: one for a shared-core type (it sustains a fraction
    of a core and bursts to 2), else every vCPU the VM sees."""
    return 1 if machine.shared_core else machine.vcpus


def sql_shapes() -> Sequence[tuple[int, int]]:
    """Every Cloud SQL dedicated-core shape, (vCPUs, memory MB), smallest first."""
    return _sql_shapes()


@functools.cache
def _sql_ranges() -> tuple[tuple[int, int, int], ...]:
    """(vCPUs, least memory MB, most memory MB) of each dedicated-core vCPU count."""
    out = []
    for vcpus in _SQL_VCPUS:
        low = max(_SQL_MIN_MB, _round_up(vcpus * 9 * 1024 // 10, _MB_STEP))
        high = min(vcpus * 13 * 1024 // 2, sql.MAX_MEMORY_GB * 1024) // _MB_STEP * _MB_STEP
        out.append((vcpus, low, high))
    return tuple(out)


@functools.cache
def _sql_shapes() -> tuple[tuple[int, int], ...]:
    return tuple(
        (vcpus, mb) for vcpus, low, high in _sql_ranges() for mb in range(low, high + 1, _MB_STEP)
    )


def _round_up(value: int, step: int) -> int:
    return -(-value // step) * step


@attrs.frozen
class GcpTranslator:
    """The :class:`~atlas.portable.PortableTranslator` of the ``gcp`` provider."""

    provider: str = PROVIDER

    def regions(self) -> Sequence[Region]:
        return _regions()

    def offerings(self, kind: str, region: Region, prices: PriceLookup) -> Sequence[Offer]:
        if kind == "server":
            return self._server_offers(region.name, prices)
        if kind == "volume":
            return self._volume_offers(region.name, prices)
        if kind == "database":
            return self._database_offers(region.name, prices)
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
        for name, machine in sorted(load_machine_types().items()):
            if region not in machine.regions or name.endswith("-lssd"):
                continue
            price = prices.price(instance_sku(region, name))
            if price is not None:
                out.append(
                    Offer(
                        name,
                        price.monthly.amount,
                        vcpus=_counted_vcpus(machine),
                        memory_gb=machine.memory_gib,
                        arch=machine.arch,
                    )
                )
        return out

    def _volume_offers(self, region: str, prices: PriceLookup) -> tuple[Offer, ...]:
        return _OFFERS(
            prices, ("_volume_offers", region), lambda: self._make_volume_offers(region, prices)
        )

    def _make_volume_offers(self, region: str, prices: PriceLookup) -> list[Offer]:
        out = []
        for disk_type in _DISK_TYPES:
            price = prices.price(compute.disk_sku(region, disk_type))
            if price is not None:
                out.append(Offer(disk_type, price.monthly.amount))
        return out

    def _database_offers(self, region: str, prices: PriceLookup) -> tuple[Offer, ...]:
        return _OFFERS(
            prices, ("_database_offers", region), lambda: self._make_database_offers(region, prices)
        )

    def _make_database_offers(self, region: str, prices: PriceLookup) -> list[Offer]:
        rates = self._sql_rates(region, prices)
        if rates is None:
            return []
        return [
            _sql_offer(engine, vcpus, mb, rates)
            for engine in _SQL_ENGINES
            for vcpus, mb in _sql_shapes()
        ]

    def _load_balancer_offers(self, prices: PriceLookup) -> list[Offer]:
        price = prices.price("forwarding-rule:first-5")
        if price is None:
            return []
        return [Offer(_LB_OFFERING, price.monthly.amount)]

    @staticmethod
    def _sql_rates(region: str, prices: PriceLookup) -> tuple[Decimal, Decimal] | None:
        vcpu = prices.price(f"sql-vcpu:{region}:enterprise")
        memory = prices.price(f"sql-memory:{region}:enterprise")
        if vcpu is None or memory is None:
            return None
        return vcpu.monthly.amount, memory.monthly.amount

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
            return self._volume(res, region, prices, servers)
        if res.type == "database":
            return self._database(res, region, prices)
        if res.type == "load_balancer":
            return self._load_balancer(res, prices)
        if res.type == "firewall":
            return Refusal(
                res.name,
                "atlas has no GCP firewall kind yet, so a firewall cannot be placed on GCP",
            )
        if res.type == "network":
            return Refusal(
                res.name, "atlas has no GCP VPC network kind yet, so a network cannot be placed"
            )
        return Refusal(res.name, f"{res.type!r} is not a portable kind GCP translates")

    def _server(self, res: ResourceSpec, region: Region, prices: PriceLookup) -> Choice | Refusal:
        need: ServerNeeds = res.specifications
        wants = f"{minimums_text(need.vcpus, need.memory_gb)} ({need.arch})"
        offers = self._server_offers(region.name, prices)
        if not offers:
            return Refusal(
                res.name, f"atlas has no sourced price for a Compute Engine VM in {region.name}"
            )
        fits = meeting(offers, need.vcpus, need.memory_gb, need.arch)
        if not fits:
            return Refusal(res.name, f"no GCP machine type priced in {region.name} has {wants}")
        best = min(fits, key=by_price)
        assert best.arch is not None
        image = IMAGES.get((need.image, best.arch))
        if image is None:
            known = ", ".join(sorted({name for name, _ in IMAGES}))
            return Refusal(
                res.name, f"atlas knows no GCP image for {need.image!r} (it knows {known})"
            )
        machine = load_machine_types()[best.name]
        spec = compute.InstanceSpec(
            machine_type=best.name,
            zone=DEFAULT_ZONES.get(region.name, f"{region.name}-a"),
            image=image,
            boot_disk_size_gb=need.disk_gb,
            boot_disk_type=self._disk_type(region.name, prices),
            count=need.count,
        )
        lines = tuple(compute.INSTANCE_KIND.price(spec, prices))  # type: ignore[misc]
        shared = (
            f", shared-core: bursts to {machine.vcpus} vCPUs and counts as 1"
            if machine.shared_core
            else ""
        )
        each = usd_text(offer_monthly(best))
        times = f" each, {usd_text(priced_total(lines))} for {need.count}" if need.count > 1 else ""
        disk = self._disk_note(lines[1:], need.disk_gb)
        reason = (
            f"{best.name} ({machine.vcpus} vCPUs, {gb_text(machine.memory_gib)} GiB{shared}) is "
            f"the cheapest GCP machine type in {region.name} with {wants}, at {each} a "
            f"month{times}{disk}"
        )
        return Choice(res.name, best.name, reason, (native_doc("instance", res.name, spec),), lines)

    @staticmethod
    def _disk_note(lines: Sequence[LineItem], size: int | None) -> str:
        if not lines or size is None:
            return ""
        line = lines[0]
        if line.monthly is None:
            return f", plus a {size} GB boot disk atlas has no price for here"
        return f", plus {usd_text(line.monthly.amount)} for the {size} GB boot disk"

    def _disk_type(self, region: str, prices: PriceLookup) -> compute.DiskType:
        offers = self._volume_offers(region, prices)
        if not offers:
            return _DISK_TYPES[0]
        best = min(offers, key=by_price).name
        return next(t for t in _DISK_TYPES if t == best)

    def _volume(
        self,
        res: ResourceSpec,
        region: Region,
        prices: PriceLookup,
        servers: Mapping[str, ResourceSpec],
    ) -> Choice | Refusal:
        need: VolumeNeeds = res.specifications
        offers = self._volume_offers(region.name, prices)
        if not offers:
            return Refusal(
                res.name, f"atlas has no sourced price for Persistent Disk in {region.name}"
            )
        server = servers.get(need.attach_to) if need.attach_to else None
        if server is not None and server.specifications.count > 1:
            return Refusal(
                res.name,
                f"a Persistent Disk attaches to one instance, and {need.attach_to!r} has "
                f"{server.specifications.count}",
            )
        best = min(offers, key=by_price)
        spec = compute.DiskSpec(
            size_gb=need.size_gb,
            type=next(t for t in _DISK_TYPES if t == best.name),
            zone=DEFAULT_ZONES.get(region.name, f"{region.name}-a"),
            attach_to=need.attach_to,
        )
        lines = tuple(compute.DISK_KIND.price(spec, prices))  # type: ignore[misc]
        total = monthly_total(lines)
        assert total is not None
        reason = (
            f"{best.name} is the cheapest Persistent Disk type in {region.name} at "
            f"{offer_monthly(best)} USD per GB-month: {usd_text(total)} a month for "
            f"{need.size_gb} GB"
        )
        return Choice(res.name, best.name, reason, (native_doc("disk", res.name, spec),), lines)

    def _database(self, res: ResourceSpec, region: Region, prices: PriceLookup) -> Choice | Refusal:
        need: DatabaseNeeds = res.specifications
        title = f"{_ENGINE_TITLES[need.engine]} {need.version}"
        version = _SQL_VERSIONS.get(f"{need.engine}:{need.version}")
        if version is None:
            return Refusal(
                res.name,
                f"atlas's Cloud SQL kind offers PostgreSQL 15 and MySQL 8.0, not {title}",
            )
        if need.nodes > 1:
            return Refusal(
                res.name,
                f"atlas's Cloud SQL kind has no standby (high availability) yet, so "
                f"{need.nodes} nodes cannot be offered",
            )
        rates = self._sql_rates(region.name, prices)
        if rates is None:
            return Refusal(res.name, f"atlas has no sourced price for Cloud SQL in {region.name}")
        wants = minimums_text(need.vcpus, need.memory_gb)
        best = self._sql_tier(need, rates)
        if best is None:
            return Refusal(res.name, f"no Cloud SQL Enterprise tier has {wants}")
        tier = best.name.split()[0]
        spec = sql.SqlInstanceSpec(
            database_version=version,  # type: ignore[arg-type]
            tier=tier,
            storage_gb=need.storage_gb,
        )
        lines = tuple(sql.KIND.price(spec, prices))  # type: ignore[misc]
        storage = lines[-1]
        extra = (
            f", plus {need.storage_gb} GB of storage atlas has no price for"
            if storage.monthly is None
            else f", plus {usd_text(storage.monthly.amount)} for {need.storage_gb} GB of storage"
        )
        reason = (
            f"{tier} ({shape_text(best)}) "
            f"is the smallest Cloud SQL Enterprise tier for {title} with {wants}, at "
            f"{usd_text(offer_monthly(best))} a month{extra}"
        )
        return Choice(
            res.name, best.name, reason, (native_doc("sql_instance", res.name, spec),), lines
        )

    @staticmethod
    def _sql_tier(need: DatabaseNeeds, rates: tuple[Decimal, Decimal]) -> Offer | None:
        """The cheapest shape meeting the minimums: for each vCPU count, its least memory
        that is enough (the rates are per vCPU and per GB, so that is its cheapest)."""
        wanted_mb = _round_up(math.ceil(need.memory_gb * 1024), _MB_STEP)
        best: Offer | None = None
        for vcpus, low, high in _sql_ranges():
            mb = max(low, wanted_mb)
            if vcpus < need.vcpus or mb > high:
                continue
            offer = _sql_offer(need.engine, vcpus, mb, rates)
            if best is None or by_price(offer) < by_price(best):
                best = offer
        return best

    def _load_balancer(self, res: ResourceSpec, prices: PriceLookup) -> Choice | Refusal:
        need: LoadBalancerNeeds = res.specifications
        tcp = [str(listener.port) for listener in need.listeners if listener.protocol == "tcp"]
        if tcp:
            return Refusal(
                res.name,
                f"GCP's load_balancer kind is an external Application Load Balancer (http and "
                f"https); a tcp listener (port {', '.join(tcp)}) needs a network load "
                "balancer, which atlas does not model",
            )
        if not self._load_balancer_offers(prices):
            return Refusal(res.name, "atlas has no sourced price for GCP forwarding rules")
        spec = network.LoadBalancerSpec(forwarding_rules=len(need.listeners), targets=need.targets)
        lines = tuple(network.KIND.price(spec, prices))  # type: ignore[misc]
        total = monthly_total(lines)
        assert total is not None
        listens = ", ".join(f"{li.protocol} {li.port}" for li in need.listeners)
        rules = len(need.listeners)
        reason = (
            f"an external Application Load Balancer with {rules} forwarding rule"
            f"{'s' if rules > 1 else ''} (one per listener: {listens}) is GCP's offering, at "
            f"{usd_text(total)} a month before data processing, which depends on traffic"
        )
        doc = native_doc("load_balancer", res.name, spec)
        return Choice(res.name, _LB_OFFERING, reason, (doc,), lines)


@functools.cache
def _regions() -> tuple[Region, ...]:
    catalog = load_price_catalog()
    types = load_machine_types()
    out = []
    for name in catalog_regions():
        features = set()
        if any(t.arch == "arm64" and name in t.regions for t in types.values()):
            features.add("arm64")
        if all(
            catalog.price(f"sql-{part}:{name}:enterprise") is not None
            for part in ("vcpu", "memory")
        ):
            features |= {"managed-postgres", "managed-mysql"}
        out.append(Region(name, _group(name), frozenset(features), _TITLES.get(name, "")))
    return tuple(out)
