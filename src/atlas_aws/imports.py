"""What exists in an AWS account, for ``atlas discover`` and ``import:``.

:func:`inventory` lists the VPCs, subnets, security groups, instances and volumes of each
region (every page of each ``Describe*``), and its RDS DB instances and ELBv2 load
balancers (with their listeners, target groups and targets), grouped into resources: an
object atlas made joins the others of its resource (by its ``atlas:resource`` tag) and is
marked ``managed_by``; the instances one ``RunInstances`` launched alike (one reservation) are
one counted resource; any other object is a resource of its own, named after its ``Name`` tag
(a group after its name, a DB instance after its identifier, a load balancer after its name).
References between them are by those names.

What the account comes with is left out unless something listed refers to it: the default
VPC, its default subnets and every VPC's ``default`` security group (AWS makes them; a spec
that leaves ``subnet``, ``security_groups`` or ``vpc`` out gets them). An instance's root
volume goes with its instance (as ``root_volume_size``), never as a volume of its own.

:func:`read_import` reads the given ids (one ``Describe*`` by id) for an import: EC2 ids, a
DB instance's identifier, a load balancer's ARN. A field the cloud shows in another form than
the spec says it, to the same effect (an engine version ``15`` the instance's ``15.4``
satisfies, subnets, groups or targets in another order, a listener's target port left out as
its own port), is read back as the spec says it, so that an import plans no change for it.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from atlas.exceptions import NotFoundError, ProviderOperationError
from atlas.model.cloud import Owner
from atlas.model.infrastructure import ResourceSpec
from atlas.providers import FoundResource, ResourceKind
from atlas.spec.converter import make_converter, problems_from_cattrs
from atlas.spec.dump import dump_resource
from atlas_aws.client import JSON, Ec2
from atlas_aws.naming import NAME_TAG, OWNER_TAG, RESOURCE_TAG, ROOT_TAG, tag_dict
from atlas_aws.ops.base import Ec2Handler
from atlas_aws.ops.databases import same_version
from atlas_aws.ops.load_balancers import LoadBalancerHandler, forwards_to
from atlas_aws.ops.security_groups import DEFAULT_EGRESS, Permission, listed_permissions
from atlas_aws.resources import KINDS
from atlas_aws.resources.volume import GP3_INCLUDED_IOPS

__all__ = ["IMPORTABLE", "found_name", "inventory", "managed_by", "read_import"]

logger = logging.getLogger("atlas_aws")

#: The kinds an import can adopt, by type.
IMPORTABLE: Mapping[str, ResourceKind] = {k.type: k for k in KINDS if k.importable}
#: How each EC2 kind's ids start (EC2's own prefixes).
ID_PREFIX: Mapping[str, str] = {
    "vpc": "vpc-", "subnet": "subnet-", "security_group": "sg-", "instance": "i-",
    "volume": "vol-",
}  # fmt: skip
#: The key of each kind's objects in the answers, and the EC2 filter that picks them by id.
ID_KEY: Mapping[str, tuple[str, str]] = {
    "vpc": ("VpcId", "vpc-id"), "subnet": ("SubnetId", "subnet-id"),
    "security_group": ("GroupId", "group-id"), "instance": ("InstanceId", "instance-id"),
    "volume": ("VolumeId", "volume-id"), "db_instance": ("DBInstanceIdentifier", ""),
    "load_balancer": ("LoadBalancerArn", ""),
}  # fmt: skip
#: An RDS ``DBInstanceIdentifier`` (RDS keeps them lowercase).
_DB_ID = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
#: An ELBv2 load balancer's ARN (application or network).
_LB_ARN = re.compile(
    r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:loadbalancer/(app|net)/[^/]+/\w+$"
)
#: RDS statuses of an instance on its way out: not listed, not imported.
_DB_GONE = frozenset({"deleting", "deleted"})
#: How long a name made from a cloud name may be.
MAX_NAME = 32
_PROTOCOLS = {"-1": "all", "6": "tcp", "17": "udp", "1": "icmp"}

_converter = make_converter()


def found_name(cloud_name: str, kind: str) -> str:
    """A spec resource name made from an AWS name: lowercase letters, digits and ``-``,
    starting with a letter, at most :data:`MAX_NAME` characters."""
    name = re.sub(r"[^a-z0-9]+", "-", cloud_name.lower()).lstrip("-0123456789")
    name = name[:MAX_NAME].rstrip("-")
    return name or kind.replace("_", "-")


def _oid(kind: str, d: JSON) -> str:
    return str(d[ID_KEY[kind][0]])


def _mark(d: JSON) -> tuple[str, str] | None:
    """(uid, resource) of atlas's ``atlas:resource`` tag, if the object carries one."""
    tags = tag_dict(d.get("Tags"))
    uid, _, resource = tags.get(RESOURCE_TAG, "").partition(":")
    if not uid or not resource or tags.get(OWNER_TAG) != uid:
        return None
    return uid, resource


