"""The AWS sandbox: the provider wired to the emulator (moto behind the fidelity layer), as
an account of its own, with the neutral faults and one sample per kind for the kit."""

from __future__ import annotations

import asyncio
import re
import secrets
import string
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from atlas.credentials import Secret
from atlas.exceptions import PluginError
from atlas.providers import Timing
from atlas.providers.declarations import KindSample, Sandbox
from atlas_aws.credentials import AwsKeys
from atlas_aws.emulator import AwsEmulator, FidelityConfig, account_for, shared_emulator
from atlas_aws.faults import EmulatorFaults, outside_client
from atlas_aws.naming import OWNER_TAG
from atlas_aws.prices import architecture, load_offerings
from atlas_aws.provider import AwsProvider

__all__ = ["CONFIG", "KNOWN_GAPS", "REGION", "SAMPLES", "make_sandbox"]

#: The region the samples are made in.
REGION = "eu-west-1"
#: AWS's behaviour at a fraction of its pace: launches pending for a moment, instances
#: unlisted right after their launch for less than that, DB instances creating and deleting,
#: load balancers provisioning and holding their target groups a little after their delete.
CONFIG = FidelityConfig(
    pending_seconds=0.4,
    invisible_seconds=0.2,
    db_creating_seconds=0.6,
    db_deleting_seconds=0.4,
    provisioning_seconds=0.6,
    release_seconds=0.3,
)

_NET = {"type": "vpc", "name": "net", "specifications": {"cidr_block": "10.0.0.0/16"}}
_LAN = {
    "type": "subnet",
    "name": "lan",
    "specifications": {
        "vpc": "net",
        "cidr_block": "10.0.1.0/24",
        "availability_zone": "eu-west-1a",
    },
}
# Beside "lan" in the one VPC, which the instance sample needs.
_SUBNET = {"vpc": "net", "cidr_block": "10.0.2.0/24", "availability_zone": "eu-west-1b"}
_SSH_RULE = {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["203.0.113.0/24"]}
_SSH = {
    "type": "security_group",
    "name": "ssh",
    "specifications": {"vpc": "net", "ingress": [_SSH_RULE]},
}
_WEB_RULE = {"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": ["0.0.0.0/0"]}
_INSTANCE = {
    "instance_type": "t3.micro",
    "image": "ubuntu-24.04",
    "subnet": "lan",
    "security_groups": ["ssh"],
    "count": 3,
}

# A second zone of the one VPC, which a DB instance's subnets need.
_LAN_B = {
    "type": "subnet",
    "name": "lan-b",
    "specifications": {
        "vpc": "net",
        "cidr_block": "10.0.3.0/24",
        "availability_zone": "eu-west-1b",
    },
}
_DB = {
    "engine": "postgres",
    "instance_class": "db.t3.micro",
    "allocated_storage": 20,
    "subnets": ["lan", "lan-b"],
    "security_groups": ["ssh"],
}

_WEB = {
    "type": "instance",
    "name": "web",
    "specifications": {"instance_type": "t3.micro", "image": "ubuntu-24.04", "subnet": "lan"},
}
# An application load balancer needs a second zone.
_LAN_B = {
    "type": "subnet",
    "name": "lan-b",
    "specifications": {
        "vpc": "net",
        "cidr_block": "10.0.3.0/24",
        "availability_zone": "eu-west-1b",
    },
}
_HTTP = {"port": 80, "protocol": "HTTP", "target_port": 8080}
_LB = {"subnets": ["lan", "lan-b"], "listeners": [_HTTP], "targets": ["web"]}

