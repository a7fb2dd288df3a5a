"""The main AWS flows, as cassettes record and replay them.

Each flow drives the public API only: :class:`atlas.facade.AsyncAtlas` (plan, apply, refresh,
destroy) for the stacks, :class:`~atlas.providers.contract.Provider` for the counted
instance. The same code records a cassette (real time, real sockets, against the emulator or
AWS) and replays it (fake sleeps, no network). Every flow ends with nothing left: after the
destroy (or delete), reading what it made finds none of it.

A flow checks what it sees as it goes (a :class:`FlowError` names the step) and returns a
:class:`FlowResult` of facts for the tests to look at. When a step fails, whatever the flow
made is deleted before the error propagates, so an aborted recording against AWS leaves
nothing billable behind.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

import atlas_aws.plugin
from atlas.events import EventDispatcher
from atlas.facade import AsyncAtlas
from atlas.model.cloud import Owner, ResourceState
from atlas.plugins import get_plugin_manager
from atlas.providers import ProviderRegistry, StepContext
from atlas.spec import validate_spec
from atlas.store import SQLiteStore
from atlas_aws.provider import AwsProvider

__all__ = ["FLOWS", "KINDS", "OPERATION", "WORKSPACE", "Flow", "FlowError", "FlowResult"]

logger = logging.getLogger(__name__)

#: The workspace of every recorded infrastructure (its objects' names and marks derive from it).
WORKSPACE = "cassettes"
#: The operation id of the provider-level flow when none is given (the counted launch's
#: ``ClientToken`` derives from it). A recording uses a fresh one, written in the cassette's
#: metadata for the replay: a token used before would be refused by EC2 (its instances are
#: terminated), so re-recording in the same account must not reuse it.
OPERATION = "cassette-op-1"
#: How long a wait may take: a real DB instance takes several minutes to become available.
TIMEOUT = 1800.0

_IMAGE = "ubuntu-24.04"
_SMALL = "t3.micro"


class FlowError(AssertionError):
    """A flow saw something the provider's contract rules out."""


@attrs.frozen
class FlowResult:
    """What a flow saw (``facts``: step name to what it found) and what it left behind."""

    kind: str
    facts: dict[str, Any]
    #: What reading the flow's resources still found after the destroy: empty when clean.
    leftovers: tuple[str, ...]


#: ``flow(provider, region, operation)``.
Flow = Callable[[AwsProvider, str, str], Awaitable[FlowResult]]


@functools.cache
def registry() -> ProviderRegistry:
    pm = get_plugin_manager(plugins=[atlas_aws.plugin], autoload=False)
    return ProviderRegistry.from_plugin_manager(pm)


def _check(condition: object, step: str, message: str) -> None:
    if not condition:
        raise FlowError(f"{step}: {message}")


def _doc(name: str, region: str, *resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "provider": "aws",
        "region": region,
        "resources": list(resources),
        "tags": {"purpose": "cassette"},
    }


def _res(kind: str, name: str, **specifications: Any) -> dict[str, Any]:
    return {"type": kind, "name": name, "specifications": specifications}


def _net(region: str) -> list[dict[str, Any]]:
    """A VPC with a subnet in each of two zones."""
    return [
        _res("vpc", "net", cidr_block="10.0.0.0/16"),
        _res("subnet", "lan", vpc="net", cidr_block="10.0.1.0/24", availability_zone=f"{region}a"),
        _res(
            "subnet", "lan-b", vpc="net", cidr_block="10.0.2.0/24", availability_zone=f"{region}b"
        ),
    ]


def _rule(port: int, cidr: str = "203.0.113.0/24") -> dict[str, Any]:
    return {"protocol": "tcp", "from_port": port, "to_port": port, "cidr_blocks": [cidr]}


def _atlas(provider: AwsProvider) -> AsyncAtlas:
    store = SQLiteStore(":memory:")
    reg = registry()
    return AsyncAtlas(
        store=store,
        registry=reg,
        workspace=WORKSPACE,
        providers={"aws": provider},
        events=EventDispatcher(store, reg.plugins),  # no webhook from the environment
    )


async def _applied(
    atlas: AsyncAtlas, doc: dict[str, Any], step: str, planned: list[tuple[str, str]] | None = None
) -> dict[str, ResourceState]:
    """Plan (offline: no read of the cloud, nothing priced live), apply exactly that plan, and
    the resources as recorded, by name; what was planned is put in ``planned``."""
    plan = await atlas.plan(doc)
    actions = sorted((c.action, c.resource) for c in plan.changes)
    _check(plan.changes, f"plan {step}", "nothing to do")
    if planned is not None:
        planned.extend(actions)
    op = await atlas.apply(plan)
    _check(op.status == "completed", f"apply {step}", f"ended {op.status}: {op.error}")
    view = atlas.get(doc["name"])
    states = {r.name: r.state() for r in view.resources}
    for name, state in states.items():
        _check(state.status == "active", f"apply {step}", f"{name} is {state.status}")
    logger.info("%s: %s", step, actions)
    return states


