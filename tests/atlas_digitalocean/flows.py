"""One provider flow per DigitalOcean kind: create → wait → read → update → delete.

The flows drive the public :class:`~atlas.providers.contract.Provider` API only, so the same code
records a cassette (real time, real sockets, against the emulator or the real API) and replays
it (a fake sleep, no network). Each flow also makes what its kind depends on (a volume needs a
droplet) and ends with nothing left: after the deletes, ``read`` finds none of it.

A flow checks what it sees as it goes (a :class:`FlowError` names the step) and returns a
:class:`FlowResult` for the tests to look at. When a step fails, whatever the flow made is
deleted before the error propagates, so an aborted recording against the real API does not
leave billable objects behind.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs

import atlas_digitalocean.plugin
from atlas.model.cloud import Owner, ResourceState
from atlas.model.infrastructure import InfrastructureSpec
from atlas.plugins import get_plugin_manager
from atlas.providers import ProviderRegistry, StepContext
from atlas.providers.contract import Provider
from atlas.spec import validate_spec

__all__ = [
    "FLOWS",
    "KINDS",
    "NEEDS",
    "TIMEOUT",
    "Flow",
    "FlowError",
    "FlowResult",
    "missing_ops",
]

logger = logging.getLogger(__name__)

#: How long a wait may take. Generous: a real database cluster takes minutes to come online.
TIMEOUT = 1800.0

IMAGE = "ubuntu-24-04-x64"
SMALL, LARGER = "s-1vcpu-1gb", "s-2vcpu-4gb"
DB_SMALL, DB_LARGER = "db-s-1vcpu-1gb", "db-s-1vcpu-2gb"


class FlowError(AssertionError):
    """A flow saw something its kind's contract rules out."""


@attrs.frozen
class FlowResult:
    """What a flow saw: the main resource after each step, and what was left at the end."""

    kind: str
    created: ResourceState
    ready: ResourceState
    read: ResourceState
    updated: ResourceState
    #: Every resource the flow made (the kind's own and its dependencies), as last seen.
    made: tuple[ResourceState, ...]
    #: What ``read`` still found after the deletes: empty when the flow cleaned up.
    leftovers: tuple[ResourceState, ...]


Flow = Callable[..., Awaitable[FlowResult]]


# -- helpers -----------------------------------------------------------------------------------


@functools.cache
def _registry() -> ProviderRegistry:
    pm = get_plugin_manager(plugins=[atlas_digitalocean.plugin], autoload=False)
    return ProviderRegistry.from_plugin_manager(pm)


def _spec(owner: Owner, region: str, *resources: dict[str, Any]) -> InfrastructureSpec:
    doc = {
        "name": owner.infrastructure,
        "provider": "digitalocean",
        "region": region,
        "resources": list(resources),
        "tags": {"purpose": "cassette"},
    }
    return validate_spec(doc, registry=_registry())


def _res(kind: str, name: str, **specifications: Any) -> dict[str, Any]:
    return {"type": kind, "name": name, "specifications": specifications}


def _check(condition: object, step: str, message: str) -> None:
    if not condition:
        raise FlowError(f"{step}: {message}")


def _targets(state: ResourceState, droplets: ResourceState, step: str) -> None:
    """``state`` (a load balancer or firewall) applies to exactly ``droplets``."""
    have = sorted(str(i) for i in state.attribute("droplet_ids") or [])
    _check(have == sorted(droplets.ids), step, f"targets droplets {have}, not {droplets.ids}")