#: How the conformance kit exercises each kind.
SAMPLES: tuple[KindSample, ...] = (
    KindSample("vpc", {"cidr_block": "10.0.0.0/16"}),
    KindSample(
        "subnet",
        _SUBNET,
        update={**_SUBNET, "map_public_ip_on_launch": True},
        needs=(_NET,),
    ),
    KindSample(
        "security_group",
        {"vpc": "net", "ingress": [_SSH_RULE]},
        update={"vpc": "net", "ingress": [_SSH_RULE, _WEB_RULE]},
        needs=(_NET,),
    ),
    KindSample(
        "instance",
        _INSTANCE,
        update={**_INSTANCE, "instance_type": "t3.small"},
        needs=(_NET, _LAN, _SSH),
        count=3,
    ),
    KindSample(
        "volume",
        {"size": 10, "attach_to": "web"},
        update={"size": 20, "attach_to": "web"},
        needs=(_NET, _LAN, _WEB),
    ),
    KindSample(
        "db_instance",
        _DB,
        update={**_DB, "allocated_storage": 30},
        needs=(_NET, _LAN, _LAN_B, _SSH),
    ),
    KindSample(
        "load_balancer",
        _LB,
        update={**_LB, "listeners": [_HTTP, {"port": 81, "protocol": "HTTP"}]},
        needs=(_NET, _LAN, _LAN_B, _WEB),
    ),
)

#: Conformance tests AWS fails today: none.
KNOWN_GAPS: dict[str, str] = {}


def _keys() -> AwsKeys:
    """A credential of a fresh account: the emulator gives every key id one of its own."""
    alphabet = string.ascii_uppercase + string.digits
    key_id = "AKIA" + "".join(secrets.choice(alphabet) for _ in range(16))
    secret = "sandbox/" + secrets.token_urlsafe(30)
    return AwsKeys(Secret(key_id), Secret(secret), None, "sandbox")


def _is_empty(emulator: AwsEmulator, keys: AwsKeys) -> bool:
    """Nothing atlas made is left: no instance that is not terminated, no VPC, subnet,
    security group, volume, load balancer or target group with atlas's marks, no DB
    instance and no DB subnet group (a fresh account has none), in any region the account used."""
    assert emulator.layer is not None
    account = emulator.layer.account(account_for(keys.access_key_id.reveal()))
    marked = [{"Name": "tag-key", "Values": [OWNER_TAG]}]
    for region in sorted(account.regions):
        ec2 = outside_client(emulator, keys, region)
        reservations = ec2.describe_instances(Filters=marked)["Reservations"]
        if any(i["State"]["Name"] != "terminated" for r in reservations for i in r["Instances"]):
            return False
        for listed in (
            ec2.describe_vpcs(Filters=marked)["Vpcs"],
            ec2.describe_subnets(Filters=marked)["Subnets"],
            ec2.describe_security_groups(Filters=marked)["SecurityGroups"],
            [v for v in ec2.describe_volumes(Filters=marked)["Volumes"] if v["State"] != "deleted"],
        ):
            if listed:
                return False
        rds = outside_client(emulator, keys, region, "rds")
        if rds.describe_db_instances()["DBInstances"]:
            return False
        if rds.describe_db_subnet_groups()["DBSubnetGroups"]:
            return False
        if _elb_marked(outside_client(emulator, keys, region, "elbv2")):
            return False
    return True


def _elb_marked(elb: Any) -> bool:
    """Whether any load balancer or target group carries atlas's owner tag."""
    arns = [d["LoadBalancerArn"] for d in elb.describe_load_balancers()["LoadBalancers"]]
    arns += [d["TargetGroupArn"] for d in elb.describe_target_groups()["TargetGroups"]]
    for i in range(0, len(arns), 20):
        for d in elb.describe_tags(ResourceArns=arns[i : i + 20])["TagDescriptions"]:
            if any(t["Key"] == OWNER_TAG for t in d.get("Tags") or []):
                return True
    return False