async def _destroyed(
    atlas: AsyncAtlas, provider: AwsProvider, name: str, states: dict[str, ResourceState]
) -> tuple[str, ...]:
    op = await atlas.destroy(name)
    _check(op.status == "completed", f"destroy {name}", f"ended {op.status}: {op.error}")
    owner = Owner(atlas.workspace, name)
    found = []
    for state in states.values():
        if await provider.read(owner, state) is not None:
            found.append(f"{state.type} {state.name} ({', '.join(state.ids)})")
    return tuple(found)


async def _guarded(
    provider: AwsProvider, name: str, body: Callable[[AsyncAtlas], Awaitable[FlowResult]]
) -> FlowResult:
    """``body`` with an AsyncAtlas of its own; after a failure, what it made is destroyed."""
    atlas = _atlas(provider)
    try:
        return await body(atlas)
    except BaseException:
        try:
            if atlas.list():
                await atlas.destroy(name)
        except Exception as exc:  # the flow's own error is the one to raise
            logger.error("could not destroy %s after the flow failed: %s", name, exc)
        raise


# -- the flows ---------------------------------------------------------------------------------


async def stack_flow(provider: AwsProvider, region: str, operation: str = OPERATION) -> FlowResult:
    """A VPC, a subnet, a security group and an instance in them: plan, apply, destroy."""
    del operation  # an apply's operation ids are the lifecycle's own
    name = "stack"
    doc = _doc(
        name,
        region,
        _res("vpc", "net", cidr_block="10.0.0.0/16"),
        _res("subnet", "lan", vpc="net", cidr_block="10.0.1.0/24", availability_zone=f"{region}a"),
        _res("security_group", "ssh", vpc="net", ingress=[_rule(22)]),
        _res(
            "instance",
            "web",
            instance_type=_SMALL,
            image=_IMAGE,
            subnet="lan",
            security_groups=["ssh"],
        ),
    )

    async def body(atlas: AsyncAtlas) -> FlowResult:
        planned: list[tuple[str, str]] = []
        states = await _applied(atlas, doc, name, planned)
        web, lan, ssh = states["web"], states["lan"], states["ssh"]
        _check(web.attribute("subnet_id") == lan.ids[0], "apply stack", "web is not in the subnet")
        again = await atlas.plan(doc)
        _check(not again.changes, "plan stack again", f"{again.changes}")
        facts = {
            "planned": planned,
            "instance_type": web.attribute("instance_type"),
            "security_group_ids": web.attribute("security_group_ids"),
            "ssh": list(ssh.ids),
            "names": sorted(o.name for s in states.values() for o in s.objects),
        }
        return FlowResult("stack", facts, await _destroyed(atlas, provider, name, states))

    return await _guarded(provider, name, body)


async def count_flow(provider: AwsProvider, region: str, operation: str = OPERATION) -> FlowResult:
    """Two instances of one resource: one ``RunInstances`` (MinCount = MaxCount = 2, a
    ``ClientToken`` of the operation), wait, read, terminate, through the provider alone."""
    name = "count"
    owner = Owner(WORKSPACE, name)
    spec = validate_spec(
        _doc(name, region, _res("instance", "web", instance_type=_SMALL, image=_IMAGE, count=2)),
        registry=registry(),
    )
    ctx = StepContext(owner, spec, spec.resource("web"), {}, operation)
    made: list[ResourceState] = []
    try:
        created = await provider.create(ctx)
        made.append(created)
        _check(len(created.objects) == 2, "create web", f"{len(created.objects)} instances")
        [ready] = await provider.wait(owner, [created], timeout=TIMEOUT)
        made[0] = ready
        _check(ready.status == "active", "wait web", f"ended {ready.status}")
        read = await provider.read(owner, ready)
        _check(read is not None and read.ids == ready.ids, "read web", f"read {read}")
        await provider.delete(owner, ready)
        made.clear()
    except BaseException:
        for state in made:
            try:
                await provider.delete(owner, state)
            except Exception as exc:  # the flow's own error is the one to raise
                logger.error("could not delete %s after the flow failed: %s", state.ids, exc)
        raise
    left = await provider.read(owner, ready)
    facts = {
        "created": created.status,
        "names": [o.name for o in ready.objects],
        "ids": list(ready.ids),
        "states": sorted({str(o.attributes.get("state")) for o in ready.objects}),
    }
    return FlowResult("count", facts, () if left is None else tuple(left.ids))


