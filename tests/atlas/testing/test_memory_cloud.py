"""The memory cloud itself: what it models of a real cloud, and its faults."""

from __future__ import annotations

import pytest

from atlas.exceptions import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TransportError,
)
from atlas.testing.memory import Latencies, ManualClock, MemoryCloud, NewObject, RateLimit

TOKEN = "mem_test_token_0123456789"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def cloud(clock: ManualClock) -> MemoryCloud:
    return MemoryCloud(clock=clock, tokens=[TOKEN], rate_limit=None)


async def network(cloud: MemoryCloud, name: str = "lan") -> str:
    [made] = await cloud.create(
        TOKEN, "network", [NewObject(name, {}, {"ip_range": "10.0.0.0/16"})]
    )
    return made.id


def server(name: str, size: str = "small", **marks: str) -> NewObject:
    return NewObject(name, marks, {"size": size})


async def test_objects_are_creating_then_active_after_the_kinds_latency(
    cloud: MemoryCloud, clock: ManualClock
) -> None:
    [made] = await cloud.create(TOKEN, "server", [server("a")])
    assert made.status == "creating"
    clock.advance(4.9)
    assert (await cloud.get(TOKEN, "server", made.id)).status == "creating"
    clock.advance(0.1)
    assert (await cloud.get(TOKEN, "server", made.id)).status == "active"


async def test_a_wrong_token_is_refused_without_showing_it(cloud: MemoryCloud) -> None:
    with pytest.raises(AuthenticationError) as info:
        await cloud.list("mem_wrong_token_abcdef", "server")
    assert info.value.status == 401
    assert "mem_wrong_token_abcdef" not in str(info.value)
    assert "mem_wrong_token_abcdef" not in repr(info.value)
    with pytest.raises(AuthenticationError):
        await cloud.list("", "server")


async def test_any_token_when_none_is_configured(clock: ManualClock) -> None:
    cloud = MemoryCloud(clock=clock)
    assert await cloud.list("whatever", "disk") == []


async def test_every_call_is_logged(cloud: MemoryCloud) -> None:
    await network(cloud)
    await cloud.list(TOKEN, "network")
    with pytest.raises(AuthenticationError):
        await cloud.list("nope", "disk")
    assert cloud.calls == ["create network", "list network", "list disk"]


async def test_a_fresh_object_is_missing_from_mark_searches_for_a_moment(
    cloud: MemoryCloud, clock: ManualClock
) -> None:
    await cloud.create(TOKEN, "server", [server("web-1", owner="o1")])
    assert await cloud.list(TOKEN, "server", marks={"owner": "o1"}) == []
    # A look-up by name is current at once.
    [found] = await cloud.list(TOKEN, "server", name_prefix="web-")
    assert found.name == "web-1"
    clock.advance(1.0)
    [listed] = await cloud.list(TOKEN, "server", marks={"owner": "o1"})
    assert listed.id == found.id
    assert await cloud.list(TOKEN, "server", marks={"owner": "o2"}) == []


async def test_deletes_take_a_moment(cloud: MemoryCloud, clock: ManualClock) -> None:
    [made] = await cloud.create(TOKEN, "server", [server("a")])
    await cloud.delete(TOKEN, "server", made.id)
    assert (await cloud.get(TOKEN, "server", made.id)).status == "deleting"
    assert not cloud.is_empty()
    await cloud.delete(TOKEN, "server", made.id)  # asking again is fine
    clock.advance(2.0)
    with pytest.raises(NotFoundError):
        await cloud.get(TOKEN, "server", made.id)
    with pytest.raises(NotFoundError):
        await cloud.delete(TOKEN, "server", made.id)
    assert cloud.is_empty()


async def test_servers_come_five_per_call_and_may_share_names(cloud: MemoryCloud) -> None:
    with pytest.raises(BadRequestError, match="1 to 5"):
        await cloud.create(TOKEN, "server", [server(f"s-{i}") for i in range(6)])
    await cloud.create(TOKEN, "server", [server("same")])
    await cloud.create(TOKEN, "server", [server("same")])
    assert [o.name for o in cloud.objects("server")] == ["same", "same"]


async def test_networks_and_disks_have_unique_names(cloud: MemoryCloud) -> None:
    await network(cloud)
    with pytest.raises(ConflictError, match="exists already"):
        await network(cloud)


async def test_what_the_cloud_refuses(cloud: MemoryCloud, clock: ManualClock) -> None:
    lan = await network(cloud)
    with pytest.raises(BadRequestError, match="size"):
        await cloud.create(TOKEN, "server", [server("a", size="huge")])
    with pytest.raises(BadRequestError, match="network net-9 does not exist"):
        await cloud.create(
            TOKEN, "server", [NewObject("a", {}, {"size": "small", "network_id": "net-9"})]
        )
    [srv] = await cloud.create(
        TOKEN, "server", [NewObject("a", {}, {"size": "small", "network_id": lan})]
    )
    [disk] = await cloud.create(
        TOKEN, "disk", [NewObject("d", {}, {"size_gb": 10, "server_id": srv.id})]
    )
    with pytest.raises(ConflictError, match="creating"):
        await cloud.update(TOKEN, "disk", disk.id, attributes={"size_gb": 20})
    clock.advance(5)
    with pytest.raises(BadRequestError, match="only grows"):
        await cloud.update(TOKEN, "disk", disk.id, attributes={"size_gb": 5})
    with pytest.raises(BadRequestError, match="ip_range cannot change"):
        await cloud.update(TOKEN, "network", lan, attributes={"ip_range": "10.9.0.0/16"})
    with pytest.raises(ConflictError, match="still has servers"):
        await cloud.delete(TOKEN, "network", lan)
    with pytest.raises(BadRequestError, match="no such kind"):
        await cloud.list(TOKEN, "bucket")