def make_sandbox(config: FidelityConfig = CONFIG) -> Sandbox:
    emulator = shared_emulator(config)
    assert emulator.layer is not None
    keys = _keys()
    account = emulator.layer.account(account_for(keys.access_key_id.reveal()))
    provider = AwsProvider(
        keys,
        endpoint_url=emulator.url,
        env={},
        timing=Timing(poll_interval=0.1, visibility_grace=5.0, action_timeout=60.0),
    )
    return Sandbox(
        provider,
        lambda: _is_empty(emulator, keys),
        lambda: account.requests,
        f"moto {_moto_version()} in server mode behind atlas's AWS fidelity layer "
        f"(launches pending {config.pending_seconds:g}s)",
        faults=EmulatorFaults(emulator, account, keys, REGION),
        region=REGION,
        samples=SAMPLES,
        secret=keys.secret_access_key.reveal(),
        known_gaps=KNOWN_GAPS,
        unmanaged=_by_hand(emulator, keys),
    )


def _by_hand(
    emulator: AwsEmulator, keys: AwsKeys
) -> Callable[[str, str], Awaitable[Sequence[str]]]:
    """The sandbox's ``unmanaged`` hook: a resource made with boto3 as a person would (a
    ``Name`` tag, no atlas marks), from the kind's sample with its references left out: a
    group and an instance go in the default VPC, a volume stays unattached; a subnet gets a
    VPC of its own made by hand too (it needs one), a DB instance a VPC, two subnets and a
    subnet group, a load balancer a VPC, two subnets, an instance and a target group."""
    samples = {s.type: dict(s.specifications) for s in SAMPLES}

    def make(kind: str, name: str) -> list[str]:
        if kind not in samples:
            raise PluginError(f"the AWS sandbox has no sample {kind}")
        ec2 = outside_client(emulator, keys, REGION)
        if kind == "db_instance":
            rds = outside_client(emulator, keys, REGION, "rds")
            return _db_by_hand(ec2, rds, name, samples[kind])
        if kind == "load_balancer":
            elb = outside_client(emulator, keys, REGION, "elbv2")
            return _lb_by_hand(ec2, elb, name, samples[kind])
        return _make_by_hand(ec2, kind, name, samples[kind])

    async def run(kind: str, name: str) -> Sequence[str]:
        return await asyncio.to_thread(make, kind, name)

    return run


def _named(resource_type: str, name: str) -> list[dict[str, Any]]:
    return [{"ResourceType": resource_type, "Tags": [{"Key": "Name", "Value": name}]}]


def _make_by_hand(ec2: Any, kind: str, name: str, specs: dict[str, Any]) -> list[str]:
    if kind == "vpc":
        made = ec2.create_vpc(CidrBlock=specs["cidr_block"], TagSpecifications=_named("vpc", name))
        return [made["Vpc"]["VpcId"]]
    if kind == "subnet":
        [vpc] = _make_by_hand(ec2, "vpc", f"{name}-net", {"cidr_block": "10.0.0.0/16"})
        made = ec2.create_subnet(
            VpcId=vpc,
            CidrBlock=specs["cidr_block"],
            AvailabilityZone=specs["availability_zone"],
            TagSpecifications=_named("subnet", name),
        )
        return [made["Subnet"]["SubnetId"]]
    if kind == "security_group":
        group = ec2.create_security_group(GroupName=name, Description="made by hand")["GroupId"]
        rules = [
            {"IpProtocol": r["protocol"], "FromPort": r["from_port"], "ToPort": r["to_port"]}
            | {"IpRanges": [{"CidrIp": c} for c in r["cidr_blocks"]]}
            for r in specs["ingress"]
        ]
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=rules)
        return [group]
    if kind == "instance":
        return _instances_by_hand(ec2, name, specs)
    if kind == "volume":
        made = ec2.create_volume(
            Size=specs["size"],
            AvailabilityZone=f"{REGION}a",
            TagSpecifications=_named("volume", name),
        )
        return [made["VolumeId"]]
    raise PluginError(f"the AWS sandbox cannot make a {kind} by hand")


