"""RDS DB instances: offline checks with their paths, the estimate, and on the emulator the
create (subnet group, tags, RDS's own password), the wait from ``creating`` to
``available``, adoption of a create whose answer was lost, drift, and the delete that waits
until the instance is gone and then removes its subnet group."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import attrs
import pytest

from atlas.cost.engine import estimate_spec
from atlas.credentials import Secret
from atlas.exceptions import ServerError, SpecValidationError
from atlas.model.cloud import Owner, ResourceState
from atlas.providers import ProviderRegistry, StepContext, Timing
from atlas.spec import validate_spec
from atlas_aws.credentials import AwsKeys
from atlas_aws.emulator import AwsEmulator, FidelityConfig, account_for, shared_emulator
from atlas_aws.emulator.state import Account, Fault, FaultKind
from atlas_aws.naming import DB_IDENTIFIER, db_identifier
from atlas_aws.provider import AwsProvider

REGION = "eu-west-1"
OWNER = Owner("w", "shop")
CONFIG = FidelityConfig(
    pending_seconds=0.2, invisible_seconds=0.1, db_creating_seconds=0.6, db_deleting_seconds=0.6
)


def res(type_: str, name: str, **specs: Any) -> dict[str, Any]:
    return {"type": type_, "name": name, "specifications": specs}


NET = res("vpc", "net", cidr_block="10.0.0.0/16")
OTHER = res("vpc", "other", cidr_block="10.1.0.0/16")
A = res("subnet", "a", vpc="net", cidr_block="10.0.1.0/24", availability_zone="eu-west-1a")
B = res("subnet", "b", vpc="net", cidr_block="10.0.2.0/24", availability_zone="eu-west-1b")
C = res("subnet", "c", vpc="other", cidr_block="10.1.1.0/24", availability_zone="eu-west-1c")
SG = res("security_group", "pg", vpc="net", ingress=[
    {"protocol": "tcp", "from_port": 5432, "to_port": 5432, "cidr_blocks": ["10.0.0.0/16"]}
])  # fmt: skip


def db(**over: Any) -> dict[str, Any]:
    specs = {
        "engine": "postgres",
        "instance_class": "db.t3.micro",
        "allocated_storage": 20,
        "subnets": ["a", "b"],
        "security_groups": ["pg"],
        **over,
    }
    return res("db_instance", "db", **specs)


def doc(*resources: dict[str, Any], region: str = REGION) -> dict[str, Any]:
    return {"name": "shop", "provider": "aws", "region": region, "resources": list(resources)}


def problems(registry: ProviderRegistry, document: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(SpecValidationError) as info:
        validate_spec(document, registry=registry)
    return {p.path: p.message for p in info.value.problems}


# -- offline ------------------------------------------------------------------------------


def test_a_valid_db_instance_validates(aws_registry: ProviderRegistry) -> None:
    spec = validate_spec(doc(NET, A, B, SG, db()), registry=aws_registry)
    assert spec.resource("db").specifications.storage_type == "gp3"


def test_storage_bounds_and_the_username_are_checked(aws_registry: ProviderRegistry) -> None:
    found = problems(
        aws_registry,
        doc(NET, A, B, SG, db(allocated_storage=19, master_username="rdsadmin")),
    )
    path = "resources[4].specifications"
    assert "takes 20 to 65536 GiB; got 19" in found[f"{path}.allocated_storage"]
    assert "reserved" in found[f"{path}.master_username"]
    found = problems(
        aws_registry,
        doc(NET, A, B, SG, db(allocated_storage=65537, engine="mysql", master_username="u" * 17)),
    )
    assert "got 65537" in found[f"{path}.allocated_storage"]
    assert "takes 16 characters" in found[f"{path}.master_username"]
    validate_spec(doc(NET, A, B, SG, db(master_username="u" * 17)), registry=aws_registry)


def test_the_engine_and_the_class_must_be_known(aws_registry: ProviderRegistry) -> None:
    found = problems(aws_registry, doc(NET, A, B, SG, db(engine="oracle")))
    assert "resources[4].specifications.engine" in found
    found = problems(aws_registry, doc(NET, A, B, SG, db(instance_class="db.t3.mikro")))
    message = found["resources[4].specifications.instance_class"]
    assert "no postgres instance class 'db.t3.mikro' in eu-west-1" in message
    assert "db.t3.micro" in message  # the nearest


def test_subnets_must_span_two_zones_of_one_vpc(aws_registry: ProviderRegistry) -> None:
    one_zone = res(
        "subnet", "b", vpc="net", cidr_block="10.0.2.0/24", availability_zone="eu-west-1a"
    )
    found = problems(aws_registry, doc(NET, A, one_zone, SG, db()))
    assert "at least two availability zones" in found["resources[4].specifications.subnets"]
    found = problems(aws_registry, doc(NET, OTHER, A, C, SG, db(subnets=["a", "c"])))
    assert "all of one VPC" in found["resources[5].specifications.subnets[1]"]
    found = problems(aws_registry, doc(NET, A, B, SG, db(subnets=["a"])))
    assert "at least two" in found["resources[4].specifications.subnets"]


def test_references_must_exist_and_be_of_their_kind(aws_registry: ProviderRegistry) -> None:
    other_sg = res("security_group", "far", vpc="other")
    found = problems(
        aws_registry,
        doc(NET, OTHER, A, B, other_sg, db(subnets=["a", "pg"], security_groups=["far", "x"])),
    )
    paths = set(found)
    assert any(p.startswith("resources[5].specifications.subnets") for p in paths), found
    assert any(p.startswith("resources[5].specifications.security_groups") for p in paths)
    far = found["resources[5].specifications.security_groups[0]"]
    assert "not of the subnets' VPC 'net'" in far


def test_the_estimate_prices_the_class_and_the_storage(aws_registry: ProviderRegistry) -> None:
    spec = validate_spec(doc(NET, A, B, SG, db(allocated_storage=100)), registry=aws_registry)
    estimate = next(
        e for e in estimate_spec(spec, aws_registry).breakdown if e.resource_name == "db"
    )
    compute, storage = estimate.line_items
    # db.t3.micro for postgres in eu-west-1 at 0.02 an hour; 100 GB of gp3 at 0.127 a month
    # (scripts/aws-rds-prices.csv).
    assert (compute.sku, str(compute.monthly)) == ("db_instance:eu-west-1:postgres:db.t3.micro",
                                                   "14.60 USD")  # fmt: skip
    assert (storage.sku, str(storage.monthly)) == ("db_storage:eu-west-1:gp3", "12.70 USD")
    assert storage.quantity == Decimal(100)
    catalog = aws_registry.catalog("aws")
    assert catalog is not None
    rule = catalog.price("db_instance:eu-west-1:postgres:db.t3.micro").billing  # type: ignore[union-attr]
    assert rule is not None
    assert (rule.metering, rule.minimum_seconds) == ("second", 600)


def test_storage_atlas_has_no_price_for_is_said_not_invented(
    aws_registry: ProviderRegistry,
) -> None:
    west = [
        res("vpc", "net", cidr_block="10.0.0.0/16"),
        res("subnet", "a", vpc="net", cidr_block="10.0.1.0/24", availability_zone="us-west-2a"),
        res("subnet", "b", vpc="net", cidr_block="10.0.2.0/24", availability_zone="us-west-2b"),
        res("security_group", "pg", vpc="net"),
        db(),
    ]
    spec = validate_spec(doc(*west, region="us-west-2"), registry=aws_registry)
    estimate = next(
        e for e in estimate_spec(spec, aws_registry).breakdown if e.resource_name == "db"
    )
    compute, storage = estimate.line_items
    assert str(compute.monthly) == "13.14 USD"  # 0.018 x 730
    assert storage.monthly is None
    assert storage.unpriced


def test_identifiers_follow_rds_rules() -> None:
    for infra, resource in [("shop", "db"), ("9lives", "My_DB--x"), ("a" * 80, "b" * 80)]:
        name = db_identifier(infra, "uid", resource)
        assert DB_IDENTIFIER.match(name), name
        assert len(name) <= 63
    assert db_identifier("shop", "u1", "db") != db_identifier("shop", "u2", "db")


# -- on the emulator ----------------------------------------------------------------------


@attrs.frozen
class Cloud:
    provider: AwsProvider
    account: Account
    keys: AwsKeys
    emulator: AwsEmulator

    def rds(self) -> Any:
        import boto3

        return boto3.client(
            "rds",
            region_name=REGION,
            endpoint_url=self.emulator.url,
            aws_access_key_id=self.keys.access_key_id.reveal(),
            aws_secret_access_key=self.keys.secret_access_key.reveal(),
        )


def make_cloud(config: FidelityConfig = CONFIG) -> Cloud:
    emulator = shared_emulator(config)
    assert emulator.layer is not None
    pair = AwsKeys(
        Secret("AKIA" + secrets.token_hex(8).upper()), Secret(secrets.token_hex(12)), None, "t"
    )
    account = emulator.layer.account(account_for(pair.access_key_id.reveal()))
    timing = Timing(poll_interval=0.05, visibility_grace=5.0, action_timeout=30.0)
    provider = AwsProvider(pair, endpoint_url=emulator.url, env={}, timing=timing)
    return Cloud(provider, account, pair, emulator)


@pytest.fixture
async def aws() -> AsyncIterator[Cloud]:
    made = make_cloud()
    yield made
    await made.provider.aclose()


@pytest.fixture
async def slow_delete() -> AsyncIterator[Cloud]:
    """RDS's deletes at a pace no test run outruns (the default fixture's is 0.6 s)."""
    made = make_cloud(attrs.evolve(CONFIG, db_deleting_seconds=5.0))
    yield made
    await made.provider.aclose()


async def network(aws: Cloud, registry: ProviderRegistry) -> tuple[Any, dict[str, ResourceState]]:
    spec = validate_spec(doc(NET, A, B, SG, db()), registry=registry)
    deps: dict[str, ResourceState] = {}
    for name in ("net", "a", "b", "pg"):
        deps[name] = await aws.provider.create(StepContext(OWNER, spec, spec.resource(name), deps))
    return spec, deps


@pytest.mark.loopback
async def test_a_db_instance_is_created_creating_then_available_and_deleted(
    aws: Cloud, aws_registry: ProviderRegistry
) -> None:
    spec, deps = await network(aws, aws_registry)
    ctx = StepContext(OWNER, spec, spec.resource("db"), deps, "op-1")
    state = await aws.provider.create(ctx)
    [obj] = state.objects
    assert obj.status == "creating"
    assert obj.id == db_identifier("shop", OWNER.uid, "db")
    assert obj.attributes["tags"]["atlas:resource"] == f"{OWNER.uid}:db"
    assert obj.attributes["subnet_group"] == obj.id
    assert obj.attributes["master_user_secret_arn"], "RDS keeps the password"
    [ready] = await aws.provider.wait(OWNER, [state], timeout=30)
    assert ready.status == "active"
    assert ready.objects[0].attributes["address"], "an available instance has its endpoint"
    assert aws.account.actions.count("DescribeDBInstances") >= 2, "it was polled while creating"

    await aws.provider.delete(OWNER, ready)
    assert "InvalidDBSubnetGroupStateFault" not in str(aws.account.actions)
    rds = aws.rds()
    assert rds.describe_db_instances()["DBInstances"] == []
    assert rds.describe_db_subnet_groups()["DBSubnetGroups"] == []
    assert aws.account.actions.count("CreateDBInstance") == 1
    assert aws.account.actions.count("DeleteDBSubnetGroup") >= 1
    assert await aws.provider.read(OWNER, ready) is None


@pytest.mark.loopback
async def test_a_create_whose_answer_was_lost_is_adopted(
    aws: Cloud, aws_registry: ProviderRegistry
) -> None:
    """botocore resends after the 500; the resend meets DBInstanceAlreadyExists and adopts
    what carries the resource's marks."""
    spec, deps = await network(aws, aws_registry)
    ctx = StepContext(OWNER, spec, spec.resource("db"), deps, "op-1")
    aws.account.faults.append(Fault(FaultKind.ERROR_AFTER, "CreateDBInstance", 1))
    state = await aws.provider.create(ctx)
    assert aws.account.actions.count("CreateDBInstance") == 2
    assert len(aws.rds().describe_db_instances()["DBInstances"]) == 1
    await aws.provider.delete(OWNER, state)


