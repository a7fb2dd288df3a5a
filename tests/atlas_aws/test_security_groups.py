"""Security groups that name themselves or each other: valid, created first and given their
rules by group id once both exist, planned empty afterwards, and destroyed cleanly (the
rules naming a group are revoked before it is deleted, as EC2 requires)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from atlas.facade import AsyncAtlas
from atlas.providers import ProviderRegistry
from atlas.spec import validate_spec
from atlas.spec.references import dependencies
from atlas.store import SQLiteStore
from atlas_aws.faults import outside_client
from tests.atlas_aws.test_provider import REGION, Cloud, cloud

pytestmark = pytest.mark.loopback

_NET = {"type": "vpc", "name": "net", "specifications": {"cidr_block": "10.4.0.0/16"}}


def group(name: str, *sources: str, port: int = 5432) -> dict[str, Any]:
    rule = {"protocol": "tcp", "from_port": port, "to_port": port, "security_groups": sources}
    return {
        "type": "security_group",
        "name": name,
        "specifications": {"vpc": "net", "ingress": [rule] if sources else []},
    }


def doc(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"name": "mesh", "provider": "aws", "region": REGION, "resources": [_NET, *resources]}


@pytest.fixture
async def aws() -> AsyncIterator[Cloud]:
    made = cloud()
    yield made
    await made.provider.aclose()


def test_groups_naming_themselves_or_each_other_are_valid_and_ordered(
    aws_registry: ProviderRegistry,
) -> None:
    spec = validate_spec(doc(group("self", "self"), group("a", "b"), group("b", "a")),
                         registry=aws_registry)  # fmt: skip
    deps = dependencies(spec.resources)
    assert deps["self"] == {"net"}
    # One of the pair goes first: the first in the document follows the other; no cycle.
    assert deps["a"] == {"net", "b"}
    assert deps["b"] == {"net"}
    assert dependencies(spec.resources, weak=True)["a"] == {"net", "b"}


async def test_a_self_and_a_mutual_reference_are_applied_by_group_id(
    aws: Cloud, aws_registry: ProviderRegistry
) -> None:
    spec = doc(group("self", "self"), group("a", "b"), group("b", "a", port=6379))
    async with AsyncAtlas(
        store=SQLiteStore(":memory:"), registry=aws_registry, workspace="w",
        providers={"aws": aws.provider},
    ) as atlas:  # fmt: skip
        op = await atlas.apply(spec)
        assert op.status == "completed", op.error
        ids = {r.name: r.state().ids[0] for r in atlas.get("mesh").resources}
        ec2 = outside_client(aws.emulator, aws.keys, REGION)
        listed = ec2.describe_security_groups(GroupIds=[ids["self"], ids["a"], ids["b"]])
        sources = {
            g["GroupId"]: {
                (p["FromPort"], pair["GroupId"])
                for p in g["IpPermissions"]
                for pair in p["UserIdGroupPairs"]
            }
            for g in listed["SecurityGroups"]
        }
        assert sources[ids["self"]] == {(5432, ids["self"])}
        assert sources[ids["a"]] == {(5432, ids["b"])}
        assert sources[ids["b"]] == {(6379, ids["a"])}
        assert (await atlas.plan(spec)).empty
        assert await atlas.refresh("mesh") == []

        gone = await atlas.destroy("mesh")
        assert gone.status == "completed", gone.error
        left = ec2.describe_security_groups(
            Filters=[{"Name": "group-id", "Values": list(ids.values())}]
        )
        assert left["SecurityGroups"] == []


async def test_a_group_another_groups_rule_names_is_not_deleted(
    aws: Cloud, aws_registry: ProviderRegistry
) -> None:
    """EC2 refuses (moto would not): atlas waits while a group outside the stack names it."""
    spec = doc(group("db"))
    async with AsyncAtlas(
        store=SQLiteStore(":memory:"), registry=aws_registry, workspace="w",
        providers={"aws": aws.provider},
    ) as atlas:  # fmt: skip
        assert (await atlas.apply(spec)).status == "completed"
        [db] = [r.state() for r in atlas.get("mesh").resources if r.name == "db"]
        handler = await aws.provider.handler("security_group")
        ec2 = outside_client(aws.emulator, aws.keys, REGION)
        vpc = db.objects[0].attributes["vpc_id"]
        other = ec2.create_security_group(GroupName="x", Description="x", VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(
            GroupId=other,
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": 1, "ToPort": 1,
                            "UserIdGroupPairs": [{"GroupId": db.ids[0]}]}],
        )  # fmt: skip
        client = await aws.provider.regions()
        assert await handler.in_use(await client.get(REGION), db.objects[0])  # type: ignore[attr-defined]
        ec2.delete_security_group(GroupId=other)
        assert not await handler.in_use(await client.get(REGION), db.objects[0])  # type: ignore[attr-defined]
        assert (await atlas.destroy("mesh")).status == "completed"
