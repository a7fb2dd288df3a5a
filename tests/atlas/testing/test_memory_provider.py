"""The memory plugin and provider: registration, validation, prices, and the live side."""

from __future__ import annotations

from typing import Any

import pytest

import atlas
from atlas.credentials import CredentialsError
from atlas.model.cloud import CloudObject, Owner
from atlas.providers import StepContext
from atlas.spec.validate import validate_spec
from atlas.store import SQLiteStore
from atlas.testing import memory
from atlas.testing.memory import ManualClock, MemoryCloud, MemoryProvider

SPEC: dict[str, Any] = {
    "name": "demo",
    "provider": "memory",
    "region": "mem-1",
    "tags": {"env": "test"},
    "resources": [
        {"type": "network", "name": "lan", "specifications": {"ip_range": "10.1.0.0/16"}},
        {
            "type": "server",
            "name": "app",
            "specifications": {"size": "small", "image": "debian-12", "count": 7, "network": "lan"},
        },
        {
            "type": "server",
            "name": "db",
            "specifications": {"size": "large", "image": "debian-12", "network": "lan"},
        },
        {"type": "disk", "name": "data", "specifications": {"size_gb": 20, "attach_to": "db"}},
    ],
}
OWNER = Owner("ws", "demo")


@pytest.fixture(scope="module")
def registry() -> atlas.ProviderRegistry:
    return memory.registry()


def test_the_plugin_registers_the_memory_provider(registry: atlas.ProviderRegistry) -> None:
    assert registry.names() == ("memory",)
    assert sorted(registry.kinds("memory")) == ["disk", "network", "server"]
    info = registry.get("memory")
    assert info.credentials is not None
    assert info.credentials.env_names == ("ATLAS_MEMORY_TOKEN",)
    assert info.ready_timeout("server") == 120.0
    catalog = registry.catalog("memory")
    assert catalog is not None
    assert catalog.currency == "USD"
    assert "made up" in " ".join(s.title for s in catalog.sources.values()).lower()


def test_it_is_not_autoloaded() -> None:
    assert "memory" not in atlas.default_registry().names()


def test_estimate(registry: atlas.ProviderRegistry) -> None:
    est = atlas.estimate(SPEC, registry=registry)
    assert est.complete
    assert str(est.monthly) == "82.30 USD"  # 7 x 7.30 + 29.20 + 20 x 0.10


def test_problems_have_paths(registry: atlas.ProviderRegistry) -> None:
    bad = {
        "name": "demo",
        "provider": "memory",
        "region": "mars",
        "tags": {"atlas:owner": "x"},
        "resources": [
            {"type": "network", "name": "lan", "specifications": {"ip_range": "10.1.0.0/33"}},
            {"type": "server", "name": "app", "specifications": {"size": "huge", "count": 2}},
            {"type": "disk", "name": "d", "specifications": {"size_gb": 0, "attach_to": "app"}},
        ],
    }
    with pytest.raises(atlas.SpecValidationError) as info:
        atlas.estimate(bad, registry=registry)
    assert [str(p) for p in info.value.problems] == [
        "region: unknown region 'mars'; the memory cloud has mem-1, mem-2",
        "resources[0].specifications.ip_range: '10.1.0.0/33' is not a CIDR block "
        "(like 10.20.0.0/16)",
        "resources[1].specifications.size: unknown size 'huge'; the memory cloud has large, "
        "medium, small",
        "resources[2].specifications.size_gb: must be from 1 to 4096; got 0",
        "resources[2].specifications.attach_to: 'app' is 2 servers; a disk attaches to one",
        "tags.atlas:owner: tags starting 'atlas:' are atlas's own",
    ]


def test_a_shrinking_disk_is_replaced(registry: atlas.ProviderRegistry) -> None:
    disk = registry.kinds("memory")["disk"]
    assert disk.replace_if is not None
    assert disk.replace_if({"size_gb": 20}, {"size_gb": 10}) is not None
    assert disk.replace_if({"size_gb": 20}, {"size_gb": 30}) is None
    assert "ip_range" in registry.kinds("memory")["network"].replace_on


async def test_the_factory_reads_the_token_from_the_environment(
    registry: atlas.ProviderRegistry,
) -> None:
    provider = registry.build("memory", env={})
    with pytest.raises(CredentialsError, match="ATLAS_MEMORY_TOKEN"):
        await provider.discover(OWNER)
    provider = registry.build("memory", env={"ATLAS_MEMORY_TOKEN": "mem_from_env"})
    assert isinstance(provider, MemoryProvider)
    assert provider.cloud is memory.provider.default_cloud()
    assert await provider.discover(Owner("factory", "test")) == []