@pytest.mark.loopback
async def test_the_cores_ambiguous_create_rule_finds_it_by_name_and_marks(
    aws: Cloud, aws_registry: ProviderRegistry
) -> None:
    """With no resend by botocore, the create in doubt is looked for, not repeated."""
    spec, deps = await network(aws, aws_registry)
    once = AwsProvider(
        aws.keys, endpoint_url=aws.emulator.url, env={}, timing=aws.provider.timing,
        max_attempts=1,  # one attempt: no resend by botocore
    )  # fmt: skip
    try:
        ctx = StepContext(OWNER, spec, spec.resource("db"), deps, "op-1")
        handler = await once.handler("db_instance")
        aws.account.faults.append(Fault(FaultKind.ERROR_AFTER, "CreateDBInstance", 2))
        with pytest.raises(ServerError):  # the handler alone: the error, as RDS gave it
            await handler.create(attrs.evolve(ctx, operation="op-0"), handler.object_names(ctx))
        made = ResourceState("db_instance", "db", tuple(await handler.find(OWNER, "db")))
        await once.delete(OWNER, made)
        state = await once.create(ctx)  # the core: in doubt, found by its marks, adopted
        assert aws.account.actions.count("CreateDBInstance") == 2
        assert [o.id for o in await handler.find(OWNER, "db")] == list(state.ids)
        assert len(aws.rds().describe_db_instances()["DBInstances"]) == 1
        await once.delete(OWNER, state)
    finally:
        await once.aclose()


