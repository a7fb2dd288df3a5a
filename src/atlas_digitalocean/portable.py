"""DigitalOcean's translator of portable kinds (:mod:`atlas.portable.contract`).

``server`` → ``droplet``, ``volume`` → ``volume``, ``database`` → ``database``,
``load_balancer`` → ``load_balancer``, ``firewall`` → ``firewall``, ``network`` → ``vpc``:
each native resource keeps the portable resource's name, so references (a volume's
``attach_to``, a load balancer's targets) carry over as they are. Offerings come from the
plugin's offline data (``data/prices.toml`` for what is priced, ``data/offerings.toml`` for
regions, images, disks and database engines); every choice is priced by the native kind's own
pricer, so its line items are what ``atlas estimate`` of the translated spec gives.

Loaded by the ``atlas_portable_translator`` hook only when a spec has portable resources.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from atlas.cost.estimate import LineItem, PriceLookup
from atlas.model.infrastructure import ResourceSpec
from atlas.portable.contract import (
    Choice,
    Refusal,
    Region,
    Translation,
    TranslationRequest,
    monthly_total,
)
from atlas.portable.helpers import (
    DetailedOffer,
    DocPricer,
    biggest,
    cheapest,
    dollars_text,
    meeting,
    minimums_text,
    reference_fields,
    shape_text,
)
from atlas.portable.kinds import (
    DatabaseNeeds,
    FirewallNeeds,
    FirewallRule,
    LoadBalancerNeeds,
    NetworkNeeds,
    ServerNeeds,
    VolumeNeeds,
)
from atlas_digitalocean.prices import load_offerings
from atlas_digitalocean.resources import KINDS
from atlas_digitalocean.resources.firewall import MAX_DROPLETS, MAX_RULES

__all__ = ["ENGINES", "DigitalOceanTranslator", "droplet_image"]


PROVIDER = "digitalocean"
#: Portable engine → DigitalOcean's engine name.
ENGINES: Mapping[str, str] = {"postgres": "pg", "mysql": "mysql"}
_TITLES = {"postgres": "PostgreSQL", "mysql": "MySQL"}
#: Sizes that cannot have standby nodes (DigitalOcean's standby glossary entry).
_ONE_NODE_ONLY = frozenset({"db-s-1vcpu-1gb"})
#: vCPUs and memory are in every size slug DigitalOcean names: s-2vcpu-4gb, db-s-1vcpu-2gb,
#: s-1vcpu-512mb-10gb.
_SLUG = re.compile(r"(\d+)vcpu-(\d+)(gb|mb)")
_EVERY_PROTOCOL = ("tcp", "udp", "icmp")
_EVERYWHERE = ("0.0.0.0/0", "::/0")
_KINDS = {kind.type: kind for kind in KINDS}
_REFS = reference_fields(KINDS)


def droplet_image(name: str) -> str:
    """The public image slug for an OS name: ``ubuntu-24.04`` → ``ubuntu-24-04-x64``."""
    return f"{name.replace('.', '-')}-x64"


def size_shape(slug: str) -> tuple[int, Decimal] | None:
    """(vCPUs, memory in GB) of a droplet or database size slug, or ``None``."""
    match = _SLUG.search(slug)
    if match is None:
        return None
    memory = Decimal(match[2]) / (1024 if match[3] == "mb" else 1)
    return int(match[1]), memory


class DigitalOceanTranslator:
    """Translates portable resources into DigitalOcean's kinds (see the module docstring)."""

    @property
    def provider(self) -> str:
        return PROVIDER

    def regions(self) -> Sequence[Region]:
        offer = load_offerings()
        out = []
        for place in offer.portable_regions:
            if place.closed:
                continue  # placement makes new resources, which a closed region refuses
            features = set(offer.features_everywhere)
            for engine, word in (("pg", "managed-postgres"), ("mysql", "managed-mysql")):
                known = offer.database_engines.get(engine)
                if known is not None and place.slug in known.regions:
                    features.add(word)
            out.append(Region(place.slug, place.group, frozenset(features), place.title))
        return tuple(out)

    def offerings(self, kind: str, region: Region, prices: PriceLookup) -> Sequence[DetailedOffer]:
        if kind == "server":
            return _droplet_offers(prices)
        if kind == "database":
            return _database_offers(region, prices)
        if kind == "volume":
            price = prices.price("volume:gib")
            return (
                () if price is None else (DetailedOffer("volume", price.monthly.amount, unit="GB"),)
            )
        if kind == "load_balancer":
            price = prices.price("load_balancer:node")
            return () if price is None else (DetailedOffer("size_unit-1", price.monthly.amount),)
        return ()

    def translate(self, request: TranslationRequest) -> Translation:
        work = _Work(self, request)
        choices: list[Choice] = []
        refusals: list[Refusal] = []
        for res in request.resources:
            outcome = work.one(res)
            if isinstance(outcome, Choice):
                choices.append(outcome)
            else:
                refusals.append(outcome)
        return Translation(tuple(choices), tuple(refusals))


