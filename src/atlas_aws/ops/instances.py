"""EC2 instances: a counted resource is launched with one ``RunInstances`` call.

Exactly once: each call carries a ``ClientToken`` derived from the operation, the resource
and the objects it launches, so botocore's retries, the core's retry of a create in doubt
and the apply after a crash (which carries an interrupted create on under the operation that
journaled it: ``StepContext.operation``) all send the same token, and EC2 answers with the
instances the first call launched instead of launching more. Every instance (and its root volume) is
tagged in the call itself; ``atlas:first`` plus an instance's ``AmiLaunchIndex`` is its
index in the resource, which names it (``<infrastructure>-<resource>-<n>``).

EC2 is eventually consistent: an instance just launched may be missing from a list, and
asking for it by id answers ``InvalidInstanceID.NotFound`` for a while. The core's polling
allows for that (its visibility grace); :meth:`InstanceHandler.read` keeps a recorded
instance that EC2 does not show yet instead of reporting it gone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from atlas.exceptions import ConflictError, NotFoundError, ProviderOperationError
from atlas.model.cloud import CloudObject, Owner, ResourceState, ResourceStatus
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec
from atlas.providers import StepContext, create_objects
from atlas_aws.client import JSON, Ec2
from atlas_aws.naming import FIRST_TAG, NAME_TAG, ROOT_TAG, object_name, resource_mark
from atlas_aws.ops.base import (
    Ec2Handler,
    dep_id,
    dep_ids,
    imported,
    logger,
    region_of,
    tag_list,
)
from atlas_aws.prices import architecture, load_offerings
from atlas_aws.resources.instance import MAX_COUNT, InstanceSpec

__all__ = ["InstanceHandler", "client_token"]

_STATUSES: Mapping[str, ResourceStatus] = {
    "pending": "creating",
    "running": "active",
    "stopping": "updating",
    "stopped": "error",
    "shutting-down": "deleting",
    "terminated": "deleted",
}


def client_token(ctx: StepContext, first: int, count: int, attempt: int = 0) -> str:
    """The ``ClientToken`` of one ``RunInstances`` call: the same for every try of the same
    launch within one operation (at most 64 characters, as EC2 allows)."""
    scope = ctx.operation or "no-operation"
    basis = f"{scope}/{ctx.owner.uid}/{ctx.name}/{first}/{count}/{attempt}"
    return "atlas-" + hashlib.sha256(basis.encode()).hexdigest()[:40]


def _index(name: str, base: str) -> int:
    """An object's index from its name (0 for the one object of an uncounted resource)."""
    return 0 if name == base else int(name.rsplit("-", 1)[1])


def _runs(indexes: Sequence[int]) -> list[list[int]]:
    """Consecutive runs: each is one launch (``atlas:first`` + ``AmiLaunchIndex``)."""
    runs: list[list[int]] = []
    for i in sorted(indexes):
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