def managed_by(kind: str, d: JSON) -> Owner | None:
    """The atlas infrastructure an object's tags say it belongs to, if any: its name is read
    back from the object's (``<infrastructure>-<resource>``, a group's with ``-<uid>``). The
    workspace cannot be read from the cloud: ``default`` when that gives the tag's uid."""
    mark = _mark(d)
    if mark is None:
        return None
    uid, resource = mark
    if kind == "security_group":
        name, suffix = str(d.get("GroupName") or ""), f"-{resource}-{uid}"
    else:
        name, suffix = tag_dict(d.get("Tags")).get(NAME_TAG, ""), f"-{resource}"
    infrastructure = name[: -len(suffix)] if name.endswith(suffix) else ""
    workspace = "default" if Owner("default", infrastructure).uid == uid else ""
    return Owner(workspace, infrastructure)


@attrs.define
class _Account:
    """What one region holds, as EC2 lists it."""

    region: str
    objects: dict[str, list[JSON]]
    #: Ids of what AWS made with the account: default VPCs, default subnets, default groups.
    defaults: set[str] = attrs.field(factory=set)
    #: Root volume sizes by instance id, and the ids of root volumes.
    root_sizes: dict[str, int] = attrs.field(factory=dict)
    roots: set[str] = attrs.field(factory=set)


async def _instances(ec2: Ec2, **params: Any) -> list[JSON]:
    reservations = await ec2.pages("DescribeInstances", "Reservations", **params)
    out = []
    for r in reservations:
        for i in r.get("Instances") or []:
            if (i.get("State") or {}).get("Name") not in ("terminated", "shutting-down"):
                out.append({**i, "ReservationId": r.get("ReservationId")})
    return out


def _roots(instances: Sequence[JSON]) -> dict[str, str]:
    """Root volume id → instance id."""
    out = {}
    for i in instances:
        for m in i.get("BlockDeviceMappings") or []:
            volume = (m.get("Ebs") or {}).get("VolumeId")
            if volume and m.get("DeviceName") == i.get("RootDeviceName"):
                out[str(volume)] = _oid("instance", i)
    return out


def _note(account: _Account) -> None:
    """Record what the account came with, and the instances' root volumes."""
    o = account.objects
    account.defaults |= {_oid("vpc", d) for d in o["vpc"] if d.get("IsDefault")}
    account.defaults |= {_oid("subnet", d) for d in o["subnet"] if d.get("DefaultForAz")}
    account.defaults |= {
        _oid("security_group", d) for d in o["security_group"] if d.get("GroupName") == "default"
    }
    roots = _roots(o["instance"])
    account.roots |= set(roots)
    for v in o["volume"]:
        if _oid("volume", v) in roots and v.get("Size") is not None:
            account.root_sizes[roots[_oid("volume", v)]] = int(v["Size"])


def _db(d: JSON) -> JSON:
    """A DB instance as RDS describes it, its tags where EC2's are (``Tags``)."""
    return {**d, "Tags": d.get("TagList")}


