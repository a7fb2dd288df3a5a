"""ELBv2 load balancers: offline checks with their paths, names within ELB's rules, the
estimate, and create / adopt / provisioning / delete on the emulator."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import attrs
import pytest

from atlas.cost.billing import parse_duration
from atlas.cost.engine import estimate_spec
from atlas.cost.money import Money
from atlas.credentials import Secret
from atlas.exceptions import SpecValidationError
from atlas.facade import AsyncAtlas
from atlas.model.cloud import Owner, ResourceState
from atlas.providers import ProviderRegistry, StepContext, Timing
from atlas.spec import validate_spec
from atlas.store import SQLiteStore
from atlas_aws.credentials import AwsKeys
from atlas_aws.emulator import AwsEmulator, FidelityConfig, account_for, shared_emulator
from atlas_aws.emulator.state import Account
from atlas_aws.naming import ELB_NAME, ELB_NAME_MAX, elb_name, target_group_name
from atlas_aws.provider import AwsProvider

REGION = "us-east-1"
PRICED = "us-east-1"


def res(type_: str, name: str, **specs: Any) -> dict[str, Any]:
    return {"type": type_, "name": name, "specifications": specs}


def doc(*resources: dict[str, Any], region: str = REGION) -> dict[str, Any]:
    return {"name": "shop", "provider": "aws", "region": region, "resources": list(resources)}


def stack(region: str = REGION, **lb: Any) -> list[dict[str, Any]]:
    specs = {
        "subnets": ["a", "b"],
        "security_groups": ["web"],
        "listeners": [{"port": 80, "protocol": "HTTP", "target_port": 8080}],
        "targets": ["app"],
        **lb,
    }
    return [
        res("vpc", "net", cidr_block="10.0.0.0/16"),
        res("subnet", "a", vpc="net", cidr_block="10.0.1.0/24", availability_zone=f"{region}a"),
        res("subnet", "b", vpc="net", cidr_block="10.0.2.0/24", availability_zone=f"{region}b"),
        res("security_group", "web", vpc="net"),
        res("instance", "app", instance_type="t3.micro", image="ubuntu-24.04", subnet="a", count=2),
        res("load_balancer", "front", **specs),
    ]


def problems(registry: ProviderRegistry, document: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(SpecValidationError) as info:
        validate_spec(document, registry=registry)
    return {p.path: p.message for p in info.value.problems}


LB = "resources[5].specifications"

# -- offline ----------------------------------------------------------------------------------


def test_a_load_balancer_stack_validates(aws_registry: ProviderRegistry) -> None:
    spec = validate_spec(doc(*stack()), registry=aws_registry)
    assert spec.resource("front").specifications.listeners[0].to_port == 8080


def test_an_alb_needs_two_zones_and_one_subnet_per_zone(aws_registry: ProviderRegistry) -> None:
    found = problems(aws_registry, doc(*stack(subnets=["a"])))
    assert "at least two zones" in found[f"{LB}.subnets"]
    resources = stack()
    resources[2]["specifications"]["availability_zone"] = f"{REGION}a"
    found = problems(aws_registry, doc(*resources))
    assert "one subnet per zone" in found[f"{LB}.subnets[1]"]
    assert "at least two zones" in found[f"{LB}.subnets"]


def test_subnets_groups_and_targets_share_the_vpc(aws_registry: ProviderRegistry) -> None:
    other = [
        res("vpc", "other", cidr_block="10.9.0.0/16"),
        res("subnet", "c", vpc="other", cidr_block="10.9.1.0/24", availability_zone=f"{REGION}c"),
        res("security_group", "far", vpc="other"),
        res("instance", "stray", instance_type="t3.micro", image="ubuntu-24.04", subnet="c"),
    ]
    found = problems(
        aws_registry,
        doc(
            *stack(
                subnets=["a", "b", "c"], security_groups=["web", "far"], targets=["app", "stray"]
            ),
            *other,
        ),
    )
    assert "share one VPC" in found[f"{LB}.subnets[2]"]
    assert "'far' is not in the load balancer's VPC" in found[f"{LB}.security_groups[1]"]
    assert "'stray' is in VPC 'other'" in found[f"{LB}.targets[1]"]


def test_listeners_are_checked(aws_registry: ProviderRegistry) -> None:
    listeners = [
        {"port": 80, "protocol": "HTTP"},
        {"port": 80, "protocol": "HTTP", "target_port": 8080},
        {"port": 443, "protocol": "HTTPS"},
        {"port": 8443, "protocol": "TCP"},
        {"port": 9000, "protocol": "HTTP", "certificate_arn": "arn:aws:acm:x"},
        {"port": 9443, "protocol": "HTTPS", "certificate_arn": "not-an-arn"},
    ]
    found = problems(aws_registry, doc(*stack(listeners=listeners)))
    at = f"{LB}.listeners"
    assert "taken by listeners[0]" in found[f"{at}[1].port"]
    assert "needs the ARN of a certificate" in found[f"{at}[2].certificate_arn"]
    assert "not TCP" in found[f"{at}[3].protocol"]
    assert "takes none" in found[f"{at}[4].certificate_arn"]
    assert "is not a certificate ARN" in found[f"{at}[5].certificate_arn"]
    found = problems(aws_registry, doc(*stack(listeners=[{"port": 0, "protocol": "HTTP"}])))
    assert "1 to 65535" in found[f"{at}[0].port"]


def test_a_network_load_balancer_takes_layer_four_and_no_groups(
    aws_registry: ProviderRegistry,
) -> None:
    cert = "arn:aws:acm:us-east-1:123456789012:certificate/abc"
    ok = stack(
        type="network",
        subnets=["a"],
        security_groups=[],
        listeners=[
            {"port": 53, "protocol": "UDP"},
            {"port": 443, "protocol": "TLS", "target_port": 8443, "certificate_arn": cert},
        ],
    )
    validate_spec(doc(*ok), registry=aws_registry)  # one zone is enough for a network one
    found = problems(aws_registry, doc(*stack(type="network")))
    assert "application ones" in found[f"{LB}.security_groups"]
    assert "not HTTP" in found[f"{LB}.listeners[0].protocol"]


@pytest.mark.parametrize(
    ("infrastructure", "resource"),
    [
        ("shop", "front"),
        ("internal", "lb"),
        ("a" * 60, "b" * 60),
        ("x", "front_door--main"),
        ("web-", "-"),
    ],
)
def test_elb_names_fit_elbs_rules(infrastructure: str, resource: str) -> None:
    name = elb_name(infrastructure, "uid-1", resource)
    assert len(name) <= ELB_NAME_MAX
    assert ELB_NAME.match(name), name
    assert not name.lower().startswith("internal-")
    assert name != elb_name(infrastructure, "uid-2", resource)  # unique per owner
    group = target_group_name("uid-1", resource, "arn/HTTP/80")
    assert len(group) <= ELB_NAME_MAX
    assert ELB_NAME.match(group)
    assert group != target_group_name("uid-1", resource, "arn/HTTP/81")


def _lines(registry: ProviderRegistry, region: str, duration: str | None = None) -> dict[str, Any]:
    spec = validate_spec(doc(*stack(region=region), region=region), registry=registry)
    run = parse_duration(duration) if duration else None
    estimate = estimate_spec(spec, registry, duration=run)
    [front] = [r for r in estimate.breakdown if r.resource_name == "front"]
    return {li.sku: li for li in front.line_items}


def test_the_estimate_is_the_hours_and_one_assumed_capacity_unit(
    aws_registry: ProviderRegistry,
) -> None:
    lines = _lines(aws_registry, PRICED)
    hours = lines[f"load_balancer:{PRICED}:application"]
    capacity = lines[f"load_balancer-capacity:{PRICED}:application"]
    # The generated catalog: 0.0225 an ALB-hour and 0.008 an LCU-hour in us-east-1.
    assert str(hours.hourly) == "0.0225 USD"
    assert str(capacity.hourly) == "0.008 USD"
    assert capacity.quantity == 1
    assert "1 LCU assumed" in capacity.description
    assert str(hours.monthly) == "16.42 USD"


def test_a_partial_hour_is_billed_as_a_full_hour(aws_registry: ProviderRegistry) -> None:
    lines = _lines(aws_registry, PRICED, "90m")
    hours = lines[f"load_balancer:{PRICED}:application"]
    assert hours.billing is not None
    assert hours.billing.metering == "hour"
    assert str(hours.billed) == str(Money(Decimal("0.045"), "USD").rounded())  # two hours


def test_an_unpriced_region_says_what_is_missing(aws_registry: ProviderRegistry) -> None:
    # ap-southeast-1: scripts/aws-elb-prices.csv sources no figure there.
    hours = _lines(aws_registry, "ap-southeast-1")["load_balancer:ap-southeast-1:application"]
    assert hours.hourly is None
    assert hours.unpriced


# -- on the emulator ----------------------------------------------------------------------------

CONFIG = FidelityConfig(
    pending_seconds=0.2, invisible_seconds=0.1, provisioning_seconds=0.6, release_seconds=0.5
)
OWNER = Owner("w", "shop")


@attrs.frozen
class Cloud:
    provider: AwsProvider
    account: Account
    emulator: AwsEmulator


@pytest.fixture
async def aws() -> AsyncIterator[Cloud]:
    async for cloud in _cloud(CONFIG):
        yield cloud


#: An emulator of its own whose clock the test moves (``Cloud.emulator.layer.clock``).
FROZEN = attrs.evolve(CONFIG, provisioning_seconds=60.0, release_seconds=60.0)


@pytest.fixture
async def frozen() -> AsyncIterator[tuple[Cloud, list[float]]]:
    now = [0.0]
    async for cloud in _cloud(FROZEN):
        assert cloud.emulator.layer is not None
        cloud.emulator.layer.clock = lambda: now[0]
        yield cloud, now


async def _cloud(config: FidelityConfig) -> AsyncIterator[Cloud]:
    emulator = shared_emulator(config)
    assert emulator.layer is not None
    key_id = "AKIA" + secrets.token_hex(8).upper()
    pair = AwsKeys(Secret(key_id), Secret("secret-" + secrets.token_hex(12)), None, "test")
    account = emulator.layer.account(account_for(key_id))
    timing = Timing(poll_interval=0.05, visibility_grace=5.0, action_timeout=30.0)
    provider = AwsProvider(pair, endpoint_url=emulator.url, env={}, timing=timing)
    yield Cloud(provider, account, emulator)
    await provider.aclose()


def atlas_for(cloud: Cloud, registry: ProviderRegistry) -> AsyncAtlas:
    return AsyncAtlas(
        store=SQLiteStore(":memory:"),
        registry=registry,
        workspace="w",
        providers={"aws": cloud.provider},
    )


@pytest.mark.loopback
async def test_apply_makes_the_load_balancer_listeners_and_targets_then_destroy(
    aws: Cloud, aws_registry: ProviderRegistry
) -> None:
    async with atlas_for(aws, aws_registry) as atlas:
        op = await atlas.apply(doc(*stack()))
        assert op.status == "completed", op.error
        handler = await aws.provider.handler("load_balancer")
        states = await handler.discover(OWNER)
        [front] = [s for s in states if s.name == "front"]
        [lb] = front.objects
        assert lb.status == "active"
        assert lb.attributes["listeners"] == [[80, "HTTP", 8080, None]]
        assert len(lb.attributes["targets"]) == 2
        assert aws.account.actions.count("CreateLoadBalancer") == 1
        assert aws.account.actions.count("CreateTargetGroup") == 1

        changed = stack(
            listeners=[
                {"port": 80, "protocol": "HTTP", "target_port": 8080},
                {"port": 81, "protocol": "HTTP", "target_port": 9090},
            ]
        )
        op = await atlas.apply(doc(*changed))
        assert op.status == "completed", op.error
        [fresh] = (await handler.read(OWNER, front) or front).objects
        assert fresh.attributes["listeners"] == [[80, "HTTP", 8080, None], [81, "HTTP", 9090, None]]
        assert aws.account.actions.count("CreateLoadBalancer") == 1  # changed in place

        op = await atlas.destroy("shop")
        assert op.status == "completed", op.error
    assert await handler.read(OWNER, front) is None
    assert aws.account.actions.count("DeleteLoadBalancer") == 1


async def _prerequisites(
    cloud: Cloud, registry: ProviderRegistry, now: list[float] | None = None
) -> tuple[Any, dict[str, Any]]:
    spec = validate_spec(doc(*stack()), registry=registry)
    deps: dict[str, ResourceState] = {}
    for name in ("net", "a", "b", "web", "app"):
        ctx = StepContext(OWNER, spec, spec.resource(name), deps, "op-1")
        made = await cloud.provider.create(ctx)
        if now is not None:
            now[0] += 100.0  # instances past pending
        [deps[name]] = await cloud.provider.wait(OWNER, [made], timeout=30)
    return spec, deps


@pytest.mark.loopback
async def test_a_lost_create_answer_is_adopted_then_provisions_then_goes_in_order(
    frozen: tuple[Cloud, list[float]], aws_registry: ProviderRegistry
) -> None:
    aws, now = frozen
    spec, deps = await _prerequisites(aws, aws_registry, now)
    ctx = StepContext(OWNER, spec, spec.resource("front"), deps, "op-1")
    handler = await aws.provider.handler("load_balancer")
    names = handler.object_names(ctx)
    [first] = await handler.create(ctx, names)
    # The same create again (a retry after a lost answer): ELB answers with the first.
    [again] = await handler.create(ctx, names)
    assert again.id == first.id
    # With other settings, ELB answers DuplicateLoadBalancerName: adopted by its marks.
    other = attrs.evolve(ctx, spec=attrs.evolve(spec, tags={"team": "x"}))
    [adopted] = await handler.create(other, names)
    assert adopted.id == first.id
    assert "CreateLoadBalancer" in aws.account.actions
    state = ResourceState("load_balancer", "front", (first,))
    assert first.status == "creating"  # provisioning
    state = await handler.finish_create(ctx, state)  # listeners while it provisions
    assert state.objects[0].attributes["listeners"] == [[80, "HTTP", 8080, None]]
    assert (await handler.poll(OWNER, [state]))[first.id].status == "creating"
    now[0] += FROZEN.provisioning_seconds
    [ready] = await aws.provider.wait(OWNER, [state], timeout=30)
    assert ready.status == "active"

    # Listeners, then the load balancer, then its target group, which ELB still holds.
    await handler.delete(OWNER, ready)
    left = await handler.remaining(OWNER, ready)
    assert left is not None
    assert [o.attributes.get("target_group") for o in left.objects] == [True]
    tail = aws.account.actions[-12:]
    assert tail.index("DeleteListener") < tail.index("DeleteLoadBalancer")
    assert tail.index("DeleteLoadBalancer") < tail.index("DeleteTargetGroup")
    now[0] += FROZEN.release_seconds
    await aws.provider.delete(OWNER, left)  # the wait until gone: the group goes now
    assert await handler.remaining(OWNER, ready) is None


@pytest.mark.loopback
async def test_a_name_held_by_someone_else_is_not_adopted(
    aws: Cloud, aws_registry: ProviderRegistry
) -> None:
    spec, deps = await _prerequisites(aws, aws_registry)
    ctx = StepContext(OWNER, spec, spec.resource("front"), deps, "op-1")
    handler = await aws.provider.handler("load_balancer")
    names = handler.object_names(ctx)
    stranger = attrs.evolve(ctx, owner=Owner("someone-else", "shop"))
    await handler.create(attrs.evolve(ctx, spec=attrs.evolve(spec, tags={"a": "b"})), names)
    with pytest.raises(Exception, match="did not make for this resource"):
        await handler.create(stranger, names)


def _boto(cloud: Cloud, service: str, key_id: str) -> Any:
    import boto3

    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=cloud.emulator.url,
        aws_access_key_id=key_id,
        aws_secret_access_key="x",
    )


@pytest.mark.loopback
def test_the_layer_provisions_and_holds_target_groups_as_elb_does() -> None:
    """What moto lacks: a load balancer provisioning before active, a repeated create
    answered with the first, and target groups refused (ResourceInUse) for a while after
    their load balancer's delete; default the layer models AWS, plain moto would not."""
    from botocore.exceptions import ClientError

    # An emulator of its own, on a clock the test moves: no sleeping, no race.
    config = attrs.evolve(CONFIG, provisioning_seconds=61.0)  # not FROZEN's: its own clock
    emulator = shared_emulator(config)
    assert emulator.layer is not None
    now = [0.0]
    emulator.layer.clock = lambda: now[0]
    cloud = Cloud(None, None, emulator)  # type: ignore[arg-type]
    key_id = "AKIA" + secrets.token_hex(8).upper()
    ec2, elb = _boto(cloud, "ec2", key_id), _boto(cloud, "elbv2", key_id)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{z}")[
            "Subnet"
        ]["SubnetId"]
        for i, z in ((1, "a"), (2, "b"))
    ]
    [lb] = elb.create_load_balancer(Name="front", Subnets=subnets)["LoadBalancers"]
    [again] = elb.create_load_balancer(Name="front", Subnets=subnets)["LoadBalancers"]
    assert again["LoadBalancerArn"] == lb["LoadBalancerArn"]
    with pytest.raises(ClientError, match="DuplicateLoadBalancerName"):
        elb.create_load_balancer(Name="front", Subnets=subnets[:1], Type="network")
    arn = lb["LoadBalancerArn"]
    [shown] = elb.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"]
    assert shown["State"]["Code"] == "provisioning"
    now[0] += config.provisioning_seconds
    [shown] = elb.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"]
    assert shown["State"]["Code"] == "active"
    [group] = elb.create_target_group(Name="tg", Protocol="HTTP", Port=80, VpcId=vpc)[
        "TargetGroups"
    ]
    action = [{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}]
    elb.create_listener(LoadBalancerArn=arn, Protocol="HTTP", Port=80, DefaultActions=action)
    elb.delete_load_balancer(LoadBalancerArn=arn)
    with pytest.raises(ClientError, match="ResourceInUse"):
        elb.delete_target_group(TargetGroupArn=group["TargetGroupArn"])
    now[0] += config.release_seconds
    elb.delete_target_group(TargetGroupArn=group["TargetGroupArn"])
    assert elb.describe_target_groups()["TargetGroups"] == []