async def test_servers_are_created_in_batches_of_five(registry: atlas.ProviderRegistry) -> None:
    sandbox = memory.make_sandbox()
    spec = validate_spec(SPEC, registry=registry)
    provider = sandbox.provider
    lan = await provider.create(StepContext(OWNER, spec, spec.resource("lan")))
    batches: list[int] = []

    async def on_created(_name: str, objects: list[CloudObject]) -> None:
        batches.append(len(objects))

    ctx = StepContext(OWNER, spec, spec.resource("app"), {"lan": lan})
    app = await provider.create(ctx, on_created=on_created)  # type: ignore[arg-type]
    assert sorted(batches) == [2, 5]
    assert [o.name for o in app.objects] == [f"demo-app-{OWNER.uid}-{i}" for i in range(1, 8)]
    assert {o.attributes["network_id"] for o in app.objects} == {lan.ids[0]}


async def test_a_throttled_call_is_retried_after_the_advised_wait() -> None:
    clock = ManualClock()
    sandbox = memory.make_sandbox(clock=clock)
    assert sandbox.faults is not None
    sandbox.faults.throttle(times=2, retry_after=3.0)
    assert await sandbox.provider.discover(OWNER) == []
    assert clock() >= 6.0


async def test_lifecycle_through_atlas(registry: atlas.ProviderRegistry) -> None:
    cloud = MemoryCloud(clock=ManualClock(), tokens=["mem_lifecycle"])
    sandbox = memory.make_sandbox(cloud, token="mem_lifecycle")
    async with atlas.AsyncAtlas(
        store=SQLiteStore(":memory:"), registry=registry, providers={"memory": sandbox.provider}
    ) as a:
        op = await a.apply(SPEC)
        assert op.status == "completed", op.error
        assert len(cloud.objects("server")) == 8
        assert cloud.calls.count("create server") == 3  # 5 + 2 for app, 1 for db
        assert [c.action for c in (await a.plan(SPEC)).changes] == []
        grown = {
            **SPEC,
            "resources": [
                *SPEC["resources"][:3],
                {**SPEC["resources"][3], "specifications": {"size_gb": 30, "attach_to": "db"}},
            ],
        }
        op = await a.apply(grown)
        assert op.status == "completed", op.error
        [disk] = cloud.objects("disk")
        assert disk.attributes["size_gb"] == 30
        done = await a.destroy("demo")
        assert done.status == "completed", done.error
    assert cloud.is_empty()


async def create_all(provider: atlas.Provider, spec: atlas.InfrastructureSpec) -> dict[str, Any]:
    states: dict[str, Any] = {}
    for res in spec.resources:
        state = await provider.create(StepContext(OWNER, spec, res, states))
        [states[res.name]] = await provider.wait(OWNER, [state], timeout=60)
    return states


async def test_drift_reports_changes_made_outside(registry: atlas.ProviderRegistry) -> None:
    sandbox = memory.make_sandbox()
    assert sandbox.faults is not None
    spec = validate_spec(SPEC, registry=registry)
    provider = sandbox.provider
    states = await create_all(provider, spec)
    for name in ("lan", "db", "data"):
        sandbox.faults.change_outside(states[name].type, states[name].ids[0])
    found = {}
    for name in ("lan", "db", "data"):
        fresh = await provider.read(OWNER, states[name])
        assert fresh is not None
        found[name] = provider.drift(spec, spec.resource(name), fresh)
    assert found == {
        "lan": [
            f"demo-lan-{OWNER.uid} is tagged {{'env': 'test', 'changed': 'outside'}}, "
            "the spec says {'env': 'test'}"
        ],
        "db": [f"demo-db-{OWNER.uid}-1 is small, the spec says large"],
        "data": [f"demo-data-{OWNER.uid} has 30 GB, the spec says 20"],
    }


async def test_a_create_answered_in_doubt_is_adopted_not_repeated(
    registry: atlas.ProviderRegistry,
) -> None:
    cloud = MemoryCloud(clock=ManualClock(), tokens=["mem_doubt"])
    sandbox = memory.make_sandbox(cloud, token="mem_doubt")
    spec = validate_spec(SPEC, registry=registry)
    lan = await sandbox.provider.create(StepContext(OWNER, spec, spec.resource("lan")))
    cloud.faults.fail_after_apply("server")
    cloud.faults.drop_after_apply("server")
    app = await sandbox.provider.create(
        StepContext(OWNER, spec, spec.resource("app"), {"lan": lan})
    )
    assert len(cloud.objects("server")) == 7
    assert sorted(app.ids) == sorted(o.id for o in cloud.objects("server"))
    assert cloud.calls.count("create server") == 2  # one per batch, none repeated
