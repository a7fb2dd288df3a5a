"""ELBv2 load balancers: found by their deterministic name, checked by their tags.

A load balancer is one object (its ARN); around it atlas keeps one target group per
listener and the listeners themselves, made once the load balancer exists (``finish_create``,
safe to repeat on a resume) and brought in line with the spec by ``update``:

- the load balancer's name comes from the resource's marks (:func:`~atlas_aws.naming.elb_name`)
  and it is tagged in the create call; ``DuplicateLoadBalancerName`` (the name is taken: an
  earlier attempt made it) adopts what holds the name when it carries this resource's marks;
- a target group's name comes from the marks, the load balancer and the listener it serves,
  so a resume or a retry finds it (``DuplicateTargetGroupName``) instead of making another;
  it is tagged ``atlas:load-balancer`` with the load balancer it belongs to;
- a delete removes the listeners, then the load balancer, then its target groups; ELB
  refuses the last (``ResourceInUse``) until the load balancer is fully gone, and the core's
  wait until gone tries them again.

An imported load balancer (made outside atlas, adopted with ``import:``) carries none of the
marks: it is read, polled and deleted by its recorded ARN, and its target groups are the
ones its listeners forward to (read by the load balancer's ARN, and recorded as
``target_groups``), whatever their names. An update reuses the group of a listener's
protocol and port when the load balancer already has one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from typing import Any

from atlas.exceptions import ConflictError, NotFoundError, ProviderOperationError
from atlas.model.cloud import CloudObject, Owner, ResourceState, ResourceStatus
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec
from atlas.providers import StepContext
from atlas_aws.client import JSON, Ec2
from atlas_aws.naming import OWNER_TAG, elb_name, resource_mark, resource_of, target_group_name
from atlas_aws.ops.base import (
    Ec2Handler,
    dep_ids,
    imported,
    logger,
    region_of,
    spec_tag_drift,
    tag_list,
)
from atlas_aws.resources.load_balancer import Listener, LoadBalancerSpec

__all__ = ["LB_TAG", "LoadBalancerHandler", "forwards_to", "target_protocol"]

#: On a target group: the ARN of the load balancer it serves.
LB_TAG = "atlas:load-balancer"
#: ELBv2 describes the tags of at most 20 resources per call.
TAGS_PER_CALL = 20
_STATUSES: Mapping[str, ResourceStatus] = {
    "provisioning": "creating",
    "active": "active",
    "active_impaired": "active",
    "failed": "error",
}


def target_protocol(lb_type: str, listener: Listener) -> str:
    """What the load balancer speaks to the targets: HTTP behind an application one (TLS
    ends at it), the listener's protocol behind a network one (TCP behind TLS)."""
    if lb_type == "application":
        return "HTTP"
    return "TCP" if listener.protocol == "TLS" else listener.protocol


def _listener_row(port: Any, protocol: Any, to_port: Any, cert: Any) -> list[Any]:
    return [int(port), str(protocol), int(to_port) if to_port else None, cert or None]


def _wanted_rows(s: LoadBalancerSpec) -> list[list[Any]]:
    return sorted(
        _listener_row(x.port, x.protocol, x.to_port, x.certificate_arn) for x in s.listeners
    )