class _Run:
    """One flow's bookkeeping: what it made (to clean up after a failure) and the steps."""

    def __init__(self, provider: Provider, owner: Owner, kind: str) -> None:
        self.provider, self.owner, self.kind = provider, owner, kind
        self.made: dict[str, ResourceState] = {}

    async def create(
        self, spec: InfrastructureSpec, name: str, deps: Mapping[str, ResourceState] | None = None
    ) -> ResourceState:
        resource = spec.resource(name)
        reported: list[str] = []

        async def on_created(resource_name: str, objects: Any) -> None:
            reported.extend(o.id for o in objects)

        state = await self.provider.create(
            StepContext(self.owner, spec, resource, dict(deps or {})), on_created=on_created
        )
        self.made[name] = state
        _check(state.objects, f"create {name}", "no objects came back")
        _check(
            sorted(reported) == sorted(state.ids),
            f"create {name}",
            f"on_created reported {reported}, the state holds {list(state.ids)}",
        )
        return state

    async def wait(self, *states: ResourceState) -> list[ResourceState]:
        ready = await self.provider.wait(self.owner, list(states), timeout=TIMEOUT)
        for state in ready:
            self.made[state.name] = state
            _check(state.status == "active", f"wait {state.name}", f"ended {state.status}")
        return ready

    async def read(self, state: ResourceState) -> ResourceState:
        found = await self.provider.read(self.owner, state)
        _check(found is not None, f"read {state.name}", "found nothing")
        assert found is not None
        _check(found.ids == state.ids, f"read {state.name}", f"ids {found.ids} != {state.ids}")
        self.made[state.name] = found
        return found

    async def update(
        self,
        spec: InfrastructureSpec,
        state: ResourceState,
        deps: Mapping[str, ResourceState] | None = None,
    ) -> ResourceState:
        new = await self.provider.update(
            StepContext(self.owner, spec, spec.resource(state.name), dict(deps or {})), state
        )
        self.made[state.name] = new
        return new

    async def delete(self, *states: ResourceState) -> None:
        """Delete in the order given (dependants first)."""
        for state in states:
            await self.provider.delete(self.owner, state)
            self.made.pop(state.name, None)

    async def leftovers(self, states: tuple[ResourceState, ...]) -> tuple[ResourceState, ...]:
        found = [await self.provider.read(self.owner, s) for s in states]
        return tuple(s for s in found if s is not None)

    async def cleanup(self) -> None:
        """After a failure: delete what is left, newest first, and say what could not be."""
        for name, state in reversed(list(self.made.items())):
            try:
                await self.provider.delete(self.owner, state)
            except Exception as exc:  # the flow's own error is the one to raise
                logger.error(
                    "could not delete %s %r (ids %s) after the flow failed: %s; delete it by hand",
                    state.type,
                    name,
                    ", ".join(state.ids),
                    type(exc).__name__,
                )

    async def guard(self, body: Callable[[_Run], Awaitable[FlowResult]]) -> FlowResult:
        try:
            return await body(self)
        except BaseException:
            await self.cleanup()
            raise


async def _finish(
    run: _Run,
    steps: tuple[ResourceState, ResourceState, ResourceState, ResourceState],
    *dependencies: ResourceState,
) -> FlowResult:
    """Delete the kind's resource, then its dependencies, and see that nothing is left."""
    updated = steps[-1]
    made = (updated, *dependencies)
    await run.delete(*made)
    return FlowResult(run.kind, *steps, made, await run.leftovers(made))


# -- the flows ---------------------------------------------------------------------------------


async def droplet_flow(provider: Provider, owner: Owner, *, region: str = "nyc3") -> FlowResult:
    """Two droplets: create, wait, read, resize both, delete by tag."""

    async def body(run: _Run) -> FlowResult:
        spec = _spec(owner, region, _res("droplet", "web", size=SMALL, image=IMAGE, count=2))
        created = await run.create(spec, "web")
        _check(len(created.objects) == 2, "create web", f"{len(created.objects)} droplets")
        [ready] = await run.wait(created)
        read = await run.read(ready)
        bigger = _spec(owner, region, _res("droplet", "web", size=LARGER, image=IMAGE, count=2))
        updated = await run.update(bigger, read)
        sizes = [o.attributes.get("size") for o in updated.objects]
        _check(sizes == [LARGER, LARGER], "resize web", f"sizes are {sizes}")
        _check(updated.status == "active", "resize web", f"ended {updated.status}")
        return await _finish(run, (created, ready, read, updated))

    return await _Run(provider, owner, "droplet").guard(body)


async def volume_flow(provider: Provider, owner: Owner, *, region: str = "nyc3") -> FlowResult:
    """A volume attached to a droplet: create both, grow the volume, delete both."""

    def spec_with(size: int) -> InfrastructureSpec:
        return _spec(
            owner,
            region,
            _res("droplet", "host", size=SMALL, image=IMAGE),
            _res("volume", "data", size_gigabytes=size, attach_to="host"),
        )

    async def body(run: _Run) -> FlowResult:
        spec = spec_with(10)
        [host] = await run.wait(await run.create(spec, "host"))
        deps = {"host": host}
        created = await run.create(spec, "data", deps)
        [ready] = await run.wait(created)
        attached = ready.attribute("droplet_ids")
        _check(attached == list(host.ids), "attach data", f"attached to {attached}")
        read = await run.read(ready)
        updated = await run.update(spec_with(20), read, deps)
        [updated] = await run.wait(updated)
        size = updated.attribute("size_gigabytes")
        _check(size == 20, "grow data", f"size is {size}")
        return await _finish(run, (created, ready, read, updated), host)

    return await _Run(provider, owner, "volume").guard(body)


async def database_flow(provider: Provider, owner: Owner, *, region: str = "nyc3") -> FlowResult:
    """A PostgreSQL cluster: create, wait until online, resize, delete."""

    def spec_with(size: str) -> InfrastructureSpec:
        return _spec(owner, region, _res("database", "db", engine="pg", size=size))

    async def body(run: _Run) -> FlowResult:
        created = await run.create(spec_with(DB_SMALL), "db")
        [ready] = await run.wait(created)
        read = await run.read(ready)
        updated = await run.update(spec_with(DB_LARGER), read)
        [updated] = await run.wait(updated)
        size = updated.attribute("size")
        _check(size == DB_LARGER, "resize db", f"size is {size}")
        return await _finish(run, (created, ready, read, updated))

    return await _Run(provider, owner, "database").guard(body)


