"""Load balancers: found by name, polled with one list call, updated by a full PUT."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from atlas.exceptions import ProviderOperationError
from atlas.model.cloud import CloudObject, ResourceState, ResourceStatus
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec
from atlas.providers import StepContext
from atlas_digitalocean.api import JSON
from atlas_digitalocean.ops.base import dep_id, dep_ids
from atlas_digitalocean.ops.named import NamedHandler, int_ids
from atlas_digitalocean.resources.load_balancer import (
    ForwardingRule,
    LoadBalancerSpec,
    StickySessions,
)

__all__ = ["LoadBalancerHandler"]

#: Settings atlas does not manage. A PUT resets whatever it leaves out, so an update sends
#: them back as they are instead of undoing what was set outside atlas.
KEPT = (
    "project_id",
    "http_idle_timeout_seconds",
    "enable_proxy_protocol",
    "enable_backend_keepalive",
    "disable_lets_encrypt_dns_records",
    "firewall",
    "network",
    "network_stack",
    "type",
    "tls_cipher_policy",
)


def to_object(d: JSON, status: ResourceStatus) -> CloudObject:
    attributes: dict[str, Any] = {
        "status": d.get("status"),
        "ip": d.get("ip") or None,
        "region": (d.get("region") or {}).get("slug"),
        "size_unit": d.get("size_unit"),
        "droplet_ids": list(d.get("droplet_ids") or []),
        "tag": d.get("tag") or None,
        "forwarding_rules": [dict(r) for r in d.get("forwarding_rules") or []],
        "vpc_uuid": d.get("vpc_uuid"),
    }
    return CloudObject(str(d["id"]), str(d["name"]), status, attributes)


def rule_json(rule: ForwardingRule) -> JSON:
    # certificate_id is a string in the schema: leave it out rather than send null.
    return {k: v for k, v in attrs.asdict(rule).items() if v is not None}


def sticky_json(sticky: StickySessions) -> JSON:
    return {k: v for k, v in attrs.asdict(sticky).items() if v is not None}


class LoadBalancerHandler(NamedHandler):
    type = "load_balancer"
    statuses: Mapping[str, ResourceStatus] = {
        "new": "creating",
        "active": "active",
        "errored": "error",
    }

    def obj(self, d: JSON) -> CloudObject:
        return to_object(d, self.status(d.get("status")))

    async def list_all(self) -> list[JSON]:
        return await self.api.list_load_balancers()

    async def get(self, object_id: str) -> JSON:
        return await self.api.get_load_balancer(object_id)

    async def remove(self, object_id: str) -> None:
        await self.api.delete_load_balancer(object_id)

    def body(self, ctx: StepContext, current: JSON | None) -> JSON:
        """The full representation: what the spec says, and for an update (``current``) the
        settings atlas leaves alone, as they are."""
        s: LoadBalancerSpec = ctx.resource.specifications
        what = f"load balancer {ctx.name!r}"
        body: JSON = {k: current[k] for k in KEPT if k in current} if current else {}
        body |= {
            "name": self.name(ctx.owner, ctx.name),
            "region": ctx.spec.region,
            "size_unit": s.size_unit,
            "forwarding_rules": self._rules(s, ctx.name, current),
            "redirect_http_to_https": s.redirect_http_to_https,
        }
        # Exactly one of the two: DigitalOcean takes droplet_ids or tag, never both.
        if s.tag is not None:
            body["tag"] = s.tag
        else:
            body["droplet_ids"] = int_ids(dep_ids(ctx.deps, s.droplets, what))
        if s.health_check is not None:
            body["health_check"] = attrs.asdict(s.health_check)
        if s.sticky_sessions is not None:
            body["sticky_sessions"] = sticky_json(s.sticky_sessions)
        vpc = dep_id(ctx.deps, s.vpc, what) or (current or {}).get("vpc_uuid")
        if vpc:
            body["vpc_uuid"] = vpc
        return body

    @staticmethod
    def _rules(s: LoadBalancerSpec, resource: str, current: JSON | None) -> list[JSON]:
        if s.forwarding_rules:
            return [rule_json(r) for r in s.forwarding_rules]
        if current and current.get("forwarding_rules"):
            return list(current["forwarding_rules"])  # the spec leaves them as they are
        raise ProviderOperationError(
            f"load balancer {resource!r} needs at least one forwarding rule to be created"
        )

    async def create(self, ctx: StepContext, names: Sequence[str]) -> list[CloudObject]:
        del names  # one object, named as body() names it
        body = self.body(ctx, None)
        await self.ensure_tags([body["tag"]] if "tag" in body else [])
        return [self.obj(await self.api.create_load_balancer(body))]

    def drift(
        self, spec: InfrastructureSpec, resource: ResourceSpec, state: ResourceState
    ) -> list[str]:
        """The number of nodes, and the forwarding rules where the spec gives them (their
        ports and protocols; DigitalOcean fills in defaults for the rest)."""
        del spec
        s: LoadBalancerSpec = resource.specifications
        want = sorted(_rule_key(rule_json(r)) for r in s.forwarding_rules or ())
        found = []
        for obj in state.objects:
            size = obj.attributes.get("size_unit")
            if size is not None and size != s.size_unit:
                found.append(f"{obj.name} has {size} nodes, the spec says {s.size_unit}")
            have = sorted(_rule_key(r) for r in obj.attributes.get("forwarding_rules", []))
            if want and have != want:
                found.append(f"{obj.name} forwards {_ports(have)}, the spec says {_ports(want)}")
        return found

    async def update(self, ctx: StepContext, state: ResourceState) -> ResourceState:
        """One PUT of the full representation (a load balancer has no partial update)."""
        current = await self.get(self.only_object(state).id)
        body = self.body(ctx, current)
        region = (current.get("region") or {}).get("slug")
        self.replacement(ctx.name, "the region", region, body["region"])
        self.replacement(ctx.name, "the VPC", current.get("vpc_uuid"), body.get("vpc_uuid"))
        await self.ensure_tags([body["tag"]] if "tag" in body else [])
        updated = await self.api.update_load_balancer(str(current["id"]), body)
        return ResourceState(self.type, ctx.name, (self.obj(updated),))


def _rule_key(rule: JSON) -> tuple[str, int, str, int]:
    return (
        str(rule.get("entry_protocol")),
        int(rule.get("entry_port") or 0),
        str(rule.get("target_protocol")),
        int(rule.get("target_port") or 0),
    )


def _ports(rules: list[tuple[str, int, str, int]]) -> str:
    return ", ".join(f"{ep}:{e}->{tp}:{t}" for ep, e, tp, t in rules) or "nothing"
