"""DigitalOcean's translator of portable kinds: its regions, its choices (checked by brute
force against its offerings), its line items (the estimate's), its refusals, and an apply of a
translated spec in the sandbox."""

from __future__ import annotations

import io
import json
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from atlas.cli import main
from atlas.plugins.manager import default_plugins
from atlas.portable.contract import REGION_GROUPS, Choice, PortableTranslator
from atlas_digitalocean.portable import DigitalOceanTranslator
from atlas_digitalocean.prices import load_offerings
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

DO = DigitalOceanTranslator()


def _server(**needs: Any) -> dict[str, Any]:
    return {"type": "server", "name": "web", "specifications": needs}


def _choices(region: str, doc: dict[str, Any]) -> dict[str, Choice]:
    translation = translate(DO, region, doc)
    assert translation.complete, translation.refusals
    return {c.resource: c for c in translation.choices}


def test_the_plugin_answers_the_hook_for_its_name_and_alias() -> None:
    plugins = default_plugins()
    found = plugins.portable_translator("digitalocean")
    assert isinstance(found, PortableTranslator)
    assert found.provider == "digitalocean"
    assert isinstance(plugins.portable_translator("do"), DigitalOceanTranslator)


def test_every_region_atlas_knows_has_a_group_and_its_features() -> None:
    regions = {r.name: r for r in DO.regions()}
    # Legacy datacenters take no new resources: placement never offers them.
    closed = {"ams2", "nyc2", "sfo1"}
    assert sorted(regions) == sorted(set(load_offerings().regions) - closed)
    assert all(r.group in REGION_GROUPS and r.title for r in regions.values())
    assert {n for n, r in regions.items() if r.group == "eu"} == {
        "ams3", "fra1", "lon1",
    }  # fmt: skip
    assert all("ipv6" in r.features and "arm64" not in r.features for r in regions.values())
    # The two regions of the list without managed databases (DigitalOcean's options) are
    # both closed.
    assert all("managed-postgres" in r.features for r in regions.values())
    assert "managed-mysql" in regions["fra1"].features


@pytest.mark.parametrize("region", ["fra1", "nyc3", "sgp1"])
def test_the_acceptance_stack(region: str) -> None:
    translation = translate(DO, region, ACCEPTANCE)
    choices = {c.resource: c for c in translation.choices}
    assert {n: c.offering for n, c in choices.items()} == {
        "web": "s-2vcpu-4gb", "data": "volume", "db": "db-s-1vcpu-2gb", "lb": "size_unit-1",
    }  # fmt: skip
    assert {n: c.monthly for n, c in choices.items()} == {
        "web": Decimal(48), "data": Decimal(10), "db": Decimal(30), "lb": Decimal(12),
    }  # fmt: skip
    assert choices["web"].reason == (
        "cheapest of 10 droplet sizes with at least 2 vCPUs and 4 GB: s-2vcpu-4gb, 2 vCPUs, "
        "4 GB, 80 GB disk, $24.00 a month each, $48.00 a month for 2"
    )
    assert choices["db"].reason.startswith(
        "cheapest of 3 managed PostgreSQL 15 sizes with at least 1 vCPU and 2 GB a node"
    )
    assert [d["type"] for c in translation.choices for d in c.resources] == [
        "droplet", "volume", "database", "load_balancer",
    ]  # fmt: skip
    assert [d["name"] for c in translation.choices for d in c.resources] == [
        "web", "data", "db", "lb",
    ]  # fmt: skip
    assert translation.support == ()
    check_against_estimate("digitalocean", region, translation)