async def _list(handlers: Mapping[str, Ec2Handler], region: str) -> _Account:
    regions = handlers["vpc"].regions
    ec2 = await regions.get(region)
    objects = {
        "vpc": await ec2.pages("DescribeVpcs", "Vpcs"),
        "subnet": await ec2.pages("DescribeSubnets", "Subnets"),
        "security_group": await ec2.pages("DescribeSecurityGroups", "SecurityGroups"),
        "instance": await _instances(ec2),
        "volume": [
            v for v in await ec2.pages("DescribeVolumes", "Volumes") if v.get("State") != "deleted"
        ],
        "db_instance": [],
        "load_balancer": [],
    }
    if "db_instance" in handlers:
        rds = await regions.of("rds", region)
        objects["db_instance"] = [
            _db(d)
            for d in await rds.pages("DescribeDBInstances", "DBInstances")
            if d.get("DBInstanceStatus") not in _DB_GONE
        ]
    lbs = handlers.get("load_balancer")
    if isinstance(lbs, LoadBalancerHandler):
        elb = await regions.of("elbv2", region)
        found = await elb.pages("DescribeLoadBalancers", "LoadBalancers")
        objects["load_balancer"] = await lbs.described(region, found) if found else []
    account = _Account(ec2.region, objects)
    _note(account)
    objects["volume"] = [
        v
        for v in objects["volume"]
        if _oid("volume", v) not in account.roots and ROOT_TAG not in tag_dict(v.get("Tags"))
    ]
    return account


# -- references -------------------------------------------------------------------------------


def _group_ids(d: JSON) -> list[str]:
    perms = [*(d.get("IpPermissions") or []), *(d.get("IpPermissionsEgress") or [])]
    return [str(g["GroupId"]) for p in perms for g in p.get("UserIdGroupPairs") or []]


def _refs(kind: str, d: JSON, defaults: set[str]) -> list[str]:
    """The ids the spec of ``d`` names other resources by (what the account came with and a
    spec gets by leaving the field out is not among them)."""
    if kind == "subnet":
        return [str(d["VpcId"])]
    if kind == "security_group":
        vpc = [str(d["VpcId"])] if d.get("VpcId") and d["VpcId"] not in defaults else []
        return vpc + _group_ids(d)
    if kind == "instance":
        subnet = d.get("SubnetId")
        out = [str(subnet)] if subnet and subnet not in defaults else []
        groups = [str(g["GroupId"]) for g in d.get("SecurityGroups") or []]
        return out + ([] if set(groups) <= defaults and len(groups) <= 1 else groups)
    if kind == "volume":
        return [str(a["InstanceId"]) for a in _attached(d)][:1]
    if kind in ("db_instance", "load_balancer"):
        return _service_refs(kind, d, defaults)
    return []


def _service_refs(kind: str, d: JSON, defaults: set[str]) -> list[str]:
    """A DB instance's subnets (of its subnet group) and groups; a load balancer's subnets,
    groups and targets. A lone group the account came with (a VPC's ``default``) is not
    among them: a spec that names none gets it."""
    targets: list[str] = []
    if kind == "db_instance":
        group = d.get("DBSubnetGroup") or {}
        subnets = [str(s["SubnetIdentifier"]) for s in group.get("Subnets") or []]
        groups = _db_groups(d)
    else:
        subnets = [str(z["SubnetId"]) for z in d.get("AvailabilityZones") or []]
        groups = [str(g) for g in d.get("SecurityGroups") or []]
        ids = {str(t) for g in d.get("TargetGroups") or [] for t in g.get("TargetIds") or []}
        targets = sorted(ids)
    others = [] if set(groups) <= defaults and len(groups) <= 1 else groups
    return subnets + others + targets


def _db_groups(d: JSON) -> list[str]:
    return [str(g["VpcSecurityGroupId"]) for g in d.get("VpcSecurityGroups") or []]


def _attached(d: JSON) -> list[JSON]:
    return [a for a in d.get("Attachments") or [] if a.get("State") in ("attaching", "attached")]


# -- specifications ---------------------------------------------------------------------------


def _rules(perms: frozenset[Permission], names: Mapping[str, str]) -> list[JSON] | None:
    """Permissions as spec rules, one per (protocol, ports); ``None`` when a source cannot be
    named or the protocol is not one a spec can say."""
    rules: dict[tuple[str, int, int], JSON] = {}
    for proto, low, high, source in sorted(perms):
        protocol = _PROTOCOLS.get(proto, proto)
        if protocol not in ("tcp", "udp", "icmp", "all"):
            return None
        rule = rules.setdefault(
            (protocol, low, high),
            {"protocol": protocol, "cidr_blocks": [], "security_groups": []}
            | ({} if protocol == "all" else {"from_port": low, "to_port": high}),
        )
        kind, _, value = source.partition(":")
        if kind == "cidr":
            rule["cidr_blocks"].append(value)
        elif value in names:
            rule["security_groups"].append(names[value])
        else:
            return None
    return list(rules.values())