def _http_rule(port: int) -> dict[str, Any]:
    return {
        "entry_protocol": "http",
        "entry_port": port,
        "target_protocol": "http",
        "target_port": port,
    }


async def load_balancer_flow(
    provider: Provider, owner: Owner, *, region: str = "nyc3"
) -> FlowResult:
    """A load balancer over two droplets: create, wait until active, change its rules, delete."""

    def spec_with(*ports: int) -> InfrastructureSpec:
        rules = [_http_rule(p) for p in ports]
        return _spec(
            owner,
            region,
            _res("droplet", "web", size=SMALL, image=IMAGE, count=2),
            _res("load_balancer", "lb", droplets=["web"], forwarding_rules=rules),
        )

    async def body(run: _Run) -> FlowResult:
        spec = spec_with(80)
        [web] = await run.wait(await run.create(spec, "web"))
        deps = {"web": web}
        created = await run.create(spec, "lb", deps)
        [ready] = await run.wait(created)
        _targets(ready, web, "wait lb")
        read = await run.read(ready)
        updated = await run.update(spec_with(80, 8080), read, deps)
        [updated] = await run.wait(updated)
        ports = sorted(r.get("entry_port") for r in updated.attribute("forwarding_rules") or [])
        _check(ports == [80, 8080], "update lb", f"entry ports are {ports}")
        return await _finish(run, (created, ready, read, updated), web)

    return await _Run(provider, owner, "load_balancer").guard(body)


def _inbound(port: str) -> dict[str, Any]:
    return {"protocol": "tcp", "ports": port, "sources": {"addresses": ["0.0.0.0/0"]}}


async def firewall_flow(provider: Provider, owner: Owner, *, region: str = "nyc3") -> FlowResult:
    """A firewall for a droplet: create, wait until its changes succeed, change rules, delete."""

    def spec_with(*ports: str) -> InfrastructureSpec:
        outbound = {"protocol": "tcp", "ports": "all", "destinations": {"addresses": ["0.0.0.0/0"]}}
        return _spec(
            owner,
            region,
            _res("droplet", "web", size=SMALL, image=IMAGE),
            _res(
                "firewall",
                "fw",
                droplets=["web"],
                inbound_rules=[_inbound(p) for p in ports],
                outbound_rules=[outbound],
            ),
        )

    async def body(run: _Run) -> FlowResult:
        spec = spec_with("22")
        [web] = await run.wait(await run.create(spec, "web"))
        deps = {"web": web}
        created = await run.create(spec, "fw", deps)
        [ready] = await run.wait(created)
        _targets(ready, web, "wait fw")
        read = await run.read(ready)
        updated = await run.update(spec_with("22", "80"), read, deps)
        [updated] = await run.wait(updated)
        ports = sorted(str(r.get("ports")) for r in updated.attribute("inbound_rules") or [])
        _check(ports == ["22", "80"], "update fw", f"inbound ports are {ports}")
        return await _finish(run, (created, ready, read, updated), web)

    return await _Run(provider, owner, "firewall").guard(body)


async def vpc_flow(provider: Provider, owner: Owner, *, region: str = "nyc3") -> FlowResult:
    """A VPC: create, change its description, delete."""

    def spec_with(description: str) -> InfrastructureSpec:
        return _spec(
            owner,
            region,
            _res("vpc", "net", ip_range="10.213.0.0/24", description=description),
        )

    async def body(run: _Run) -> FlowResult:
        created = await run.create(spec_with("recorded by atlas"), "net")
        [ready] = await run.wait(created)
        read = await run.read(ready)
        updated = await run.update(spec_with("recorded by atlas, updated"), read)
        description = updated.attribute("description")
        _check(
            description == "recorded by atlas, updated",
            "describe net",
            f"description is {description!r}",
        )
        return await _finish(run, (created, ready, read, updated))

    return await _Run(provider, owner, "vpc").guard(body)


#: Every flow, by the kind it is about, in the order they are recorded.
FLOWS: dict[str, Flow] = {
    "droplet": droplet_flow,
    "volume": volume_flow,
    "database": database_flow,
    "load_balancer": load_balancer_flow,
    "firewall": firewall_flow,
    "vpc": vpc_flow,
}
KINDS = tuple(FLOWS)

#: The kinds whose operations each flow needs from the provider.
NEEDS: dict[str, tuple[str, ...]] = {
    "droplet": ("droplet",),
    "volume": ("droplet", "volume"),
    "database": ("database",),
    "load_balancer": ("droplet", "load_balancer"),
    "firewall": ("droplet", "firewall"),
    "vpc": ("vpc",),
}


def missing_ops(kind: str, available: frozenset[str] | set[str]) -> list[str]:
    """The kinds ``kind``'s flow needs that the provider cannot manage yet."""
    return [k for k in NEEDS[kind] if k not in available]
