"""Cloud firewalls: found by name, ready once every change reached its droplets."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from atlas.model.cloud import CloudObject, ResourceState, ResourceStatus
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec
from atlas.providers import StepContext
from atlas_digitalocean.api import JSON
from atlas_digitalocean.ops.base import dep_ids
from atlas_digitalocean.ops.named import NamedHandler, int_ids
from atlas_digitalocean.resources.firewall import Endpoints, FirewallSpec

__all__ = ["FirewallHandler"]

#: How DigitalOcean writes "every port" (its schema: "0" when all ports are open).
ALL_PORTS = "0"


def to_object(d: JSON, status: ResourceStatus) -> CloudObject:
    attributes: dict[str, Any] = {
        "status": d.get("status"),
        "pending_changes": [dict(c) for c in d.get("pending_changes") or []],
        "inbound_rules": [dict(r) for r in d.get("inbound_rules") or []],
        "outbound_rules": [dict(r) for r in d.get("outbound_rules") or []],
        "droplet_ids": list(d.get("droplet_ids") or []),
        "tags": list(d.get("tags") or []),
    }
    return CloudObject(str(d["id"]), str(d["name"]), status, attributes)


def ports(value: str | None) -> str:
    """atlas accepts ``all`` and no ports (icmp); DigitalOcean documents ``"0"`` for both,
    and its schema requires ``ports`` on every rule."""
    return ALL_PORTS if value in (None, "all") else str(value)


class FirewallHandler(NamedHandler):
    type = "firewall"
    statuses: Mapping[str, ResourceStatus] = {
        "waiting": "creating",
        "succeeded": "active",
        "failed": "error",
    }

    def obj(self, d: JSON) -> CloudObject:
        status = self.status(d.get("status"))
        if status == "active" and d.get("pending_changes"):
            # "succeeded" speaks of the last change; droplets may still be getting it.
            status = "creating"
        return to_object(d, status)

    async def list_all(self) -> list[JSON]:
        return await self.api.list_firewalls()

    async def get(self, object_id: str) -> JSON:
        return await self.api.get_firewall(object_id)

    async def remove(self, object_id: str) -> None:
        await self.api.delete_firewall(object_id)

    def body(self, ctx: StepContext) -> JSON:
        """The full representation (a PUT resets whatever it leaves out). Firewalls are
        global and untaggable: nothing of the spec but the resource applies."""
        s: FirewallSpec = ctx.resource.specifications
        deps, what = ctx.deps, f"firewall {ctx.name!r}"
        return {
            "name": self.name(ctx.owner, ctx.name),
            "inbound_rules": [
                {
                    "protocol": r.protocol,
                    "ports": ports(r.ports),
                    "sources": self._ends(r.sources, deps, what),
                }
                for r in s.inbound_rules
            ],
            "outbound_rules": [
                {
                    "protocol": r.protocol,
                    "ports": ports(r.ports),
                    "destinations": self._ends(r.destinations, deps, what),
                }
                for r in s.outbound_rules
            ],
            "droplet_ids": int_ids(dep_ids(deps, s.droplets, what)),
            "tags": list(s.tags),
        }

    @staticmethod
    def _ends(ends: Endpoints, deps: Mapping[str, ResourceState], what: str) -> JSON:
        found: JSON = {
            "addresses": list(ends.addresses),
            "droplet_ids": int_ids(dep_ids(deps, ends.droplets, what)),
            "load_balancer_uids": dep_ids(deps, ends.load_balancers, what),
            "tags": list(ends.tags),
        }
        return {k: v for k, v in found.items() if v}

    @staticmethod
    def tags_in(body: JSON) -> Iterator[str]:
        """Every tag a body names: the firewall's own and its rules'."""
        yield from body["tags"]
        for rule in body["inbound_rules"]:
            yield from rule["sources"].get("tags", [])
        for rule in body["outbound_rules"]:
            yield from rule["destinations"].get("tags", [])

    async def create(self, ctx: StepContext, names: Sequence[str]) -> list[CloudObject]:
        del names  # one object, named as body() names it
        body = self.body(ctx)
        await self.ensure_tags(self.tags_in(body))
        return [self.obj(await self.api.create_firewall(body))]

    def drift(
        self, spec: InfrastructureSpec, resource: ResourceSpec, state: ResourceState
    ) -> list[str]:
        """The rules' protocols and ports, both ways (who they admit is compared by the
        update, which sends the whole firewall)."""
        del spec
        s: FirewallSpec = resource.specifications
        want = {
            "inbound_rules": sorted((r.protocol, ports(r.ports)) for r in s.inbound_rules),
            "outbound_rules": sorted((r.protocol, ports(r.ports)) for r in s.outbound_rules),
        }
        found = []
        for obj in state.objects:
            for field, rules in want.items():
                have = sorted(
                    (str(r.get("protocol")), ports(r.get("ports")))
                    for r in obj.attributes.get(field, [])
                )
                if have != rules:
                    found.append(f"{obj.name} has {field} {have}, the spec says {rules}")
        return found

    async def update(self, ctx: StepContext, state: ResourceState) -> ResourceState:
        """One PUT of the full representation; the firewall is ``waiting`` again until its
        droplets have the change, so the caller waits as after a create."""
        body = self.body(ctx)
        await self.ensure_tags(self.tags_in(body))
        updated = await self.api.update_firewall(self.only_object(state).id, body)
        return ResourceState(self.type, ctx.name, (self.obj(updated),))
