"""AWS's translator of portable kinds (:mod:`atlas.portable.contract`).

``server`` → ``instance``, ``volume`` → ``volume`` (gp3), ``database`` → ``db_instance``,
``load_balancer`` → ``load_balancer`` (application when every listener is plain http, else
network), ``firewall`` → ``security_group`` (and the instances it targets list it in their
``security_groups``), ``network`` → ``vpc`` plus a subnet in each of the region's first two
zones. Each native resource keeps the portable resource's name; the subnets of network ``N``
are ``N-a`` and ``N-b``.

A load balancer and a database need subnets, and a volume attached to a server needs to know
the server's zone. When the spec gives no ``network`` for them, the translation adds one:
the VPC ``portable-net`` (``10.0.0.0/16``) with the subnets ``portable-net-a`` and
``portable-net-b`` (``10.0.1.0/24`` in the region's first zone, ``10.0.2.0/24`` in its
second), in :attr:`Translation.support`; servers without a network then launch in
``portable-net-a``, so every zone is pinned: a server, and what attaches to it, are in the
first zone of its network.

Offerings come from the plugin's offline data (``data/prices.toml``, ``data/offerings.toml``),
and every choice is priced by the native kind's own pricer.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from atlas.cost.estimate import LineItem, PriceLookup
from atlas.portable.contract import Choice, Refusal, Region, Translation, TranslationRequest
from atlas.portable.helpers import (
    DetailedOffer,
    DocPricer,
    biggest,
    cheapest,
    dollars_text,
    gb_text,
    reference_fields,
    shape_text,
    vcpus_text,
)
from atlas.portable.kinds import (
    DatabaseNeeds,
    FirewallNeeds,
    FirewallRule,
    LoadBalancerNeeds,
    NetworkNeeds,
    ServerNeeds,
    VolumeNeeds,
    port_range,
)
from atlas_aws.prices import (
    Architecture,
    architecture,
    instance_sku,
    load_offerings,
    load_price_catalog,
)
from atlas_aws.resources import KINDS
from atlas_aws.resources.database import db_sku
from atlas_aws.resources.load_balancer import (
    ASSUMED_CAPACITY_UNITS,
    capacity_sku,
    hours_sku,
)

__all__ = ["SUPPORT_NETWORK", "AwsTranslator"]


PROVIDER = "aws"
#: The VPC a translation adds when what needs subnets has no network of its own.
SUPPORT_NETWORK = "portable-net"
SUPPORT_RANGE = "10.0.0.0/16"
_TITLES = {"postgres": "PostgreSQL", "mysql": "MySQL"}
#: RDS's smallest gp2/gp3 storage for PostgreSQL and MySQL.
MIN_DB_STORAGE = 20
_SHAPE = re.compile(r"\((\d+) vCPU, ([\d.]+) GiB\)")
_KINDS = {kind.type: kind for kind in KINDS}
#: The fields of each kind that name other resources.
_REFS = reference_fields(KINDS)

#: Where a server is: its network (``None``: the account's default VPC) and subnet.
Place = tuple[str | None, str | None]


class AwsTranslator:
    """Translates portable resources into AWS's kinds (see the module docstring)."""

    @property
    def provider(self) -> str:
        return PROVIDER

    def regions(self) -> Sequence[Region]:
        catalog = load_price_catalog()
        types = catalog.variants("instance")
        dbs = catalog.variants("db_instance")
        out = []
        for place in load_offerings().portable_regions:
            features = set()
            if any(t.startswith(f"{place.name}:") and architecture(t.split(":")[1]) == "arm64"
                   for t in types):  # fmt: skip
                features.add("arm64")
            for engine, word in (("postgres", "managed-postgres"), ("mysql", "managed-mysql")):
                if any(d.startswith(f"{place.name}:{engine}:") for d in dbs):
                    features.add(word)
            out.append(Region(place.name, place.group, frozenset(features), place.title))
        return tuple(out)

    def offerings(self, kind: str, region: Region, prices: PriceLookup) -> Sequence[DetailedOffer]:
        if kind == "server":
            return _instance_offers(region.name, prices)
        if kind == "database":
            return _database_offers(region.name, prices)
        if kind == "volume":
            price = prices.price(f"volume:{region.name}:gp3")
            return () if price is None else (DetailedOffer("gp3", price.monthly.amount, unit="GB"),)
        if kind == "load_balancer":
            out = []
            for lb_type in ("application", "network"):
                hours = prices.price(hours_sku(region.name, lb_type))
                units = prices.price(capacity_sku(region.name, lb_type))
                if hours is None or units is None:
                    continue
                monthly = hours.monthly.amount + units.monthly.amount * ASSUMED_CAPACITY_UNITS
                out.append(DetailedOffer(lb_type, monthly))
            return tuple(out)
        return ()

    def translate(self, request: TranslationRequest) -> Translation:
        return _Work(self, request).run()