class LoadBalancerHandler(Ec2Handler):
    type = "load_balancer"
    noun = "load balancer"
    statuses = _STATUSES

    # -- rendering --------------------------------------------------------------------------

    def object_id(self, d: JSON) -> str:
        return str(d["LoadBalancerArn"])

    def state_of(self, d: JSON) -> str:
        return str((d.get("State") or {}).get("Code") or "provisioning")

    def display_name(self, d: JSON, tags: Mapping[str, str]) -> str:
        del tags
        return str(d.get("LoadBalancerName", ""))

    def details(self, d: JSON) -> dict[str, Any]:
        zones = d.get("AvailabilityZones") or []
        return {
            "type": d.get("Type"),
            "scheme": d.get("Scheme"),
            "vpc_id": d.get("VpcId"),
            "dns_name": d.get("DNSName"),
            "subnet_ids": sorted(str(z.get("SubnetId")) for z in zones),
            "zones": sorted(str(z.get("ZoneName")) for z in zones),
            "security_group_ids": sorted(d.get("SecurityGroups") or []),
        }

    def render_tagged(self, d: JSON, region: str, tags: Mapping[str, str]) -> CloudObject:
        return self.obj({**d, "Tags": tag_list(tags)}, region)

    def render(self, d: JSON, region: str) -> CloudObject:
        """One load balancer as :meth:`described` gives it: with its tags, listeners, target
        groups and targets among its attributes."""
        obj = self.obj(d, region)
        if "Listeners" not in d:
            return obj
        extra = _listening(d.get("Listeners") or [], d.get("TargetGroups") or [])
        return CloudObject(obj.id, obj.name, obj.status, {**obj.attributes, **extra})

    async def described(self, region: str, found: Sequence[JSON]) -> list[JSON]:
        """``found`` (``DescribeLoadBalancers`` entries) with what reading one back needs:
        its tags (``Tags``, EC2's form), its listeners (``Listeners``) and the target groups
        they forward to (``TargetGroups``, each with the ids of its registered targets as
        ``TargetIds``)."""
        elb = await self.regions.of("elbv2", region)
        tags = await self._tags(elb, [str(d["LoadBalancerArn"]) for d in found])
        out = []
        for d in found:
            arn = str(d["LoadBalancerArn"])
            listeners = await elb.pages("DescribeListeners", "Listeners", LoadBalancerArn=arn)
            groups = []
            for g in await elb.pages("DescribeTargetGroups", "TargetGroups", LoadBalancerArn=arn):
                health = await elb.call("DescribeTargetHealth", TargetGroupArn=g["TargetGroupArn"])
                ids = [str(h["Target"]["Id"]) for h in health.get("TargetHealthDescriptions") or []]
                groups.append({**g, "TargetIds": sorted(ids)})
            out.append(
                {
                    **d,
                    "Tags": tag_list(tags.get(arn, {})),
                    "Listeners": listeners,
                    "TargetGroups": groups,
                }
            )
        return out

    async def by_arn(self, region: str, arns: Sequence[str]) -> list[CloudObject]:
        """The load balancers ``arns`` as they are now (one call each: ELBv2 fails a whole
        call for one ARN gone); those gone are left out."""
        elb = await self.regions.of("elbv2", region)
        found: list[CloudObject] = []
        for arn in arns:
            try:
                listed = await elb.pages(
                    "DescribeLoadBalancers", "LoadBalancers", LoadBalancerArns=[arn]
                )
            except NotFoundError:
                continue
            found += await self._described(region, listed)
        return found

    @staticmethod
    def _outside(owner: Owner, state: ResourceState, seen: set[str]) -> list[str]:
        """The ARNs of ``state``'s imported load balancers that ``seen`` lacks."""
        return [
            o.id
            for o in state.objects
            if ":loadbalancer/" in o.id and o.id not in seen and imported(owner, state, o)
        ]

    # -- listing ----------------------------------------------------------------------------

    async def _tags(self, elb: Ec2, arns: Sequence[str]) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for i in range(0, len(arns), TAGS_PER_CALL):
            answer = await elb.call("DescribeTags", ResourceArns=list(arns[i : i + TAGS_PER_CALL]))
            for d in answer.get("TagDescriptions") or []:
                tags = {str(t["Key"]): str(t.get("Value", "")) for t in d.get("Tags") or []}
                out[str(d["ResourceArn"])] = tags
        return out

    async def _described(
        self, region: str, found: Sequence[JSON], keep: Any = None
    ) -> list[CloudObject]:
        elb = await self.regions.of("elbv2", region)
        tags = await self._tags(elb, [str(d["LoadBalancerArn"]) for d in found])
        objects = []
        for d in found:
            mine = tags.get(str(d["LoadBalancerArn"]), {})
            if keep is None or keep(mine):
                objects.append(self.render_tagged(d, region, mine))
        return objects

    async def listing(self, region: str, filters: Sequence[JSON]) -> list[CloudObject]:
        """Every load balancer of the region whose tags carry ``filters``' owner (ELBv2 lists
        without tag filters: one list, and the tags of 20 per call)."""
        owners = {v for f in filters if f.get("Name") == f"tag:{OWNER_TAG}" for v in f["Values"]}
        elb = await self.regions.of("elbv2", region)
        found = await elb.pages("DescribeLoadBalancers", "LoadBalancers")
        if not found:
            return []
        return await self._described(
            region, found, lambda t: OWNER_TAG in t and (not owners or t[OWNER_TAG] in owners)
        )

    async def find(
        self, owner: Owner, resource: str, region: str | None = None
    ) -> list[CloudObject]:
        """The load balancer of ``resource`` by its name, if its tags say it is that one."""
        region = region or self._where.get((owner, resource))
        regions = [region] if region else list(self.regions.known)
        name = elb_name(owner.infrastructure, owner.uid, resource)
        mark = resource_mark(owner.uid, resource)
        found: list[CloudObject] = []
        for where in regions:
            elb = await self.regions.of("elbv2", where)
            try:
                listed = await elb.pages("DescribeLoadBalancers", "LoadBalancers", Names=[name])
            except NotFoundError:
                continue
            found += await self._described(where, listed, lambda t: t.get("atlas:resource") == mark)
        return found

    async def read(self, owner: Owner, state: ResourceState) -> ResourceState | None:
        """What carries the resource's marks, and its imported load balancers by ARN."""
        region = region_of(state)
        found = await self.find(owner, state.name, region)
        found += await self.by_arn(region, self._outside(owner, state, {o.id for o in found}))
        if not found:
            return None
        elb = await self.regions.of("elbv2", region)
        full = [await self._with_listeners(elb, o) for o in found]
        return ResourceState(self.type, state.name, tuple(full))

    async def _with_listeners(self, elb: Ec2, obj: CloudObject) -> CloudObject:
        """``obj`` with its listeners (port, protocol, target port, certificate), its target
        groups and the instances registered in them."""
        listeners = await elb.pages("DescribeListeners", "Listeners", LoadBalancerArn=obj.id)
        groups = await elb.pages("DescribeTargetGroups", "TargetGroups", LoadBalancerArn=obj.id)
        for g in groups:
            health = await elb.call("DescribeTargetHealth", TargetGroupArn=g["TargetGroupArn"])
            g["TargetIds"] = [
                str(h["Target"]["Id"]) for h in health.get("TargetHealthDescriptions") or []
            ]
        extra = _listening(listeners, groups)
        return CloudObject(obj.id, obj.name, obj.status, {**obj.attributes, **extra})

    async def poll(
        self, owner: Owner, states: Sequence[ResourceState]
    ) -> Mapping[str, CloudObject]:
        return await self.poll_owners({owner: states})

    async def poll_owners(
        self, wanted: Mapping[Owner, Sequence[ResourceState]]
    ) -> Mapping[str, CloudObject]:
        """One list per region for every owner; what the states knew beyond the list (their
        listeners and targets) is kept."""
        states = [s for group in wanted.values() for s in group]
        known = {o.id: o for s in states for o in s.objects}
        owners = [{"Name": f"tag:{OWNER_TAG}", "Values": sorted(o.uid for o in wanted)}]
        listed: dict[str, CloudObject] = {}
        for region in sorted({region_of(s) for s in states}):
            found = await self.listing(region, owners)
            seen = {o.id for o in found}
            outside = [
                arn
                for owner, group in wanted.items()
                for s in group
                if region_of(s) == region
                for arn in self._outside(owner, s, seen)
            ]
            for obj in found + await self.by_arn(region, outside):
                before = known.get(obj.id)
                merged = {**(before.attributes if before else {}), **obj.attributes}
                listed[obj.id] = CloudObject(obj.id, obj.name, obj.status, merged)
        return listed

    async def discover(self, owner: Owner) -> list[ResourceState]:
        groups: dict[str, list[CloudObject]] = {}
        for region in self.regions.known:
            elb = await self.regions.of("elbv2", region)
            for obj in await self.listing(region, self.owned_by(owner)):
                resource = resource_of(owner.uid, obj.attributes.get("tags") or {})
                if resource is not None:
                    groups.setdefault(resource, []).append(await self._with_listeners(elb, obj))
        return [ResourceState(self.type, n, tuple(objs)) for n, objs in sorted(groups.items())]

    # -- creating ---------------------------------------------------------------------------

    def object_names(self, ctx: StepContext) -> list[str]:
        self.remember(ctx)
        return [elb_name(ctx.owner.infrastructure, ctx.owner.uid, ctx.name)]

    async def create(self, ctx: StepContext, names: Sequence[str]) -> list[CloudObject]:
        s: LoadBalancerSpec = ctx.resource.specifications
        region = ctx.spec.region
        elb = await self.regions.of("elbv2", region)
        what = f"load balancer {ctx.name!r}"
        tags = self.tags(ctx)
        params: JSON = {
            "Name": names[0],
            "Subnets": dep_ids(ctx.deps, s.subnets, what),
            "Type": s.type,
            "Scheme": "internal" if s.internal else "internet-facing",
            "Tags": tag_list(tags),
        }
        if s.security_groups:
            params["SecurityGroups"] = dep_ids(ctx.deps, s.security_groups, what)
        try:
            made = await elb.call("CreateLoadBalancer", **params)
        except ConflictError as exc:
            if exc.code != "DuplicateLoadBalancerName":
                raise
            found = await self.find_in(ctx)
            if not found:
                raise ProviderOperationError(
                    f"{what}: the name {names[0]} is taken by a load balancer atlas did not "
                    "make for this resource"
                ) from exc
            logger.info("%s: adopting %s, made by an earlier attempt", what, names[0])
            return found[:1]
        return [self.render_tagged(d, region, tags) for d in made.get("LoadBalancers") or []]

    async def finish_create(self, ctx: StepContext, state: ResourceState) -> ResourceState:
        """Target groups, targets and listeners (safe to repeat)."""
        return await self._sync(ctx, state)

    async def _sync(self, ctx: StepContext, state: ResourceState) -> ResourceState:
        s: LoadBalancerSpec = ctx.resource.specifications
        elb = await self.regions.of("elbv2", region_of(state))
        targets = dep_ids(ctx.deps, s.targets, f"load balancer {ctx.name!r}")
        for lb in state.objects:
            if ":loadbalancer/" not in lb.id:
                continue
            have = {
                int(x["Port"]): x
                for x in await elb.pages("DescribeListeners", "Listeners", LoadBalancerArn=lb.id)
            }
            # An imported load balancer's own groups are reused where they fit, and those
            # its listeners no longer forward to go with the change.
            own = (
                await elb.pages("DescribeTargetGroups", "TargetGroups", LoadBalancerArn=lb.id)
                if imported(ctx.owner, state, lb)
                else []
            )
            used: set[str] = set()
            for listener in s.listeners:
                group = _reusable(own, target_protocol(s.type, listener), listener.to_port)
                group = group or await self._target_group(elb, ctx, lb, listener)
                used.add(group)
                await self._register(elb, group, targets, listener.to_port)
                await self._listen(elb, lb.id, listener, group, have.get(listener.port))
            wanted = {x.port for x in s.listeners}
            for port, x in have.items():
                if port not in wanted:
                    await _quietly(elb.call("DeleteListener", ListenerArn=x["ListenerArn"]))
            stale = [
                g for g in await self._groups_of(elb, ctx.owner, ctx.name, lb.id) if g not in used
            ]
            stale += [str(g["TargetGroupArn"]) for g in own if g["TargetGroupArn"] not in used]
            for group in stale:
                await self._delete_group(elb, group)
        return await self.read(ctx.owner, state) or state

    async def _target_group(
        self, elb: Ec2, ctx: StepContext, lb: CloudObject, listener: Listener
    ) -> str:
        """The ARN of the listener's target group, made (tagged) or found by its name."""
        s: LoadBalancerSpec = ctx.resource.specifications
        protocol = target_protocol(s.type, listener)
        key = f"{lb.id}/{protocol}/{listener.to_port}"
        name = target_group_name(ctx.owner.uid, ctx.name, key)
        tags = self.tags(ctx, **{LB_TAG: lb.id})
        try:
            made = await elb.call(
                "CreateTargetGroup",
                Name=name,
                Protocol=protocol,
                Port=listener.to_port,
                VpcId=str(lb.attributes.get("vpc_id")),
                TargetType="instance",
                Tags=tag_list(tags),
            )
            return str(made["TargetGroups"][0]["TargetGroupArn"])
        except ConflictError as exc:
            if exc.code != "DuplicateTargetGroupName":
                raise
            [group] = await elb.pages("DescribeTargetGroups", "TargetGroups", Names=[name])
            arn = str(group["TargetGroupArn"])
            theirs = (await self._tags(elb, [arn])).get(arn, {})
            if theirs.get("atlas:resource") != resource_mark(ctx.owner.uid, ctx.name):
                raise ProviderOperationError(
                    f"load balancer {ctx.name!r}: target group {name} exists and is not atlas's"
                ) from exc
            return arn

    @staticmethod
    async def _register(elb: Ec2, group: str, targets: Sequence[str], port: int) -> None:
        health = await elb.call("DescribeTargetHealth", TargetGroupArn=group)
        have = {str(h["Target"]["Id"]) for h in health.get("TargetHealthDescriptions") or []}
        missing = [t for t in targets if t not in have]
        extra = sorted(have - set(targets))
        if missing:
            await elb.call(
                "RegisterTargets",
                TargetGroupArn=group,
                Targets=[{"Id": t, "Port": port} for t in missing],
            )
        if extra:
            await elb.call(
                "DeregisterTargets", TargetGroupArn=group, Targets=[{"Id": t} for t in extra]
            )

    @staticmethod
    async def _listen(
        elb: Ec2, lb_arn: str, listener: Listener, group: str, have: JSON | None
    ) -> None:
        params: JSON = {
            "Protocol": listener.protocol,
            "Port": listener.port,
            "DefaultActions": [{"Type": "forward", "TargetGroupArn": group}],
        }
        if listener.certificate_arn:
            params["Certificates"] = [{"CertificateArn": listener.certificate_arn}]
        if have is None:
            await elb.call("CreateListener", LoadBalancerArn=lb_arn, **params)
            return
        certs = have.get("Certificates") or []
        cert = certs[0].get("CertificateArn") if certs else None
        if (have.get("Protocol"), forwards_to(have), cert) != (
            listener.protocol,
            group,
            listener.certificate_arn,
        ):
            await elb.call("ModifyListener", ListenerArn=have["ListenerArn"], **params)

    async def _groups_of(
        self, elb: Ec2, owner: Owner, resource: str, lb_arn: str | None = None
    ) -> list[str]:
        """The target groups carrying the resource's marks (of one load balancer)."""
        groups = await elb.pages("DescribeTargetGroups", "TargetGroups")
        tags = await self._tags(elb, [str(g["TargetGroupArn"]) for g in groups])
        mark = resource_mark(owner.uid, resource)
        return sorted(
            arn
            for arn, t in tags.items()
            if t.get("atlas:resource") == mark and (lb_arn is None or t.get(LB_TAG) == lb_arn)
        )

    @staticmethod
    async def _delete_group(elb: Ec2, group: str) -> None:
        try:
            await elb.call("DeleteTargetGroup", TargetGroupArn=group)
        except NotFoundError:
            return
        except ConflictError as exc:
            if exc.code != "ResourceInUse":
                raise
            logger.info("target group %s is still in use; deleting it later", group)

    # -- reading and changing ---------------------------------------------------------------

    def drift(
        self, spec: InfrastructureSpec, resource: ResourceSpec, state: ResourceState
    ) -> list[str]:
        s: LoadBalancerSpec = resource.specifications
        found = [d for obj in state.objects for d in spec_tag_drift(spec, obj)]
        for obj in state.objects:
            a = obj.attributes
            if a.get("type") and a.get("type") != s.type:
                found.append(
                    f"{obj.name} is a {a.get('type')} load balancer, the spec says {s.type}"
                )
            if "listeners" in a and a["listeners"] != _wanted_rows(s):
                found.append(f"{obj.name} has other listeners than the spec")
            if "targets" in a and s.targets and not a["targets"]:
                found.append(f"{obj.name} has no targets registered")
        return found

    async def retag(self, ctx: StepContext, state: ResourceState) -> None:
        stale = [o.id for o in state.objects if spec_tag_drift(ctx.spec, o)]
        if not stale or not ctx.spec.tags:
            return
        elb = await self.regions.of("elbv2", region_of(state))
        await elb.call("AddTags", ResourceArns=stale, Tags=tag_list(dict(ctx.spec.tags)))

    async def update(self, ctx: StepContext, state: ResourceState) -> ResourceState:
        """Tags, listeners and targets in place (the rest replaces it: ``replace_on``)."""
        await self.retag(ctx, state)
        return await self._sync(ctx, state)

    async def delete(self, owner: Owner, state: ResourceState) -> ResourceState | None:
        """Listeners, the load balancer, then its target groups (``ResourceInUse`` until the
        load balancer is gone: left for the next round of the wait until gone). An imported
        load balancer's groups are those its listeners forward to, read before it goes (ELB
        forgets which they were with it) and recorded; what is to be waited for is returned,
        the groups among it."""
        region = region_of(state)
        elb = await self.regions.of("elbv2", region)
        lbs = {o.id: o for o in state.objects if ":loadbalancer/" in o.id}
        lbs.update({o.id: o for o in await self.find(owner, state.name, region)})
        groups = {o.id for o in state.objects if ":targetgroup/" in o.id}
        recorded = {
            str(g)
            for lb in lbs.values()
            if imported(owner, state, lb)
            for g in lb.attributes.get("target_groups") or []
        }
        groups |= await self._only_theirs(elb, recorded, set(lbs))
        for arn, lb in sorted(lbs.items()):
            if imported(owner, state, lb):
                try:
                    own = await elb.pages(
                        "DescribeTargetGroups", "TargetGroups", LoadBalancerArn=arn
                    )
                except NotFoundError:
                    own = []
                groups.update(
                    str(g["TargetGroupArn"])
                    for g in own
                    if set(g.get("LoadBalancerArns") or []) <= set(lbs)
                )
            try:
                listeners = await elb.pages("DescribeListeners", "Listeners", LoadBalancerArn=arn)
            except NotFoundError:
                listeners = []
            for x in listeners:
                await _quietly(elb.call("DeleteListener", ListenerArn=x["ListenerArn"]))
            await _quietly(elb.call("DeleteLoadBalancer", LoadBalancerArn=arn))
        marked = await self._groups_of(elb, owner, state.name)
        for group in sorted(groups | set(marked)):
            await self._delete_group(elb, group)
        objects = {o.id: o for o in state.objects} | lbs
        for group in sorted(groups - set(marked) - set(objects)):
            objects[group] = _group_object(group, region)
        return ResourceState(self.type, state.name, tuple(objects.values()))

    @staticmethod
    async def _only_theirs(elb: Ec2, groups: set[str], lbs: set[str]) -> set[str]:
        """The target groups of ``groups`` that exist and serve no load balancer but
        ``lbs`` (a group another load balancer forwards to stays, with it)."""
        out = set()
        for arn in sorted(groups):
            try:
                [g] = await elb.pages("DescribeTargetGroups", "TargetGroups", TargetGroupArns=[arn])
            except NotFoundError:
                continue
            if set(g.get("LoadBalancerArns") or []) <= lbs:
                out.add(arn)
            else:
                logger.info("target group %s is kept: another load balancer uses it", arn)
        return out

    async def remaining(self, owner: Owner, state: ResourceState) -> ResourceState | None:
        """The load balancer while it is listed, then its target groups while they exist
        (atlas's by their marks, an imported one's by their ARNs)."""
        region = region_of(state)
        elb = await self.regions.of("elbv2", region)
        left = list(await self.find(owner, state.name, region))
        left += await self.by_arn(region, self._outside(owner, state, {o.id for o in left}))
        marked = await self._groups_of(elb, owner, state.name)
        for group in marked:
            left.append(_group_object(group, region))
        for obj in state.objects:
            if ":targetgroup/" not in obj.id or obj.id in marked:
                continue
            try:
                await elb.pages("DescribeTargetGroups", "TargetGroups", TargetGroupArns=[obj.id])
            except NotFoundError:
                continue
            left.append(_group_object(obj.id, region))
        return ResourceState(self.type, state.name, tuple(left)) if left else None