async def db_instance_flow(
    provider: AwsProvider, region: str, operation: str = OPERATION
) -> FlowResult:
    """A PostgreSQL DB instance in two subnets: apply until available, destroy."""
    del operation  # an apply's operation ids are the lifecycle's own
    name = "db"
    doc = _doc(
        name,
        region,
        *_net(region),
        _res("security_group", "pg", vpc="net", ingress=[_rule(5432, "10.0.0.0/16")]),
        _res(
            "db_instance",
            "db",
            engine="postgres",
            instance_class="db.t3.micro",
            allocated_storage=20,
            subnets=["lan", "lan-b"],
            security_groups=["pg"],
        ),
    )

    async def body(atlas: AsyncAtlas) -> FlowResult:
        states = await _applied(atlas, doc, name)
        db = states["db"]
        facts = {
            "identifier": db.objects[0].name,
            "engine": db.attribute("engine"),
            "address": bool(db.attribute("address")),
            "status": db.status,
            "attributes": sorted(db.objects[0].attributes),
        }
        return FlowResult("db_instance", facts, await _destroyed(atlas, provider, name, states))

    return await _guarded(provider, name, body)


async def load_balancer_flow(
    provider: AwsProvider, region: str, operation: str = OPERATION
) -> FlowResult:
    """An application load balancer over an instance, with one HTTP listener: apply until
    active, destroy (the target group goes with it)."""
    del operation  # an apply's operation ids are the lifecycle's own
    name = "lb"
    doc = _doc(
        name,
        region,
        *_net(region),
        _res("instance", "web", instance_type=_SMALL, image=_IMAGE, subnet="lan"),
        _res(
            "load_balancer",
            "lb",
            subnets=["lan", "lan-b"],
            listeners=[{"port": 80, "protocol": "HTTP", "target_port": 8080}],
            targets=["web"],
        ),
    )

    async def body(atlas: AsyncAtlas) -> FlowResult:
        states = await _applied(atlas, doc, name)
        lb, web = states["lb"], states["web"]
        facts = {
            "name": lb.objects[0].name,
            "targets": lb.attribute("targets"),
            "web": list(web.ids),
            "listeners": lb.attribute("listeners"),
            "dns_name": bool(lb.attribute("dns_name")),
            "attributes": sorted(lb.objects[0].attributes),
        }
        return FlowResult("load_balancer", facts, await _destroyed(atlas, provider, name, states))

    return await _guarded(provider, name, body)


async def drift_flow(provider: AwsProvider, region: str, operation: str = OPERATION) -> FlowResult:
    """A security group changed outside atlas: refresh reads it back and reports the drift,
    a refreshing plan puts it back, and the next refresh finds none."""
    del operation  # an apply's operation ids are the lifecycle's own
    name = "drift"
    doc = _doc(
        name,
        region,
        _res("vpc", "net", cidr_block="10.0.0.0/16"),
        _res("security_group", "ssh", vpc="net", ingress=[_rule(22)]),
    )

    async def body(atlas: AsyncAtlas) -> FlowResult:
        states = await _applied(atlas, doc, name)
        [group] = states["ssh"].ids
        before = await atlas.refresh(name)
        _check(before == [], "refresh drift", f"drift right after the apply: {before}")
        # By hand, as a person would: the same API, not through atlas's lifecycle.
        ec2 = await (await provider.regions()).get(region)
        await ec2.call(
            "AuthorizeSecurityGroupIngress",
            GroupId=group,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 80,
                    "ToPort": 80,
                    "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                }
            ],
        )
        drift = await atlas.refresh(name)
        _check(drift, "refresh drift", "the rule added by hand was not seen")
        plan = await atlas.plan(doc, refresh=True)
        repair = sorted((c.action, c.resource) for c in plan.changes)
        _check(repair == [("update", "ssh")], "plan drift", f"plans {repair}")
        op = await atlas.apply(plan)
        _check(op.status == "completed", "apply drift", f"ended {op.status}: {op.error}")
        after = await atlas.refresh(name)
        _check(after == [], "refresh drift", f"drift after putting it back: {after}")
        facts = {
            "drift": [(d.resource, d.kind, list(d.details)) for d in drift],
            "repair": repair,
        }
        states = {r.name: r.state() for r in atlas.get(name).resources}
        return FlowResult("drift", facts, await _destroyed(atlas, provider, name, states))

    return await _guarded(provider, name, body)


#: Every flow by its cassette's name, in the order they are recorded.
FLOWS: dict[str, Flow] = {
    "stack": stack_flow,
    "count": count_flow,
    "db_instance": db_instance_flow,
    "load_balancer": load_balancer_flow,
    "drift": drift_flow,
}
KINDS = tuple(FLOWS)