def _instance_offers(region: str, prices: PriceLookup) -> tuple[DetailedOffer, ...]:
    catalog = prices.catalog
    out = []
    for variant in catalog.variants("instance") if catalog else ():
        where, _, itype = variant.partition(":")
        if where != region:
            continue
        price = prices.price(instance_sku(region, itype))
        shape = _SHAPE.search(price.unit) if price is not None else None
        if price is None or shape is None:
            continue
        out.append(
            DetailedOffer(
                itype, price.monthly.amount, unit="instance", vcpus=int(shape[1]),
                memory_gb=Decimal(shape[2]), arch=architecture(itype),
            )
        )  # fmt: skip
    return tuple(out)


def _database_offers(region: str, prices: PriceLookup) -> tuple[DetailedOffer, ...]:
    offer = load_offerings()
    out = []
    for engine in ("postgres", "mysql"):
        engines = frozenset(f"{engine}:{major}" for major in offer.db_versions.get(engine, {}))
        for name, (vcpus, memory) in offer.db_classes.items():
            price = prices.price(db_sku(region, engine, name))
            if price is None or not engines:
                continue
            out.append(
                DetailedOffer(
                    name, price.monthly.amount, unit=f"{engine} DB instance", vcpus=vcpus,
                    memory_gb=memory, arch="x86_64", engines=engines, nodes=(1,),
                    storage_gb=(MIN_DB_STORAGE, 65536),
                )
            )  # fmt: skip
    return tuple(out)


def monthly_of(lines: Sequence[LineItem]) -> str:
    """What ``lines`` cost a month, naming those atlas has no price for."""
    total = sum((line.monthly.amount for line in lines if line.monthly is not None), Decimal(0))
    unknown = ", ".join(line.description for line in lines if line.monthly is None)
    if not unknown:
        return f"{dollars_text(total)} a month"
    if all(line.monthly is None for line in lines):
        return f"a price atlas does not know ({unknown})"
    return f"{dollars_text(total)} a month plus {unknown}, at a price atlas does not know"


def _free_name(base: str, taken: set[str]) -> str:
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name)
    return name


