"""AWS's translator of portable kinds: its regions, its choices (checked by brute force
against its offerings), the support network and the zones it pins, its line items (the
estimate's), its refusals, and an apply of a translated spec in the sandbox."""

from __future__ import annotations

import io
import json
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

from atlas.cli import main
from atlas.cost.estimate import PriceLookup
from atlas.plugins.manager import default_plugins
from atlas.portable.contract import (
    REGION_GROUPS,
    Choice,
    PortableTranslator,
    TranslationRequest,
)
from atlas_aws.portable import AwsTranslator
from atlas_aws.prices import load_offerings
from tests.portable_translation import (
    ACCEPTANCE,
    check_against_estimate,
    check_choice,
    concrete,
    fits_server,
    portable,
    random_server,
    region_of,
    request,
    translate,
)

AWS = AwsTranslator()


def _server(name: str = "web", **needs: Any) -> dict[str, Any]:
    return {"type": "server", "name": name, "specifications": needs}


def _docs(region: str, doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every native document of a complete translation, by name."""
    return {d["name"]: d for d in concrete("aws", region, translate(AWS, region, doc))["resources"]}


def test_the_plugin_answers_the_hook() -> None:
    plugins = default_plugins()
    found = plugins.portable_translator("aws")
    assert isinstance(found, PortableTranslator)
    assert isinstance(found, AwsTranslator)
    assert found.provider == "aws"


def test_every_region_atlas_knows_has_a_group_and_its_features() -> None:
    regions = {r.name: r for r in AWS.regions()}
    assert sorted(regions) == sorted(load_offerings().regions)
    assert all(r.group in REGION_GROUPS and r.title for r in regions.values())
    assert {n: r.group for n, r in regions.items()} == {
        "us-east-1": "us", "us-west-2": "us", "eu-west-1": "eu", "eu-central-1": "eu",
        "ap-southeast-1": "asia",
    }  # fmt: skip
    for region in regions.values():
        assert region.features == {"arm64", "managed-postgres", "managed-mysql"}


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-1", "eu-west-1"])
def test_the_acceptance_stack(region: str) -> None:
    translation = translate(AWS, region, ACCEPTANCE)
    choices = {c.resource: c for c in translation.choices}
    assert {n: c.offering for n, c in choices.items()} == {
        "web": "t3.medium", "data": "gp3", "db": "db.t3.small", "lb": "application",
    }  # fmt: skip
    docs = {d["name"]: d for c in translation.choices for d in c.resources}
    assert docs["web"]["specifications"] == {
        "instance_type": "t3.medium", "image": "ubuntu-24.04", "root_volume_size": 8,
        "count": 2, "subnet": "portable-net-a",
    }  # fmt: skip
    assert docs["db"]["specifications"] == {
        "engine": "postgres", "engine_version": "15", "instance_class": "db.t3.small",
        "allocated_storage": 20, "subnets": ["portable-net-a", "portable-net-b"],
    }  # fmt: skip
    assert docs["lb"]["specifications"]["subnets"] == ["portable-net-a", "portable-net-b"]
    assert docs["lb"]["specifications"]["security_groups"] == ["lb-sg"]
    assert docs["data"]["specifications"]["availability_zone"] == f"{region}a"
    support = {d["name"]: d for d in translation.support}
    assert sorted(support) == ["portable-net", "portable-net-a", "portable-net-b"]
    assert support["portable-net-b"]["specifications"]["availability_zone"] == f"{region}b"
    assert len(translation.support_line_items) == 3  # free, but listed
    check_against_estimate("aws", region, translation)


def test_the_acceptance_stack_is_priced_in_full_in_us_east_1() -> None:
    choices = {c.resource: c for c in translate(AWS, "us-east-1", ACCEPTANCE).choices}
    assert {n: c.monthly for n, c in choices.items()} == {
        # 2 x t3.medium (30.37) + 2 x 8 GB gp3 (0.08); 100 GB gp3; db.t3.small (26.28) +
        # 20 GB RDS gp3 (0.115); an ALB hour (16.42) + 1 LCU (5.84); its group is free.
        "web": Decimal("62.02"), "data": Decimal("8.00"), "db": Decimal("28.58"),
        "lb": Decimal("22.26"),
    }  # fmt: skip
    assert choices["web"].reason == (
        "cheapest of 43 instance types with at least 2 vCPUs and 4 GB, x86_64: t3.medium, "
        "2 vCPUs, 4 GB, x86_64, $30.37 a month each; with 8 GB gp3 root volumes, for 2, "
        "$62.02 a month"
    )


def test_the_acceptance_stack_is_priced_in_full_in_eu_west_1() -> None:
    choices = {c.resource: c for c in translate(AWS, "eu-west-1", ACCEPTANCE).choices}
    assert {n: c.monthly for n, c in choices.items()} == {
        # 2 x t3.medium (33.29) + 2 x 8 GB gp3 (0.088); 100 GB gp3; db.t3.small (28.47) +
        # 20 GB RDS gp3 (0.127); an ALB hour (18.40) + 1 LCU (5.84); its group is free.
        "web": Decimal("67.988"), "data": Decimal("8.80"), "db": Decimal("31.01"),
        "lb": Decimal("24.24"),
    }  # fmt: skip


def test_the_acceptance_stack_is_priced_in_two_regions_by_brute_force() -> None:
    """Every region where each line of the acceptance stack has a sourced price, and in each
    the cheapest offering that fits, checked against every offering of the region."""
    stack = {r["name"]: r["specifications"] for r in ACCEPTANCE["resources"]}
    web, db = stack["web"], stack["db"]
    priced = []
    for region in AWS.regions():
        translation = translate(AWS, region.name, ACCEPTANCE)
        assert translation.complete, (region.name, translation.refusals)
        choices = {c.resource: c for c in translation.choices}
        if any(c.monthly is None for c in choices.values()):
            continue
        priced.append(region.name)
        prices = request(AWS, region.name, ACCEPTANCE).prices

        def offers(kind: str, name: str = region.name, lookup: Any = prices) -> Any:
            return AWS.offerings(kind, region_of(AWS, name), lookup)

        check_choice(choices["web"], offers("server"), lambda o: fits_server(o, web))
        check_choice(
            choices["db"],
            offers("database"),
            lambda o: (
                f"postgres:{db['version']}" in o.engines
                and o.vcpus >= db["vcpus"]
                and o.memory_gb >= db["memory_gb"]
            ),
        )
        assert choices["data"].offering == "gp3"
        assert [o.name for o in offers("volume")] == ["gp3"]
        # Every listener is plain http: an ALB, the one load balancer of those listeners.
        assert choices["lb"].offering == "application"
        assert "application" in [o.name for o in offers("load_balancer")]
        check_against_estimate("aws", region.name, translation)
    assert len(priced) >= 2, priced
    assert {"us-east-1", "eu-west-1"} <= set(priced)


def _without(region: str, doc: dict[str, Any], *skus: str) -> TranslationRequest:
    """The request for ``doc`` in ``region``, its catalog less ``skus``."""
    base = request(AWS, region, doc)
    catalog = base.prices.catalog
    assert catalog is not None
    assert all(catalog.price(sku) for sku in skus)
    kept = {k: v for k, v in catalog.prices.items() if k not in skus}
    prices = PriceLookup("aws", attrs.evolve(catalog, prices=kept), region=region)
    return attrs.evolve(base, prices=prices)


def test_lines_atlas_has_no_price_for_are_named_in_the_reason() -> None:
    doc = portable(_server(vcpus=1, memory_gb=1))
    (choice,) = AWS.translate(_without("eu-west-1", doc, "volume:eu-west-1:gp3")).choices
    assert choice.monthly is None
    assert choice.reason.endswith(
        "$8.32 a month plus EBS gp3 root volume 8 GiB, at a price atlas does not know"
    )


def test_a_network_becomes_a_vpc_and_two_subnets_and_firewalls_become_groups() -> None:
    doc = portable(
        {"type": "network", "name": "net", "specifications": {"ip_range": "10.10.0.0/16"}},
        _server(vcpus=2, memory_gb=8, arch="arm64", network="net", disk_gb=30, image="debian-12"),
        _server("worker", vcpus=1, memory_gb=1, network="net"),
        {"type": "volume", "name": "data", "specifications": {"size_gb": 50, "attach_to": "worker"}},  # noqa: E501
        {
            "type": "database",
            "name": "db",
            "specifications": {"engine": "mysql", "version": 8, "network": "net", "storage_gb": 50},
        },
        {
            "type": "load_balancer",
            "name": "lb",
            "specifications": {
                "targets": ["web"],
                "listeners": [
                    {"port": 443, "protocol": "https"}, {"port": 80, "target_port": 8080},
                ],
            },
        },
        {
            "type": "firewall",
            "name": "fw",
            "specifications": {
                "targets": ["web", "worker"],
                "inbound": [
                    {"ports": "22", "cidrs": ["203.0.113.0/24"]},
                    {"protocol": "icmp"},
                    {"protocol": "udp", "ports": "8000-8100"},
                    {"protocol": "all", "cidrs": ["10.10.0.0/16"]},
                ],
                "outbound": [{"ports": "443"}],
            },
        },
    )  # fmt: skip
    translation = translate(AWS, "eu-central-1", doc)
    docs = {d["name"]: d for c in translation.choices for d in c.resources}
    assert translation.support == ()  # every subnet is the network's own
    assert docs["net"]["specifications"] == {"cidr_block": "10.10.0.0/16"}
    assert docs["net-a"]["specifications"] == {
        "vpc": "net", "cidr_block": "10.10.0.0/17", "availability_zone": "eu-central-1a",
        "map_public_ip_on_launch": True,
    }  # fmt: skip
    assert docs["net-b"]["specifications"]["cidr_block"] == "10.10.128.0/17"
    assert docs["web"]["specifications"] == {
        "instance_type": "t4g.large", "image": "debian-12", "root_volume_size": 30,
        "subnet": "net-a", "security_groups": ["fw"],
    }  # fmt: skip
    assert docs["worker"]["specifications"]["security_groups"] == ["fw"]
    assert docs["data"]["specifications"]["availability_zone"] == "eu-central-1a"
    assert docs["db"]["specifications"]["engine_version"] == "8.4"
    assert docs["db"]["specifications"]["allocated_storage"] == 50
    lb = docs["lb"]["specifications"]
    assert (lb["type"], lb["subnets"]) == ("network", ["net-a", "net-b"])
    assert lb["listeners"] == [
        {"port": 443, "protocol": "TCP"},
        {"port": 80, "protocol": "TCP", "target_port": 8080},
    ]
    fw = docs["fw"]["specifications"]
    assert fw["vpc"] == "net"
    assert fw["ingress"] == [
        {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["203.0.113.0/24"]},
        {"protocol": "icmp", "from_port": -1, "to_port": -1, "cidr_blocks": ["0.0.0.0/0"]},
        {"protocol": "udp", "from_port": 8000, "to_port": 8100, "cidr_blocks": ["0.0.0.0/0"]},
        {"protocol": "all", "cidr_blocks": ["10.10.0.0/16"]},
    ]
    assert fw["egress"] == [
        {"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": ["0.0.0.0/0"]}
    ]
    check_against_estimate("aws", "eu-central-1", translation)


def test_servers_alone_stay_in_the_default_vpc() -> None:
    docs = _docs(
        "us-west-2",
        portable(
            _server(vcpus=1, memory_gb=2),
            {"type": "volume", "name": "spare", "specifications": {"size_gb": 10}},
        ),
    )
    assert sorted(docs) == ["spare", "web"]
    assert "subnet" not in docs["web"]["specifications"]
    assert docs["spare"]["specifications"]["availability_zone"] == "us-west-2a"


def test_the_support_network_takes_a_free_name() -> None:
    doc = portable(
        _server("portable-net", vcpus=1, memory_gb=1),
        {"type": "load_balancer", "name": "lb", "specifications": {"targets": ["portable-net"]}},
    )
    translation = translate(AWS, "us-east-1", doc)
    assert [d["name"] for d in translation.support] == [
        "portable-net-2", "portable-net-2-a", "portable-net-2-b",
    ]  # fmt: skip
    check_against_estimate("aws", "us-east-1", translation)


def test_servers_by_brute_force_over_the_offerings() -> None:
    rng = random.Random(16)
    for region in ("us-east-1", "ap-southeast-1"):
        offers = AWS.offerings(
            "server", region_of(AWS, region), request(AWS, region, ACCEPTANCE).prices
        )
        assert len(offers) == 62
        assert {o.arch for o in offers} == {"x86_64", "arm64"}
        chosen = set()
        for _ in range(200):
            needs = random_server(rng)
            translation = translate(AWS, region, portable(_server(**needs)))
            if not any(fits_server(o, needs) for o in offers):
                (refusal,) = translation.refusals
                assert refusal.reason.startswith(f"no AWS instance type in {region} has")
                continue
            (choice,) = translation.choices
            chosen.add(check_choice(choice, offers, lambda o, n=needs: fits_server(o, n)).name)
        assert len(chosen) >= 8


def test_databases_by_brute_force_over_the_offerings() -> None:
    rng = random.Random(15)
    offers = AWS.offerings(
        "database", region_of(AWS, "eu-west-1"), request(AWS, "eu-west-1", ACCEPTANCE).prices
    )
    assert len(offers) == 36  # 18 classes for each engine
    for _ in range(200):
        needs = {
            "engine": rng.choice(["postgres", "mysql"]),
            "version": rng.choice(["8", "15", "17"]),
            "vcpus": rng.choice([1, 2, 4, 8, 16, 64, 128]),
            "memory_gb": rng.choice(["0.5", "1", "2", "4", "16", "64", "512", "1024"]),
        }
        doc = portable({"type": "database", "name": "db", "specifications": needs})
        translation = translate(AWS, "eu-west-1", doc)

        def fits(o: Any, n: dict[str, Any] = needs) -> bool:
            return (
                f"{n['engine']}:{n['version']}" in o.engines
                and o.vcpus >= n["vcpus"]
                and o.memory_gb >= Decimal(n["memory_gb"])
            )

        if not any(fits(o) for o in offers):
            assert not translation.choices
            continue
        (choice,) = translation.choices
        check_choice(choice, offers, fits)


def _choice(region: str, *resources: dict[str, Any]) -> dict[str, Choice]:
    return {c.resource: c for c in translate(AWS, region, portable(*resources)).choices}


def test_arch_any_takes_graviton_when_it_is_cheaper() -> None:
    choices = _choice("us-east-1", _server(vcpus=2, memory_gb=4, arch="any"))
    assert choices["web"].offering == "t4g.medium"


@pytest.mark.parametrize(
    ("resources", "reason"),
    [
        (
            [_server(vcpus=256, memory_gb=64)],
            "no AWS instance type in eu-west-1 has at least 256 vCPUs and 64 GB, x86_64: the "
            "biggest of the 46 atlas knows is r6i.metal (128 vCPUs, 1024 GB)",
        ),
        (
            [_server(vcpus=1, memory_gb=1, image="windows-2022")],
            "AWS has no image alias windows-2022 in atlas (it has amazon-linux-2023, debian-12, "
            "ubuntu-22.04, ubuntu-24.04)",
        ),
        (
            [
                {
                    "type": "database",
                    "name": "db",
                    "specifications": {"engine": "postgres", "version": 12},
                }
            ],
            "RDS offers PostgreSQL 14, 15, 16, 17, not 12 (by atlas's offline list; older "
            "versions are in paid Extended Support, which atlas does not price)",
        ),
        (
            [
                {
                    "type": "database",
                    "name": "db",
                    "specifications": {"engine": "mysql", "version": 8, "nodes": 2},
                }
            ],
            "2 nodes need standbys, and atlas's AWS db_instance is single-AZ (Multi-AZ is "
            "neither made nor priced)",
        ),
        (
            [
                _server(vcpus=1, memory_gb=1, count=2),
                {
                    "type": "volume",
                    "name": "data",
                    "specifications": {"size_gb": 9, "attach_to": "web"},
                },
            ],
            "server 'web' has count 2; an EBS volume attaches to one instance",
        ),
        (
            [
                _server(vcpus=1, memory_gb=1),
                {
                    "type": "firewall",
                    "name": "fw",
                    "specifications": {"targets": ["web"], "inbound": [{"cidrs": ["::/0"]}]},
                },
            ],
            "::/0 is an IPv6 block; atlas's AWS security groups take IPv4 blocks only",
        ),
        (
            [
                _server(vcpus=1, memory_gb=1),
                {
                    "type": "firewall",
                    "name": "fw",
                    "specifications": {"targets": ["web"], "inbound": [{"cidrs": []}]},
                },
            ],
            "a rule names no address block: it would admit nothing",
        ),
    ],
    ids=["too-big", "image", "version", "standbys", "counted-volume", "ipv6", "no-address"],
)
def test_refusals_say_why_in_words(resources: list[dict[str, Any]], reason: str) -> None:
    translation = translate(AWS, "eu-west-1", portable(*resources))
    assert [r.reason for r in translation.refusals] == [reason]


def test_a_load_balancer_over_two_networks_is_refused() -> None:
    doc = portable(
        {"type": "network", "name": "n1", "specifications": {"ip_range": "10.1.0.0/16"}},
        {"type": "network", "name": "n2", "specifications": {"ip_range": "10.2.0.0/16"}},
        _server("a", vcpus=1, memory_gb=1, network="n1"),
        _server("b", vcpus=1, memory_gb=1, network="n2"),
        {"type": "load_balancer", "name": "lb", "specifications": {"targets": ["a", "b"]}},
    )
    (refusal,) = translate(AWS, "us-east-1", doc).refusals
    assert refusal.resource == "lb"
    assert "an AWS load balancer forwards to instances of its VPC only" in refusal.reason


def test_apply_in_the_sandbox(tmp_path: Path) -> None:
    doc = portable(
        *ACCEPTANCE["resources"][:1],
        _server("worker", vcpus=1, memory_gb=1),
        {
            "type": "volume",
            "name": "data",
            "specifications": {"size_gb": 100, "attach_to": "worker"},
        },
        *ACCEPTANCE["resources"][2:],
        {
            "type": "firewall",
            "name": "fw",
            "specifications": {"targets": ["web"], "inbound": [{"ports": "80"}]},
        },
    )
    spec = concrete("aws", "us-east-1", translate(AWS, "us-east-1", doc))
    path = tmp_path / "translated.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = main(["apply", "--sandbox", "--yes", str(path)], out=out, err=err)
    assert (code, err.getvalue()) == (0, ""), out.getvalue()
    assert "apply: completed (10/10 steps)" in out.getvalue()
    assert "plan again: No changes" in out.getvalue()
    assert "destroy: completed; the sandbox holds nothing" in out.getvalue()


def test_the_portable_data_must_cover_every_region_and_name_its_sources() -> None:
    from atlas.exceptions import PluginError
    from atlas_aws.prices import parse_offerings

    images = {"ubuntu-24.04": {"owner": "1", "name": "x", "arch": {}, "source": "s"}}
    data: dict[str, Any] = {"sources": {"s": {}}, "regions": {"us-east-1": {"zones": ["a"]}}}
    data["images"] = images
    with pytest.raises(PluginError, match=r"\[portable.regions\] lacks us-east-1"):
        parse_offerings(data, "test.toml")
    data["portable"] = {"regions": {"us-east-1": {"group": "us", "title": "N. Virginia"}}}
    data["databases"] = {"classes": {"source": "elsewhere", "db.t3.micro": [2, 1]}}
    with pytest.raises(PluginError, match=r"\[databases.classes\] names no source"):
        parse_offerings(data, "test.toml")


def test_the_same_spec_translates_the_same_way() -> None:
    first = translate(AWS, "eu-central-1", ACCEPTANCE)
    assert translate(AWS, "eu-central-1", ACCEPTANCE) == first
    assert translate(AwsTranslator(), "eu-central-1", ACCEPTANCE) == first


def test_no_support_network_when_every_server_has_one() -> None:
    doc = portable(
        {"type": "network", "name": "net", "specifications": {"ip_range": "10.30.0.0/16"}},
        {"type": "volume", "name": "data", "specifications": {"size_gb": 10, "attach_to": "web"}},
        _server(vcpus=1, memory_gb=1),
        {
            "type": "load_balancer",
            "name": "lb",
            "specifications": {"targets": ["web"], "network": "net"},
        },
    )
    translation = translate(AWS, "us-east-1", doc)
    assert translation.support == ()
    docs = {d["name"]: d for c in translation.choices for d in c.resources}
    assert docs["web"]["specifications"]["subnet"] == "net-a"  # the balancer's network
    check_against_estimate("aws", "us-east-1", translation)