def _group_object(arn: str, region: str) -> CloudObject:
    """A target group as the wait until gone sees it."""
    return CloudObject(
        arn, arn.rsplit("/", 2)[-2], "deleting", {"region": region, "target_group": True}
    )


def _listening(listeners: Sequence[JSON], groups: Sequence[JSON]) -> dict[str, Any]:
    """The attributes of a load balancer's listeners: each as (port, protocol, target port,
    certificate), the target groups they forward to and the ids registered in them
    (``TargetIds`` of each group)."""
    ports = {str(g["TargetGroupArn"]): g.get("Port") for g in groups}
    rows = []
    for x in listeners:
        group = forwards_to(x)
        certs = x.get("Certificates") or []
        cert = certs[0].get("CertificateArn") if certs else None
        rows.append(_listener_row(x["Port"], x["Protocol"], ports.get(group or ""), cert))
    targets = {str(t) for g in groups for t in g.get("TargetIds") or []}
    return {"listeners": sorted(rows), "target_groups": sorted(ports), "targets": sorted(targets)}


def _reusable(groups: Sequence[JSON], protocol: str, port: int) -> str | None:
    """The ARN of the first of ``groups`` (an imported load balancer's own) that serves
    ``protocol`` on ``port`` to instances."""
    for g in groups:
        kind = g.get("TargetType") or "instance"
        if g.get("Protocol") == protocol and int(g.get("Port") or 0) == port and kind == "instance":
            return str(g["TargetGroupArn"])
    return None


def forwards_to(listener: JSON) -> str | None:
    for action in listener.get("DefaultActions") or []:
        if action.get("Type") == "forward" and action.get("TargetGroupArn"):
            return str(action["TargetGroupArn"])
    return None


async def _quietly(call: Awaitable[Any]) -> None:
    """Await ``call``; an object already gone is what was asked for."""
    try:
        await call
    except NotFoundError:
        return