async def test_changes_settle_after_the_update_latency(
    cloud: MemoryCloud, clock: ManualClock
) -> None:
    [made] = await cloud.create(TOKEN, "server", [server("a")])
    clock.advance(5)
    changed = await cloud.update(
        TOKEN, "server", made.id, attributes={"size": "large"}, marks={"k": "v"}
    )
    assert (changed.status, changed.attributes["size"], changed.marks) == (
        "updating",
        "large",
        {"k": "v"},
    )
    clock.advance(3)
    assert (await cloud.get(TOKEN, "server", made.id)).status == "active"


async def test_a_dying_server_lets_go_of_its_disks(cloud: MemoryCloud) -> None:
    [srv] = await cloud.create(TOKEN, "server", [server("a")])
    [disk] = await cloud.create(
        TOKEN, "disk", [NewObject("d", {}, {"size_gb": 10, "server_id": srv.id})]
    )
    await cloud.delete(TOKEN, "server", srv.id)
    assert (await cloud.get(TOKEN, "disk", disk.id)).attributes["server_id"] is None


async def test_rate_limit_refuses_with_the_wait_until_a_call_leaves_the_window(
    clock: ManualClock,
) -> None:
    cloud = MemoryCloud(clock=clock, rate_limit=RateLimit(calls=2, per=10.0))
    await cloud.list(TOKEN, "disk")
    clock.advance(4)
    await cloud.list(TOKEN, "disk")
    with pytest.raises(RateLimitError) as info:
        await cloud.list(TOKEN, "disk")
    assert info.value.retry_after == pytest.approx(6.0)
    clock.advance(6.0)
    await cloud.list(TOKEN, "disk")


async def test_injected_errors_strike_after_the_create_is_applied(cloud: MemoryCloud) -> None:
    cloud.faults.fail_after_apply("network")
    with pytest.raises(ServerError):
        await network(cloud, "a")
    cloud.faults.drop_after_apply("network")
    with pytest.raises(TransportError):
        await network(cloud, "b")
    assert sorted(o.name for o in cloud.objects("network")) == ["a", "b"]
    assert cloud.faults.armed() == 0
    await network(cloud, "c")  # spent: the next create is answered


async def test_an_armed_fault_waits_for_its_kind(cloud: MemoryCloud) -> None:
    cloud.faults.fail_after_apply("disk", times=2)
    await network(cloud)
    assert cloud.faults.armed() == 2


async def test_throttle_refuses_the_next_calls_of_any_kind(cloud: MemoryCloud) -> None:
    cloud.faults.throttle(times=2, retry_after=1.5)
    for kind in ("server", "disk"):
        with pytest.raises(RateLimitError) as info:
            await cloud.list(TOKEN, kind)
        assert info.value.retry_after == 1.5
    assert await cloud.list(TOKEN, "server") == []


async def test_changes_and_deletes_outside(cloud: MemoryCloud, clock: ManualClock) -> None:
    lan = await network(cloud)
    [srv] = await cloud.create(TOKEN, "server", [server("a")])
    [disk] = await cloud.create(TOKEN, "disk", [NewObject("d", {}, {"size_gb": 10})])
    cloud.faults.change_outside("server", srv.id)
    cloud.faults.change_outside("disk", disk.id)
    cloud.faults.change_outside("network", lan)
    assert (await cloud.get(TOKEN, "server", srv.id)).attributes["size"] != "small"
    assert (await cloud.get(TOKEN, "disk", disk.id)).attributes["size_gb"] == 20
    assert (await cloud.get(TOKEN, "network", lan)).marks == {"changed": "outside"}
    cloud.faults.delete_outside("server", srv.id)
    with pytest.raises(NotFoundError):
        await cloud.get(TOKEN, "server", srv.id)


def test_faults_refuse_what_they_cannot_mean(cloud: MemoryCloud) -> None:
    with pytest.raises(ValueError, match="no kind 'bucket'"):
        cloud.faults.fail_after_apply("bucket")
    with pytest.raises(ValueError, match="at least 1"):
        cloud.faults.throttle(times=0)
    with pytest.raises(ValueError, match="negative"):
        cloud.faults.throttle(retry_after=-1)
    with pytest.raises(ValueError, match="no server srv-9"):
        cloud.faults.change_outside("server", "srv-9")


def test_latencies_scale() -> None:
    fast = Latencies().scaled(0.1)
    assert fast.create["server"] == pytest.approx(0.5)
    assert (fast.update, fast.delete, fast.list_lag) == pytest.approx((0.3, 0.2, 0.1))


def test_objects_refuses_an_unknown_kind(cloud: MemoryCloud) -> None:
    with pytest.raises(ValueError, match="no kind"):
        cloud.objects("bucket")