def _network_by_hand(ec2: Any, name: str) -> tuple[str, list[str]]:
    """A VPC and a subnet in each of two zones, made by hand: its id and theirs."""
    [vpc] = _make_by_hand(ec2, "vpc", f"{name}-net", {"cidr_block": "10.0.0.0/16"})
    subnets = [
        ec2.create_subnet(
            VpcId=vpc,
            CidrBlock=f"10.0.{i}.0/24",
            AvailabilityZone=f"{REGION}{zone}",
            TagSpecifications=_named("subnet", f"{name}-{zone}"),
        )["Subnet"]["SubnetId"]
        for i, zone in enumerate("ab", start=1)
    ]
    return vpc, subnets


def _db_by_hand(ec2: Any, rds: Any, name: str, specs: dict[str, Any]) -> list[str]:
    """A DB instance of the sample's engine, class and storage in a subnet group of two
    subnets made by hand (its VPC's default group guards it); its identifier is the name."""
    _, subnets = _network_by_hand(ec2, name)
    identifier = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    rds.create_db_subnet_group(
        DBSubnetGroupName=identifier, DBSubnetGroupDescription="made by hand", SubnetIds=subnets
    )
    made = rds.create_db_instance(
        DBInstanceIdentifier=identifier,
        Engine=specs["engine"],
        DBInstanceClass=specs["instance_class"],
        AllocatedStorage=specs["allocated_storage"],
        MasterUsername="owner",
        ManageMasterUserPassword=True,
        DBSubnetGroupName=identifier,
    )
    return [made["DBInstance"]["DBInstanceIdentifier"]]


def _lb_by_hand(ec2: Any, elb: Any, name: str, specs: dict[str, Any]) -> list[str]:
    """An application load balancer in two subnets made by hand, each of the sample's
    listeners forwarding to a target group of its own with an instance made by hand."""
    vpc, subnets = _network_by_hand(ec2, name)
    web = {"instance_type": "t3.micro", "image": "ubuntu-24.04"}
    [instance] = _instances_by_hand(ec2, f"{name}-web", web, subnet=subnets[0])
    short = re.sub(r"[^a-zA-Z0-9]+", "-", name)[:24].strip("-")
    [lb] = elb.create_load_balancer(Name=short, Subnets=subnets, Type="application")[
        "LoadBalancers"
    ]
    for listener in specs["listeners"]:
        port = listener.get("target_port") or listener["port"]
        [group] = elb.create_target_group(
            Name=f"{short}-{listener['port']}",
            Protocol="HTTP",
            Port=port,
            VpcId=vpc,
            TargetType="instance",
        )["TargetGroups"]
        arn = group["TargetGroupArn"]
        elb.register_targets(TargetGroupArn=arn, Targets=[{"Id": instance, "Port": port}])
        elb.create_listener(
            LoadBalancerArn=lb["LoadBalancerArn"],
            Protocol=listener["protocol"],
            Port=listener["port"],
            DefaultActions=[{"Type": "forward", "TargetGroupArn": arn}],
        )
    return [lb["LoadBalancerArn"]]


def _instances_by_hand(
    ec2: Any, name: str, specs: dict[str, Any], subnet: str | None = None
) -> list[str]:
    alias = load_offerings().images[specs["image"]]
    arch = architecture(specs["instance_type"])
    filters = [{"Name": "name", "Values": [str(alias.name_filter(arch))]}]
    images = ec2.describe_images(Owners=[alias.owner], Filters=filters)["Images"]
    image = max(images, key=lambda i: str(i.get("CreationDate") or ""))["ImageId"]
    count = int(specs.get("count", 1))
    made = ec2.run_instances(
        ImageId=image,
        InstanceType=specs["instance_type"],
        MinCount=count,
        MaxCount=count,
        TagSpecifications=_named("instance", name),
        **({"SubnetId": subnet} if subnet else {}),
    )
    return [i["InstanceId"] for i in made["Instances"]]


def _moto_version() -> str:
    from importlib.metadata import version  # noqa: PLC0415

    return version("moto")
