"""Security groups: made empty, then given their rules; deleted once no instance holds them.

Rules are compared as sets of permissions, one per (protocol, ports, source): EC2 merges and
splits ``IpPermissions`` freely, so their shape says nothing. A source that is another group
is shown by that group's resource name when it is one of the owner's, else by its id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from atlas.exceptions import ConflictError
from atlas.model.cloud import CloudObject, Owner, ResourceState
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec
from atlas.providers import StepContext
from atlas_aws.client import JSON, Ec2
from atlas_aws.naming import group_name, resource_of, tag_dict
from atlas_aws.ops.base import Ec2Handler, dep_id, region_of
from atlas_aws.ops.vpcs import HOLDING
from atlas_aws.resources.network import Rule, SecurityGroupSpec

__all__ = [
    "DEFAULT_EGRESS",
    "Permission",
    "SecurityGroupHandler",
    "listed_permissions",
    "permissions",
]

#: (protocol, from_port, to_port, "cidr:<block>" or "group:<name or id>")
Permission = tuple[str, int, int, str]
#: The egress rule EC2 gives every new group.
DEFAULT_EGRESS: frozenset[Permission] = frozenset({("-1", -1, -1, "cidr:0.0.0.0/0")})


def _protocol(name: str) -> str:
    return "-1" if name == "all" else name


def permissions(rules: Iterable[Rule], groups: Mapping[str, str]) -> frozenset[Permission]:
    """Spec rules as permissions; ``groups`` maps resource names to what shows for them."""
    out: set[Permission] = set()
    for rule in rules:
        proto = _protocol(rule.protocol)
        low = -1 if rule.from_port is None else rule.from_port
        high = -1 if rule.to_port is None else rule.to_port
        out.update((proto, low, high, f"cidr:{c}") for c in rule.cidr_blocks)
        out.update((proto, low, high, f"group:{groups.get(g, g)}") for g in rule.security_groups)
    return frozenset(out)


def listed_permissions(ip_permissions: Sequence[JSON]) -> frozenset[Permission]:
    out: set[Permission] = set()
    for p in ip_permissions or ():
        proto = str(p.get("IpProtocol"))
        low, high = int(p.get("FromPort", -1)), int(p.get("ToPort", -1))
        if proto == "-1":
            low = high = -1
        out.update((proto, low, high, f"cidr:{r['CidrIp']}") for r in p.get("IpRanges") or ())
        out.update(
            (proto, low, high, f"group:{g['GroupId']}") for g in p.get("UserIdGroupPairs") or ()
        )
    return frozenset(out)


def _ip_permissions(perms: Iterable[Permission]) -> list[JSON]:
    """Permissions as ``IpPermissions``, one entry each (sources are ids by now)."""
    out: list[JSON] = []
    for proto, low, high, source in sorted(perms):
        entry: JSON = {"IpProtocol": proto}
        if proto != "-1":
            entry |= {"FromPort": low, "ToPort": high}
        kind, _, value = source.partition(":")
        if kind == "cidr":
            entry["IpRanges"] = [{"CidrIp": value}]
        else:
            entry["UserIdGroupPairs"] = [{"GroupId": value}]
        out.append(entry)
    return out


def _named(perms: frozenset[Permission], names: Mapping[str, str]) -> list[list[Any]]:
    """Permissions with group ids replaced by resource names where known (JSON-safe)."""
    out = []
    for proto, low, high, source in sorted(perms):
        kind, _, value = source.partition(":")
        shown = f"group:{names[value]}" if kind == "group" and value in names else source
        out.append([proto, low, high, shown])
    return sorted(out)


class SecurityGroupHandler(Ec2Handler):
    type = "security_group"
    describe, listed_as, resource_type = (
        "DescribeSecurityGroups",
        "SecurityGroups",
        "security-group",
    )
    delete_call, delete_param = "DeleteSecurityGroup", "GroupId"
    id_filter = "group-id"

    def object_id(self, d: JSON) -> str:
        return str(d["GroupId"])

    def display_name(self, d: JSON, tags: Mapping[str, str]) -> str:
        del tags
        return str(d.get("GroupName", ""))

    def details(self, d: JSON) -> dict[str, Any]:
        return {
            "vpc_id": d.get("VpcId"),
            "description": d.get("Description"),
        }

    def object_names(self, ctx: StepContext) -> list[str]:
        self.remember(ctx)
        return [group_name(ctx.owner.infrastructure, ctx.owner.uid, ctx.name)]

    async def listing(self, region: str, filters: Sequence[JSON]) -> list[CloudObject]:
        """Groups with their rules' group sources shown by resource name where the source
        is one of the same owner's groups (one list of the owner's groups, when needed)."""
        ec2 = await self.regions.get(region)
        found = await ec2.pages(self.describe, self.listed_as, Filters=list(filters))
        names: dict[str, str] = {}
        if any(_has_group_source(d) for d in found):
            owners = {tag_dict(d.get("Tags")).get("atlas:owner") for d in found} - {None}
            everyone = await ec2.pages(
                self.describe,
                self.listed_as,
                Filters=[{"Name": "tag:atlas:owner", "Values": sorted(str(o) for o in owners)}],
            )
            for d in everyone:
                tags = tag_dict(d.get("Tags"))
                name = resource_of(tags.get("atlas:owner", ""), tags)
                if name is not None:
                    names[str(d["GroupId"])] = name
        return [self._render(d, region, names) for d in found]

    def render(self, d: JSON, region: str) -> CloudObject:
        return self._render(d, region, {})

    def _render(self, d: JSON, region: str, names: Mapping[str, str]) -> CloudObject:
        obj = self.obj(d, region)
        ingress = _named(listed_permissions(d.get("IpPermissions") or []), names)
        egress = _named(listed_permissions(d.get("IpPermissionsEgress") or []), names)
        return CloudObject(
            obj.id, obj.name, obj.status, {**obj.attributes, "ingress": ingress, "egress": egress}
        )

    async def create(self, ctx: StepContext, names: Sequence[str]) -> list[CloudObject]:
        s: SecurityGroupSpec = ctx.resource.specifications
        ec2 = await self.regions.get(ctx.spec.region)
        params: JSON = {
            "GroupName": names[0],
            "Description": s.description,
            "TagSpecifications": self.tag_specifications(ctx),
        }
        vpc = dep_id(ctx.deps, s.vpc, f"security group {ctx.name!r}")
        if vpc is not None:
            params["VpcId"] = vpc

        async def post() -> list[CloudObject]:
            made = await ec2.call("CreateSecurityGroup", **params)
            group = {"GroupId": made["GroupId"], "GroupName": names[0], "VpcId": vpc}
            group |= {"Description": s.description, "Tags": made.get("Tags") or []}
            group["IpPermissionsEgress"] = _ip_permissions(DEFAULT_EGRESS)
            return [self.obj(group, ctx.spec.region)]

        return await self.adopt_duplicate(ctx, names, post)

    async def finish_create(self, ctx: StepContext, state: ResourceState) -> ResourceState:
        """The rules: what the group lacks is authorised, what it has beyond the spec is
        revoked (safe to repeat on a resume). A rule naming a group not made yet is left for
        that group's create, which completes the rules of every group naming it: so groups
        that name themselves or each other are made first, then given their rules."""
        state = await self._sync_rules(ctx, state)
        await self._complete_others(ctx, state)
        return state

    async def _complete_others(self, ctx: StepContext, state: ResourceState) -> None:
        deps = {**ctx.deps, ctx.name: state}
        for res in ctx.spec.resources:
            if res.type != self.type or res.name == ctx.name:
                continue
            theirs = deps.get(res.name)
            s: SecurityGroupSpec = res.specifications
            rules = (*s.ingress, *(s.egress or ()))
            if theirs and theirs.objects and any(ctx.name in r.security_groups for r in rules):
                other = StepContext(ctx.owner, ctx.spec, res, deps, ctx.operation)
                await self._sync_rules(other, theirs)

    def _wanted(
        self, ctx: StepContext, state: ResourceState
    ) -> tuple[frozenset[Permission], frozenset[Permission] | None]:
        """The permissions of the spec's rules, but for those naming a group not made yet."""
        s: SecurityGroupSpec = ctx.resource.specifications
        refs = {r for rule in (*s.ingress, *(s.egress or ())) for r in rule.security_groups}
        deps = {**ctx.deps, ctx.name: state}
        ids = {name: deps[name].ids[0] for name in refs if name in deps and deps[name].objects}
        made = {f"group:{i}" for i in ids.values()}

        def known(perms: frozenset[Permission]) -> frozenset[Permission]:
            return frozenset(p for p in perms if not p[3].startswith("group:") or p[3] in made)

        ingress = known(permissions(s.ingress, ids))
        egress = None if s.egress is None else known(permissions(s.egress, ids))
        return ingress, egress

    async def _sync_rules(self, ctx: StepContext, state: ResourceState) -> ResourceState:
        ingress, egress = self._wanted(ctx, state)
        ec2 = await self.regions.get(region_of(state))
        listed = await ec2.pages(
            self.describe, self.listed_as, GroupIds=[o.id for o in state.objects]
        )
        for d in listed:
            have_in = listed_permissions(d.get("IpPermissions") or [])
            await self._apply(ec2, d["GroupId"], "Ingress", ingress, have_in)
            if egress is not None:
                have_out = listed_permissions(d.get("IpPermissionsEgress") or [])
                await self._apply(ec2, d["GroupId"], "Egress", egress, have_out)
        return await self.read(ctx.owner, state) or state

    @staticmethod
    async def _apply(
        ec2: Ec2, group: str, way: str, want: frozenset[Permission], have: frozenset[Permission]
    ) -> None:
        if want - have:
            try:
                await ec2.call(
                    f"AuthorizeSecurityGroup{way}",
                    GroupId=group,
                    IpPermissions=_ip_permissions(want - have),
                )
            except ConflictError as exc:  # an earlier attempt added them: what was asked
                if exc.code != "InvalidPermission.Duplicate":
                    raise
        if have - want:
            await ec2.call(
                f"RevokeSecurityGroup{way}",
                GroupId=group,
                IpPermissions=_ip_permissions(have - want),
            )

    def drift(
        self, spec: InfrastructureSpec, resource: ResourceSpec, state: ResourceState
    ) -> list[str]:
        s: SecurityGroupSpec = resource.specifications
        found = super().drift(spec, resource, state)
        own = {
            name: name for rule in (*s.ingress, *(s.egress or ())) for name in rule.security_groups
        }
        want_in = _named(permissions(s.ingress, own), {})
        for obj in state.objects:
            if obj.attributes.get("ingress") != want_in:
                found.append(f"{obj.name} has other inbound rules than the spec")
            if s.egress is not None and obj.attributes.get("egress") != _named(
                permissions(s.egress, own), {}
            ):
                found.append(f"{obj.name} has other outbound rules than the spec")
        return found

    async def update(self, ctx: StepContext, state: ResourceState) -> ResourceState:
        await self.retag(ctx, state)
        return await self._sync_rules(ctx, state)

    async def delete(self, owner: Owner, state: ResourceState) -> ResourceState | None:
        """Rules of the owner's other groups that name these are revoked first (EC2 refuses
        to delete a group another group's rule names), then the groups are deleted."""
        ec2 = await self.regions.get(region_of(state))
        doomed = {o.id for o in state.objects}
        for d in await ec2.pages(self.describe, self.listed_as, Filters=self.owned_by(owner)):
            if d["GroupId"] in doomed:
                continue
            for way, key in (("Ingress", "IpPermissions"), ("Egress", "IpPermissionsEgress")):
                naming = {p for p in listed_permissions(d.get(key) or []) if p[3][6:] in doomed}
                if naming:
                    await ec2.call(
                        f"RevokeSecurityGroup{way}",
                        GroupId=d["GroupId"],
                        IpPermissions=_ip_permissions(naming),
                    )
        return await super().delete(owner, state)

    async def in_use(self, ec2: Ec2, obj: CloudObject) -> bool:
        """Instances that still hold the group, or another group's rule that names it: EC2
        refuses the delete then (``DependencyViolation``), moto does not, so atlas asks."""
        filters = [
            {"Name": "instance.group-id", "Values": [obj.id]},
            {"Name": "instance-state-name", "Values": HOLDING},
        ]
        reservations = await ec2.pages("DescribeInstances", "Reservations", Filters=filters)
        if any(r.get("Instances") for r in reservations):
            return True
        vpc = obj.attributes.get("vpc_id")
        flt = [{"Name": "vpc-id", "Values": [str(vpc)]}] if vpc else []
        for d in await ec2.pages(self.describe, self.listed_as, Filters=flt):
            perms = [*(d.get("IpPermissions") or []), *(d.get("IpPermissionsEgress") or [])]
            if d["GroupId"] != obj.id and obj.id in {
                g["GroupId"] for p in perms for g in p.get("UserIdGroupPairs") or []
            }:
                return True
        return False


def _has_group_source(d: JSON) -> bool:
    perms = [*(d.get("IpPermissions") or []), *(d.get("IpPermissionsEgress") or [])]
    return any(p.get("UserIdGroupPairs") for p in perms)