def _spec(kind: str, objects: Sequence[JSON], names: Mapping[str, str], acct: _Account) -> JSON:
    """The specifications document of the resource ``objects`` make, as far as EC2 tells it;
    references by the names ``names`` gives ids."""
    d = objects[0]
    if kind == "vpc":
        return {"cidr_block": d.get("CidrBlock")}
    if kind == "subnet":
        return {
            "vpc": names.get(str(d.get("VpcId"))),
            "cidr_block": d.get("CidrBlock"),
            "availability_zone": d.get("AvailabilityZone"),
            "map_public_ip_on_launch": bool(d.get("MapPublicIpOnLaunch")),
        }
    if kind == "security_group":
        return _group_spec(d, names, acct)
    if kind == "instance":
        return _instance_spec(objects, names, acct)
    if kind in ("db_instance", "load_balancer"):
        specs_of = _db_spec if kind == "db_instance" else _lb_spec
        return specs_of(d, names, acct)
    specs: JSON = {
        "size": d.get("Size"),
        "volume_type": d.get("VolumeType"),
        "availability_zone": d.get("AvailabilityZone"),
    }
    iops = d.get("Iops")
    if d.get("VolumeType") in ("io1", "io2") or (
        d.get("VolumeType") == "gp3" and iops and iops != GP3_INCLUDED_IOPS
    ):
        specs["iops"] = iops
    attached = [names[str(a["InstanceId"])] for a in _attached(d) if a["InstanceId"] in names]
    if attached:
        specs["attach_to"] = attached[0]
    return specs


def _group_spec(d: JSON, names: Mapping[str, str], acct: _Account) -> JSON:
    specs: JSON = {"description": d.get("Description") or ""}
    vpc = d.get("VpcId")
    if vpc and vpc not in acct.defaults:
        specs["vpc"] = names.get(str(vpc))
    ingress = _rules(listed_permissions(d.get("IpPermissions") or []), names)
    egress_perms = listed_permissions(d.get("IpPermissionsEgress") or [])
    egress = None if egress_perms == DEFAULT_EGRESS else _rules(egress_perms, names)
    if ingress is None or (egress is None and egress_perms != DEFAULT_EGRESS):
        raise ProviderOperationError(
            f"security group {d.get('GroupId')} has a rule a spec cannot say (another "
            "protocol, or a source group that is not listed)"
        )
    specs["ingress"] = ingress
    if egress is not None:
        specs["egress"] = egress
    return specs


def _instance_spec(objects: Sequence[JSON], names: Mapping[str, str], acct: _Account) -> JSON:
    """The first instance's specifications, with the count of them all. ``user_data`` is not
    read back; the image is its AMI id (an alias cannot be told from it)."""
    d = objects[0]
    specs: JSON = {
        "instance_type": d.get("InstanceType"),
        "image_id": d.get("ImageId"),
        "count": len(objects),
    }
    if d.get("KeyName"):
        specs["key_name"] = d["KeyName"]
    subnet = d.get("SubnetId")
    if subnet and subnet not in acct.defaults:
        specs["subnet"] = names.get(str(subnet))
    groups = [str(g["GroupId"]) for g in d.get("SecurityGroups") or []]
    if not (set(groups) <= acct.defaults and len(groups) <= 1):
        specs["security_groups"] = [names.get(g) for g in groups]
    size = acct.root_sizes.get(_oid("instance", d))
    if size is not None:
        specs["root_volume_size"] = size
    return specs


def _named(ids: Sequence[str], names: Mapping[str, str]) -> list[str | None]:
    """The spec names of ``ids`` (each once, sorted; ``None`` for one without a name)."""
    return sorted({names.get(i) for i in ids}, key=lambda n: (n is None, n or ""))


def listed_version(d: JSON) -> str | None:
    """A DB instance's engine version as a spec says it: the major version (``15``, MySQL's
    ``8.0``) while RDS upgrades the minor one itself (``AutoMinorVersionUpgrade``), so that
    such an upgrade is no drift; else the version it runs."""
    version = str(d.get("EngineVersion") or "")
    if not version or not d.get("AutoMinorVersionUpgrade"):
        return version or None
    parts = version.split(".")
    major = 1 if d.get("Engine") == "postgres" else 2
    return ".".join(parts[:major])