@pytest.mark.loopback
async def test_a_name_held_without_the_marks_is_not_adopted(
    aws: Cloud, aws_registry: ProviderRegistry
) -> None:
    spec, deps = await network(aws, aws_registry)
    ctx = StepContext(OWNER, spec, spec.resource("db"), deps)
    handler = await aws.provider.handler("db_instance")
    [name] = handler.object_names(ctx)
    aws.rds().create_db_instance(
        DBInstanceIdentifier=name, Engine="postgres", DBInstanceClass="db.t3.micro",
        AllocatedStorage=20, MasterUsername="someone", ManageMasterUserPassword=True,
    )  # fmt: skip
    with pytest.raises(Exception, match="already exists"):
        await handler.create(ctx, [name])
    assert await handler.find(OWNER, "db") == []


@pytest.mark.loopback
async def test_drift_shows_a_class_changed_outside_and_update_sets_it_back(
    aws: Cloud, aws_registry: ProviderRegistry
) -> None:
    spec, deps = await network(aws, aws_registry)
    ctx = StepContext(OWNER, spec, spec.resource("db"), deps)
    state = await aws.provider.create(ctx)
    [state] = await aws.provider.wait(OWNER, [state], timeout=30)
    aws.rds().modify_db_instance(
        DBInstanceIdentifier=state.ids[0], DBInstanceClass="db.t3.small", ApplyImmediately=True
    )
    read = await aws.provider.read(OWNER, state)
    assert read is not None
    drift = aws.provider.drift(spec, spec.resource("db"), read)
    assert any("db.t3.small" in d for d in drift), drift
    fixed = await aws.provider.update(ctx, read)
    assert fixed.objects[0].attributes["instance_class"] == "db.t3.micro"
    await aws.provider.delete(OWNER, fixed)


