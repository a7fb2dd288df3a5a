"""RDS DB instances: a subnet group and an instance per resource, both named by the marks.

The instance's ``DBInstanceIdentifier`` and its subnet group's name are one name derived from
the owner's uid and the resource (:func:`atlas_aws.naming.db_identifier`), and both carry the
ownership tags from their create call on. A create whose answer was lost is found by that
name (the core's ambiguous-create rule, and ``DBInstanceAlreadyExists`` on a resend) and
adopted when its tags carry the resource's mark.

The master password is RDS's own (``ManageMasterUserPassword``): RDS keeps it in Secrets
Manager, so atlas never sees, sends, stores or logs one. A delete skips the final snapshot
and waits until the instance is gone, then deletes the subnet group (RDS refuses that while
an instance, even one being deleted, is in it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from atlas.exceptions import ConflictError, NotFoundError, ProviderOperationError
from atlas.model.cloud import CloudObject, Owner, ResourceState, ResourceStatus
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec
from atlas.providers import StepContext
from atlas_aws.client import JSON, Ec2
from atlas_aws.naming import RESOURCE_TAG, db_identifier, resource_mark, tag_dict
from atlas_aws.ops.base import Ec2Handler, dep_ids, imported, logger, region_of, tag_list
from atlas_aws.resources.database import DbInstanceSpec

__all__ = ["DbInstanceHandler"]

#: RDS's states as atlas's; any other (failed, storage-full, incompatible-*) is an error.
STATUSES: Mapping[str, ResourceStatus] = {
    "creating": "creating",
    "backing-up": "creating",
    "available": "active",
    "stopped": "active",
    "stopping": "active",
    "starting": "active",
    "modifying": "updating",
    "storage-optimization": "updating",
    "upgrading": "updating",
    "rebooting": "updating",
    "renaming": "updating",
    "configuring-enhanced-monitoring": "updating",
    "configuring-log-exports": "updating",
    "maintenance": "updating",
    "deleting": "deleting",
}


class DbInstanceHandler(Ec2Handler):
    type = "db_instance"
    noun = "DB instance"
    statuses = STATUSES

    async def rds(self, region: str) -> Ec2:
        return await self.regions.of("rds", region)

    # -- rendering --------------------------------------------------------------------------

    def object_id(self, d: JSON) -> str:
        return str(d["DBInstanceIdentifier"])

    def state_of(self, d: JSON) -> str:
        return str(d.get("DBInstanceStatus") or "creating")

    def display_name(self, d: JSON, tags: Mapping[str, str]) -> str:
        del tags
        return str(d["DBInstanceIdentifier"])

    def obj(self, d: JSON, region: str) -> CloudObject:
        return super().obj({**d, "Tags": d.get("TagList")}, region)

    def details(self, d: JSON) -> dict[str, Any]:
        group = d.get("DBSubnetGroup") or {}
        endpoint = d.get("Endpoint") or {}
        return {
            "engine": d.get("Engine"),
            "engine_version": d.get("EngineVersion"),
            "instance_class": d.get("DBInstanceClass"),
            "allocated_storage": d.get("AllocatedStorage"),
            "storage_type": d.get("StorageType"),
            "subnet_group": group.get("DBSubnetGroupName"),
            "vpc_id": group.get("VpcId"),
            "subnet_ids": sorted(str(s["SubnetIdentifier"]) for s in group.get("Subnets") or []),
            "security_group_ids": sorted(
                str(g["VpcSecurityGroupId"]) for g in d.get("VpcSecurityGroups") or []
            ),
            "availability_zone": d.get("AvailabilityZone"),
            "address": endpoint.get("Address"),
            "port": endpoint.get("Port"),
            "master_username": d.get("MasterUsername"),
            "master_user_secret_arn": (d.get("MasterUserSecret") or {}).get("SecretArn"),
        }

    # -- naming and listing -----------------------------------------------------------------

    def object_names(self, ctx: StepContext) -> list[str]:
        self.remember(ctx)
        return [db_identifier(ctx.owner.infrastructure, ctx.owner.uid, ctx.name)]

    async def listing(self, region: str, filters: Sequence[JSON]) -> list[CloudObject]:
        """The region's DB instances carrying the tag ``filters`` names (RDS filters by
        identifier and engine only, so tags are matched here; every instance comes with its
        ``TagList``)."""
        rds = await self.rds(region)
        found = await rds.pages("DescribeDBInstances", "DBInstances")
        return [o for d in found if _matches(d, filters) for o in [self.obj(d, region)]]

    async def by_id(self, region: str, objects: Sequence[CloudObject]) -> list[CloudObject]:
        """``objects`` as RDS shows them now, by identifier (one call each: RDS describes one
        identifier per call); those gone are left out."""
        rds = await self.rds(region)
        found: list[CloudObject] = []
        for obj in objects:
            try:
                listed = await rds.pages(
                    "DescribeDBInstances", "DBInstances", DBInstanceIdentifier=obj.id
                )
            except NotFoundError:
                continue
            found += [self.obj(d, region) for d in listed]
        return found

    async def find(
        self, owner: Owner, resource: str, region: str | None = None
    ) -> list[CloudObject]:
        """The instance of the resource's name, when it carries the resource's mark: one
        call per region asked."""
        region = region or self._where.get((owner, resource))
        name = db_identifier(owner.infrastructure, owner.uid, resource)
        mark = resource_mark(owner.uid, resource)
        found: list[CloudObject] = []
        for where in [region] if region else list(self.regions.known):
            rds = await self.rds(where)
            try:
                listed = await rds.pages(
                    "DescribeDBInstances", "DBInstances", DBInstanceIdentifier=name
                )
            except NotFoundError:
                continue
            found += [
                self.obj(d, where)
                for d in listed
                if tag_dict(d.get("TagList")).get(RESOURCE_TAG) == mark
            ]
        return found

    # -- creating ---------------------------------------------------------------------------

    async def create(self, ctx: StepContext, names: Sequence[str]) -> list[CloudObject]:
        s: DbInstanceSpec = ctx.resource.specifications
        [name] = names
        rds = await self.rds(ctx.spec.region)
        tags = tag_list(self.tags(ctx))
        await self._subnet_group(ctx, rds, name, tags)
        params: JSON = {
            "DBInstanceIdentifier": name,
            "Engine": s.engine,
            "DBInstanceClass": s.instance_class,
            "AllocatedStorage": s.allocated_storage,
            "StorageType": s.storage_type,
            "DBSubnetGroupName": name,
            "VpcSecurityGroupIds": dep_ids(ctx.deps, s.security_groups, f"DB instance {name}"),
            "MasterUsername": s.master_username,
            "ManageMasterUserPassword": True,
            "MultiAZ": False,
            "PubliclyAccessible": False,
            "Tags": tags,
        }
        if s.engine_version:
            params["EngineVersion"] = s.engine_version
        try:
            made = await rds.call("CreateDBInstance", **params)
        except ConflictError as exc:
            if exc.code != "DBInstanceAlreadyExists":
                raise
            found = [o for o in await self.find_in(ctx) if o.name == name]
            if not found:
                raise  # the name is held by an instance without this resource's mark
            logger.info("DB instance %s exists with this resource's marks; adopted", name)
            return found
        return [self.obj(made["DBInstance"], ctx.spec.region)]

    async def _subnet_group(
        self, ctx: StepContext, rds: Ec2, name: str, tags: list[dict[str, str]]
    ) -> None:
        """The instance's own subnet group; one of its name with its marks is kept."""
        s: DbInstanceSpec = ctx.resource.specifications
        try:
            await rds.call(
                "CreateDBSubnetGroup",
                DBSubnetGroupName=name,
                DBSubnetGroupDescription=f"atlas: subnets of DB instance {ctx.name}",
                SubnetIds=dep_ids(ctx.deps, s.subnets, f"DB instance {name}"),
                Tags=tags,
            )
        except ConflictError as exc:
            if exc.code != "DBSubnetGroupAlreadyExists":
                raise
            [group] = await rds.pages(
                "DescribeDBSubnetGroups", "DBSubnetGroups", DBSubnetGroupName=name
            )
            listed = await rds.call("ListTagsForResource", ResourceName=group["DBSubnetGroupArn"])
            mark = tag_dict(listed.get("TagList")).get(RESOURCE_TAG)
            if mark != resource_mark(ctx.owner.uid, ctx.name):
                raise
            logger.info("DB subnet group %s exists with this resource's marks; kept", name)

    # -- reading and changing ---------------------------------------------------------------

    def drift(
        self, spec: InfrastructureSpec, resource: ResourceSpec, state: ResourceState
    ) -> list[str]:
        s: DbInstanceSpec = resource.specifications
        found = super().drift(spec, resource, state)
        for obj in state.objects:
            a = obj.attributes
            for field, want in (
                ("instance_class", s.instance_class),
                ("allocated_storage", s.allocated_storage),
                ("storage_type", s.storage_type),
                ("engine", s.engine),
            ):
                if a.get(field) != want:
                    found.append(f"{obj.name} has {field} {a.get(field)}, the spec says {want}")
            version = str(a.get("engine_version") or "")
            if s.engine_version and not same_version(version, s.engine_version):
                found.append(f"{obj.name} runs {version}, the spec says {s.engine_version}")
            if a.get("state") in ("stopped", "stopping"):
                found.append(f"{obj.name} is {a.get('state')}")
        return found

    async def update(self, ctx: StepContext, state: ResourceState) -> ResourceState:
        """Class, storage, engine version and groups by ``ModifyDBInstance``, applied now
        (RDS grows storage only, and by at least a tenth)."""
        rds = await self.rds(region_of(state))
        for obj in state.objects:
            change = self._changes(ctx, obj)
            if change:
                await rds.call(
                    "ModifyDBInstance", DBInstanceIdentifier=obj.id, ApplyImmediately=True, **change
                )
        await self.retag(ctx, state)
        return await self.read(ctx.owner, state) or state

    def _changes(self, ctx: StepContext, obj: CloudObject) -> JSON:
        s: DbInstanceSpec = ctx.resource.specifications
        a = obj.attributes
        change: JSON = {}
        if a.get("instance_class") != s.instance_class:
            change["DBInstanceClass"] = s.instance_class
        if a.get("allocated_storage") != s.allocated_storage:
            change["AllocatedStorage"] = s.allocated_storage
        if a.get("storage_type") != s.storage_type:
            change["StorageType"] = s.storage_type
        version = str(a.get("engine_version") or "")
        if s.engine_version and not same_version(version, s.engine_version):
            change["EngineVersion"] = s.engine_version
            change["AllowMajorVersionUpgrade"] = _major(version) != _major(s.engine_version)
        groups = sorted(dep_ids(ctx.deps, s.security_groups, f"DB instance {obj.id}"))
        if s.security_groups and a.get("security_group_ids") != groups:
            change["VpcSecurityGroupIds"] = groups
        return change

    @staticmethod
    async def _arn(rds: Ec2, identifier: str) -> str:
        [d] = await rds.pages("DescribeDBInstances", "DBInstances", DBInstanceIdentifier=identifier)
        return str(d["DBInstanceArn"])

    async def retag(self, ctx: StepContext, state: ResourceState) -> None:
        """RDS tags by ARN, one resource per call."""
        rds = await self.rds(region_of(state))
        for obj in state.objects:
            if ctx.spec.tags and spec_tags_missing(ctx.spec, obj):
                arn = await self._arn(rds, obj.id)
                await rds.call("AddTagsToResource", ResourceName=arn, Tags=tag_list(ctx.spec.tags))

    async def delete(self, owner: Owner, state: ResourceState) -> ResourceState | None:
        """Delete without a final snapshot; an instance already being deleted, or gone, is
        what was asked. The subnet group goes once the instance has (see
        :meth:`remaining`)."""
        del owner
        rds = await self.rds(region_of(state))
        for obj in state.objects:
            try:
                await rds.call(
                    "DeleteDBInstance",
                    DBInstanceIdentifier=obj.id,
                    SkipFinalSnapshot=True,
                    DeleteAutomatedBackups=True,
                )
            except NotFoundError:
                continue
            except ConflictError as exc:
                if exc.code != "InvalidDBInstanceState":
                    raise
                logger.info("DB instance %s: %s", obj.id, exc.message)
        return None

    async def remaining(self, owner: Owner, state: ResourceState) -> ResourceState | None:
        """The instance while RDS still shows it; once it is gone, its subnet group is
        deleted, and the resource is gone when that is."""
        region = region_of(state)
        rds = await self.rds(region)
        left: list[CloudObject] = []
        for obj in state.objects:
            try:
                listed = await rds.pages(
                    "DescribeDBInstances", "DBInstances", DBInstanceIdentifier=obj.id
                )
            except NotFoundError:
                listed = []
            left += [self.obj(d, region) for d in listed]
        if left:
            return ResourceState(self.type, state.name, tuple(left))
        for obj in state.objects:
            group = str(obj.attributes.get("subnet_group") or obj.id)
            if imported(owner, state, obj) and await self._shared(rds, group):
                continue
            if not await self._delete_group(rds, group):
                return state
        return None

    @staticmethod
    async def _shared(rds: Ec2, group: str) -> bool:
        """Whether an imported instance's subnet group stays: RDS's ``default``, or one that
        another instance uses (atlas adopted the instance, not what others need)."""
        if group.lower() == "default":
            return True
        listed = await rds.pages("DescribeDBInstances", "DBInstances")
        users = [
            str(d["DBInstanceIdentifier"])
            for d in listed
            if str((d.get("DBSubnetGroup") or {}).get("DBSubnetGroupName") or "").lower()
            == group.lower()
        ]
        if users:
            logger.info("DB subnet group %s is kept: %s uses it", group, users[0])
        return bool(users)

    async def _delete_group(self, rds: Ec2, name: str) -> bool:
        """Whether the subnet group ``name`` is gone (deleted now, or before)."""
        try:
            await rds.call("DeleteDBSubnetGroup", DBSubnetGroupName=name)
        except NotFoundError:
            return True
        except ConflictError as exc:
            if exc.code != "InvalidDBSubnetGroupStateFault":
                raise
            logger.info("DB subnet group %s is still in use; deleting it later", name)
            return False
        return True


def spec_tags_missing(spec: InfrastructureSpec, obj: CloudObject) -> bool:
    have = obj.attributes.get("tags") or {}
    return any(have.get(k) != v for k, v in spec.tags.items())


def same_version(have: str, want: str) -> bool:
    """``16`` is any 16.x; ``16.4`` is 16.4 itself."""
    return have == want or have.startswith(want + ".")


def _major(version: str) -> str:
    return version.partition(".")[0]


def _matches(d: JSON, filters: Sequence[JSON]) -> bool:
    """Whether an instance's tags satisfy EC2-style tag filters (``tag:<key>``, ``tag-key``)."""
    tags = tag_dict(d.get("TagList"))
    for f in filters:
        name, values = str(f["Name"]), [str(v) for v in f["Values"]]
        if name == "tag-key":
            if not any(v in tags for v in values):
                return False
        elif name.startswith("tag:"):
            if tags.get(name[4:]) not in values:
                return False
        else:
            raise ProviderOperationError(f"RDS instances are not filtered by {name}")
    return True