def test_every_portable_kind_translates_and_validates_for_create() -> None:
    doc = portable(
        {"type": "network", "name": "net", "specifications": {"ip_range": "10.10.0.0/16"}},
        _server(vcpus=1, memory_gb=1, network="net", image="debian-12", disk_gb=40),
        {"type": "volume", "name": "data", "specifications": {"size_gb": 20, "attach_to": "web"}},
        {
            "type": "database",
            "name": "db",
            "specifications": {
                "engine": "mysql", "version": 8, "vcpus": 2, "memory_gb": 4, "nodes": 2,
                "storage_gb": 30, "network": "net",
            },
        },
        {
            "type": "load_balancer",
            "name": "lb",
            "specifications": {
                "targets": ["web"],
                "network": "net",
                "listeners": [
                    {"port": 80},
                    {"port": 443, "protocol": "https"},
                    {"port": 5000, "protocol": "tcp", "target_port": 5001},
                ],
            },
        },
        {
            "type": "firewall",
            "name": "fw",
            "specifications": {
                "targets": ["web"],
                "inbound": [
                    {"ports": "22", "cidrs": ["203.0.113.0/24"]},
                    {"protocol": "icmp"},
                    {"protocol": "udp", "ports": "8000-8100"},
                ],
                "outbound": [{"protocol": "all"}],
            },
        },
    )  # fmt: skip
    translation = translate(DO, "lon1", doc)
    choices = {c.resource: c for c in translation.choices}
    net, web, db, lb, fw = (choices[n].resources[0] for n in ("net", "web", "db", "lb", "fw"))
    assert net == {"type": "vpc", "name": "net", "specifications": {"ip_range": "10.10.0.0/16"}}
    # 40 GB of disk at least: s-1vcpu-1gb has 25, s-1vcpu-2gb 50.
    assert web["specifications"] == {"size": "s-1vcpu-2gb", "image": "debian-12-x64", "vpc": "net"}
    assert db["specifications"] == {
        "engine": "mysql", "version": "8", "size": "db-s-2vcpu-4gb", "num_nodes": 2, "vpc": "net",
    }  # fmt: skip
    assert choices["db"].monthly == Decimal(120)
    assert lb["specifications"]["forwarding_rules"] == [
        {"entry_port": 80, "target_port": 80, "entry_protocol": "http", "target_protocol": "http"},
        {
            "entry_port": 443, "target_port": 443, "entry_protocol": "https",
            "target_protocol": "https", "tls_passthrough": True,
        },
        {
            "entry_port": 5000, "target_port": 5001, "entry_protocol": "tcp",
            "target_protocol": "tcp",
        },
    ]  # fmt: skip
    assert lb["specifications"]["vpc"] == "net"
    assert fw["specifications"]["inbound_rules"] == [
        {"protocol": "tcp", "ports": "22", "sources": {"addresses": ["203.0.113.0/24"]}},
        {"protocol": "icmp", "sources": {"addresses": ["0.0.0.0/0"]}},
        {"protocol": "udp", "ports": "8000-8100", "sources": {"addresses": ["0.0.0.0/0"]}},
    ]
    assert [r["protocol"] for r in fw["specifications"]["outbound_rules"]] == ["tcp", "udp", "icmp"]
    check_against_estimate("digitalocean", "lon1", translation)


def test_a_firewall_without_outbound_rules_lets_everything_out() -> None:
    doc = portable(
        _server(vcpus=1, memory_gb=1),
        {"type": "firewall", "name": "fw", "specifications": {"targets": ["web"]}},
    )
    fw = _choices("fra1", doc)["fw"].resources[0]["specifications"]
    assert fw["inbound_rules"] == []
    assert fw["outbound_rules"][0] == {
        "protocol": "tcp", "ports": "all", "destinations": {"addresses": ["0.0.0.0/0", "::/0"]},
    }  # fmt: skip


def test_servers_by_brute_force_over_the_offerings() -> None:
    rng = random.Random(16)
    region = region_of(DO, "nyc3")
    offers = DO.offerings("server", region, request(DO, "nyc3", ACCEPTANCE).prices)
    assert len(offers) == 20
    assert all(o.arch == "x86_64" and o.vcpus and o.memory_gb and o.disk_gb for o in offers)
    chosen = set()
    for _ in range(300):
        needs = random_server(rng)
        if rng.random() < 0.3:
            needs["disk_gb"] = rng.choice([10, 30, 60, 100, 200, 400])
        translation = translate(DO, "nyc3", portable(_server(**needs)))
        fitting = [o for o in offers if fits_server(o, needs)]
        if not fitting:
            assert not translation.choices
            assert translation.refusals[0].reason.startswith(
                "DigitalOcean has no arm64 droplets"
                if needs["arch"] == "arm64"
                else "no DigitalOcean droplet size has"
            )
            continue
        (choice,) = translation.choices
        check_choice(choice, offers, lambda o, n=needs: fits_server(o, n))
        chosen.add(choice.offering)
    assert len(chosen) >= 5  # the draws reach several sizes, not one


