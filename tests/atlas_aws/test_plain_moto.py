"""Issue 14's acceptance on a plain ``moto_server``: with nothing in front of moto (no
fidelity layer), ``atlas apply`` then ``atlas destroy`` of examples/aws-stack.yaml, run as the
``atlas`` command in a process of its own and pointed at moto by ``AWS_ENDPOINT_URL``, creates
each object the spec declares exactly once and leaves nothing behind.

The check reads the spec: every resource declares how many objects it makes (``count``, else
one), and every kind has a lister below that reads all the account's objects of that kind from
moto, atlas's or not. A kind without a lister fails the test by name, before anything runs:
add its lister to ``LISTERS``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import boto3
import pytest
import yaml

from tests.conftest import EXAMPLES, REPO

pytestmark = pytest.mark.loopback

STACK = EXAMPLES / "aws-stack.yaml"
KEY_ID, SECRET = "AKIAPLAINMOTO0000002", "plain-moto-secret"
RESOURCE_TAG = "atlas:resource"


@attrs.frozen
class Clients:
    """boto3 clients of moto's account, one per service atlas calls."""

    ec2: Any
    rds: Any
    elbv2: Any


@attrs.frozen
class Found:
    """One object in the account: its id and its ``atlas:resource`` tag (``None``: untagged)."""

    object_id: str
    resource: str | None


def _tagged(item: dict[str, Any], key: str = "Tags") -> str | None:
    return next((t["Value"] for t in item.get(key) or [] if t["Key"] == RESOURCE_TAG), None)


def _instances(aws: Clients) -> list[Found]:
    pages = aws.ec2.get_paginator("describe_instances").paginate()
    return [
        Found(i["InstanceId"], _tagged(i))
        for page in pages
        for r in page["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] != "terminated"
    ]


def _volumes(aws: Clients) -> list[Found]:
    """Every volume but those that go with a live instance when it terminates (its root
    volume, ``DeleteOnTermination``): after the destroy none may be left."""
    roots = {
        m["Ebs"]["VolumeId"]
        for page in aws.ec2.get_paginator("describe_instances").paginate()
        for r in page["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] != "terminated"
        for m in i.get("BlockDeviceMappings", [])
        if m.get("Ebs", {}).get("DeleteOnTermination")
    }
    pages = aws.ec2.get_paginator("describe_volumes").paginate()
    return [
        Found(v["VolumeId"], _tagged(v))
        for page in pages
        for v in page["Volumes"]
        if v["State"] != "deleted" and v["VolumeId"] not in roots
    ]


def _vpcs(aws: Clients) -> list[Found]:
    pages = aws.ec2.get_paginator("describe_vpcs").paginate()
    return [Found(v["VpcId"], _tagged(v)) for p in pages for v in p["Vpcs"] if not v["IsDefault"]]


def _subnets(aws: Clients) -> list[Found]:
    pages = aws.ec2.get_paginator("describe_subnets").paginate()
    return [
        Found(s["SubnetId"], _tagged(s))
        for page in pages
        for s in page["Subnets"]
        if not s["DefaultForAz"]
    ]


def _security_groups(aws: Clients) -> list[Found]:
    """Every group but each VPC's own ``default`` group (it goes with its VPC)."""
    pages = aws.ec2.get_paginator("describe_security_groups").paginate()
    return [
        Found(g["GroupId"], _tagged(g))
        for page in pages
        for g in page["SecurityGroups"]
        if g["GroupName"] != "default"
    ]


def _db_instances(aws: Clients) -> list[Found]:
    pages = aws.rds.get_paginator("describe_db_instances").paginate()
    return [
        Found(d["DBInstanceIdentifier"], _tagged(d, "TagList"))
        for page in pages
        for d in page["DBInstances"]
    ]


def _db_subnet_groups(aws: Clients) -> list[Found]:
    pages = aws.rds.get_paginator("describe_db_subnet_groups").paginate()
    return [Found(g["DBSubnetGroupName"], None) for page in pages for g in page["DBSubnetGroups"]]


def _load_balancers(aws: Clients) -> list[Found]:
    pages = aws.elbv2.get_paginator("describe_load_balancers").paginate()
    arns = [lb["LoadBalancerArn"] for page in pages for lb in page["LoadBalancers"]]
    tags: dict[str, str | None] = {}
    for i in range(0, len(arns), 20):  # ELBv2 describes the tags of 20 at a time
        for described in aws.elbv2.describe_tags(ResourceArns=arns[i : i + 20])["TagDescriptions"]:
            tags[described["ResourceArn"]] = _tagged(described)
    return [Found(arn, tags.get(arn)) for arn in arns]


def _target_groups(aws: Clients) -> list[Found]:
    pages = aws.elbv2.get_paginator("describe_target_groups").paginate()
    return [Found(g["TargetGroupArn"], None) for page in pages for g in page["TargetGroups"]]


#: For each kind the spec may declare: every object of that kind in the account, as moto
#: lists it, atlas's or not (the account's defaults left out).
LISTERS: dict[str, Callable[[Clients], list[Found]]] = {
    "instance": _instances,
    "volume": _volumes,
    "vpc": _vpcs,
    "subnet": _subnets,
    "security_group": _security_groups,
    "db_instance": _db_instances,
    "load_balancer": _load_balancers,
}
#: What atlas makes around a resource, not a kind of its own: none may be left either.
PARTS: dict[str, Callable[[Clients], list[Found]]] = {
    "db_subnet_group": _db_subnet_groups,
    "target_group": _target_groups,
}


def _declared(spec: dict[str, Any]) -> dict[str, Counter[str]]:
    """kind -> resource name -> how many objects the spec asks for."""
    unknown = sorted({r["type"] for r in spec["resources"]} - set(LISTERS))
    if unknown:
        pytest.fail(
            f"{STACK.name} declares kinds this check cannot list on moto: {', '.join(unknown)}; "
            f"add a lister for each to LISTERS in {Path(__file__).relative_to(REPO)}"
        )
    wanted: dict[str, Counter[str]] = {kind: Counter() for kind in LISTERS}
    for resource in spec["resources"]:
        count = int(resource["specifications"].get("count", 1))
        wanted[resource["type"]][resource["name"]] += count
    return wanted


def _made(aws: Clients) -> dict[str, list[Found]]:
    return {kind: lister(aws) for kind, lister in LISTERS.items()}


def _left(aws: Clients) -> dict[str, list[str]]:
    found = {**_made(aws), **{part: lister(aws) for part, lister in PARTS.items()}}
    return {kind: [o.object_id for o in objects] for kind, objects in found.items() if objects}


@pytest.fixture
def plain_moto() -> Iterator[str]:
    """moto's own ThreadedMotoServer on a free loopback port, nothing in front of it."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer("127.0.0.1", 0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _with_moto_images(spec: dict[str, Any], ec2: Any) -> dict[str, Any]:
    """The spec with an image moto has (of the instance type's architecture) for each image
    alias: moto ships no Ubuntu 24.04, which the fidelity layer adds."""
    images: dict[str, str] = {}
    for image in ec2.describe_images(Owners=["amazon"])["Images"]:
        images.setdefault(image["Architecture"], image["ImageId"])
    for resource in spec["resources"]:
        fields = resource["specifications"]
        if resource["type"] == "instance" and "image" in fields:
            [kind] = ec2.describe_instance_types(InstanceTypes=[fields["instance_type"]])[
                "InstanceTypes"
            ]
            arch = kind["ProcessorInfo"]["SupportedArchitectures"][0]
            fields["image_id"] = images[arch]
            del fields["image"]
    return spec


def _atlas(*argv: str, endpoint: str) -> subprocess.CompletedProcess[str]:
    """The ``atlas`` command, in a process of its own, with nothing of this machine's AWS
    configuration: moto's address, a made-up key pair, fast polls."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ATLAS_", "BOTO_"))}
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID=KEY_ID,
        AWS_SECRET_ACCESS_KEY=SECRET,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_CONFIG_FILE=os.devnull,
        ATLAS_AWS_POLL_INTERVAL="0.1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")])),
    )
    return subprocess.run(
        [sys.executable, "-m", "atlas", *argv],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False,
    )  # fmt: skip