def _db_spec(d: JSON, names: Mapping[str, str], acct: _Account) -> JSON:
    """A DB instance's specifications; one a ``db_instance`` cannot say (a cluster's
    member, Multi-AZ) is refused with the reason."""
    what = f"DB instance {d.get('DBInstanceIdentifier')}"
    if d.get("DBClusterIdentifier"):
        raise ProviderOperationError(
            f"{what} is a member of the cluster {d['DBClusterIdentifier']} (Aurora): atlas's "
            "db_instance is a single instance"
        )
    if d.get("MultiAZ"):
        raise ProviderOperationError(
            f"{what} is Multi-AZ: atlas's db_instance is single-AZ (and priced as one)"
        )
    group = d.get("DBSubnetGroup") or {}
    specs: JSON = {
        "engine": d.get("Engine"),
        "instance_class": d.get("DBInstanceClass"),
        "allocated_storage": d.get("AllocatedStorage"),
        "subnets": _named([str(s["SubnetIdentifier"]) for s in group.get("Subnets") or []], names),
        "engine_version": listed_version(d),
        "storage_type": d.get("StorageType"),
        "master_username": d.get("MasterUsername"),
    }
    groups = _db_groups(d)
    if not (set(groups) <= acct.defaults and len(groups) <= 1):
        specs["security_groups"] = _named(groups, names)
    return specs


def _lb_spec(d: JSON, names: Mapping[str, str], acct: _Account) -> JSON:
    """A load balancer's specifications: its listeners each forward to one target group of
    instances, all of them the same instances (what a ``load_balancer`` says); another one
    is refused with the reason."""
    what = f"load balancer {d.get('LoadBalancerName')}"
    groups = {str(g["TargetGroupArn"]): g for g in d.get("TargetGroups") or []}
    listeners = []
    for x in sorted(d.get("Listeners") or [], key=lambda x: int(x["Port"])):
        arn = forwards_to(x)
        if arn is None or arn not in groups:
            raise ProviderOperationError(
                f"{what}: the listener on port {x['Port']} does not forward to one target "
                "group (a redirect, a fixed response or weighted groups cannot be said)"
            )
        certs = x.get("Certificates") or []
        port = groups[arn].get("Port")
        listeners.append(
            {
                "port": int(x["Port"]),
                "protocol": x.get("Protocol"),
                "target_port": int(port) if port and int(port) != int(x["Port"]) else None,
                "certificate_arn": certs[0].get("CertificateArn") if certs else None,
            }
        )
    used = [groups[a] for a in {forwards_to(x) for x in d.get("Listeners") or []} if a]
    if any((g.get("TargetType") or "instance") != "instance" for g in used):
        raise ProviderOperationError(f"{what}: a target group of IP or Lambda targets")
    if len({tuple(g.get("TargetIds") or []) for g in used}) > 1:
        raise ProviderOperationError(
            f"{what}: its target groups have different targets (a spec names one set)"
        )
    specs: JSON = {
        "type": d.get("Type"),
        "subnets": _named([str(z["SubnetId"]) for z in d.get("AvailabilityZones") or []], names),
        "listeners": listeners,
        "targets": _named([str(t) for g in used for t in g.get("TargetIds") or []], names),
        "internal": d.get("Scheme") == "internal",
    }
    groups_of = [str(g) for g in d.get("SecurityGroups") or []]
    if not (set(groups_of) <= acct.defaults and len(groups_of) <= 1):
        specs["security_groups"] = _named(groups_of, names)
    return specs


def _to_port(listener: Mapping[str, Any]) -> tuple[Any, ...]:
    port = listener.get("port")
    to_port = listener.get("target_port") or port
    return (port, listener.get("protocol"), to_port, listener.get("certificate_arn"))


def as_the_spec_says(kind: str, have: JSON, wanted: Mapping[str, Any], d: JSON) -> JSON:
    """``have`` (read back from ``d``) with each field the spec's ``wanted`` says in another
    form, to the same effect, as the spec says it: an engine version the instance's
    satisfies, lists of names in another order, listeners whose target ports come to the
    same. A real difference is left for the plan to show."""
    out = dict(have)
    for field in ("subnets", "security_groups", "targets"):
        if (
            field in out
            and field in wanted
            and sorted(out[field] or []) == sorted(wanted[field] or [])
        ):
            out[field] = wanted[field]
    if kind == "db_instance":
        want = wanted.get("engine_version")
        running = str(d.get("EngineVersion") or "")
        if want and running and same_version(running, str(want)):
            out["engine_version"] = want
    if (
        kind == "load_balancer"
        and "listeners" in wanted
        and sorted(map(_to_port, out.get("listeners") or []))
        == sorted(map(_to_port, wanted["listeners"] or []))
    ):
        out["listeners"] = wanted["listeners"]
    return out


