"""Toy clouds with portable translators, for the resolver's tests.

``alpha`` and ``beta`` each have kinds ``vm``, ``disk``, ``pg``, ``lb`` and ``net`` and a
catalog whose prices depend on the region (SKUs keyed by it); each translator keeps the
contract's rules (the kit's checker proves it). ``gamma`` is a provider with no translator.
Prices are made up, as round numbers to check by hand.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from atlas import Money, Price, PriceCatalog, ProviderInfo, ResourceKind, hookimpl, spec_field
from atlas.cost import PriceLookup
from atlas.cost.catalog import Source
from atlas.cost.estimate import LineItem
from atlas.exceptions import Problem, ProviderOperationError
from atlas.model.infrastructure import ResourceSpec
from atlas.plugins import get_plugin_manager
from atlas.portable import (
    Choice,
    PortableTranslator,
    Refusal,
    Region,
    Translation,
    TranslationRequest,
)
from atlas.portable.contract import Offer
from atlas.portable.kinds import DatabaseNeeds, LoadBalancerNeeds, ServerNeeds, VolumeNeeds
from atlas.providers.contract import Provider, ProviderConfig
from atlas.providers.declarations import CheckContext
from atlas.providers.registry import ProviderRegistry


@attrs.frozen
class VmSpec:
    size: str = spec_field(doc="Size.")
    count: int = spec_field(default=1, doc="How many.")


@attrs.frozen
class DiskSpec:
    size_gb: int = spec_field(doc="GB.")
    vm: str | None = spec_field(default=None, ref="vm", doc="Attached to.")


@attrs.frozen
class PgSpec:
    size: str = spec_field(doc="Size.")
    version: str = spec_field(doc="Major version.")
    storage_gb: int = spec_field(default=10, doc="GB.")


@attrs.frozen
class LbSpec:
    vms: tuple[str, ...] = spec_field(factory=tuple, ref="vm", doc="Targets.")
    net: str | None = spec_field(default=None, ref="net", doc="Its network.")


@attrs.frozen
class NetSpec:
    cidr: str = spec_field(doc="Range.")


#: Sizes: name -> (vcpus, memory GB, arch, monthly base).
SIZES = {
    "small": (1, Decimal(2), "x86_64", Decimal(10)),
    "medium": (2, Decimal(4), "x86_64", Decimal(20)),
    "arm-medium": (2, Decimal(4), "arm64", Decimal(16)),
    "large": (4, Decimal(8), "x86_64", Decimal(40)),
    "twin": (4, Decimal(8), "x86_64", Decimal(40)),  # ties with large: the name decides
}
PG_SIZES = {"pg-small": (1, Decimal(2), Decimal(15)), "pg-large": (2, Decimal(8), Decimal(60))}
PG_VERSIONS = ("14", "15", "16")


@attrs.frozen
class Cloud:
    name: str
    regions: tuple[Region, ...]
    #: Price factor per region.
    factors: Mapping[str, Decimal]
    currency: str = "USD"

    def catalog(self) -> PriceCatalog:
        prices: dict[str, Price] = {}

        def add(sku: str, monthly: Decimal, unit: str) -> None:
            amount = Money(monthly, self.currency)
            hourly = Money((monthly / 730).quantize(Decimal("0.0001")), self.currency)
            prices[sku] = Price(sku, amount, hourly, unit, "made-up")

        for region in self.regions:
            f, r = self.factors[region.name], region.name
            for size, (_, _, _, base) in SIZES.items():
                add(f"vm:{r}:{size}", base * f, "vm")
            for size, (_, _, base) in PG_SIZES.items():
                add(f"pg:{r}:{size}", base * f, "node")
            add(f"disk:{r}", Decimal("0.10") * f, "GB")
            add(f"pgdisk:{r}", Decimal("0.20") * f, "GB")
            add(f"lb:{r}", Decimal(12) * f, "lb")
            add(f"net:{r}", Decimal(0), "network")
        source = Source("made-up", "Made up for atlas's tests", "https://example.invalid")
        return PriceCatalog(
            provider=self.name,
            currency=self.currency,
            effective_date=dt.date(2026, 1, 1),
            hours_per_month=730,
            sources={"made-up": source},
            prices=prices,
            origin=f"toy:{self.name}",
        )


def _price_vm(spec: VmSpec, lookup: PriceLookup) -> Sequence[LineItem]:
    return [lookup.line(f"VM {spec.size}", f"vm:{lookup.region}:{spec.size}", spec.count)]


def _price_disk(spec: DiskSpec, lookup: PriceLookup) -> Sequence[LineItem]:
    return [lookup.line(f"Disk {spec.size_gb} GB", f"disk:{lookup.region}", spec.size_gb)]


def _price_pg(spec: PgSpec, lookup: PriceLookup) -> Sequence[LineItem]:
    return [
        lookup.line(f"PostgreSQL {spec.size}", f"pg:{lookup.region}:{spec.size}"),
        lookup.line(f"Storage {spec.storage_gb} GB", f"pgdisk:{lookup.region}", spec.storage_gb),
    ]


def _price_lb(_spec: LbSpec, lookup: PriceLookup) -> Sequence[LineItem]:
    return [lookup.line("Load balancer", f"lb:{lookup.region}")]


def _price_net(_spec: NetSpec, lookup: PriceLookup) -> Sequence[LineItem]:
    return [lookup.line("Network", f"net:{lookup.region}")]


class ToyTranslator:
    """Translates server, volume, database and load_balancer; refuses firewall and network
    (``beta`` translates network too)."""

    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud

    @property
    def provider(self) -> str:
        return self.cloud.name

    def regions(self) -> Sequence[Region]:
        return self.cloud.regions

    def offerings(self, kind: str, region: Region, prices: PriceLookup) -> Sequence[Offer]:
        r = region.name

        def monthly(sku: str) -> Decimal | None:
            price = prices.price(sku)
            return price.monthly.amount if price is not None else None

        if kind == "server":
            arm = "arm64" in region.features
            return [
                Offer(n, monthly(f"vm:{r}:{n}"), v, m, a)
                for n, (v, m, a, _) in SIZES.items()
                if arm or a != "arm64"
            ]
        if kind == "database":
            return [
                Offer(n, monthly(f"pg:{r}:{n}"), v, m, engine="postgres", versions=PG_VERSIONS)
                for n, (v, m, _) in PG_SIZES.items()
            ]
        if kind == "volume":
            return [Offer("disk", monthly(f"disk:{r}"), max_gb=4096)]
        if kind == "load_balancer":
            return [Offer("lb", monthly(f"lb:{r}"))]
        return []

    def translate(self, request: TranslationRequest) -> Translation:
        choices: list[Choice] = []
        refusals: list[Refusal] = []
        support: list[dict[str, Any]] = []
        # Like resources get like answers: each distinct need (references aside) is worked
        # out once a call, and the answer given again with the resource's own names.
        memo: dict[tuple[str, Any], Choice | Refusal] = {}
        for res in request.resources:
            key = (res.type, _need(res.specifications))
            answer = memo.get(key)
            if answer is None:
                answer = memo[key] = self._one(res, request, support)
            else:
                answer = _again(answer, res)
            (choices if isinstance(answer, Choice) else refusals).append(answer)
        lines = _lines(request, support)
        return Translation(tuple(choices), tuple(refusals), tuple(support), lines)

    def _one(  # noqa: PLR0911 - one answer per portable kind
        self, res: ResourceSpec, request: TranslationRequest, support: list[dict[str, Any]]
    ) -> Choice | Refusal:
        p, kinds = request.prices, _KINDS[self.provider]
        if res.type == "server":
            return self._server(res, res.specifications, request)
        if res.type == "volume":
            vol: VolumeNeeds = res.specifications
            if vol.size_gb > 4096:
                return Refusal(res.name, "disks are at most 4096 GB")
            doc = _doc("disk", res.name, size_gb=vol.size_gb, vm=vol.attach_to)
            return _choice(res.name, "disk", "Block storage by the GB.", doc, kinds, p)
        if res.type == "database":
            return self._database(res, res.specifications, request)
        if res.type == "load_balancer":
            if not any(s["name"] == "lb-net" for s in support):
                support.append(_doc("net", "lb-net", cidr="10.9.0.0/16"))
            doc = _doc("lb", res.name, vms=list(res.specifications.targets), net="lb-net")
            return _choice(res.name, "lb", "The one load balancer.", doc, kinds, p)
        if res.type == "network" and self.provider == "beta":
            doc = _doc("net", res.name, cidr=res.specifications.ip_range)
            return _choice(res.name, "net", "A network.", doc, kinds, p)
        return Refusal(res.name, f"{self.provider} has no {res.type.replace('_', ' ')}s")

    def _server(
        self, res: ResourceSpec, need: ServerNeeds, request: TranslationRequest
    ) -> Choice | Refusal:
        if need.arch == "arm64" and "arm64" not in request.region.features:
            return Refusal(res.name, f"no arm64 servers in {request.region.name}")
        offers = [
            o
            for o in self.offerings("server", request.region, request.prices)
            if (o.vcpus or 0) >= need.vcpus
            and (o.memory_gb or 0) >= need.memory_gb
            and need.arch in {"any", o.arch}
        ]
        if not offers:
            return Refusal(res.name, f"no size has {need.vcpus} vCPUs and {need.memory_gb} GB")
        best = min(offers, key=lambda o: (o.monthly or 0, o.vcpus or 0, o.memory_gb or 0, o.name))
        doc = _doc("vm", res.name, size=best.name, count=need.count)
        why = f"{best.name} is the cheapest size with at least {need.vcpus} vCPUs"
        return _choice(res.name, best.name, why, doc, _KINDS[self.provider], request.prices)

    def _database(
        self, res: ResourceSpec, need: DatabaseNeeds, request: TranslationRequest
    ) -> Choice | Refusal:
        if need.engine != "postgres" or need.version not in PG_VERSIONS:
            return Refusal(res.name, f"only PostgreSQL {', '.join(PG_VERSIONS)}")
        offers = [
            o
            for o in self.offerings("database", request.region, request.prices)
            if (o.vcpus or 0) >= need.vcpus and (o.memory_gb or 0) >= need.memory_gb
        ]
        if not offers:
            return Refusal(res.name, "no database size is that large")
        best = min(offers, key=lambda o: (o.monthly or 0, o.vcpus or 0, o.memory_gb or 0, o.name))
        doc = _doc("pg", res.name, size=best.name, version=need.version, storage_gb=need.storage_gb)
        why = f"{best.name} is the cheapest PostgreSQL size that fits"
        return _choice(res.name, best.name, why, doc, _KINDS[self.provider], request.prices)


def _need(specs: Any) -> Any:
    """What a choice depends on: the specification without its references."""
    if type(specs) is VolumeNeeds:
        return specs.size_gb
    if type(specs) is LoadBalancerNeeds:
        return specs.listeners, specs.network
    return specs


def _again(answer: Choice | Refusal, res: ResourceSpec) -> Choice | Refusal:
    """``answer`` for another resource of the same need: its name, and its references."""
    if isinstance(answer, Refusal):
        return Refusal(res.name, answer.reason)
    first = answer.resources[0]
    specs = dict(first["specifications"])
    if isinstance(res.specifications, VolumeNeeds):
        specs["vm"] = res.specifications.attach_to
    elif isinstance(res.specifications, LoadBalancerNeeds):
        specs["vms"] = list(res.specifications.targets)
    doc = {"type": first["type"], "name": res.name, "specifications": specs}
    return Choice(res.name, answer.offering, answer.reason, (doc,), answer.line_items)


def _doc(kind: str, name: str, **specs: Any) -> dict[str, Any]:
    return {"type": kind, "name": name, "specifications": specs}


def _priced(doc: Mapping[str, Any], kinds: Mapping[str, ResourceKind], p: PriceLookup) -> Any:
    kind = kinds[doc["type"]]
    spec = kind.spec_class(**{k: v for k, v in doc["specifications"].items() if v is not None})
    assert kind.price is not None
    return tuple(kind.price(spec, p))


def _choice(
    name: str,
    offering: str,
    reason: str,
    doc: dict[str, Any],
    kinds: Mapping[str, ResourceKind],
    p: PriceLookup,
) -> Choice:
    return Choice(name, offering, reason, (doc,), _priced(doc, kinds, p))


def _lines(request: TranslationRequest, support: list[dict[str, Any]]) -> tuple[LineItem, ...]:
    kinds = _KINDS[request.provider]
    return tuple(li for doc in support for li in _priced(doc, kinds, request.prices))


def _check_vm(res: ResourceSpec, _ctx: CheckContext) -> Iterator[Problem]:
    if res.specifications.size not in SIZES:
        yield Problem("specifications.size", f"no size {res.specifications.size!r}")


def _kinds(provider: str) -> dict[str, ResourceKind]:
    return {
        k.type: k
        for k in (
            ResourceKind(provider, "vm", VmSpec, "A VM.", price=_price_vm, check=_check_vm),
            ResourceKind(provider, "disk", DiskSpec, "A disk.", price=_price_disk),
            ResourceKind(provider, "pg", PgSpec, "PostgreSQL.", price=_price_pg),
            ResourceKind(provider, "lb", LbSpec, "A load balancer.", price=_price_lb),
            ResourceKind(provider, "net", NetSpec, "A network.", price=_price_net),
        )
    }


class _Kinds(dict[str, dict[str, ResourceKind]]):
    """The kinds of each toy cloud, by its name, made when first asked for."""

    def __missing__(self, provider: str) -> dict[str, ResourceKind]:
        made = self[provider] = _kinds(provider)
        return made


_KINDS = _Kinds()

ALPHA = Cloud(
    "alpha",
    (
        Region("a-eu1", "eu", frozenset({"ipv6"})),
        Region("a-us1", "us", frozenset({"ipv6", "arm64"})),
        Region("a-eu2", "eu"),
    ),
    {"a-eu1": Decimal(1), "a-us1": Decimal("0.9"), "a-eu2": Decimal(1)},
)
BETA = Cloud(
    "beta",
    (Region("b-us", "us", frozenset({"arm64"})), Region("b-eu", "eu", frozenset({"ipv6"}))),
    {"b-eu": Decimal(1), "b-us": Decimal("0.8")},
)
GAMMA = Cloud("gamma", (Region("g-1", "eu"),), {"g-1": Decimal(1)})


def _no_live_side(config: ProviderConfig) -> Provider:
    del config
    raise ProviderOperationError("a toy cloud: tests never provision on it")


class ToyClouds:
    """Registers ``clouds`` (alpha, beta and gamma by default), their kinds and catalogs, and
    the translators of ``translated`` (default: every cloud but gamma). They estimate only,
    unless ``live``: then they have a factory (that refuses to build), so that plans place on
    them as on a provider that can provision."""

    def __init__(
        self,
        *,
        translated: Sequence[Cloud] | None = None,
        clouds: Sequence[Cloud] = (ALPHA, BETA, GAMMA),
        live: bool = False,
    ) -> None:
        self.clouds = tuple(clouds)
        chosen = [c for c in clouds if c is not GAMMA] if translated is None else translated
        self.translated = {c.name: c for c in chosen}
        self.live = live

    @hookimpl
    def atlas_add_providers(self) -> Sequence[ProviderInfo]:
        return [
            ProviderInfo(
                name=c.name,
                title=f"{c.name.title()} Cloud",
                package=f"atlas-{c.name}",
                factory=_no_live_side if self.live else None,
            )
            for c in self.clouds
        ]

    @hookimpl
    def atlas_add_resource_kinds(self) -> Sequence[ResourceKind]:
        return [k for c in self.clouds for k in _KINDS[c.name].values()]

    @hookimpl
    def atlas_add_price_catalogs(self) -> Sequence[PriceCatalog]:
        return [c.catalog() for c in self.clouds]

    @hookimpl
    def atlas_portable_translator(self, provider: str) -> PortableTranslator | None:
        cloud = self.translated.get(provider)
        return ToyTranslator(cloud) if cloud is not None else None


def toy_registry(
    *extra: object,
    translated: Sequence[Cloud] | None = None,
    clouds: Sequence[Cloud] = (ALPHA, BETA, GAMMA),
) -> ProviderRegistry:
    plugin = ToyClouds(translated=translated, clouds=clouds)
    pm = get_plugin_manager(plugins=[plugin, *extra], autoload=False)
    return ProviderRegistry.from_plugin_manager(pm)


def many_clouds(providers: int, regions: int) -> tuple[Cloud, ...]:
    """``providers`` toy clouds of ``regions`` regions each, prices differing by region."""
    groups = ("eu", "us", "asia")
    return tuple(
        Cloud(
            f"toy{p}",
            tuple(Region(f"t{p}-r{r}", groups[r % 3], frozenset({"ipv6"})) for r in range(regions)),
            {f"t{p}-r{r}": Decimal(100 + (p * 7 + r * 13) % 50) / 100 for r in range(regions)},
        )
        for p in range(providers)
    )