def test_databases_by_brute_force_over_the_offerings() -> None:
    rng = random.Random(15)
    offers = DO.offerings("database", region_of(DO, "ams3"), request(DO, "ams3", ACCEPTANCE).prices)
    assert {o.name for o in offers} == {
        "db-s-1vcpu-1gb", "db-s-1vcpu-2gb", "db-s-2vcpu-4gb", "db-s-4vcpu-8gb",
    }  # fmt: skip
    assert all("postgres:15" in o.engines and "mysql:8" in o.engines for o in offers)
    for _ in range(200):
        needs = {
            "engine": rng.choice(["postgres", "mysql"]),
            "version": rng.choice(["8", "13", "15", "17"]),
            "vcpus": rng.choice([1, 1, 2, 4, 8]),
            "memory_gb": rng.choice(["0.5", "1", "2", "3", "4", "8", "16"]),
            "nodes": rng.choice([1, 1, 2, 3]),
            "storage_gb": rng.choice([10, 20, 30, 100]),
        }
        doc = portable({"type": "database", "name": "db", "specifications": needs})
        translation = translate(DO, "ams3", doc)

        def fits(o: Any, n: dict[str, Any] = needs) -> bool:
            return (
                f"{n['engine']}:{n['version']}" in o.engines
                and o.vcpus >= n["vcpus"]
                and o.memory_gb >= Decimal(n["memory_gb"])
                and n["nodes"] in o.nodes
                and o.storage_gb[1] >= n["storage_gb"]
            )

        if not any(fits(o) for o in offers):
            assert not translation.choices
            continue
        (choice,) = translation.choices
        check_choice(choice, offers, fits)
        assert choice.monthly == by_name(offers, choice.offering).monthly * needs["nodes"]


def by_name(offers: Any, name: str) -> Any:
    return next(o for o in offers if o.name == name)


def test_storage_no_size_includes_is_added_and_left_unpriced() -> None:
    doc = portable(
        {
            "type": "database",
            "name": "db",
            "specifications": {"engine": "postgres", "version": 16, "storage_gb": 200},
        }
    )
    (choice,) = translate(DO, "fra1", doc).choices
    spec = choice.resources[0]["specifications"]
    assert (spec["size"], spec["storage_size_mib"]) == ("db-s-1vcpu-1gb", 190 * 1024)
    assert choice.monthly is None
    assert "190 GB of storage added to the 10 GB it includes" in choice.reason


@pytest.mark.parametrize(
    ("region", "resource", "reason"),
    [
        (
            "fra1",
            _server(vcpus=2, memory_gb=4, arch="arm64"),
            "DigitalOcean has no arm64 droplets: all 20 sizes atlas knows are x86_64 (ask for "
            "arch x86_64 or any)",
        ),
        (
            "fra1",
            _server(vcpus=16, memory_gb=64),
            "no DigitalOcean droplet size has at least 16 vCPUs and 64 GB: the biggest of the 20 "
            "atlas knows is s-8vcpu-16gb (8 vCPUs, 16 GB, 320 GB disk)",
        ),
        (
            "fra1",
            _server(vcpus=1, memory_gb=1, image="windows-2022"),
            "DigitalOcean has no public image for windows-2022 in atlas's offline list (no "
            "windows-2022-x64)",
        ),
        (
            "fra1",
            {
                "type": "database",
                "name": "db",
                "specifications": {"engine": "postgres", "version": 12},
            },
            "DigitalOcean offers PostgreSQL 13, 14, 15, 16, 17, not 12 (by atlas's offline list)",
        ),
        (
            "fra1",
            {
                "type": "database",
                "name": "db",
                "specifications": {"engine": "postgres", "version": 15, "vcpus": 8},
            },
            "no DigitalOcean database size has at least 8 vCPUs and 1 GB a node: the biggest "
            "atlas knows is db-s-4vcpu-8gb (4 vCPUs, 8 GB)",
        ),
        (
            "fra1",
            {
                "type": "firewall",
                "name": "db",
                "specifications": {"targets": ["web"], "outbound": []},
            },
            "a DigitalOcean firewall needs at least one rule; this has none",
        ),
        (
            "fra1",
            {
                "type": "firewall",
                "name": "db",
                "specifications": {"targets": ["web"], "inbound": [{"cidrs": []}]},
            },
            "a rule names no address block: it would admit nothing",
        ),
    ],
    ids=["arm64", "too-big", "image", "version", "db-too-big", "no-rules", "no-address"],
)
def test_refusals_say_why_in_words(region: str, resource: dict[str, Any], reason: str) -> None:
    resources = (
        [resource] if resource["type"] != "firewall" else [_server(vcpus=1, memory_gb=1), resource]
    )
    translation = translate(DO, region, portable(*resources))
    assert [r.reason for r in translation.refusals] == [reason]


