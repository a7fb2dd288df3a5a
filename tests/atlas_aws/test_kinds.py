"""Offline checks of AWS specs: every problem with its exact path."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
import pytest

from atlas.cost.catalog import Price, Source
from atlas.cost.engine import estimate_spec
from atlas.cost.estimate import PriceLookup
from atlas.cost.money import Money
from atlas.exceptions import SpecValidationError
from atlas.providers import ProviderRegistry
from atlas.spec import validate_spec
from atlas_aws.resources.instance import price as instance_price
from atlas_aws.resources.volume import price as volume_price


def doc(*resources: dict[str, Any], region: str = "eu-west-1", **extra: Any) -> dict[str, Any]:
    return {"name": "shop", "provider": "aws", "region": region, "resources": list(resources)}


def res(type_: str, name: str, **specs: Any) -> dict[str, Any]:
    return {"type": type_, "name": name, "specifications": specs}


NET = res("vpc", "net", cidr_block="10.0.0.0/16")


def problems(registry: ProviderRegistry, document: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(SpecValidationError) as info:
        validate_spec(document, registry=registry)
    return {p.path: p.message for p in info.value.problems}


def test_a_valid_stack_validates(aws_registry: ProviderRegistry) -> None:
    spec = validate_spec(
        doc(
            NET,
            res("subnet", "a", vpc="net", cidr_block="10.0.1.0/24", availability_zone="eu-west-1a"),
            res("security_group", "web", vpc="net", ingress=[
                {"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": ["0.0.0.0/0"]}
            ]),
            res("instance", "app", instance_type="t3.micro", image="ubuntu-24.04", subnet="a",
                security_groups=["web"], count=2),
        ),
        registry=aws_registry,
    )  # fmt: skip
    assert [r.type for r in spec.resources] == ["vpc", "subnet", "security_group", "instance"]


def test_cidr_blocks_are_checked(aws_registry: ProviderRegistry) -> None:
    found = problems(
        aws_registry,
        doc(
            res("vpc", "net", cidr_block="10.0.0.0/8"),
            res("vpc", "other", cidr_block="10.1.0.0/16"),
            res("subnet", "a", vpc="other", cidr_block="10.2.0.0/24"),
            res("subnet", "b", vpc="other", cidr_block="10.1.0.1/24"),
        ),
    )
    assert "/16 to /28" in found["resources[0].specifications.cidr_block"]
    assert "not inside 'other'" in found["resources[2].specifications.cidr_block"]
    assert "not a CIDR block" in found["resources[3].specifications.cidr_block"]


def test_subnets_of_one_vpc_must_not_overlap(aws_registry: ProviderRegistry) -> None:
    found = problems(
        aws_registry,
        doc(
            NET,
            res("subnet", "a", vpc="net", cidr_block="10.0.0.0/23"),
            res("subnet", "b", vpc="net", cidr_block="10.0.1.0/24"),
        ),
    )
    assert list(found) == ["resources[2].specifications.cidr_block"]
    assert "overlaps subnet 'a'" in found["resources[2].specifications.cidr_block"]


def test_zone_region_type_and_image_are_known(aws_registry: ProviderRegistry) -> None:
    found = problems(
        aws_registry,
        doc(
            NET,
            res("subnet", "a", vpc="net", cidr_block="10.0.1.0/24", availability_zone="eu-west-1d"),
            res("instance", "x", instance_type="t3.mikro", image="ubuntu-24.04"),
            res("instance", "y", instance_type="t3.micro", image="ubuntu-25.10"),
            res("instance", "z", instance_type="t3.micro"),
            res("instance", "w", instance_type="t3.micro", image_id="ami-xyz"),
        ),
    )
    assert "not a zone of eu-west-1" in found["resources[1].specifications.availability_zone"]
    assert "t3.micro" in found["resources[2].specifications.instance_type"]  # the nearest
    assert "unknown image alias" in found["resources[3].specifications.image"]
    assert "exactly one of image_id and image" in found["resources[4].specifications.image"]
    assert "not an AMI id" in found["resources[5].specifications.image_id"]
    assert "region" in problems(aws_registry, doc(NET, region="mars-1"))


def test_groups_and_subnet_must_share_a_vpc(aws_registry: ProviderRegistry) -> None:
    found = problems(
        aws_registry,
        doc(
            NET,
            res("vpc", "other", cidr_block="10.1.0.0/16"),
            res("subnet", "a", vpc="net", cidr_block="10.0.1.0/24"),
            res("security_group", "elsewhere", vpc="other"),
            res("security_group", "default-vpc"),
            res("instance", "x", instance_type="t3.micro", image="ubuntu-24.04", subnet="a",
                security_groups=["elsewhere", "default-vpc"]),
        ),
    )  # fmt: skip
    assert "in VPC 'other'" in found["resources[5].specifications.security_groups[0]"]
    assert "the default VPC" in found["resources[5].specifications.security_groups[1]"]


def test_rules_are_checked(aws_registry: ProviderRegistry) -> None:
    found = problems(
        aws_registry,
        doc(
            NET,
            res("security_group", "g", vpc="net", ingress=[
                {"protocol": "tcp", "from_port": 80, "cidr_blocks": ["0.0.0.0/0"]},
                {"protocol": "tcp", "from_port": 90, "to_port": 80, "cidr_blocks": ["0.0.0.0/0"]},
                {"protocol": "all", "from_port": 1, "to_port": 2, "cidr_blocks": ["0.0.0.0/0"]},
                {"protocol": "udp", "from_port": 53, "to_port": 53},
                {"protocol": "tcp", "from_port": 1, "to_port": 99999, "cidr_blocks": ["1.0.0.0/8"]},
            ]),
        ),
    )  # fmt: skip
    base = "resources[1].specifications.ingress"
    assert "need from_port and to_port" in found[f"{base}[0].to_port"]
    assert "below from_port" in found[f"{base}[1].to_port"]
    assert "takes no ports" in found[f"{base}[2]"]
    assert "at least one of cidr_blocks" in found[f"{base}[3]"]
    assert "0 to 65535" in found[f"{base}[4].to_port"]
    bad = [{"protocol": "tcp", "from_port": 1, "to_port": 2, "cidr_blocks": ["1.2.3.0/8"]}]
    found = problems(aws_registry, doc(NET, res("security_group", "g", vpc="net", ingress=bad)))
    assert "host bits set" in found[f"{base}[0].cidr_blocks"]


def test_arm_types_need_an_image_published_for_arm(aws_registry: ProviderRegistry) -> None:
    spec = validate_spec(
        doc(res("instance", "g", instance_type="t4g.small", image="amazon-linux-2023")),
        registry=aws_registry,
    )
    assert spec.resources[0].specifications.instance_type == "t4g.small"


def test_tags_are_checked(aws_registry: ProviderRegistry) -> None:
    document = doc(NET) | {"tags": {"aws:owner": "x", "atlas:owner": "y", "ok": "fine"}}
    found = problems(aws_registry, document)
    assert "reserved by AWS" in found["tags.aws:owner"]
    assert "atlas's own" in found["tags.atlas:owner"]
    assert "tags.ok" not in found


def test_prices_depend_on_the_region(aws_registry: ProviderRegistry) -> None:
    def monthly(region: str) -> str:
        instance = res("instance", "x", instance_type="t3.micro", image="ubuntu-24.04", count=2)
        spec = validate_spec(doc(NET, instance, region=region), registry=aws_registry)
        [_, line, _root] = [i for r in estimate_spec(spec, aws_registry).breakdown
                            for i in r.line_items]  # fmt: skip
        return str(line.monthly)

    # t3.micro: 0.0104 an hour in us-east-1, 0.0114 in eu-west-1 (the generated catalog).
    assert monthly("us-east-1") == str(aws_registry.price_lookup("aws").price(
        "instance:us-east-1:t3.micro").monthly * 2)  # type: ignore[union-attr]  # fmt: skip
    assert monthly("us-east-1") == "15.18 USD"
    assert monthly("eu-west-1") == "16.64 USD"


def test_the_billing_rule_is_per_second_with_a_minute_minimum(
    aws_registry: ProviderRegistry,
) -> None:
    catalog = aws_registry.catalog("aws")
    assert catalog is not None
    rule = catalog.price("instance:us-east-1:t3.micro").billing  # type: ignore[union-attr]
    assert rule is not None
    assert (rule.metering, rule.minimum_seconds) == ("second", 60)


def test_volume_checks(aws_registry: ProviderRegistry) -> None:
    lan = res("subnet", "a", vpc="net", cidr_block="10.0.1.0/24", availability_zone="eu-west-1a")
    one = res("instance", "one", instance_type="t3.micro", image="ubuntu-24.04", subnet="a")
    many = res("instance", "many", instance_type="t3.micro", image="ubuntu-24.04", count=2)
    found = problems(
        aws_registry,
        doc(
            NET, lan, one, many,
            res("volume", "v1", size=10, attach_to="one", availability_zone="eu-west-1b"),
            res("volume", "v2", size=10, attach_to="many"),
            res("volume", "v3", size=10),
            res("volume", "v4", size=10, volume_type="io2", availability_zone="eu-west-1a"),
            res("volume", "v5", size=10, volume_type="st1", iops=500, attach_to="one"),
            res("volume", "v6", size=10, iops=20000, attach_to="one"),
        ),
    )  # fmt: skip
    assert (
        "attaches a volume only to an instance of its own zone"
        in found["resources[4].specifications.availability_zone"]
    )
    assert "a volume attaches to one" in found["resources[5].specifications.attach_to"]
    assert "give a zone, or attach_to" in found["resources[6].specifications.availability_zone"]
    assert "need iops" in found["resources[7].specifications.iops"]
    assert "125 to 16384 GiB" in found["resources[8].specifications.size"]
    assert "takes no provisioned IOPS" in found["resources[8].specifications.iops"]
    assert "3000 to 16000" in found["resources[9].specifications.iops"]


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


def _gp3_catalog(registry: ProviderRegistry, region: str) -> PriceLookup:
    """The shipped catalog with a gp3 price added (a test figure, not a price atlas ships)."""
    catalog = registry.catalog("aws")
    assert catalog is not None
    test = Source("test", "a figure for this test only", "")
    prices = [
        Price(f"volume:{region}:gp3", usd("0.1"), usd("0.1") / 730, "GB-month", "test"),
        Price(f"volume-iops:{region}:gp3", usd("0.01"), usd("0.01") / 730, "IOPS", "test"),
    ]
    return PriceLookup("aws", catalog.with_prices(prices, test), region=region)


def _without(registry: ProviderRegistry, region: str, *skus: str) -> PriceLookup:
    """The shipped catalog less ``skus``: what an estimate sees in a region of no such price."""
    catalog = registry.catalog("aws")
    assert catalog is not None
    for sku in skus:
        assert catalog.price(sku) is not None, sku  # else the test removes nothing
    kept = {k: v for k, v in catalog.prices.items() if k not in skus}
    return PriceLookup("aws", attrs.evolve(catalog, prices=kept), region=region)


def test_an_ebs_price_atlas_has_no_source_for_is_unknown(aws_registry: ProviderRegistry) -> None:
    volume = res("volume", "v", size=100, iops=4000, availability_zone="ap-southeast-1a")
    spec = validate_spec(doc(volume, region="ap-southeast-1"), registry=aws_registry)
    specs = spec.resource("v").specifications
    unsourced = _without(
        aws_registry,
        "ap-southeast-1",
        "volume:ap-southeast-1:gp3",
        "volume-iops:ap-southeast-1:gp3",
    )
    lines = volume_price(specs, unsourced)
    assert [i.monthly for i in lines] == [None, None]
    assert [i.unpriced for i in lines] == [
        "the EBS gp3 price per GB-month in ap-southeast-1 is unknown: atlas has no sourced "
        "figure for it",
        "the EBS gp3 price per provisioned IOPS-month in ap-southeast-1 is unknown: atlas has "
        "no sourced figure for it",
    ]
    # With a price, 100 GiB and the 1,000 IOPS above gp3's 3,000 are priced.
    lookup = _gp3_catalog(aws_registry, "ap-southeast-1")
    lines = volume_price(specs, lookup)
    assert [str(i.monthly) for i in lines] == ["10.00 USD", "10.00 USD"]
    # The shipped catalog's Singapore figures (scripts/aws-ebs-prices.csv): $0.096 a GB-month
    # and $0.006 an IOPS-month.
    [estimate] = estimate_spec(spec, aws_registry).breakdown
    assert [str(i.monthly) for i in estimate.line_items] == ["9.60 USD", "6.00 USD"]
    assert estimate.unpriced == ()


def test_a_sourced_ebs_price_prices_storage_and_iops(aws_registry: ProviderRegistry) -> None:
    """us-east-1 gp3 comes from scripts/aws-ebs-prices.csv: $0.08 per GB-month and $0.005
    per IOPS-month above the 3,000 included."""
    volume = res("volume", "v", size=100, iops=4000, availability_zone="us-east-1a")
    spec = validate_spec(doc(volume, region="us-east-1"), registry=aws_registry)
    [estimate] = estimate_spec(spec, aws_registry).breakdown
    assert [str(i.monthly) for i in estimate.line_items] == ["8.00 USD", "5.00 USD"]
    assert estimate.unpriced == ()


def test_an_instances_root_volume_is_a_gp3_line_of_its_own(aws_registry: ProviderRegistry) -> None:
    sized = res("instance", "web", instance_type="t3.micro", image="ubuntu-24.04", count=3,
                root_volume_size=20)  # fmt: skip
    plain = res("instance", "one", instance_type="t3.micro", image="ubuntu-24.04")
    spec = validate_spec(doc(sized, plain), registry=aws_registry)
    lookup = _gp3_catalog(aws_registry, "eu-west-1")
    [ec2, root] = instance_price(spec.resource("web").specifications, lookup)
    assert ec2.description == "EC2 t3.micro x 3"
    assert (root.description, root.sku) == (
        "EBS gp3 root volume 20 GiB x 3",
        "volume:eu-west-1:gp3",
    )
    assert (root.quantity, str(root.monthly)) == (60, "6.00 USD")
    [_, default] = instance_price(spec.resource("one").specifications, lookup)
    assert default.monthly is None
    assert "give root_volume_size to price it" in str(default.unpriced)
    # Where the catalog has no gp3 price, the line says so; the shipped one has eu-west-1's
    # ($0.088 a GB-month, scripts/aws-ebs-prices.csv).
    unsourced = _without(aws_registry, "eu-west-1", "volume:eu-west-1:gp3")
    [_, root] = instance_price(spec.resource("web").specifications, unsourced)
    assert "EBS gp3 price per GB-month in eu-west-1 is unknown" in str(root.unpriced)
    [estimate, _] = estimate_spec(spec, aws_registry).breakdown
    assert str(estimate.line_items[1].monthly) == "5.28 USD"  # 60 GiB


def test_a_volume_that_would_shrink_is_replaced(aws_registry: ProviderRegistry) -> None:
    kind = aws_registry.kinds("aws")["volume"]
    assert kind.replace_if is not None
    assert kind.replace_if({"size": 20}, {"size": 10}) is not None
    assert kind.replace_if({"size": 10}, {"size": 20}) is None


def test_the_aws_examples_validate(aws_registry: ProviderRegistry) -> None:
    from tests.conftest import EXAMPLES

    examples = sorted(EXAMPLES.glob("aws-*"))
    assert examples
    for example in examples:
        assert validate_spec(example, registry=aws_registry).provider == "aws"