def canonical(kind: ResourceKind, specs: Mapping[str, Any], what: str) -> dict[str, Any]:
    """``specs`` as the canonical document of the kind's spec class (defaults included)."""
    try:
        obj = _converter.structure(dict(specs), kind.spec_class)
    except Exception as exc:
        problems = "; ".join(str(p) for p in problems_from_cattrs(exc, "specifications"))
        raise ProviderOperationError(
            f"{what} cannot be described as a {kind.type} spec: {problems or exc}"
        ) from exc
    specifications: dict[str, Any] = dump_resource(ResourceSpec(kind.type, "-", obj))[
        "specifications"
    ]
    return specifications


# -- the inventory ----------------------------------------------------------------------------


def _alike(d: JSON) -> tuple[Any, ...]:
    groups = tuple(sorted(g["GroupId"] for g in d.get("SecurityGroups") or []))
    return (d.get("InstanceType"), d.get("ImageId"), d.get("SubnetId"), groups, d.get("KeyName"))


def _groups(account: _Account) -> dict[tuple[str, str], list[JSON]]:
    """Objects by resource: atlas's by their mark, instances launched alike in one
    reservation together, any other object alone. What the account came with is left out
    unless something else refers to it."""
    wanted = {_oid(k, d) for k, ds in account.objects.items() for d in ds} - account.defaults
    by_id = {_oid(k, d): (k, d) for k, ds in account.objects.items() for d in ds}
    todo = list(wanted)
    while todo:  # what is referred to is listed, defaults included
        kind, d = by_id[todo.pop()]
        for ref in _refs(kind, d, account.defaults):
            if ref in by_id and ref not in wanted:
                wanted.add(ref)
                todo.append(ref)
    # A volume attaches to one instance of a spec: one that has a volume stays on its own.
    holding = {str(a["InstanceId"]) for v in account.objects["volume"] for a in _attached(v)}
    groups: dict[tuple[str, str], list[JSON]] = {}
    for kind in IMPORTABLE:
        for d in account.objects[kind]:
            if _oid(kind, d) not in wanted:
                continue
            mark = _mark(d)
            if mark is not None:
                key = f"atlas:{mark[0]}:{mark[1]}"
            elif kind == "instance" and _oid(kind, d) not in holding:
                key = f"launch:{d.get('ReservationId')}:{_alike(d)}"
            else:
                key = f"id:{_oid(kind, d)}"
            groups.setdefault((kind, key), []).append(d)
    return groups


def _cloud_name(kind: str, d: JSON) -> str:
    mark = _mark(d)
    if mark is not None:
        return mark[1]
    if kind == "security_group":
        return str(d.get("GroupName") or "")
    own = str(d.get("LoadBalancerName") or "") if kind == "load_balancer" else ""
    return tag_dict(d.get("Tags")).get(NAME_TAG) or own or _oid(kind, d)


def _short(kind: str, object_id: str) -> str:
    """What tells two objects of one name apart: the hex digits of an EC2 id or of a load
    balancer's ARN, a digest of a DB instance's identifier."""
    if kind == "load_balancer":
        return object_id.rsplit("/", 1)[-1][:8]
    if kind == "db_instance":
        return hashlib.sha256(object_id.encode()).hexdigest()[:8]
    return object_id.partition("-")[2][:8]