class _Work:
    """One translation: where every server goes, which networks exist, then each resource."""

    def __init__(self, translator: AwsTranslator, request: TranslationRequest) -> None:
        self.translator = translator
        self.request = request
        self.region = request.region
        self.prices = request.prices
        self.price_docs = DocPricer(request.prices, _KINDS, _REFS)
        self.zones = load_offerings().zones[request.region.name]
        self.by_name = {res.name: res for res in request.resources}
        self.taken = {res.name for res in request.resources} | {r.name for r in request.native}
        self._offers: dict[str, Sequence[DetailedOffer]] = {}
        #: network name → its two subnets (zone a, zone b)
        self.subnets: dict[str, tuple[str, str]] = {}
        for res in request.resources:
            if isinstance(res.specifications, NetworkNeeds):
                self.subnets[res.name] = (
                    _free_name(f"{res.name}-a", self.taken),
                    _free_name(f"{res.name}-b", self.taken),
                )
        self.support: str | None = None
        self.networks = self._place()
        #: server → the firewalls that target it, in the spec's order
        self.guards: dict[str, list[str]] = {}
        for res in request.resources:
            if isinstance(res.specifications, FirewallNeeds):
                for target in dict.fromkeys(res.specifications.targets):
                    self.guards.setdefault(target, []).append(res.name)

    def offers(self, kind: str) -> Sequence[DetailedOffer]:
        """The offerings of ``kind``, cheapest first (:func:`cheapest`), looked up once."""
        if kind not in self._offers:
            found = self.translator.offerings(kind, self.region, self.prices)
            self._offers[kind] = cheapest(found)
        return self._offers[kind]

    def _support(self) -> str:
        if self.support is None:
            self.support = _free_name(SUPPORT_NETWORK, self.taken)
            self.subnets[self.support] = (
                _free_name(f"{self.support}-a", self.taken),
                _free_name(f"{self.support}-b", self.taken),
            )
        return self.support

    def _place(self) -> dict[str, str | None]:
        """The network of every server, load balancer and database (``None``: the default
        VPC). What needs subnets, or a known zone, and has no network goes in the support
        network, and so then do the servers that have none."""
        networks: dict[str, str | None] = {}
        servers = [r for r in self.request.resources if isinstance(r.specifications, ServerNeeds)]
        for res in servers:
            networks[res.name] = res.specifications.network
        needy = False
        for res in self.request.resources:
            needs = res.specifications
            if isinstance(needs, LoadBalancerNeeds):
                theirs = {networks.get(t) for t in needs.targets}
                own = needs.network or (theirs.pop() if len(theirs) == 1 else None)
                networks[res.name] = own
                needy = needy or own is None
                for target in needs.targets:  # servers of no network join their balancer's
                    if target in networks and networks[target] is None:
                        networks[target] = own
            elif isinstance(needs, DatabaseNeeds):
                networks[res.name] = needs.network
                needy = needy or needs.network is None
        for res in self.request.resources:  # once every server's network is known
            needs = res.specifications
            if isinstance(needs, VolumeNeeds) and needs.attach_to is not None:
                needy = needy or networks.get(needs.attach_to) is None
        if needy:
            support = self._support()
            for name, net in networks.items():
                if net is None:
                    networks[name] = support
        return networks

    def subnet_of(self, server: str) -> str | None:
        net = self.networks.get(server)
        return self.subnets[net][0] if net is not None else None

    def count(self, name: str) -> int:
        res = self.by_name.get(name)
        return int(getattr(res.specifications, "count", 1)) if res is not None else 1

    def run(self) -> Translation:
        choices: list[Choice] = []
        refusals: list[Refusal] = []
        by_kind: dict[type, Callable[[str, Any], Choice | Refusal]] = {
            ServerNeeds: self.server,
            VolumeNeeds: self.volume,
            DatabaseNeeds: self.database,
            LoadBalancerNeeds: self.load_balancer,
            FirewallNeeds: self.firewall,
            NetworkNeeds: self.network,
        }
        for res in self.request.resources:
            translate = by_kind.get(type(res.specifications))
            if translate is None:
                refusals.append(Refusal(res.name, f"AWS has no translation for a {res.type!r}"))
                continue
            outcome = translate(res.name, res.specifications)
            if isinstance(outcome, Choice):
                choices.append(outcome)
            else:
                refusals.append(outcome)
        support: list[dict[str, Any]] = []
        if self.support is not None:
            support = self._network_docs(self.support, SUPPORT_RANGE, support=True)
        return Translation(
            tuple(choices), tuple(refusals), tuple(support), self.price_docs(support)
        )

    def choice(
        self, name: str, offering: str, reason: Callable[[Sequence[LineItem]], str],
        docs: Sequence[Mapping[str, Any]],
    ) -> Choice:  # fmt: skip
        lines = self.price_docs(docs)
        return Choice(name, offering, reason(lines), tuple(docs), lines)

    # -- the kinds ----------------------------------------------------------------------------

    def server(self, name: str, needs: ServerNeeds) -> Choice | Refusal:
        aliases = load_offerings().images
        if needs.image not in aliases:
            return Refusal(
                name,
                f"AWS has no image alias {needs.image} in atlas (it has "
                f"{', '.join(sorted(aliases))})",
            )
        alias = aliases[needs.image]
        wanted: tuple[Architecture, ...] = (
            ("x86_64", "arm64") if needs.arch == "any" else (needs.arch,)
        )
        archs = tuple(arch for arch in wanted if alias.name_filter(arch) is not None)
        if not archs:
            return Refusal(name, f"{needs.image} is not published for {' or '.join(wanted)}")
        offers = self.offers("server")
        want = f"at least {vcpus_text(needs.vcpus)} and {gb_text(needs.memory_gb)} GB"
        if needs.arch != "any":
            want += f", {needs.arch}"
        fitting = [  # the offers are cheapest first already
            o
            for o in offers
            if (o.vcpus or 0) >= needs.vcpus
            and (o.memory_gb or 0) >= needs.memory_gb
            and o.arch in archs
        ]
        if not fitting:
            pool = [o for o in offers if o.arch in archs]
            if not pool:
                return Refusal(
                    name, f"atlas knows no {' or '.join(archs)} instance type in {self.region.name}"
                )
            top = biggest(pool)
            return Refusal(
                name,
                f"no AWS instance type in {self.region.name} has {want}: the biggest of the "
                f"{len(pool)} atlas knows is {top.name} ({shape_text(top)})",
            )
        best = fitting[0]
        root = needs.disk_gb or load_offerings().root_volume_gib
        spec: dict[str, Any] = {
            "instance_type": best.name,
            "image": needs.image,
            "root_volume_size": root,
        }
        if needs.count > 1:
            spec["count"] = needs.count
        subnet = self.subnet_of(name)
        if subnet is not None:
            spec["subnet"] = subnet
        groups = self.guards.get(name, [])
        if groups:
            spec["security_groups"] = groups
        docs = [{"type": "instance", "name": name, "specifications": spec}]

        def reason(lines: Sequence[LineItem]) -> str:
            each = f"{dollars_text(best.monthly)} a month" + (" each" if needs.count > 1 else "")
            total = f"for {needs.count}, " if needs.count > 1 else ""
            return (
                f"cheapest of {len(fitting)} instance types with {want}: {best.name}, "
                f"{shape_text(best)}, {best.arch}, {each}; with {root} GB gp3 root volumes, "
                f"{total}{monthly_of(lines)}"
            )

        return self.choice(name, best.name, reason, docs)

    def volume(self, name: str, needs: VolumeNeeds) -> Choice | Refusal:
        if needs.attach_to is not None and self.count(needs.attach_to) > 1:
            return Refusal(
                name,
                f"server {needs.attach_to!r} has count {self.count(needs.attach_to)}; an EBS "
                "volume attaches to one instance",
            )
        # The zone of the server's subnet (the first of its network), else the first zone.
        zone = self.zones[0]
        spec: dict[str, Any] = {"size": needs.size_gb, "volume_type": "gp3"}
        if needs.attach_to is not None:
            spec["attach_to"] = needs.attach_to
        spec["availability_zone"] = zone
        docs = [{"type": "volume", "name": name, "specifications": spec}]
        offers = self.offers("volume")
        per = (
            f"{dollars_text(offers[0].monthly)} per GB a month" if offers else "a price atlas lacks"
        )

        def reason(lines: Sequence[LineItem]) -> str:
            where = f"in {zone}" + (f", {needs.attach_to!r}'s zone" if needs.attach_to else "")
            return (
                f"EBS gp3, AWS's general-purpose SSD, at {per}: {needs.size_gb} GB {where}, "
                f"{monthly_of(lines)}"
            )

        return self.choice(name, "gp3", reason, docs)

    def database(self, name: str, needs: DatabaseNeeds) -> Choice | Refusal:
        title = _TITLES[needs.engine]
        versions = load_offerings().db_versions.get(needs.engine, {})
        if needs.version not in versions:
            return Refusal(
                name,
                f"RDS offers {title} {', '.join(versions)}, not {needs.version} (by atlas's "
                "offline list; older versions are in paid Extended Support, which atlas does "
                "not price)",
            )
        if needs.nodes > 1:
            return Refusal(
                name,
                f"{needs.nodes} nodes need standbys, and atlas's AWS db_instance is single-AZ "
                "(Multi-AZ is neither made nor priced)",
            )
        engine_key = f"{needs.engine}:{needs.version}"
        offers = [o for o in self.offers("database") if engine_key in o.engines]
        want = f"at least {vcpus_text(needs.vcpus)} and {gb_text(needs.memory_gb)} GB"
        fitting = [  # the offers are cheapest first already
            o
            for o in offers
            if (o.vcpus or 0) >= needs.vcpus and (o.memory_gb or 0) >= needs.memory_gb
        ]
        if not fitting:
            if not offers:
                return Refusal(
                    name, f"atlas knows no priced RDS {title} class in {self.region.name}"
                )
            top = biggest(offers)
            return Refusal(
                name,
                f"no RDS {title} instance class has {want}: the biggest atlas knows in "
                f"{self.region.name} is {top.name} ({shape_text(top)})",
            )
        best = fitting[0]
        net = self.networks[name]
        assert net is not None
        storage = max(needs.storage_gb, MIN_DB_STORAGE)
        spec: dict[str, Any] = {
            "engine": needs.engine,
            "engine_version": versions[needs.version],
            "instance_class": best.name,
            "allocated_storage": storage,
            "subnets": list(self.subnets[net]),
        }
        docs = [{"type": "db_instance", "name": name, "specifications": spec}]
        floor = f" (RDS's least is {MIN_DB_STORAGE})" if storage > needs.storage_gb else ""

        def reason(lines: Sequence[LineItem]) -> str:
            return (
                f"cheapest of {len(fitting)} RDS {title} {needs.version} instance classes with "
                f"{want}: {best.name}, {shape_text(best)}, {dollars_text(best.monthly)} a month, "
                "with "
                f"{storage} GB of gp3 storage{floor}: {monthly_of(lines)}"
            )

        return self.choice(name, best.name, reason, docs)

    def load_balancer(self, name: str, needs: LoadBalancerNeeds) -> Choice | Refusal:
        theirs = {self.networks.get(t) for t in needs.targets}
        net = self.networks[name]
        if len(theirs) > 1 or (theirs and net not in theirs):
            return Refusal(
                name,
                "its targets are in more than one network, or not in its own: an AWS load "
                "balancer forwards to instances of its VPC only",
            )
        assert net is not None
        plain = all(listener.protocol == "http" for listener in needs.listeners)
        lb_type = "application" if plain else "network"
        listeners = []
        for listener in needs.listeners:
            doc: dict[str, Any] = {
                "port": listener.port,
                # A portable listener carries no certificate: https goes through as TCP.
                "protocol": "HTTP" if plain else "TCP",
            }
            if listener.target_port is not None:
                doc["target_port"] = listener.target_port
            listeners.append(doc)
        spec: dict[str, Any] = {
            "type": lb_type,
            "subnets": list(self.subnets[net]),
            "listeners": listeners,
            "targets": list(needs.targets),
        }
        docs: list[dict[str, Any]] = [
            {"type": "load_balancer", "name": name, "specifications": spec}
        ]
        if plain:
            # An application load balancer admits what its security group does.
            group = _free_name(f"{name}-sg", self.taken)
            spec["security_groups"] = [group]
            ingress = [
                {"protocol": "tcp", "from_port": lsn.port, "to_port": lsn.port,
                 "cidr_blocks": ["0.0.0.0/0"]}
                for lsn in needs.listeners
            ]  # fmt: skip
            docs.append(
                {"type": "security_group", "name": group,
                 "specifications": {"vpc": net, "description": f"listeners of {name}",
                                    "ingress": ingress}}
            )  # fmt: skip
        listens = ", ".join(f"{lsn.protocol} {lsn.port}" for lsn in needs.listeners)
        why = (
            "every listener is http"
            if plain
            else "a listener is not plain http (https passes TLS through)"
        )

        def reason(lines: Sequence[LineItem]) -> str:
            return (
                f"an {lb_type} load balancer ({why}) listening on {listens}, in two zones, "
                f"{ASSUMED_CAPACITY_UNITS} capacity unit assumed: {monthly_of(lines)}"
            )

        return self.choice(name, lb_type, reason, docs)

    def firewall(self, name: str, needs: FirewallNeeds) -> Choice | Refusal:
        nets = {self.networks.get(t) for t in needs.targets}
        if len(nets) > 1:
            return Refusal(
                name,
                "its targets are in more than one network; an AWS security group is of one VPC",
            )
        net = nets.pop() if nets else None
        ingress = [r for rule in needs.inbound for r in _rules(rule)]
        egress = None if needs.outbound is None else [r for o in needs.outbound for r in _rules(o)]
        ipv6 = [
            c for rule in (*needs.inbound, *(needs.outbound or ())) for c in rule.cidrs if ":" in c
        ]
        rules = (*needs.inbound, *(needs.outbound or ()))
        if any(not rule.cidrs for rule in rules):
            return Refusal(name, "a rule names no address block: it would admit nothing")
        if ipv6:
            return Refusal(
                name,
                f"{ipv6[0]} is an IPv6 block; atlas's AWS security groups take IPv4 blocks only",
            )
        spec: dict[str, Any] = {"description": f"portable firewall {name}", "ingress": ingress}
        if net is not None:
            spec["vpc"] = net
        if egress is not None:
            spec["egress"] = egress
        docs = [{"type": "security_group", "name": name, "specifications": spec}]
        targets = ", ".join(needs.targets) or "no server"

        def reason(lines: Sequence[LineItem]) -> str:
            out = "everything out" if egress is None else f"{len(egress)} outbound rules"
            return (
                f"a security group of {len(ingress)} inbound rules and {out}, given to {targets}: "
                f"{monthly_of(lines)}"
            )

        return self.choice(name, "security_group", reason, docs)

    def network(self, name: str, needs: NetworkNeeds) -> Choice | Refusal:
        docs = self._network_docs(name, needs.ip_range)
        a, b = self.subnets[name]

        def reason(lines: Sequence[LineItem]) -> str:
            return (
                f"a VPC of {needs.ip_range} with subnets {a} in {self.zones[0]} and {b} in "
                f"{self.zones[1]}: {monthly_of(lines)}"
            )

        return self.choice(name, "vpc", reason, docs)

    def _network_docs(
        self, name: str, ip_range: str, *, support: bool = False
    ) -> list[dict[str, Any]]:
        """A VPC and its two subnets: halves of the range, or /24s in the support network."""
        if support:
            blocks = ["10.0.1.0/24", "10.0.2.0/24"]
        else:
            blocks = [str(net) for net in ipaddress.ip_network(ip_range).subnets(prefixlen_diff=1)]
        docs: list[dict[str, Any]] = [
            {"type": "vpc", "name": name, "specifications": {"cidr_block": ip_range}}
        ]
        for subnet, block, zone in zip(self.subnets[name], blocks, self.zones[:2], strict=True):
            docs.append(
                {"type": "subnet", "name": subnet,
                 "specifications": {"vpc": name, "cidr_block": block, "availability_zone": zone,
                                    "map_public_ip_on_launch": True}}
            )  # fmt: skip
        return docs


def _rules(rule: FirewallRule) -> list[dict[str, Any]]:
    """A portable rule as security group rules (IPv4 blocks)."""
    cidrs = [c for c in rule.cidrs if ":" not in c]
    if rule.protocol == "all" and rule.ports is None:
        return [{"protocol": "all", "cidr_blocks": cidrs}]
    protocols = ("tcp", "udp", "icmp") if rule.protocol == "all" else (rule.protocol,)
    out = []
    for protocol in protocols:
        if protocol == "icmp":
            low, high = -1, -1
        else:
            low, high = port_range(rule.ports) or (0, 65535)
        out.append({"protocol": protocol, "from_port": low, "to_port": high, "cidr_blocks": cidrs})
    return out
