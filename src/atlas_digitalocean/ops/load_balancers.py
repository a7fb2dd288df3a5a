"""Load balancers: found by name, polled with one list call, updated by a full PUT."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from atlas.exceptions import ProviderOperationError
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec
from atlas.model.state import CloudObject, Owner, ResourceState, ResourceStatus
from atlas.providers.contract import OnCreated
from atlas_digitalocean.api import JSON
from atlas_digitalocean.ops.base import dep_id, dep_ids
from atlas_digitalocean.ops.named import NamedKindOps, int_ids
from atlas_digitalocean.resources.load_balancer import (
    ForwardingRule,
    LoadBalancerSpec,
    StickySessions,
)

__all__ = ["LoadBalancerOps"]

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


class LoadBalancerOps(NamedKindOps):
    type = "load_balancer"
    noun = "load balancer"
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

    async def post(self, body: JSON) -> JSON:
        return await self.api.create_load_balancer(body)

    async def remove(self, object_id: str) -> None:
        await self.api.delete_load_balancer(object_id)

    def body(
        self,
        owner: Owner,
        spec: InfrastructureSpec,
        res: ResourceSpec,
        deps: Mapping[str, ResourceState],
        current: JSON | None,
    ) -> JSON:
        """The full representation: what the spec says, and for an update (``current``) the
        settings atlas leaves alone, as they are."""
        s: LoadBalancerSpec = res.specifications
        what = f"load balancer {res.name!r}"
        body: JSON = {k: current[k] for k in KEPT if k in current} if current else {}
        body |= {
            "name": self.name(owner, res.name),
            "region": spec.region,
            "size_unit": s.size_unit,
            "forwarding_rules": self._rules(s, res.name, current),
            "redirect_http_to_https": s.redirect_http_to_https,
        }
        # Exactly one of the two: DigitalOcean takes droplet_ids or tag, never both.
        if s.tag is not None:
            body["tag"] = s.tag
        else:
            body["droplet_ids"] = int_ids(dep_ids(deps, s.droplets, what))
        if s.health_check is not None:
            body["health_check"] = attrs.asdict(s.health_check)
        if s.sticky_sessions is not None:
            body["sticky_sessions"] = sticky_json(s.sticky_sessions)
        vpc = dep_id(deps, s.vpc, what) or (current or {}).get("vpc_uuid")
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

    async def create(
        self,
        owner: Owner,
        spec: InfrastructureSpec,
        resource: ResourceSpec,
        deps: Mapping[str, ResourceState],
        *,
        on_created: OnCreated | None,
        recover: bool,
    ) -> ResourceState:
        body = self.body(owner, spec, resource, deps, None)
        await self.ensure_tags([body["tag"]] if "tag" in body else [])
        return await self.create_named(
            owner, resource, body, on_created=on_created, recover=recover
        )

    async def update(
        self,
        owner: Owner,
        spec: InfrastructureSpec,
        resource: ResourceSpec,
        state: ResourceState,
        deps: Mapping[str, ResourceState],
    ) -> ResourceState:
        """One PUT of the full representation (a load balancer has no partial update)."""
        current = await self.get(self.only_object(state).id)
        body = self.body(owner, spec, resource, deps, current)
        region = (current.get("region") or {}).get("slug")
        self.replacement(resource.name, "the region", region, body["region"])
        self.replacement(resource.name, "the VPC", current.get("vpc_uuid"), body.get("vpc_uuid"))
        await self.ensure_tags([body["tag"]] if "tag" in body else [])
        updated = await self.api.update_load_balancer(str(current["id"]), body)
        return ResourceState(self.type, resource.name, (self.obj(updated),))