def _droplet_offers(prices: PriceLookup) -> tuple[DetailedOffer, ...]:
    disks = load_offerings().droplet_disk_gb
    catalog = prices.catalog
    offers = []
    for slug in catalog.variants("droplet") if catalog else ():
        price, shape = prices.price(f"droplet:{slug}"), size_shape(slug)
        if price is None or shape is None:
            continue
        vcpus, memory = shape
        offers.append(
            DetailedOffer(
                slug, price.monthly.amount, unit="droplet", vcpus=vcpus, memory_gb=memory,
                arch="x86_64", disk_gb=disks.get(slug),
            )
        )  # fmt: skip
    return tuple(offers)


def _database_offers(region: Region, prices: PriceLookup) -> tuple[DetailedOffer, ...]:
    offer = load_offerings()
    engines = frozenset(
        f"{portable}:{version}"
        for portable, native in ENGINES.items()
        if (known := offer.database_engines.get(native)) is not None
        and region.name in known.regions
        for version in known.versions
    )
    if not engines:
        return ()
    catalog = prices.catalog
    out = []
    for slug in catalog.variants("database") if catalog else ():
        price, shape = prices.price(f"database:{slug}"), size_shape(slug)
        if price is None or shape is None:
            continue
        included = offer.database_storage_gib.get(slug)
        out.append(
            DetailedOffer(
                slug, price.monthly.amount, unit="node", vcpus=shape[0], memory_gb=shape[1],
                arch="x86_64", engines=engines,
                nodes=(1,) if slug in _ONE_NODE_ONLY else (1, 2, 3),
                storage_gb=None if included is None else (included, included),
            )
        )  # fmt: skip
    return tuple(out)


def monthly_of(lines: Sequence[LineItem]) -> str:
    """What ``lines`` cost a month, or "an unknown price a month" when one has no price."""
    total = monthly_total(lines)
    return "an unknown price a month" if total is None else f"{dollars_text(total)} a month"


