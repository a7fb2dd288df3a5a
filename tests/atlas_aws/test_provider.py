"""The AWS provider's own behaviour on the emulator: one launch per counted resource, tokens
that make retries and resumes safe, reads that allow for eventual consistency, atlas's own
check of a security group still in use, and credentials kept out of botocore's logs."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest

from atlas.credentials import Secret
from atlas.exceptions import ServerError
from atlas.facade import AsyncAtlas
from atlas.http import ApiCall, ApiEvent, observe_calls
from atlas.model.cloud import Owner, ResourceState
from atlas.providers import ProviderRegistry, StepContext, Timing
from atlas.spec import validate_spec
from atlas.store import SQLiteStore
from atlas_aws.credentials import AwsKeys
from atlas_aws.emulator import AwsEmulator, FidelityConfig, account_for, shared_emulator
from atlas_aws.emulator.state import Account, Fault, FaultKind
from atlas_aws.faults import outside_client
from atlas_aws.ops.instances import client_token
from atlas_aws.provider import AwsProvider

pytestmark = pytest.mark.loopback

CONFIG = FidelityConfig(pending_seconds=0.3, invisible_seconds=0.2)
REGION = "eu-west-1"


@attrs.frozen
class Cloud:
    provider: AwsProvider
    account: Account
    keys: AwsKeys
    emulator: AwsEmulator


def keys(token: str | None = None) -> AwsKeys:
    key_id = "AKIA" + secrets.token_hex(8).upper()
    secret = Secret("secret-" + secrets.token_hex(12))
    return AwsKeys(Secret(key_id), secret, Secret(token) if token else None, "test")


def cloud(config: FidelityConfig = CONFIG, token: str | None = None) -> Cloud:
    emulator = shared_emulator(config)
    assert emulator.layer is not None
    pair = keys(token)
    account = emulator.layer.account(account_for(pair.access_key_id.reveal()))
    timing = Timing(poll_interval=0.05, visibility_grace=5.0, action_timeout=30.0)
    provider = AwsProvider(pair, endpoint_url=emulator.url, env={}, timing=timing)
    return Cloud(provider, account, pair, emulator)


@pytest.fixture
async def aws() -> AsyncIterator[Cloud]:
    made = cloud()
    yield made
    await made.provider.aclose()


def spec_of(registry: ProviderRegistry, *resources: dict[str, Any], name: str = "shop") -> Any:
    doc = {"name": name, "provider": "aws", "region": REGION, "resources": list(resources)}
    return validate_spec(doc, registry=registry)


def instance(count: int = 1, instance_type: str = "t3.micro", **more: Any) -> dict[str, Any]:
    specs = {"instance_type": instance_type, "image": "ubuntu-24.04", "count": count, **more}
    return {"type": "instance", "name": "web", "specifications": specs}


OWNER = Owner("w", "shop")


async def test_a_counted_resource_is_one_launch_and_one_termination(
    aws: Cloud, aws_registry: ProviderRegistry
) -> None:
    spec = spec_of(aws_registry, instance(count=5))
    ctx = StepContext(OWNER, spec, spec.resource("web"), {}, "op-1")
    state = await aws.provider.create(ctx)
    assert len(state.objects) == 5
    assert [o.name for o in state.objects] == [f"shop-web-{i}" for i in range(1, 6)]
    [ready] = await aws.provider.wait(OWNER, [state], timeout=30)
    assert ready.status == "active"
    await aws.provider.delete(OWNER, ready)
    assert aws.account.actions.count("RunInstances") == 1
    assert aws.account.actions.count("TerminateInstances") == 1
    assert aws.account.actions.count("DescribeImages") == 1  # the alias, resolved once


def test_the_launch_token_is_the_operations_and_the_steps(aws_registry: ProviderRegistry) -> None:
    spec = spec_of(aws_registry, instance(count=3))
    ctx = StepContext(OWNER, spec, spec.resource("web"), {}, "op-1")
    assert client_token(ctx, 1, 3) == client_token(ctx, 1, 3)
    assert client_token(ctx, 1, 3) != client_token(attrs.evolve(ctx, operation="op-2"), 1, 3)
    assert client_token(ctx, 1, 3) != client_token(ctx, 4, 1)
    assert len(client_token(ctx, 1, 3)) <= 64


async def test_an_apply_launches_with_its_operations_token(
    aws: Cloud, aws_registry: ProviderRegistry
) -> None:
    doc = {"name": "shop", "provider": "aws", "region": REGION, "resources": [instance(2)]}
    async with AsyncAtlas(
        store=SQLiteStore(":memory:"), registry=aws_registry, workspace="w",
        providers={"aws": aws.provider},
    ) as atlas:  # fmt: skip
        op = await atlas.apply(doc)
        assert op.status == "completed", op.error
        spec = spec_of(aws_registry, instance(2))
        ctx = StepContext(OWNER, spec, spec.resource("web"), {}, op.id)
        assert list(aws.account.tokens) == [f"RunInstances/{client_token(ctx, 1, 2)}"]
        assert (await atlas.destroy("shop")).status == "completed"


async def test_a_vpc_create_in_doubt_is_not_resent_by_botocore(
    aws: Cloud, aws_registry: ProviderRegistry
) -> None:
    spec = spec_of(
        aws_registry,
        {"type": "vpc", "name": "net", "specifications": {"cidr_block": "10.0.0.0/16"}},
    )
    ctx = StepContext(OWNER, spec, spec.resource("net"), {})
    handler = await aws.provider.handler("vpc")
    aws.account.faults.append(Fault(FaultKind.ERROR_AFTER, "CreateVpc", 1))
    with pytest.raises(ServerError):
        await handler.create(ctx, handler.object_names(ctx))
    assert aws.account.actions.count("CreateVpc") == 1
    # The core looks for it by its marks and adopts it: still one VPC.
    state = await aws.provider.create(ctx, recover=True)
    assert aws.account.actions.count("CreateVpc") == 1
    assert len(await handler.find(OWNER, "net")) == 1
    await aws.provider.delete(OWNER, state)


async def test_a_changed_spec_after_a_lost_answer_adopts_what_the_token_launched(
    aws: Cloud, aws_registry: ProviderRegistry
) -> None:
    first = spec_of(aws_registry, instance(2))
    ctx = StepContext(OWNER, first, first.resource("web"), {}, "op-9")
    made = await aws.provider.create(ctx)
    # The same operation tries again with another type (the spec changed in between): EC2
    # refuses the token; the instances it launched are found by their marks.
    other = spec_of(aws_registry, instance(2, instance_type="t3.small"))
    handler = await aws.provider.handler("instance")
    again = await handler.create(
        attrs.evolve(ctx, spec=other, resource=other.resource("web")), handler.object_names(ctx)
    )
    assert sorted(o.id for o in again) == sorted(made.ids)
    assert aws.account.actions.count("RunInstances") == 2
    await aws.provider.delete(OWNER, made)


async def test_a_read_right_after_the_launch_keeps_what_ec2_does_not_show_yet(
    aws_registry: ProviderRegistry,
) -> None:
    slow = cloud(FidelityConfig(pending_seconds=3.0, invisible_seconds=2.0))
    try:
        spec = spec_of(aws_registry, instance(1))
        state = await slow.provider.create(StepContext(OWNER, spec, spec.resource("web"), {}))
        read = await slow.provider.read(OWNER, state)
        assert read is not None, "a fresh instance counted as gone"
        assert read.ids == state.ids
        assert "DescribeInstances" in slow.account.actions
        await slow.provider.delete(OWNER, state)
        assert await slow.provider.read(OWNER, state) is None
    finally:
        await slow.provider.aclose()


async def test_a_security_group_in_use_is_not_deleted(
    aws: Cloud, aws_registry: ProviderRegistry
) -> None:
    """moto deletes a group an instance still holds; AWS refuses (DependencyViolation), so
    atlas checks first and deletes it once the instance is gone."""
    group = {"type": "security_group", "name": "web-sg", "specifications": {}}
    spec = spec_of(aws_registry, group, instance(1, security_groups=["web-sg"]))
    sg = await aws.provider.create(StepContext(OWNER, spec, spec.resource("web-sg"), {}))
    deps = {"web-sg": sg}
    vm = await aws.provider.create(StepContext(OWNER, spec, spec.resource("web"), deps))
    [vm] = await aws.provider.wait(OWNER, [vm], timeout=30)
    handler = await aws.provider.handler("security_group")
    await handler.delete(OWNER, sg)
    assert await handler.read(OWNER, sg) is not None, "deleted while an instance held it"
    assert "DeleteSecurityGroup" not in aws.account.actions
    await aws.provider.delete(OWNER, vm)
    await aws.provider.delete(OWNER, sg)
    assert await handler.read(OWNER, sg) is None


async def test_no_credential_in_botocores_debug_records(
    aws_registry: ProviderRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    """botocore logs signed headers at DEBUG: the session token and key id are blanked."""
    tokened = cloud(token="session-" + secrets.token_hex(16))
    caplog.set_level(logging.DEBUG)
    try:
        await tokened.provider.discover(OWNER)
    finally:
        await tokened.provider.aclose()
    assert tokened.keys.session_token is not None
    secrets_ = tokened.keys.secrets()
    text = "\n".join(f"{r.getMessage()} {r.args!r} {r.__dict__!r}" for r in caplog.records)
    assert "x-amz-security-token" in text.lower(), "botocore logged no headers: proves nothing"
    assert not [s for s in secrets_ if s in text]


async def test_a_wait_counts_one_list_per_round(aws: Cloud, aws_registry: ProviderRegistry) -> None:
    spec = spec_of(aws_registry, instance(10))
    state = await aws.provider.create(StepContext(OWNER, spec, spec.resource("web"), {}))
    before = aws.account.actions.count("DescribeInstances")
    [ready] = await aws.provider.wait(OWNER, [state], timeout=30)
    rounds = aws.account.actions.count("DescribeInstances") - before
    assert ready.status == "active"
    assert rounds <= 12, f"{rounds} lists for one wait of 10 instances"
    await aws.provider.delete(OWNER, ready)
    assert aws.provider.calls() < 10 * 0.1 * 30


def test_the_state_region_is_recorded(aws_registry: ProviderRegistry) -> None:
    from atlas.model.cloud import CloudObject
    from atlas_aws.ops.base import region_of

    obj = CloudObject("i-1", "x", "active", {"region": "us-west-2"})
    assert region_of(ResourceState("instance", "x", (obj,))) == "us-west-2"


async def test_a_volume_is_never_attached_across_zones(
    aws: Cloud, aws_registry: ProviderRegistry
) -> None:
    """moto attaches a volume to an instance of another zone; EC2 refuses, and so does atlas,
    before asking."""
    from atlas.exceptions import ProviderOperationError

    spec = spec_of(aws_registry, instance(1))
    vm = await aws.provider.create(StepContext(OWNER, spec, spec.resource("web"), {}))
    [vm] = await aws.provider.wait(OWNER, [vm], timeout=30)
    zone = vm.attribute("availability_zone")
    elsewhere = next(z for z in ("eu-west-1a", "eu-west-1b") if z != zone)
    volume = {
        "type": "volume",
        "name": "data",
        "specifications": {"size": 10, "attach_to": "web", "availability_zone": elsewhere},
    }
    spec = spec_of(aws_registry, instance(1), volume)
    with pytest.raises(ProviderOperationError, match="attaches only within a zone"):
        await aws.provider.create(StepContext(OWNER, spec, spec.resource("data"), {"web": vm}))
    assert "AttachVolume" not in aws.account.actions
    handler = await aws.provider.handler("volume")
    [made] = await handler.find(OWNER, "data")
    await aws.provider.delete(OWNER, ResourceState("volume", "data", (made,)))
    await aws.provider.delete(OWNER, vm)


async def test_every_ec2_attempt_is_reported_by_action_name(
    aws: Cloud, aws_registry: ProviderRegistry
) -> None:
    """botocore's own retries included: the core hears each attempt, named by the action,
    with its status and the atlas error class, and never a credential."""
    spec = spec_of(
        aws_registry,
        {"type": "vpc", "name": "net", "specifications": {"cidr_block": "10.0.0.0/16"}},
    )
    ctx = StepContext(OWNER, spec, spec.resource("net"), {})
    heard: list[ApiEvent] = []
    with observe_calls(heard.append):
        handler = await aws.provider.handler("vpc")
        aws.account.faults.append(Fault(FaultKind.ERROR_AFTER, "CreateVpc", 1))
        with pytest.raises(ServerError):
            await handler.create(ctx, handler.object_names(ctx))
        state = await aws.provider.create(ctx, recover=True)
        await aws.provider.delete(OWNER, state)
    calls = [e for e in heard if isinstance(e, ApiCall)]
    assert ApiCall("aws", "POST", "CreateVpc", 500, "ServerError") in calls
    assert ApiCall("aws", "POST", "DescribeVpcs", 200) in calls
    assert {c.provider for c in calls} == {"aws"}
    assert all(c.route[0].isupper() for c in calls), calls
    assert aws.keys.access_key_id.reveal() not in repr(heard)


async def test_an_instance_listed_terminated_by_its_marks_is_gone_without_a_lookup_by_id(
    aws: Cloud, aws_registry: ProviderRegistry
) -> None:
    """EC2 lists terminated instances by their tags for a while: the list by marks that
    shows them ``terminated`` is enough to know they are gone (no ``InstanceIds`` call)."""
    spec = spec_of(aws_registry, instance(3))
    state = await aws.provider.create(StepContext(OWNER, spec, spec.resource("web"), {}))
    [ready] = await aws.provider.wait(OWNER, [state], timeout=30)
    handler = await aws.provider.handler("instance")
    await handler.delete(OWNER, ready)
    ec2 = outside_client(aws.emulator, aws.keys, REGION)
    listed = ec2.describe_instances(InstanceIds=list(ready.ids))["Reservations"]
    assert {i["State"]["Name"] for r in listed for i in r["Instances"]} == {"terminated"}
    before = aws.account.actions.count("DescribeInstances")
    assert await handler.read(OWNER, ready) is None
    assert aws.account.actions.count("DescribeInstances") - before == 1