async def inventory(
    handlers: Mapping[str, Ec2Handler], regions: Sequence[str]
) -> list[FoundResource]:
    """Every resource of an importable kind in ``regions``; sorted by type, then name. Names
    are unique across the listing: a name two resources would share gets the first object's
    id after it (the first by cloud name and id keeps it plain)."""
    named: list[tuple[str, str, list[JSON], _Account]] = []
    taken: set[str] = set()
    for region in regions:
        account = await _list(handlers, region)
        items = sorted(
            _groups(account).items(),
            key=lambda kv: (kv[0][0], _cloud_name(kv[0][0], kv[1][0]), _oid(kv[0][0], kv[1][0])),
        )
        for (kind, _), objects in items:
            objects.sort(key=lambda d: (int(d.get("AmiLaunchIndex") or 0), _oid(kind, d)))
            base = found_name(_cloud_name(kind, objects[0]), kind)
            name = base if base not in taken else f"{base}-{_short(kind, _oid(kind, objects[0]))}"
            while name in taken:  # pragma: no cover - ids are unique; kept for safety
                name += "-x"
            taken.add(name)
            named.append((kind, name, objects, account))
    names = {_oid(k, d): n for k, n, objects, _ in named for d in objects}
    found = []
    for kind, name, objects, account in named:
        try:
            found.append(_found(handlers[kind], kind, name, objects, names, account=account))
        except ProviderOperationError as exc:
            logger.warning("not listed: %s", exc)
    return sorted(found, key=lambda f: (f.type, f.name))


def _found(
    handler: Ec2Handler,
    kind: str,
    name: str,
    objects: Sequence[JSON],
    names: Mapping[str, str],
    *,
    account: _Account,
) -> FoundResource:
    what = f"{handler.noun} {_oid(kind, objects[0])}"
    return FoundResource(
        type=kind,
        name=name,
        region=account.region,
        objects=tuple(handler.render(d, account.region) for d in objects),
        specifications=canonical(IMPORTABLE[kind], _spec(kind, objects, names, account), what),
        managed_by=managed_by(kind, objects[0]),
    )


# -- an import --------------------------------------------------------------------------------


def _kind_of(object_id: str) -> str | None:
    return next((k for k, p in ID_PREFIX.items() if object_id.startswith(p)), None)


async def _describe(
    handlers: Mapping[str, Ec2Handler], region: str, kind: str, ids: Sequence[str]
) -> list[JSON]:
    """The objects ``ids`` of ``kind`` in ``region`` (an unknown id is left out, not an
    error): EC2's by filter, DB instances and load balancers one call each."""
    regions = handlers["vpc"].regions
    if kind == "db_instance":
        rds = await regions.of("rds", region)
        found = []
        for i in ids:
            try:
                found += await rds.pages(
                    "DescribeDBInstances", "DBInstances", DBInstanceIdentifier=i
                )
            except NotFoundError:
                continue
        return [_db(d) for d in found if d.get("DBInstanceStatus") not in _DB_GONE]
    if kind == "load_balancer":
        elb = await regions.of("elbv2", region)
        lbs: list[JSON] = []
        for i in ids:
            try:
                lbs += await elb.pages(
                    "DescribeLoadBalancers", "LoadBalancers", LoadBalancerArns=[i]
                )
            except NotFoundError:
                continue
        handler = handlers[kind]
        assert isinstance(handler, LoadBalancerHandler)
        return await handler.described(region, lbs) if lbs else []
    ec2 = await regions.get(region)
    flt = [{"Name": ID_KEY[kind][1], "Values": list(ids)}]
    if kind == "instance":
        return await _instances(ec2, Filters=flt)
    call, key = {
        "vpc": ("DescribeVpcs", "Vpcs"),
        "subnet": ("DescribeSubnets", "Subnets"),
        "security_group": ("DescribeSecurityGroups", "SecurityGroups"),
        "volume": ("DescribeVolumes", "Volumes"),
    }[kind]
    listed = await ec2.pages(call, key, Filters=flt)
    return [d for d in listed if d.get("State") != "deleted"]


def _id_problem(kind: str, object_id: str) -> str | None:
    """Why ``object_id`` cannot be an id of ``kind``, or ``None``."""
    if kind == "db_instance":
        if _DB_ID.match(object_id):
            return None
        return (
            f"{object_id} is not a DB instance identifier (a letter, then up to 62 letters, "
            "digits or hyphens)"
        )
    if kind == "load_balancer":
        if _LB_ARN.match(object_id):
            return None
        return (
            f"{object_id} is not the ARN of an application or network load balancer "
            "(arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app|net/...)"
        )
    other = _kind_of(object_id)
    if other == kind:
        return None
    what = f"an id of a {other.replace('_', ' ')}" if other else "no EC2 id"
    return (
        f"{object_id} is {what}, not of a {kind.replace('_', ' ')} "
        f"(those start with {ID_PREFIX[kind]})"
    )


