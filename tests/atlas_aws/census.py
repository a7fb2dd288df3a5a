"""A census of an AWS account on moto (with or without the fidelity layer): every object of
every kind atlas makes, atlas's or not, read with boto3, so a test can say each object the
spec declares exists exactly once and that a destroy left nothing.

Every resource declares how many objects it makes (``count``, else one); every kind has a
lister here. A kind without one fails the test by name: add its lister to ``LISTERS``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import boto3
import pytest

from tests.conftest import REPO

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


def declared(spec: dict[str, Any]) -> dict[str, Counter[str]]:
    """kind -> resource name -> how many objects the spec asks for; a kind no lister reads
    fails the test by name."""
    unknown = sorted({r["type"] for r in spec["resources"]} - set(LISTERS))
    if unknown:
        pytest.fail(
            f"the spec declares kinds the census cannot list: {', '.join(unknown)}; "
            f"add a lister for each to LISTERS in {Path(__file__).relative_to(REPO)}"
        )
    wanted: dict[str, Counter[str]] = {kind: Counter() for kind in LISTERS}
    for resource in spec["resources"]:
        count = int(resource["specifications"].get("count", 1))
        wanted[resource["type"]][resource["name"]] += count
    return wanted


def made(aws: Clients) -> dict[str, list[Found]]:
    """Every object of every kind in the account (its defaults left out)."""
    return {kind: lister(aws) for kind, lister in LISTERS.items()}


def census(aws: Clients) -> Counter[str]:
    """``kind/resource`` -> objects carrying that resource's mark; untagged objects count
    under ``kind/(untagged)``, so a stray one shows in any comparison."""
    found: Counter[str] = Counter()
    for kind, objects in made(aws).items():
        for o in objects:
            found[f"{kind}/{o.resource.split(':', 1)[1] if o.resource else '(untagged)'}"] += 1
    return found


def expected(spec: dict[str, Any]) -> Counter[str]:
    """The census an applied ``spec`` must show."""
    return Counter(
        {f"{kind}/{name}": n for kind, names in declared(spec).items() for name, n in names.items()}
    )


def clients(url: str, region: str, key_id: str, secret: str) -> Clients:
    return Clients(*(
        boto3.client(
            service, region_name=region, endpoint_url=url,
            aws_access_key_id=key_id, aws_secret_access_key=secret,
        )
        for service in ("ec2", "rds", "elbv2")
    ))  # fmt: skip


def left(aws: Clients) -> dict[str, list[str]]:
    """What the account still holds, the parts around resources included (should be none)."""
    found = {**made(aws), **{part: lister(aws) for part, lister in PARTS.items()}}
    return {kind: [o.object_id for o in objects] for kind, objects in found.items() if objects}