class _Work:
    """One translation: the request, and the offerings looked up once for all resources."""

    def __init__(self, translator: DigitalOceanTranslator, request: TranslationRequest) -> None:
        self.translator = translator
        self.request = request
        self.region = request.region
        self.prices = request.prices
        self.price_docs = DocPricer(request.prices, _KINDS, _REFS)
        self.by_name = {res.name: res for res in request.resources}
        self._offers: dict[str, Sequence[DetailedOffer]] = {}

    def offers(self, kind: str) -> Sequence[DetailedOffer]:
        """The offerings of ``kind``, cheapest first (:func:`cheapest`), looked up once."""
        if kind not in self._offers:
            found = self.translator.offerings(kind, self.region, self.prices)
            self._offers[kind] = cheapest(found)
        return self._offers[kind]

    def one(self, res: ResourceSpec) -> Choice | Refusal:
        needs = res.specifications
        by_kind: dict[type, Callable[[str, Any], Choice | Refusal]] = {
            ServerNeeds: self.server,
            VolumeNeeds: self.volume,
            DatabaseNeeds: self.database,
            LoadBalancerNeeds: self.load_balancer,
            FirewallNeeds: self.firewall,
            NetworkNeeds: self.network,
        }
        translate = by_kind.get(type(needs))
        if translate is None:
            return Refusal(res.name, f"DigitalOcean has no translation for a {res.type!r}")
        outcome: Choice | Refusal = translate(res.name, needs)
        return outcome

    def choice(
        self, name: str, offering: str, reason: str, docs: Sequence[Mapping[str, Any]]
    ) -> Choice:
        return Choice(name, offering, reason, tuple(docs), self.price_docs(docs))

    def count(self, name: str) -> int:
        res = self.by_name.get(name)
        return int(getattr(res.specifications, "count", 1)) if res is not None else 1

    # -- the kinds ----------------------------------------------------------------------------

    def server(self, name: str, needs: ServerNeeds) -> Choice | Refusal:
        offers = self.offers("server")
        if needs.arch == "arm64":
            return Refusal(
                name,
                f"DigitalOcean has no arm64 droplets: all {len(offers)} sizes atlas knows are "
                "x86_64 (ask for arch x86_64 or any)",
            )
        image = droplet_image(needs.image)
        if image not in load_offerings().images:
            return Refusal(
                name,
                f"DigitalOcean has no public image for {needs.image} in atlas's offline list "
                f"(no {image})",
            )
        want = minimums_text(needs.vcpus, needs.memory_gb)
        if needs.disk_gb is not None:
            want += f" and {needs.disk_gb} GB of disk"
        fitting = [  # the offers are cheapest first already
            o
            for o in meeting(offers, needs.vcpus, needs.memory_gb)
            if needs.disk_gb is None or (o.disk_gb or 0) >= needs.disk_gb
        ]
        if not fitting:
            if not offers:
                return Refusal(name, f"atlas knows no priced droplet size in {self.region.name}")
            top = biggest(offers)
            return Refusal(
                name,
                f"no DigitalOcean droplet size has {want}: the biggest of the {len(offers)} "
                f"atlas knows is {top.name} ({shape_text(top)}, {top.disk_gb} GB disk)",
            )
        best = fitting[0]
        spec: dict[str, Any] = {"size": best.name, "image": image}
        if needs.count > 1:
            spec["count"] = needs.count
        if needs.network is not None:
            spec["vpc"] = needs.network
        docs = [{"type": "droplet", "name": name, "specifications": spec}]
        choice = self.choice(name, best.name, "", docs)
        each = f"{dollars_text(best.monthly)} a month"
        if needs.count > 1:
            each += f" each, {monthly_of(choice.line_items)} for {needs.count}"
        reason = (
            f"cheapest of {len(fitting)} droplet sizes with {want}: {best.name}, "
            f"{shape_text(best)}, {best.disk_gb} GB disk, {each}"
        )
        return _with_reason(choice, reason)

    def volume(self, name: str, needs: VolumeNeeds) -> Choice | Refusal:
        if needs.attach_to is not None and self.count(needs.attach_to) > 1:
            return Refusal(
                name,
                f"server {needs.attach_to!r} has count {self.count(needs.attach_to)}; a "
                "DigitalOcean volume attaches to one droplet",
            )
        spec: dict[str, Any] = {"size_gigabytes": needs.size_gb}
        if needs.attach_to is not None:
            spec["attach_to"] = needs.attach_to
        docs = [{"type": "volume", "name": name, "specifications": spec}]
        choice = self.choice(name, "volume", "", docs)
        offers = self.offers("volume")
        per = (
            f"{dollars_text(offers[0].monthly)} per GB a month"
            if offers
            else "an unknown price per GB"
        )
        reason = (
            f"block storage, the one volume type DigitalOcean has, at {per}: {needs.size_gb} GB, "
            f"{monthly_of(choice.line_items)}"
        )
        return _with_reason(choice, reason)

    def database(self, name: str, needs: DatabaseNeeds) -> Choice | Refusal:
        native = ENGINES[needs.engine]
        title = _TITLES[needs.engine]
        known = load_offerings().database_engines.get(native)
        if known is None or self.region.name not in known.regions:
            return Refusal(name, f"DigitalOcean offers no managed {title} in {self.region.name}")
        if needs.version not in known.versions:
            return Refusal(
                name,
                f"DigitalOcean offers {title} {', '.join(known.versions)}, not {needs.version} "
                "(by atlas's offline list)",
            )
        offers = self.offers("database")
        want = minimums_text(needs.vcpus, needs.memory_gb) + " a node"
        if needs.nodes > 1:
            want += f", {needs.nodes} nodes"
        shaped = [
            o for o in meeting(offers, needs.vcpus, needs.memory_gb) if needs.nodes in o.nodes
        ]
        if not shaped:
            if not offers:
                return Refusal(name, f"atlas knows no priced database size in {self.region.name}")
            top = biggest(offers)
            return Refusal(
                name,
                f"no DigitalOcean database size has {want}: the biggest atlas knows is "
                f"{top.name} ({shape_text(top)})",
            )
        stored = [o for o in shaped if o.storage_gb and o.storage_gb[1] >= needs.storage_gb]
        fitting = stored
        extra_mib = 0
        if fitting:
            best = fitting[0]
            storage = f"{best.storage_gb[0] if best.storage_gb else '?'} GB of storage included"
        else:
            # No size includes that much: the cheapest that meets the rest, with storage added
            # (DigitalOcean's storage_size_mib; atlas has no sourced price for it).
            fitting = shaped
            best = fitting[0]
            included = best.storage_gb[0] if best.storage_gb else 0
            extra_mib = (needs.storage_gb - included) * 1024
            storage = (
                f"{needs.storage_gb - included} GB of storage added to the {included} GB it "
                "includes (no size includes more)"
            )
        spec: dict[str, Any] = {
            "engine": native,
            "version": needs.version,
            "size": best.name,
            "num_nodes": needs.nodes,
        }
        if extra_mib:
            spec["storage_size_mib"] = extra_mib
        if needs.network is not None:
            spec["vpc"] = needs.network
        docs = [{"type": "database", "name": name, "specifications": spec}]
        choice = self.choice(name, best.name, "", docs)
        nodes = f" x {needs.nodes} nodes" if needs.nodes > 1 else ""
        reason = (
            f"cheapest of {len(fitting)} managed {title} {needs.version} sizes with {want} and "
            f"{needs.storage_gb} GB: {best.name}{nodes}, {shape_text(best)}, {storage}, "
            f"{monthly_of(choice.line_items)}"
        )
        return _with_reason(choice, reason)

    def load_balancer(self, name: str, needs: LoadBalancerNeeds) -> Choice | Refusal:
        rules = []
        for listener in needs.listeners:
            to = listener.target_port or listener.port
            rule: dict[str, Any] = {"entry_port": listener.port, "target_port": to}
            if listener.protocol == "https":
                # A portable listener carries no certificate: TLS goes through to the droplets.
                rule |= {"entry_protocol": "https", "target_protocol": "https"}
                rule["tls_passthrough"] = True
            else:
                rule |= {"entry_protocol": listener.protocol, "target_protocol": listener.protocol}
            rules.append(rule)
        first = needs.listeners[0].target_port or needs.listeners[0].port
        spec: dict[str, Any] = {
            "droplets": list(needs.targets),
            "forwarding_rules": rules,
            "health_check": {"protocol": "tcp", "port": first},
        }
        # A load balancer of no network of its own joins its targets' network.
        theirs = {getattr(self.by_name.get(t), "specifications", None) for t in needs.targets}
        nets = {getattr(n, "network", None) for n in theirs}
        vpc = needs.network or (nets.pop() if len(nets) == 1 else None)
        if vpc is not None:
            spec["vpc"] = vpc
        docs = [{"type": "load_balancer", "name": name, "specifications": spec}]
        choice = self.choice(name, "size_unit-1", "", docs)
        listens = ", ".join(f"{lsn.protocol} {lsn.port}" for lsn in needs.listeners)
        reason = (
            f"a regional load balancer of one node, the smallest DigitalOcean has, listening on "
            f"{listens}: {monthly_of(choice.line_items)}"
        )
        return _with_reason(choice, reason)

    def firewall(self, name: str, needs: FirewallNeeds) -> Choice | Refusal:
        if any(not rule.cidrs for rule in (*needs.inbound, *(needs.outbound or ()))):
            return Refusal(name, "a rule names no address block: it would admit nothing")
        inbound = [r for rule in needs.inbound for r in _rules(rule, "sources")]
        if needs.outbound is None:
            everything = FirewallRule(protocol="all", cidrs=_EVERYWHERE)
            outbound = _rules(everything, "destinations")
        else:
            outbound = [r for rule in needs.outbound for r in _rules(rule, "destinations")]
        if not inbound and not outbound:
            return Refusal(name, "a DigitalOcean firewall needs at least one rule; this has none")
        if len(inbound) + len(outbound) > MAX_RULES:
            return Refusal(
                name,
                f"becomes {len(inbound) + len(outbound)} DigitalOcean rules (protocol all is "
                f"three); a firewall takes {MAX_RULES}",
            )
        droplets = sum(self.count(target) for target in needs.targets)
        if droplets > MAX_DROPLETS:
            return Refusal(
                name,
                f"guards {droplets} droplets; a DigitalOcean firewall names at most {MAX_DROPLETS}",
            )
        spec = {
            "droplets": list(needs.targets),
            "inbound_rules": inbound,
            "outbound_rules": outbound,
        }
        docs = [{"type": "firewall", "name": name, "specifications": spec}]
        choice = self.choice(name, "firewall", "", docs)
        reason = (
            f"a cloud firewall of {len(inbound)} inbound and {len(outbound)} outbound rules "
            f"around {droplets} droplet{'s' if droplets != 1 else ''}: "
            f"{monthly_of(choice.line_items)}"
        )
        return _with_reason(choice, reason)

    def network(self, name: str, needs: NetworkNeeds) -> Choice | Refusal:
        docs = [{"type": "vpc", "name": name, "specifications": {"ip_range": needs.ip_range}}]
        choice = self.choice(name, "vpc", "", docs)
        reason = f"a VPC network of {needs.ip_range}: {monthly_of(choice.line_items)}"
        return _with_reason(choice, reason)


def _rules(rule: FirewallRule, ends: str) -> list[dict[str, Any]]:
    """A portable rule as DigitalOcean rules: protocol ``all`` is one rule per protocol."""
    out = []
    for protocol in _EVERY_PROTOCOL if rule.protocol == "all" else (rule.protocol,):
        doc: dict[str, Any] = {"protocol": protocol, ends: {"addresses": list(rule.cidrs)}}
        if protocol != "icmp":
            doc["ports"] = rule.ports if rule.ports is not None else "all"
        out.append(doc)
    return out


def _with_reason(choice: Choice, reason: str) -> Choice:
    return Choice(choice.resource, choice.offering, reason, choice.resources, choice.line_items)