def test_apply_then_destroy_on_plain_moto_makes_each_object_once_and_leaves_nothing(
    plain_moto: str, tmp_path: Path
) -> None:
    spec = yaml.safe_load(STACK.read_text(encoding="utf-8"))
    wanted = _declared(spec)
    aws = Clients(*(
        boto3.client(
            service, region_name=spec["region"], endpoint_url=plain_moto,
            aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
        )
        for service in ("ec2", "rds", "elbv2")
    ))  # fmt: skip
    assert not _left(aws), "the account is not fresh"
    stack = tmp_path / STACK.name
    stack.write_text(yaml.safe_dump(_with_moto_images(spec, aws.ec2)), encoding="utf-8")
    state = str(tmp_path / "state.db")

    applied = _atlas("apply", "--yes", "--state", state, str(stack), endpoint=plain_moto)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    made = _made(aws)
    for kind, objects in made.items():
        untagged = [o.object_id for o in objects if o.resource is None]
        assert not untagged, f"{kind}: objects without atlas's tags: {untagged}"
        # atlas:resource is <uid>:<resource name>; one spec, one uid.
        got = Counter(o.resource.rsplit(":", 1)[1] for o in objects if o.resource)
        assert got == wanted[kind], f"{kind}: made {dict(got)}, the spec asks {dict(wanted[kind])}"
    owners = {o.resource.rsplit(":", 1)[0] for objs in made.values() for o in objs if o.resource}
    assert len(owners) == 1, f"objects of several owners: {owners}"

    destroyed = _atlas("destroy", "--yes", "--state", state, spec["name"], endpoint=plain_moto)
    assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr
    left = _left(aws)
    assert not left, f"destroy left objects behind: {left}"
    [default] = aws.ec2.describe_vpcs()["Vpcs"]
    assert default["IsDefault"], "the account's default VPC is left alone"