def _check_ids(kind: str, where: str, ids: Sequence[str]) -> None:
    if kind not in IMPORTABLE:
        raise ProviderOperationError(
            f"{where}: AWS {kind.replace('_', ' ')}s cannot be imported "
            f"(importable: {', '.join(sorted(IMPORTABLE))})"
        )
    if not ids:
        raise ProviderOperationError(f"{where}: import names no id")
    if len(set(ids)) != len(ids):
        raise ProviderOperationError(f"{where}: import names an id twice")
    if kind != "instance" and len(ids) > 1:
        raise ProviderOperationError(
            f"{where}: a {kind.replace('_', ' ')} is one object, the import names {len(ids)} ids"
        )
    for object_id in ids:
        problem = _id_problem(kind, object_id)
        if problem is not None:
            raise ProviderOperationError(f"{where}: {problem}")


async def _context(
    handlers: Mapping[str, Ec2Handler], region: str, kind: str, objects: Sequence[JSON]
) -> _Account:
    """What the specifications of ``objects`` need to know besides them: which of the
    objects they refer to the account came with, and an instance's root volume size."""
    account = _Account(region, {k: [] for k in ID_KEY})
    wanted: dict[str, set[str]] = {}
    for d in objects:
        for ref in _refs(kind, d, set()):
            ref_kind = _kind_of(ref)
            if ref_kind is not None:
                wanted.setdefault(ref_kind, set()).add(ref)
    for ref_kind, ids in sorted(wanted.items()):
        account.objects[ref_kind] = await _describe(handlers, region, ref_kind, sorted(ids))
    if kind == "instance":
        account.objects["instance"] = list(objects)
        roots = sorted(_roots(objects))
        if roots:
            account.objects["volume"] = await _describe(handlers, region, "volume", roots)
    _note(account)
    return account


async def read_import(
    handlers: Mapping[str, Ec2Handler],
    resource: ResourceSpec,
    region: str,
    ids: Sequence[str],
    names: Mapping[str, str],
) -> FoundResource:
    """The objects ``ids`` as the import of ``resource`` finds them (in ``region``)."""
    kind = resource.type
    where = f"{kind} {resource.name!r}"
    if kind == "db_instance":  # RDS keeps identifiers lowercase, whatever was typed
        ids = [i.lower() for i in ids]
    _check_ids(kind, where, ids)
    handler = handlers[kind]
    if kind == "load_balancer" and ids[0].split(":")[3] != region:
        raise ProviderOperationError(
            f"{where}: load balancer {ids[0]} is in {ids[0].split(':')[3]}, not in the "
            "spec's region"
        )
    listed = {_oid(kind, d): d for d in await _describe(handlers, region, kind, ids)}
    missing = [i for i in ids if i not in listed]
    if missing:
        raise ProviderOperationError(f"{where}: {await _elsewhere(handlers, kind, missing[0])}")
    objects = [listed[i] for i in ids]
    account = await _context(handlers, region, kind, objects)
    unnamed = sorted(
        {r for d in objects for r in _refs(kind, d, account.defaults) if r not in names}
    )
    if unnamed:
        raise ProviderOperationError(
            f"{where}: {ids[0]} refers to {', '.join(unnamed)}, which the spec neither "
            "records nor imports (import it too, as a resource of its own)"
        )
    what = f"{where} (import of {', '.join(ids)})"
    kind_of = IMPORTABLE[kind]
    wanted = dump_resource(resource)["specifications"]
    read = canonical(kind_of, _spec(kind, objects, names, account), what)
    specs = as_the_spec_says(kind, read, wanted, objects[0])
    return FoundResource(
        type=kind,
        name=resource.name,
        region=region,
        objects=tuple(handler.render(d, region) for d in objects),
        specifications=canonical(kind_of, specs, what),
        managed_by=managed_by(kind, objects[0]),
    )


async def _elsewhere(handlers: Mapping[str, Ec2Handler], kind: str, object_id: str) -> str:
    """Why ``object_id`` is not in the region: it is in another one, or nowhere."""
    handler = handlers[kind]
    noun = handler.noun
    known = handler.regions.known
    for region in known:
        if await _describe(handlers, region, kind, [object_id]):
            return f"{noun} {object_id} is in {region}, not in the spec's region"
    return f"there is no {noun} {object_id} in the account (in {', '.join(known)})"