def test_a_volume_attached_to_counted_servers_is_refused() -> None:
    doc = portable(
        _server(vcpus=1, memory_gb=1, count=3),
        {"type": "volume", "name": "data", "specifications": {"size_gb": 10, "attach_to": "web"}},
    )
    (refusal,) = translate(DO, "fra1", doc).refusals
    assert refusal.reason == (
        "server 'web' has count 3; a DigitalOcean volume attaches to one droplet"
    )


def test_any_arch_is_x86_64_here() -> None:
    (choice,) = translate(
        DO, "fra1", portable(_server(vcpus=1, memory_gb="0.5", arch="any"))
    ).choices
    assert choice.offering == "s-1vcpu-512mb-10gb"


def test_apply_in_the_sandbox(tmp_path: Path) -> None:
    doc = portable(
        *ACCEPTANCE["resources"][:1],
        _server(vcpus=1, memory_gb=1) | {"name": "worker"},
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
    spec = concrete("digitalocean", "fra1", translate(DO, "fra1", doc))
    path = tmp_path / "translated.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = main(["apply", "--sandbox", "--yes", str(path)], out=out, err=err)
    assert (code, err.getvalue()) == (0, ""), out.getvalue()
    assert "apply: completed (6/6 steps)" in out.getvalue()
    assert "plan again: No changes" in out.getvalue()


def test_a_load_balancer_joins_its_targets_network() -> None:
    doc = portable(
        {"type": "network", "name": "net", "specifications": {"ip_range": "10.20.0.0/20"}},
        _server(vcpus=1, memory_gb=1, network="net"),
        {"type": "load_balancer", "name": "lb", "specifications": {"targets": ["web"]}},
    )
    translation = translate(DO, "tor1", doc)
    lb = {c.resource: c for c in translation.choices}["lb"].resources[0]
    assert lb["specifications"]["vpc"] == "net"
    check_against_estimate("digitalocean", "tor1", translation)


def test_a_region_with_no_place_for_portable_specs_is_an_error_of_the_data() -> None:
    from atlas.exceptions import PluginError
    from atlas_digitalocean.prices import parse_offerings

    data = {"sources": {}, "regions": {"slugs": ["fra1", "xyz9"]}, "images": []}
    data["portable"] = {"regions": {"fra1": {"group": "eu", "title": "Frankfurt 1"}}}
    with pytest.raises(PluginError, match=r"\[portable.regions\] lacks xyz9"):
        parse_offerings(data, "test.toml")
    data["databases"] = {"engines": {"pg": {"source": "nowhere", "versions": [], "regions": []}}}
    data["regions"]["slugs"] = ["fra1"]
    with pytest.raises(PluginError, match=r"databases\.engines\.pg names no source"):
        parse_offerings(data, "test.toml")


def test_the_same_spec_translates_the_same_way() -> None:
    first = translate(DO, "lon1", ACCEPTANCE)
    assert translate(DO, "lon1", ACCEPTANCE) == first
    assert translate(DigitalOceanTranslator(), "lon1", ACCEPTANCE) == first