@pytest.mark.loopback
async def test_a_db_instance_being_deleted_holds_its_name_and_its_subnet_group(
    slow_delete: Cloud, aws_registry: ProviderRegistry
) -> None:
    """As on RDS: while the instance is deleting, the identifier is taken and its subnet
    group cannot go (moto forgets the instance at once)."""
    spec, deps = await network(slow_delete, aws_registry)
    ctx = StepContext(OWNER, spec, spec.resource("db"), deps)
    state = await slow_delete.provider.create(ctx)
    rds = slow_delete.rds()
    rds.delete_db_instance(DBInstanceIdentifier=state.ids[0], SkipFinalSnapshot=True)
    [shown] = rds.describe_db_instances()["DBInstances"]
    assert shown["DBInstanceStatus"] == "deleting"
    with pytest.raises(rds.exceptions.ClientError, match="InvalidDBSubnetGroupStateFault"):
        rds.delete_db_subnet_group(DBSubnetGroupName=state.ids[0])
    with pytest.raises(rds.exceptions.ClientError, match="DBInstanceAlreadyExists"):
        rds.create_db_instance(
            DBInstanceIdentifier=state.ids[0], Engine="postgres", DBInstanceClass="db.t3.micro",
            AllocatedStorage=20, MasterUsername="x", ManageMasterUserPassword=True,
        )  # fmt: skip
    await slow_delete.provider.delete(OWNER, state)  # waits out the delete, then removes the group
    assert rds.describe_db_subnet_groups()["DBSubnetGroups"] == []


@pytest.mark.loopback
async def test_rds_throttling_is_retried(aws: Cloud, aws_registry: ProviderRegistry) -> None:
    spec, deps = await network(aws, aws_registry)
    aws.account.faults.append(Fault(FaultKind.THROTTLE, "CreateDBInstance", 2))
    state = await aws.provider.create(StepContext(OWNER, spec, spec.resource("db"), deps))
    assert aws.account.actions.count("CreateDBInstance") == 3
    await aws.provider.delete(OWNER, state)


@pytest.mark.loopback
async def test_a_creating_db_instance_has_no_endpoint_and_refuses_changes(
    aws_registry: ProviderRegistry,
) -> None:
    """As on RDS while it creates: no endpoint yet, ``ModifyDBInstance`` refused (moto shows
    it available at once and would apply the change)."""
    slow = make_cloud(attrs.evolve(CONFIG, db_creating_seconds=30.0))
    try:
        spec, deps = await network(slow, aws_registry)
        state = await slow.provider.create(StepContext(OWNER, spec, spec.resource("db"), deps))
        rds = slow.rds()
        [shown] = rds.describe_db_instances(DBInstanceIdentifier=state.ids[0])["DBInstances"]
        assert shown["DBInstanceStatus"] == "creating"
        assert "Endpoint" not in shown
        with pytest.raises(rds.exceptions.ClientError, match="InvalidDBInstanceState"):
            rds.modify_db_instance(
                DBInstanceIdentifier=state.ids[0], DBInstanceClass="db.t3.small",
                ApplyImmediately=True,
            )  # fmt: skip
        await slow.provider.delete(OWNER, state)
    finally:
        await slow.provider.aclose()
