"""Spec validation: every problem at once, each with its exact path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from atlas import Problem, SpecError, SpecValidationError
from atlas.providers import ProviderRegistry
from atlas.spec import validate_spec


def base(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": "app",
        "provider": "digitalocean",
        "region": "nyc3",
        "resources": [
            {
                "type": "droplet",
                "name": "web",
                "specifications": {"size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64"},
            },
        ],
        "tags": {"env": "prod"},
    }
    doc.update(overrides)
    return doc


def problems(registry: ProviderRegistry, doc: Any, purpose: str = "create") -> list[Problem]:
    with pytest.raises(SpecValidationError) as info:
        validate_spec(doc, registry=registry, purpose=purpose)  # type: ignore[arg-type]
    return list(info.value.problems)


def paths(registry: ProviderRegistry, doc: Any, purpose: str = "create") -> list[str]:
    return [p.path for p in problems(registry, doc, purpose)]


def droplet(name: str = "web", **specs: Any) -> dict[str, Any]:
    return {
        "type": "droplet",
        "name": name,
        "specifications": {"size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64", **specs},
    }


def test_valid_spec_is_typed(registry: ProviderRegistry) -> None:
    spec = validate_spec(base(), registry=registry)
    assert spec.name == "app"
    assert spec.resources[0].specifications.size == "s-1vcpu-1gb"
    assert spec.tags == {"env": "prod"}


def test_five_mistakes_give_five_problems_with_paths(registry: ProviderRegistry) -> None:
    doc = base(
        region="nyc9",  # 1: no such region
        resources=[
            droplet(size="s-1vcpu-1gx"),  # 2: no such size
            {"type": "volume", "name": "data", "specifications": {"size_gigabytes": "100"}},  # 3
            {"type": "dropplet", "name": "x"},  # 4: no such type
            droplet(name="web"),  # 5: a second resource called web
        ],
    )
    found = problems(registry, doc)
    assert [p.path for p in found] == [
        "region",
        "resources[0].specifications.size",
        "resources[1].specifications.size_gigabytes",
        "resources[2].type",
        "resources[3].name",
    ]
    messages = {p.path: p.message for p in found}
    assert "nyc3" in messages["region"]
    assert "s-1vcpu-1gb" in messages["resources[0].specifications.size"]
    assert "whole number" in messages["resources[1].specifications.size_gigabytes"]
    assert "did you mean 'droplet'" in messages["resources[2].type"]
    assert "duplicate" in messages["resources[3].name"]


def test_unknown_field_suggests_the_known_one(registry: ProviderRegistry) -> None:
    [found] = problems(registry, base(resources=[droplet(backup=True)]))
    assert found.path == "resources[0].specifications.backup"
    assert "did you mean 'backups'" in found.message


def test_problems_come_in_document_order(registry: ProviderRegistry) -> None:
    doc = base(resources=[droplet(size=1), droplet(name="w2", count=0)], region=5, name="")
    assert paths(registry, doc) == [
        "name",
        "region",
        "resources[0].specifications.size",
        "resources[1].specifications.count",
    ]


@pytest.mark.parametrize(
    ("doc", "path", "fragment"),
    [
        ([], "", "must be a mapping"),
        (base(extra=1), "extra", "unknown field"),
        ({k: v for k, v in base().items() if k != "region"}, "region", "required field missing"),
        (base(resources="web"), "resources", "expected a list"),
        (base(resources=[5]), "resources[0]", "must be a mapping"),
        (base(tags=["a"]), "tags", "mapping"),
        (base(tags={"env": 3}), "tags.env", "must be a string"),
        (base(budget={"monthly_limit": -5}), "budget.monthly_limit", "positive"),
        (base(budget={"monthly_limit": "NaN"}), "budget.monthly_limit", "positive"),
        (base(budget={"monthly_limit": "Infinity"}), "budget.monthly_limit", "positive"),
        (base(budget={"monthly_limit": "1e999999"}), "budget.monthly_limit", "less than"),
        (base(budget={"monthly_limit": 5, "currency": "usd"}), "budget.currency", "ISO 4217"),
        (base(provider="aws"), "provider", "pip install atlas-aws"),
        (base(provider="digitalocaen"), "provider", "did you mean 'digitalocean'"),
        (base(name="my app"), "name", "not a valid name"),
    ],
)
def test_top_level_problems(registry: ProviderRegistry, doc: Any, path: str, fragment: str) -> None:
    found = problems(registry, doc)
    assert [p.path for p in found] == [path]
    assert fragment in found[0].message


@pytest.mark.parametrize(
    ("specs", "path", "fragment"),
    [
        ({"size": 5}, "size", "expected a string"),
        ({"count": "3"}, "count", "whole number"),
        ({"count": True}, "count", "whole number"),
        ({"monitoring": "yes"}, "monitoring", "true or false"),
        ({"ssh_keys": "abc"}, "ssh_keys", "expected a list"),
        ({"ssh_keys": ["ok", 1.5]}, "ssh_keys[1]", "a string or a whole number"),
        ({"backups": "hourly"}, "backups", "'daily' or 'weekly'"),
        ({"count": 0}, "count", "from 1 to 1000"),
        ({"user_data": "x" * 70_000}, "user_data", "limit is 65536"),
        ({"image": "ubuntu-24-04"}, "image", "nearest: ubuntu-24-04-x64"),
        ({"image": -3}, "image", "positive"),
    ],
)
def test_droplet_field_problems(
    registry: ProviderRegistry, specs: dict[str, Any], path: str, fragment: str
) -> None:
    found = problems(registry, base(resources=[droplet(**specs)]))
    assert [p.path for p in found] == [f"resources[0].specifications.{path}"]
    assert fragment in found[0].message


def test_missing_required_field(registry: ProviderRegistry) -> None:
    doc = base(resources=[{"type": "droplet", "name": "web", "specifications": {}}])
    found = problems(registry, doc)
    assert [(p.path, p.message) for p in found] == [
        ("resources[0].specifications.size", "required field missing")
    ]


def test_estimate_needs_only_what_prices_depend_on(registry: ProviderRegistry) -> None:
    doc = base(
        resources=[{"type": "droplet", "name": "web", "specifications": {"size": "s-1vcpu-1gb"}}]
    )
    spec = validate_spec(doc, registry=registry, purpose="estimate")
    assert spec.resources[0].specifications.image is None
    found = problems(registry, doc, purpose="create")
    assert [p.path for p in found] == ["resources[0].specifications.image"]
    assert "required to create" in found[0].message


def test_references_must_exist_and_have_the_right_kind(registry: ProviderRegistry) -> None:
    doc = base(
        resources=[
            {"type": "vpc", "name": "net"},
            droplet(vpc="nett"),
            {
                "type": "volume",
                "name": "data",
                "specifications": {"size_gigabytes": 10, "attach_to": "net"},
            },
        ]
    )
    found = problems(registry, doc)
    assert [p.path for p in found] == [
        "resources[1].specifications.vpc",
        "resources[2].specifications.attach_to",
    ]
    assert "did you mean 'net'" in found[0].message
    assert "'net' is a vpc, but this must name a droplet" in found[1].message


def _database(name: str = "db") -> dict[str, Any]:
    return {
        "type": "database",
        "name": name,
        "specifications": {"engine": "pg", "version": "16", "size": "db-s-1vcpu-2gb"},
    }


def test_a_type_error_does_not_hide_the_resources_references(registry: ProviderRegistry) -> None:
    volume = {
        "type": "volume",
        "name": "data",
        "specifications": {"size_gigabytes": "lots", "attach_to": "db"},
    }
    found = problems(registry, base(resources=[droplet(), _database(), volume]))
    assert [p.path for p in found] == [
        "resources[2].specifications.size_gigabytes",
        "resources[2].specifications.attach_to",
    ]
    assert "'db' is a database, but this must name a droplet" in found[1].message


def test_six_mistakes_give_six_problems(registry: ProviderRegistry) -> None:
    rule = {"protocol": "tcp", "ports": "22", "sources": {"droplets": ["web"]}}
    doc = base(
        region="nyc9",  # 1: no such region
        resources=[
            droplet(size="s-1vcpu-1gx"),  # 2: no such size
            _database(),
            # 3 and 4: a type error, and beside it a reference to a database as a droplet
            {
                "type": "volume",
                "name": "data",
                "specifications": {"size_gigabytes": "lots", "attach_to": "db"},
            },
            # 5 and 6: a broken rule, and in the next rule a reference to nothing
            {
                "type": "firewall",
                "name": "fw",
                "specifications": {
                    "inbound_rules": [
                        {**rule, "ports": 1.5},
                        {**rule, "sources": {"load_balancers": ["nolb"]}},
                    ]
                },
            },
        ],
    )
    assert paths(registry, doc) == [
        "region",
        "resources[0].specifications.size",
        "resources[2].specifications.size_gigabytes",
        "resources[2].specifications.attach_to",
        "resources[3].specifications.inbound_rules[0].ports",
        "resources[3].specifications.inbound_rules[1].sources.load_balancers[0]",
    ]


def test_nested_references_and_fields_have_exact_paths(registry: ProviderRegistry) -> None:
    rule = {
        "protocol": "tcp",
        "ports": "80",
        "sources": {"addresses": ["10.0.0.0/8", "nonsense"], "load_balancers": ["lbb"]},
    }
    doc = base(
        resources=[
            droplet(),
            {
                "type": "firewall",
                "name": "fw",
                "specifications": {
                    "droplets": ["web"],
                    "inbound_rules": [rule, {**rule, "ports": "99999"}],
                },
            },
        ]
    )
    assert paths(registry, doc) == [
        "resources[1].specifications.inbound_rules[0].sources.addresses",
        "resources[1].specifications.inbound_rules[1].ports",
        "resources[1].specifications.inbound_rules[1].sources.addresses",
        "resources[1].specifications.inbound_rules[0].sources.load_balancers[0]",
        "resources[1].specifications.inbound_rules[1].sources.load_balancers[0]",
    ]


def test_unknown_nested_field(registry: ProviderRegistry) -> None:
    lb = {
        "type": "load_balancer",
        "name": "lb",
        "specifications": {
            "droplets": ["web"],
            "forwarding_rules": [
                {
                    "entry_protocol": "http",
                    "entry_port": 80,
                    "target_protocol": "http",
                    "target_port": 80,
                    "weight": 3,
                }
            ],
        },
    }
    found = problems(registry, base(resources=[droplet(), lb]))
    assert [p.path for p in found] == ["resources[1].specifications.forwarding_rules[0].weight"]
    assert "unknown field" in found[0].message


def test_broken_field_does_not_cause_follow_on_problems(registry: ProviderRegistry) -> None:
    fw = {
        "type": "firewall",
        "name": "fw",
        "specifications": {
            "inbound_rules": [
                {"protocol": "tcp", "ports": 1.5, "sources": {"addresses": ["1.2.3.4"]}}
            ]
        },
    }
    # The rule list is broken; "needs at least one rule" would only echo that.
    assert paths(registry, base(resources=[fw])) == [
        "resources[0].specifications.inbound_rules[0].ports"
    ]


def test_labels_accept_whole_numbers_not_floats(registry: ProviderRegistry) -> None:
    db: dict[str, Any] = {
        "type": "database",
        "name": "db",
        "specifications": {"engine": "postgresql", "version": 15, "size": "db-s-1vcpu-2gb"},
    }
    spec = validate_spec(base(resources=[db]), registry=registry)
    assert spec.resources[0].specifications.version == "15"
    assert spec.resources[0].specifications.engine == "pg"
    db["specifications"]["version"] = 8.1
    found = problems(registry, base(resources=[db]))
    assert found[0].path == "resources[0].specifications.version"
    assert "quotes" in found[0].message


def test_provider_name_rules(registry: ProviderRegistry) -> None:
    long = "v" + "x" * 59  # fine for atlas (60), too long for DigitalOcean as shop-vxx...
    doc = base(
        name="shop",
        resources=[
            {"type": "volume", "name": long, "specifications": {"size_gigabytes": 10}},
            {
                "type": "database",
                "name": "Db",
                "specifications": {"engine": "pg", "size": "db-s-1vcpu-2gb"},
            },
        ],
    )
    found = problems(registry, doc)
    assert [p.path for p in found] == ["resources[0].name", "resources[1].name"]
    assert "DigitalOcean allows 64" in found[0].message
    assert "shop-Db" in found[1].message


def test_tags_that_digitalocean_would_refuse(registry: ProviderRegistry) -> None:
    found = problems(registry, base(tags={"env": "prod stage", "ok": "yes"}))
    assert [p.path for p in found] == ["tags.env"]
    assert "'env:prod stage'" in found[0].message


def test_infrastructure_name_must_fit_a_tag(registry: ProviderRegistry) -> None:
    for name in ("shop.v2", "shop_v2"):
        found = problems(registry, base(name=name))
        assert [p.path for p in found] == ["name"]
        assert "cannot start DigitalOcean names" in found[0].message


def test_documents_in_every_form(registry: ProviderRegistry, tmp_path: Path) -> None:
    doc = base()
    text = json.dumps(doc)
    yaml_file = tmp_path / "spec.yaml"
    yaml_file.write_text("name: app\nprovider: digitalocean\nregion: nyc3\nresources: []\n")
    json_file = tmp_path / "spec.json"
    json_file.write_text(text)
    for source in (doc, text, text.encode(), json_file, yaml_file):
        assert validate_spec(source, registry=registry).name == "app"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('{"name": "app",', "not valid JSON (line 1, column 16)"),
        ("name: app\n  bad: [", "not valid YAML (line 2"),
    ],
)
def test_unparseable_documents(registry: ProviderRegistry, text: str, fragment: str) -> None:
    found = problems(registry, text)
    assert found[0].path == ""
    assert fragment in found[0].message


def test_unreadable_file(registry: ProviderRegistry, tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read spec file"):
        validate_spec(tmp_path / "missing.yaml", registry=registry)


def test_error_message_lists_every_problem(registry: ProviderRegistry) -> None:
    with pytest.raises(SpecValidationError) as info:
        validate_spec(base(region="x", name=""), registry=registry)
    text = str(info.value)
    assert text.startswith("the spec has 2 problems:")
    assert "name: must not be empty" in text
    assert "region: unknown region 'x'" in text


def test_a_budget_to_apply_is_in_the_currency_of_the_prices(registry: ProviderRegistry) -> None:
    doc = base(budget={"monthly_limit": 5, "currency": "EUR"})
    validate_spec(doc, registry=registry, purpose="estimate")  # an estimate says it cannot compare
    with pytest.raises(SpecValidationError) as raised:
        validate_spec(doc, registry=registry, purpose="create")
    [problem] = raised.value.problems
    assert (problem.path, problem.message) == (
        "budget.currency",
        "must be USD, the currency of digitalocean's prices",
    )


@pytest.mark.parametrize(
    ("region", "hint"),
    [
        ("nyc", "(nearest: nyc3, nyc2, nyc1)"),
        ("NYC3", "(nearest: nyc3)"),
        # Nothing is near: the short list of regions, not three guesses.
        ("mars-1", "(one of: ams2, ams3, atl1, blr1, fra1, lon1, nyc1, nyc2, nyc3, ric1, "),
    ],
)
def test_a_hint_names_only_what_is_near(registry: ProviderRegistry, region: str, hint: str) -> None:
    [problem] = problems(registry, base(region=region))
    assert problem.path == "region"
    assert hint in problem.message


def test_no_size_is_guessed_when_none_is_near(registry: ProviderRegistry) -> None:
    doc = base()
    doc["resources"][0]["specifications"]["size"] = "enormous"
    [problem] = problems(registry, doc)
    assert problem.message == "unknown droplet size 'enormous'"


@pytest.mark.parametrize(
    ("kind", "name", "specifications", "advice"),
    [
        ("droplet", "web.1", {"size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64"}, "web-1"),
        ("droplet", "web_1", {"size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64"}, "web-1"),
        ("volume", "Data_Disk", {"size_gigabytes": 10}, "data-disk"),
    ],
)
def test_naming_advice_passes_every_rule_the_name_must_pass(
    registry: ProviderRegistry, kind: str, name: str, specifications: Any, advice: str
) -> None:
    doc = base(resources=[{"type": kind, "name": name, "specifications": specifications}])
    [problem] = problems(registry, doc)
    assert problem.path == "resources[0].name"
    assert problem.message.endswith(f"; try {advice!r}")
    # Taking the advice leaves nothing to fix.
    doc["resources"][0]["name"] = advice
    validate_spec(doc, registry=registry, purpose="create")
