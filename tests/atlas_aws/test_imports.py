"""Discover and import on AWS: a stack made by hand (boto3, no atlas marks) is listed with
references by name, written as a spec, adopted without a create; bad imports are refused
with the id and the reason."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from atlas.exceptions import ProviderOperationError
from atlas.facade import AsyncAtlas
from atlas.model.cloud import Owner
from atlas.model.infrastructure import ResourceSpec
from atlas.providers import ProviderRegistry
from atlas.spec import validate_spec
from atlas.store import SQLiteStore
from atlas_aws.faults import outside_client
from atlas_aws.prices import load_offerings
from atlas_aws.sandbox import CONFIG as QUICK
from atlas_aws.sandbox import SAMPLES
from tests.atlas_aws.test_provider import REGION, Cloud, cloud

pytestmark = pytest.mark.loopback


@pytest.fixture
async def aws() -> AsyncIterator[Cloud]:
    made = cloud()
    yield made
    await made.provider.aclose()


@pytest.fixture
async def quick() -> AsyncIterator[Cloud]:
    """An account whose DB instances and load balancers are ready (and gone) in a moment."""
    made = cloud(QUICK)
    yield made
    await made.provider.aclose()


def _name(kind: str, name: str) -> list[dict[str, Any]]:
    return [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": name}]}]


def by_hand(aws: Cloud, region: str = REGION) -> dict[str, Any]:
    """A VPC, a subnet, two groups (one admitting the other), two instances of one launch in
    the subnet, and a volume attached to a third one: the ids, by what they are."""
    ec2 = outside_client(aws.emulator, aws.keys, region)
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16", TagSpecifications=_name("vpc", "Prod Net"))
    vpc_id = vpc["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(
        VpcId=vpc_id,
        CidrBlock="10.8.1.0/24",
        AvailabilityZone=f"{region}a",
        TagSpecifications=_name("subnet", "prod-a"),
    )["Subnet"]["SubnetId"]
    lb = ec2.create_security_group(GroupName="lb", Description="front", VpcId=vpc_id)["GroupId"]
    app = ec2.create_security_group(GroupName="app", Description="back", VpcId=vpc_id)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=app,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080}
            | {"UserIdGroupPairs": [{"GroupId": lb}]}
        ],
    )
    image = load_offerings().images["ubuntu-24.04"]
    pattern = [{"Name": "name", "Values": [str(image.name_filter("x86_64"))]}]
    images = ec2.describe_images(Owners=[image.owner], Filters=pattern)["Images"]
    made = ec2.run_instances(
        ImageId=images[0]["ImageId"],
        InstanceType="t3.micro",
        MinCount=2,
        MaxCount=2,
        SubnetId=subnet,
        SecurityGroupIds=[app],
        TagSpecifications=_name("instance", "api"),
    )["Instances"]
    ids = [i["InstanceId"] for i in made]
    [db] = ec2.run_instances(
        ImageId=images[0]["ImageId"],
        InstanceType="t3.small",
        MinCount=1,
        MaxCount=1,
        SubnetId=subnet,
        TagSpecifications=_name("instance", "db"),
    )["Instances"]
    volume = ec2.create_volume(Size=30, VolumeType="io1", Iops=500, AvailabilityZone=f"{region}a")[
        "VolumeId"
    ]
    ec2.attach_volume(VolumeId=volume, InstanceId=db["InstanceId"], Device="/dev/sdf")
    return {
        "vpc": vpc_id, "subnet": subnet, "lb": lb, "app": app, "instances": ids,
        "db": db["InstanceId"], "vol": volume,
    }  # fmt: skip


async def test_the_inventory_lists_a_stack_made_by_hand_with_references_by_name(
    aws: Cloud,
) -> None:
    ids = by_hand(aws)
    found = {f.name: f for f in await aws.provider.inventory(region=REGION)}
    # The account's own default VPC, its subnets and groups, and the root volumes are not.
    unnamed = ids["vol"]  # no Name tag: named after its id
    assert sorted(found) == ["api", "app", "db", "lb", "prod-a", "prod-net", unnamed]
    assert all(f.managed_by is None and f.region == REGION for f in found.values())
    assert found["prod-net"].ids == (ids["vpc"],)
    assert found["prod-a"].specifications["vpc"] == "prod-net"
    assert found["app"].specifications["vpc"] == "prod-net"
    [rule] = found["app"].specifications["ingress"]
    assert rule["security_groups"] == ["lb"]
    assert (rule["from_port"], rule["to_port"]) == (8080, 8080)
    api = found["api"]
    assert sorted(api.ids) == sorted(ids["instances"])
    specs = api.specifications
    assert specs["count"] == 2
    assert specs["subnet"] == "prod-a"
    assert specs["security_groups"] == ["app"]
    assert specs["root_volume_size"] == 8  # moto's image default
    # In the subnet's VPC, the one group it is given is the VPC's default: left out.
    assert found["db"].specifications["security_groups"] == []
    volume = found[unnamed].specifications
    assert (volume["size"], volume["volume_type"], volume["iops"]) == (30, "io1", 500)
    assert volume["attach_to"] == "db"


async def test_discover_writes_a_spec_that_imports_everything_without_a_create(
    aws: Cloud, aws_registry: ProviderRegistry
) -> None:
    ids = by_hand(aws)
    async with AsyncAtlas(
        store=SQLiteStore(":memory:"), registry=aws_registry, workspace="w",
        providers={"aws": aws.provider},
    ) as atlas:  # fmt: skip
        found = await atlas.discover("aws", region=REGION)
        [api] = [r for r in found.resources if r.found.name == "api"]
        # Priced with its root volumes: 2 x t3.micro (8.32) + 2 x 8 GiB gp3 at eu-west-1's 0.088.
        assert api.unpriced == ()
        assert api.monthly is not None
        assert str(api.monthly.amount) == "18.048"
        doc = found.to_spec("adopted")
        validate_spec(doc, registry=aws_registry)
        plan = await atlas.plan(doc)
        assert {c.action for c in plan.changes} == {"import"}, [str(c) for c in plan.changes]
        assert not [c for c in plan.changes if c.needs_replacement], plan.changes
        launches = aws.account.actions.count("RunInstances")
        op = await atlas.apply(doc)
        assert op.status == "completed", op.error
        assert aws.account.actions.count("RunInstances") == launches
        assert (await atlas.plan(doc)).empty
        view = atlas.get("adopted")
        assert {o.id for r in view.resources for o in r.objects} >= set(ids["instances"])
        # Released, not deleted: what was imported stays.
        assert (await atlas.destroy("adopted")).status == "completed"
        left = await aws.provider.inventory(region=REGION)
        assert {i for f in left for i in f.ids} >= {ids["vpc"], ids["vol"], *ids["instances"]}


def _resource(registry: ProviderRegistry, kind: str, specs: dict[str, Any]) -> ResourceSpec:
    net = {"type": "vpc", "name": "net", "specifications": {"cidr_block": "10.8.0.0/16"}}
    doc = {
        "name": "x",
        "provider": "aws",
        "region": REGION,
        "resources": [net, {"type": kind, "name": "it", "specifications": specs}],
    }
    return validate_spec(doc, registry=registry).resource("it")


async def test_a_bad_import_names_the_id_and_why(
    aws: Cloud, aws_registry: ProviderRegistry
) -> None:
    ids = by_hand(aws)
    vpc = _resource(aws_registry, "vpc", {"cidr_block": "10.8.0.0/16"})
    subnet = _resource(aws_registry, "subnet", {"vpc": "net", "cidr_block": "10.8.1.0/24"})
    read = aws.provider.read_import
    with pytest.raises(ProviderOperationError, match=r"subnet-\w+ is an id of a subnet, not"):
        await read(vpc, REGION, [ids["subnet"]], {})
    with pytest.raises(ProviderOperationError, match="there is no VPC vpc-0123abcd"):
        await read(vpc, REGION, ["vpc-0123abcd"], {})
    with pytest.raises(ProviderOperationError, match="is in eu-west-1, not in the spec's"):
        await read(vpc, "us-east-1", [ids["vpc"]], {})
    with pytest.raises(ProviderOperationError, match=f"refers to {ids['vpc']}, which the spec"):
        await read(subnet, REGION, [ids["subnet"]], {})
    got = await read(subnet, REGION, [ids["subnet"]], {ids["vpc"]: "net"})
    assert got.specifications["vpc"] == "net"
    with pytest.raises(ProviderOperationError, match="one object, the import names 2 ids"):
        await read(vpc, REGION, [ids["vpc"], ids["subnet"]], {})


# -- DB instances and load balancers ----------------------------------------------------------


def services_by_hand(aws: Cloud, region: str = REGION) -> dict[str, Any]:
    """A VPC with subnets in two zones, a group, a DB instance in a subnet group of its own
    (PostgreSQL 16.3, RDS upgrading minor versions), an instance, and an application load
    balancer whose HTTP listener forwards to a target group of that instance on 8080: made
    with boto3, no atlas names or marks anywhere."""
    ec2 = outside_client(aws.emulator, aws.keys, region)
    rds = outside_client(aws.emulator, aws.keys, region, "rds")
    elb = outside_client(aws.emulator, aws.keys, region, "elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16", TagSpecifications=_name("vpc", "data"))
    vpc_id = vpc["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(
            VpcId=vpc_id,
            CidrBlock=f"10.9.{i}.0/24",
            AvailabilityZone=f"{region}{zone}",
            TagSpecifications=_name("subnet", f"data-{zone}"),
        )["Subnet"]["SubnetId"]
        for i, zone in enumerate("ab", start=1)
    ]
    pg = ec2.create_security_group(GroupName="pg", Description="postgres", VpcId=vpc_id)
    rds.create_db_subnet_group(
        DBSubnetGroupName="orders-subnets",
        DBSubnetGroupDescription="by hand",
        SubnetIds=list(reversed(subnets)),
    )
    rds.create_db_instance(
        DBInstanceIdentifier="orders",
        Engine="postgres",
        EngineVersion="16.3",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        StorageType="gp2",
        MasterUsername="owner",
        MasterUserPassword="not-a-secret-0",
        DBSubnetGroupName="orders-subnets",
        VpcSecurityGroupIds=[pg["GroupId"]],
        AutoMinorVersionUpgrade=True,
    )
    image = load_offerings().images["ubuntu-24.04"]
    pattern = [{"Name": "name", "Values": [str(image.name_filter("x86_64"))]}]
    images = ec2.describe_images(Owners=[image.owner], Filters=pattern)["Images"]
    [web] = ec2.run_instances(
        ImageId=images[0]["ImageId"],
        InstanceType="t3.micro",
        MinCount=1,
        MaxCount=1,
        SubnetId=subnets[0],
        TagSpecifications=_name("instance", "web"),
    )["Instances"]
    [lb] = elb.create_load_balancer(Name="front", Subnets=subnets, Type="application")[
        "LoadBalancers"
    ]
    [group] = elb.create_target_group(
        Name="front-web", Protocol="HTTP", Port=8080, VpcId=vpc_id, TargetType="instance"
    )["TargetGroups"]
    elb.register_targets(
        TargetGroupArn=group["TargetGroupArn"], Targets=[{"Id": web["InstanceId"], "Port": 8080}]
    )
    elb.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}],
    )
    return {
        "vpc": vpc_id, "subnets": subnets, "pg": pg["GroupId"], "web": web["InstanceId"],
        "lb": lb["LoadBalancerArn"], "group": group["TargetGroupArn"],
    }  # fmt: skip


async def test_the_inventory_lists_db_instances_and_load_balancers_with_their_specs(
    quick: Cloud,
) -> None:
    aws = quick
    ids = services_by_hand(aws)
    found = {f.name: f for f in await aws.provider.inventory(region=REGION)}
    orders = found["orders"]
    assert (orders.type, orders.ids, orders.managed_by) == ("db_instance", ("orders",), None)
    specs = orders.specifications
    assert specs["engine"] == "postgres"
    assert specs["engine_version"] == "16"  # RDS upgrades the minor version itself
    assert (specs["instance_class"], specs["allocated_storage"]) == ("db.t3.micro", 20)
    assert (specs["storage_type"], specs["master_username"]) == ("gp2", "owner")
    assert specs["subnets"] == ["data-a", "data-b"]  # through the subnet group, sorted
    assert specs["security_groups"] == ["pg"]
    assert orders.objects[0].attributes["subnet_group"] == "orders-subnets"
    front = found["front"]
    assert (front.type, front.ids) == ("load_balancer", (ids["lb"],))
    lb = front.specifications
    assert (lb["type"], lb["internal"], lb["subnets"]) == (
        "application",
        False,
        ["data-a", "data-b"],
    )
    assert lb["listeners"] == [
        {"port": 80, "protocol": "HTTP", "target_port": 8080, "certificate_arn": None}
    ]
    assert lb["targets"] == ["web"]
    assert front.objects[0].attributes["target_groups"] == [ids["group"]]


async def test_db_instances_and_load_balancers_atlas_made_are_reported_as_managed(
    quick: Cloud, aws_registry: ProviderRegistry
) -> None:
    aws = quick
    samples = {s.type: s for s in SAMPLES}
    web = {"instance_type": "t3.micro", "image": "ubuntu-24.04", "subnet": "lan"}
    resources = [
        *samples["db_instance"].needs,
        {"type": "instance", "name": "web", "specifications": web},
        {"type": "db_instance", "name": "db",
         "specifications": samples["db_instance"].specifications},
        {"type": "load_balancer", "name": "lb",
         "specifications": samples["load_balancer"].specifications},
    ]  # fmt: skip
    doc = {"name": "shop", "provider": "aws", "region": REGION, "resources": resources}
    async with AsyncAtlas(
        store=SQLiteStore(":memory:"), registry=aws_registry, workspace="default",
        providers={"aws": aws.provider},
    ) as atlas:  # fmt: skip
        op = await atlas.apply(doc)
        assert op.status == "completed", op.error
        found = {f.name: f for f in await aws.provider.inventory(region=REGION)}
        assert found["db"].type == "db_instance"
        assert found["lb"].type == "load_balancer"
        for name in ("db", "lb"):
            owner = found[name].managed_by
            assert owner is not None
            assert owner.infrastructure == "shop", owner
        discovered = await atlas.discover("aws", region=REGION)
        assert not [
            r for r in discovered.resources if r.found.type in ("db_instance", "load_balancer")
        ]
        assert (await atlas.destroy("shop")).status == "completed"


async def test_an_imported_db_instance_and_load_balancer_plan_nothing_and_destroy_cleanly(
    quick: Cloud, aws_registry: ProviderRegistry
) -> None:
    aws = quick
    ids = services_by_hand(aws)
    async with AsyncAtlas(
        store=SQLiteStore(":memory:"), registry=aws_registry, workspace="w",
        providers={"aws": aws.provider},
    ) as atlas:  # fmt: skip
        found = await atlas.discover("aws", region=REGION)
        doc = found.to_spec("adopted")
        by_name = {r["name"]: r for r in doc["resources"]}
        # As a person would write it: the version they asked for, the subnets in their order,
        # the target port left out where it is the listener's own.
        by_name["orders"]["specifications"]["engine_version"] = "16.3"
        by_name["orders"]["specifications"]["subnets"] = ["data-b", "data-a"]
        validate_spec(doc, registry=aws_registry)
        plan = await atlas.plan(doc)
        assert {c.action for c in plan.changes} == {"import"}, [str(c) for c in plan.changes]
        assert not [c for c in plan.changes if c.fields or c.needs_replacement], [
            str(c) for c in plan.changes
        ]
        op = await atlas.apply(doc)
        assert op.status == "completed", op.error
        assert aws.account.actions.count("CreateDBInstance") == 0
        assert aws.account.actions.count("CreateTargetGroup") == 0
        assert (await atlas.plan(doc)).empty
        assert (await atlas.plan(doc, refresh=True)).empty
        view = {r.name: r for r in atlas.get("adopted").resources}
        assert view["orders"].state().ids == ("orders",)
        assert view["front"].state().ids == (ids["lb"],)

        gone = await atlas.destroy("adopted", include_imported=True)
        assert gone.status == "completed", gone.error
    rds = outside_client(aws.emulator, aws.keys, REGION, "rds")
    elb = outside_client(aws.emulator, aws.keys, REGION, "elbv2")
    assert rds.describe_db_instances()["DBInstances"] == []
    assert rds.describe_db_subnet_groups()["DBSubnetGroups"] == []
    assert elb.describe_load_balancers()["LoadBalancers"] == []
    assert elb.describe_target_groups()["TargetGroups"] == []
    left = await aws.provider.inventory(region=REGION)
    assert not {i for f in left for i in f.ids} & {ids["vpc"], ids["web"], *ids["subnets"]}


async def test_a_bad_db_or_load_balancer_import_names_the_id_and_why(
    quick: Cloud, aws_registry: ProviderRegistry
) -> None:
    aws = quick
    ids = services_by_hand(aws)
    net = {"type": "vpc", "name": "net", "specifications": {"cidr_block": "10.9.0.0/16"}}
    a = {
        "type": "subnet",
        "name": "a",
        "specifications": {
            "vpc": "net",
            "cidr_block": "10.9.1.0/24",
            "availability_zone": "eu-west-1a",
        },
    }
    b = {
        "type": "subnet",
        "name": "b",
        "specifications": {
            "vpc": "net",
            "cidr_block": "10.9.2.0/24",
            "availability_zone": "eu-west-1b",
        },
    }
    db = {
        "type": "db_instance",
        "name": "it",
        "specifications": {
            "engine": "postgres",
            "instance_class": "db.t3.micro",
            "allocated_storage": 20,
            "subnets": ["a", "b"],
        },
    }
    lb = {
        "type": "load_balancer",
        "name": "lb",
        "specifications": {"subnets": ["a", "b"], "listeners": [{"port": 80, "protocol": "HTTP"}]},
    }
    doc = {"name": "x", "provider": "aws", "region": REGION, "resources": [net, a, b, db, lb]}
    spec = validate_spec(doc, registry=aws_registry)
    read = aws.provider.read_import
    with pytest.raises(ProviderOperationError, match="there is no DB instance nothing-here"):
        await read(spec.resource("it"), REGION, ["nothing-here"], {})
    with pytest.raises(ProviderOperationError, match="is not a DB instance identifier"):
        await read(spec.resource("it"), REGION, ["vpc_1"], {})
    with pytest.raises(ProviderOperationError, match="is not the ARN of an application or net"):
        await read(spec.resource("lb"), REGION, ["front"], {})
    with pytest.raises(ProviderOperationError, match="is in eu-west-1, not in the spec's"):
        await read(spec.resource("lb"), "us-east-1", [ids["lb"]], {})
    with pytest.raises(ProviderOperationError, match="is in eu-west-1, not in the spec's"):
        await read(spec.resource("it"), "us-east-1", ["orders"], {})
    subnets = dict(zip(ids["subnets"], "ab", strict=True))
    with pytest.raises(ProviderOperationError, match=f"refers to {ids['pg']}, which the spec"):
        await read(spec.resource("it"), REGION, ["ORDERS"], subnets)
    names = subnets | {ids["pg"]: "pg"}
    got = await read(spec.resource("it"), REGION, ["ORDERS"], names)
    assert got.ids == ("orders",)
    assert got.specifications["security_groups"] == ["pg"]
    with pytest.raises(ProviderOperationError, match=f"refers to {ids['web']}, which the spec"):
        await read(spec.resource("lb"), REGION, [ids["lb"]], names)


async def test_what_a_spec_cannot_say_is_not_listed_and_the_log_says_why(
    quick: Cloud, caplog: pytest.LogCaptureFixture
) -> None:
    aws = quick
    ids = services_by_hand(aws)
    rds = outside_client(aws.emulator, aws.keys, REGION, "rds")
    elb = outside_client(aws.emulator, aws.keys, REGION, "elbv2")
    common = {
        "Engine": "postgres", "DBInstanceClass": "db.t3.micro", "MasterUsername": "owner",
        "MasterUserPassword": "not-a-secret-0", "DBSubnetGroupName": "orders-subnets",
    }  # fmt: skip
    rds.create_db_instance(DBInstanceIdentifier="twin", MultiAZ=True, AllocatedStorage=20, **common)
    rds.create_db_instance(
        DBInstanceIdentifier="fast", StorageType="io1", Iops=1000, AllocatedStorage=100, **common
    )
    [lb] = elb.describe_load_balancers(LoadBalancerArns=[ids["lb"]])["LoadBalancers"]
    elb.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Protocol="HTTP",
        Port=8081,
        DefaultActions=[
            {"Type": "redirect", "RedirectConfig": {"Port": "80", "StatusCode": "HTTP_301"}}
        ],
    )
    with caplog.at_level("WARNING", logger="atlas_aws"):
        found = {f.name for f in await aws.provider.inventory(region=REGION)}
    assert "orders" in found
    assert not found & {"twin", "fast", "front"}
    said = caplog.text
    assert "DB instance twin is Multi-AZ" in said
    assert "DB instance fast cannot be described as a db_instance spec" in said
    assert "storage_type" in said
    assert "the listener on port 8081 does not forward to one target group" in said


async def test_an_imported_load_balancer_is_changed_in_place_with_its_own_target_group(
    quick: Cloud, aws_registry: ProviderRegistry
) -> None:
    aws = quick
    ids = services_by_hand(aws)
    async with AsyncAtlas(
        store=SQLiteStore(":memory:"), registry=aws_registry, workspace="w",
        providers={"aws": aws.provider},
    ) as atlas:  # fmt: skip
        doc = (await atlas.discover("aws", region=REGION)).to_spec("adopted")
        assert (await atlas.apply(doc)).status == "completed"
        [front] = [r for r in doc["resources"] if r["name"] == "front"]
        listeners = front["specifications"]["listeners"]
        listeners.append({"port": 8080, "protocol": "HTTP"})
        plan = await atlas.plan(doc)
        assert [(c.action, c.resource) for c in plan.changes] == [("update", "front")]
        op = await atlas.apply(doc)
        assert op.status == "completed", op.error
        # The listener on 80 keeps forwarding to the group made by hand (HTTP to 8080), and
        # so does the new one: one group serves both.
        assert aws.account.actions.count("CreateTargetGroup") == 0
        elb = outside_client(aws.emulator, aws.keys, REGION, "elbv2")
        listed = elb.describe_listeners(LoadBalancerArn=ids["lb"])["Listeners"]
        assert sorted(x["Port"] for x in listed) == [80, 8080]
        assert {x["DefaultActions"][0]["TargetGroupArn"] for x in listed} == {ids["group"]}
        assert (await atlas.plan(doc, refresh=True)).empty
        gone = await atlas.destroy("adopted", include_imported=True)
        assert gone.status == "completed", gone.error
        assert elb.describe_target_groups()["TargetGroups"] == []


async def test_a_target_group_another_load_balancer_uses_stays_when_an_imported_one_goes(
    quick: Cloud, aws_registry: ProviderRegistry
) -> None:
    aws = quick
    ids = services_by_hand(aws)
    elb = outside_client(aws.emulator, aws.keys, REGION, "elbv2")
    [back] = elb.create_load_balancer(Name="back", Subnets=ids["subnets"], Type="application")[
        "LoadBalancers"
    ]
    elb.create_listener(
        LoadBalancerArn=back["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": ids["group"]}],
    )
    async with AsyncAtlas(
        store=SQLiteStore(":memory:"), registry=aws_registry, workspace="w",
        providers={"aws": aws.provider},
    ) as atlas:  # fmt: skip
        doc = (await atlas.discover("aws", region=REGION)).to_spec("adopted")
        doc["resources"] = [r for r in doc["resources"] if r["name"] not in ("back", "orders")]
        assert (await atlas.apply(doc)).status == "completed"
        [front] = [r for r in atlas.get("adopted").resources if r.name == "front"]
        assert front.state().ids == (ids["lb"],)
        # The load balancer alone (its subnets and instance serve the other one still).
        await aws.provider.delete(Owner("w", "adopted"), front.state())
    left = elb.describe_load_balancers()["LoadBalancers"]
    assert [lb["LoadBalancerArn"] for lb in left] == [back["LoadBalancerArn"]]
    [group] = elb.describe_target_groups()["TargetGroups"]
    assert group["TargetGroupArn"] == ids["group"]