class InstanceHandler(Ec2Handler):
    type = "instance"
    describe, listed_as, resource_type = "DescribeInstances", "Reservations", "instance"
    delete_call, delete_param = "TerminateInstances", "InstanceIds"
    id_filter = "instance-id"
    statuses = _STATUSES
    batch_size = MAX_COUNT  # one launch per counted resource

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._images: dict[tuple[str, str, str], JSON] = {}

    # -- rendering --------------------------------------------------------------------------

    def object_id(self, d: JSON) -> str:
        return str(d["InstanceId"])

    def state_of(self, d: JSON) -> str:
        return str((d.get("State") or {}).get("Name") or "pending")

    def live(self, d: JSON) -> bool:
        return self.state_of(d) != "terminated"

    def display_name(self, d: JSON, tags: Mapping[str, str]) -> str:
        base = tags.get("Name", "")
        first = int(tags.get(FIRST_TAG, "0") or 0)
        return base if first == 0 else f"{base}-{first + int(d.get('AmiLaunchIndex', 0))}"

    def details(self, d: JSON) -> dict[str, Any]:
        launched = d.get("LaunchTime")
        return {
            "instance_type": d.get("InstanceType"),
            "image_id": d.get("ImageId"),
            "subnet_id": d.get("SubnetId"),
            "vpc_id": d.get("VpcId"),
            "availability_zone": (d.get("Placement") or {}).get("AvailabilityZone"),
            "private_ip": d.get("PrivateIpAddress"),
            "public_ip": d.get("PublicIpAddress"),
            "security_group_ids": sorted(g["GroupId"] for g in d.get("SecurityGroups") or []),
            "launched": launched.timestamp() if isinstance(launched, dt.datetime) else None,
        }

    def order(self, objects: list[CloudObject]) -> list[CloudObject]:
        def key(o: CloudObject) -> tuple[int, float, str]:
            tail = o.name.rsplit("-", 1)[-1]
            return (int(tail) if tail.isdigit() else 0, o.attributes.get("launched") or 0.0, o.id)

        return sorted(objects, key=key)

    async def listing(self, region: str, filters: Sequence[JSON]) -> list[CloudObject]:
        return [self.obj(d, region) for d in await self._listed(region, filters) if self.live(d)]

    async def _listed(self, region: str, filters: Sequence[JSON]) -> list[JSON]:
        """Every instance ``filters`` match, as EC2 renders it (the terminated ones too)."""
        ec2 = await self.regions.get(region)
        reservations = await ec2.pages(self.describe, self.listed_as, Filters=list(filters))
        return [i for r in reservations for i in r.get("Instances") or []]

    # -- creating ---------------------------------------------------------------------------

    def object_names(self, ctx: StepContext) -> list[str]:
        self.remember(ctx)
        count = int(ctx.resource.specifications.count)
        infra = ctx.owner.infrastructure
        if count == 1:
            return [object_name(infra, ctx.name)]
        return [object_name(infra, ctx.name, i) for i in range(1, count + 1)]

    async def create(self, ctx: StepContext, names: Sequence[str]) -> list[CloudObject]:
        base = object_name(ctx.owner.infrastructure, ctx.name)
        made: list[CloudObject] = []
        for run in _runs([_index(n, base) for n in names]):
            made.extend(await self._launch(ctx, run[0], len(run)))
        return made

    async def _launch(self, ctx: StepContext, first: int, count: int) -> list[CloudObject]:
        ec2 = await self.regions.get(ctx.spec.region)
        params = await self._run_params(ctx, ec2, first, count)
        for attempt in range(2):
            token = client_token(ctx, first, count, attempt)
            try:
                answer = await ec2.call("RunInstances", ClientToken=token, **params)
            except ConflictError as exc:
                if exc.code == "IdempotentInstanceTerminated" and attempt == 0:
                    # What this token launched was terminated since (outside atlas, or by
                    # a rollback): a launch now is a new one.
                    logger.warning("instances of %s were terminated; launching anew", ctx.name)
                    continue
                if exc.code == "IdempotentParameterMismatch":
                    return await self._after_mismatch(ctx, first, count, exc)
                raise
            return [self.obj(d, ctx.spec.region) for d in answer.get("Instances") or []]
        raise AssertionError("unreachable")  # pragma: no cover

    async def _after_mismatch(
        self, ctx: StepContext, first: int, count: int, exc: ConflictError
    ) -> list[CloudObject]:
        """The token was used with other parameters: an earlier try of this launch made
        instances from another version of the spec. They carry the resource's marks, so
        they are adopted (the plan changes them next); EC2 may take a moment to list them."""
        base = object_name(ctx.owner.infrastructure, ctx.name)
        wanted = {first + i for i in range(count)} if first else {0}
        deadline = self.timing.clock() + self.timing.visibility_grace
        while True:
            found = [o for o in await self.find_in(ctx) if _index(o.name, base) in wanted]
            if found:
                return found
            if self.timing.clock() > deadline:
                raise ProviderOperationError(
                    f"instance {ctx.name!r}: EC2 refused the launch token (used before with "
                    f"other parameters) and lists no instance it launched: {exc.message}"
                ) from exc
            await self.timing.sleep(self.timing.poll_interval)

    async def _run_params(self, ctx: StepContext, ec2: Ec2, first: int, count: int) -> JSON:
        s: InstanceSpec = ctx.resource.specifications
        image = await self._image(ec2, s)
        what = f"instance {ctx.name!r}"
        tags = self.tag_specifications(ctx, **{FIRST_TAG: str(first)})
        # Root volumes go with their instance: marked as its, not as a volume resource.
        root = {**dict(ctx.spec.tags), ROOT_TAG: resource_mark(ctx.owner.uid, ctx.name)}
        root[NAME_TAG] = object_name(ctx.owner.infrastructure, ctx.name)
        tags.append({"ResourceType": "volume", "Tags": tag_list(root)})
        params: JSON = {
            "ImageId": image["ImageId"],
            "InstanceType": s.instance_type,
            "MinCount": count,
            "MaxCount": count,
            "TagSpecifications": tags,
        }
        subnet = dep_id(ctx.deps, s.subnet, what)
        if subnet is not None:
            params["SubnetId"] = subnet
        if s.security_groups:
            params["SecurityGroupIds"] = dep_ids(ctx.deps, s.security_groups, what)
        if s.key_name:
            params["KeyName"] = s.key_name
        if s.user_data:
            params["UserData"] = s.user_data  # botocore base64-encodes it
        if s.root_volume_size:
            ebs = {
                "VolumeSize": s.root_volume_size,
                "VolumeType": "gp3",
                "DeleteOnTermination": True,
            }
            device = image.get("RootDeviceName") or "/dev/sda1"
            params["BlockDeviceMappings"] = [{"DeviceName": device, "Ebs": ebs}]
        return params

    async def _image(self, ec2: Ec2, s: InstanceSpec) -> JSON:
        """The image to launch: ``image_id`` as given, or the alias's newest image for the
        instance type's architecture in this region (asked once per handler)."""
        arch = architecture(s.instance_type)
        key = (ec2.region, s.image_id or s.image or "", arch)
        if key in self._images:
            return self._images[key]
        if s.image_id and not s.root_volume_size:
            return {"ImageId": s.image_id}  # nothing to look up: no root device to name
        if s.image_id:
            listed = await ec2.pages("DescribeImages", "Images", ImageIds=[s.image_id])
        else:
            alias = load_offerings().images[str(s.image)]
            pattern = alias.name_filter(arch)
            filters = [
                {"Name": "name", "Values": [str(pattern)]},
                {"Name": "architecture", "Values": [arch]},
                {"Name": "state", "Values": ["available"]},
            ]
            listed = await ec2.pages(
                "DescribeImages", "Images", Owners=[alias.owner], Filters=filters
            )
        if not listed:
            what = s.image_id or f"{s.image} for {arch}"
            raise ProviderOperationError(f"EC2 has no image {what} in {ec2.region}")
        image = max(listed, key=lambda i: str(i.get("CreationDate") or ""))
        self._images[key] = image
        return image

    # -- reading ----------------------------------------------------------------------------

    async def read(self, owner: Owner, state: ResourceState) -> ResourceState | None:
        """What carries the resource's marks, and the recorded instances EC2 does not show
        yet (just launched: a lookup by id answers ``InvalidInstanceID.NotFound``).

        An instance the list by marks shows ``terminated`` is gone: EC2 lists terminated
        instances, tags and all, for about an hour, so no lookup by id is needed to know it
        (a destroy's wait for 100 instances is one list a round, not two)."""
        region = region_of(state)
        listed = await self._listed(region, self.marked(owner, state.name))
        found = [self.obj(d, region) for d in listed if self.live(d)]
        seen = {self.object_id(d) for d in listed}
        missing = [o for o in state.objects if o.id not in seen]
        if missing:
            found += await self._not_yet_listed(region, missing)
        return ResourceState(self.type, state.name, tuple(self.order(found))) if found else None

    async def _not_yet_listed(
        self, region: str, objects: Sequence[CloudObject]
    ) -> list[CloudObject]:
        ec2 = await self.regions.get(region)
        try:
            reservations = await ec2.pages(
                self.describe, self.listed_as, InstanceIds=[o.id for o in objects]
            )
        except NotFoundError:
            # Unknown to EC2 (yet): kept while young, as the core's visibility grace does.
            now = time.time()
            grace = self.timing.visibility_grace
            return [o for o in objects if now - (o.attributes.get("launched") or 0) < grace]
        listed = [i for r in reservations for i in r.get("Instances") or []]
        return [self.obj(d, region) for d in listed if self.live(d)]

    def drift(
        self, spec: InfrastructureSpec, resource: ResourceSpec, state: ResourceState
    ) -> list[str]:
        s: InstanceSpec = resource.specifications
        found = super().drift(spec, resource, state)
        if len(state.objects) != s.count:
            found.append(f"{len(state.objects)} instances, the spec says {s.count}")
        for obj in state.objects:
            have = obj.attributes.get("instance_type")
            if have != s.instance_type:
                found.append(f"{obj.name} is a {have}, the spec says {s.instance_type}")
        return found

    # -- changing ---------------------------------------------------------------------------

    async def update(self, ctx: StepContext, state: ResourceState) -> ResourceState:
        s: InstanceSpec = ctx.resource.specifications
        if any(imported(ctx.owner, state, o) for o in state.objects):
            if s.count != len(state.objects):
                raise ProviderOperationError(
                    f"instance {ctx.name!r} was imported as {len(state.objects)} instances; its "
                    f"count cannot become {s.count} (import or create the others as another "
                    "resource)"
                )
        else:
            state = await self._recount(ctx, state)
        await self.retag(ctx, state)
        ec2 = await self.regions.get(region_of(state))
        if s.security_groups:
            groups = dep_ids(ctx.deps, s.security_groups, f"instance {ctx.name!r}")
            for obj in state.objects:
                if obj.attributes.get("security_group_ids") != sorted(groups):
                    await ec2.call("ModifyInstanceAttribute", InstanceId=obj.id, Groups=groups)
        resize = [o for o in state.objects if o.attributes.get("instance_type") != s.instance_type]
        if resize:
            await self._resize(ec2, [o.id for o in resize], s.instance_type)
        return await self.read(ctx.owner, state) or state

    async def _recount(self, ctx: StepContext, state: ResourceState) -> ResourceState:
        """Launch the instances a larger count adds (one ``RunInstances`` for the run of new
        indexes, its own token); terminate those a smaller one drops. The instances that stay
        stay: the one instance of an uncounted resource is the first of several (``web``
        becomes ``web-1``, and back), renamed by its ``atlas:first`` tag, never replaced."""
        names = self.object_names(ctx)
        base = object_name(ctx.owner.infrastructure, ctx.name)
        wanted = {max(1, _index(n, base)): n for n in names}
        kept: dict[int, CloudObject] = {}
        extra: list[CloudObject] = []
        for obj in state.objects:
            index = max(1, _index(obj.name, base))
            if index in wanted and index not in kept:
                kept[index] = obj
            else:
                extra.append(obj)
        if extra:
            await self.delete(ctx.owner, ResourceState(self.type, ctx.name, tuple(extra)))
        made: dict[str, CloudObject] = {}
        for index, obj in kept.items():
            made[wanted[index]] = await self._renamed(obj, wanted[index], base)
        if len(made) < len(names):
            await create_objects(self, ctx, names, made)
        return ResourceState(self.type, ctx.name, tuple(made[n] for n in names if n in made))

    async def _renamed(self, obj: CloudObject, name: str, base: str) -> CloudObject:
        """``obj`` named ``name``: its ``atlas:first`` (with its launch index) makes its name,
        so the first instance becomes ``base`` (first 0) or ``base-1`` (first 1)."""
        if obj.name == name:
            return obj
        first = "0" if name == base else "1"
        ec2 = await self.regions.get(str(obj.attributes["region"]))
        await ec2.call("CreateTags", Resources=[obj.id], Tags=[{"Key": FIRST_TAG, "Value": first}])
        tags = {**(obj.attributes.get("tags") or {}), FIRST_TAG: first}
        return attrs.evolve(obj, name=name, attributes={**obj.attributes, "tags": tags})

    async def _resize(self, ec2: Ec2, ids: list[str], instance_type: str) -> None:
        """Stop, change the type, start: EC2 changes the type of stopped instances only."""
        await ec2.call("StopInstances", InstanceIds=ids)
        await self._until(ec2, ids, "stopped")
        for instance_id in ids:
            await ec2.call(
                "ModifyInstanceAttribute",
                InstanceId=instance_id,
                InstanceType={"Value": instance_type},
            )
        await ec2.call("StartInstances", InstanceIds=ids)

    async def _until(self, ec2: Ec2, ids: list[str], wanted: str) -> None:
        deadline = self.timing.clock() + self.timing.action_timeout
        while True:
            reservations = await ec2.pages(self.describe, self.listed_as, InstanceIds=ids)
            states = {self.state_of(i) for r in reservations for i in r.get("Instances") or []}
            if states == {wanted}:
                return
            if self.timing.clock() > deadline:
                raise ProviderOperationError(
                    f"instances {', '.join(ids)} not {wanted} after {self.timing.action_timeout:g}s"
                )
            await self.timing.sleep(self.timing.poll_interval)

    async def delete(self, owner: Owner, state: ResourceState) -> ResourceState | None:
        """One ``TerminateInstances`` for every instance; when EC2 refuses the batch
        because one is unknown, each is terminated on its own (the unknown ones are gone)."""
        del owner
        ids = [o.id for o in state.objects]
        if not ids:
            return None
        ec2 = await self.regions.get(region_of(state))
        try:
            await ec2.call("TerminateInstances", InstanceIds=ids)
        except NotFoundError:
            for instance_id in ids:
                try:
                    await ec2.call("TerminateInstances", InstanceIds=[instance_id])
                except NotFoundError:
                    continue
        return None

    async def remaining(self, owner: Owner, state: ResourceState) -> ResourceState | None:
        return await self.read(owner, state)
