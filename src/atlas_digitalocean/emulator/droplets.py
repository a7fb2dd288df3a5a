"""Droplets: ``/v2/droplets`` and ``/v2/droplets/{droplet_id}``.

A droplet is ``new`` until its create action completes after the boot latency, then
``active``; its addresses are allocated at create but listed only once it has booted,
which is when clients can reliably read them on DigitalOcean too.
"""

from __future__ import annotations

import ipaddress
import math

import attrs

from atlas_digitalocean.emulator import billing, offerings, validate
from atlas_digitalocean.emulator.collection import Collection
from atlas_digitalocean.emulator.errors import ApiError
from atlas_digitalocean.emulator.exchange import JSON, Call, Reply, iso, numeric_id
from atlas_digitalocean.emulator.records import Droplet, Firewall, LoadBalancer, Volume
from atlas_digitalocean.emulator.routing import Routes
from atlas_digitalocean.emulator.state import State, assign

NAME_PATTERN = r"[a-zA-Z0-9]?[a-z0-9A-Z.\-]*[a-z0-9A-Z]"
MAX_NAMES = 10
_PUBLIC_PREFIX = 20
_DAY = 86_400

ROUTES = Routes()


@attrs.frozen
class _Spec:
    """A validated create body, minus the names."""

    size: offerings.Size
    image: offerings.Image
    region: str
    tags: list[str]
    vpc_uuid: str | None
    volumes: list[str]
    backups: bool
    ipv6: bool
    monitoring: bool
    public_networking: bool


def droplet_json(state: State, droplet: Droplet) -> JSON:
    size = offerings.SIZES[droplet.size]
    return {
        "id": droplet.id,
        "name": droplet.name,
        "memory": size.memory,
        "vcpus": size.vcpus,
        "disk": droplet.disk,
        "disk_info": [{"type": "local", "size": {"amount": droplet.disk, "unit": "gib"}}],
        "locked": False,
        "status": droplet.status,
        "kernel": None,
        "created_at": iso(droplet.created_at),
        "features": _features(droplet),
        "backup_ids": [],
        "next_backup_window": _backup_window(state) if droplet.backups else None,
        "snapshot_ids": [],
        "image": offerings.IMAGES[droplet.image].to_json(),
        "volume_ids": list(droplet.volume_ids),
        "size": size.to_json(),
        "size_slug": droplet.size,
        "networks": _networks(state, droplet),
        "region": offerings.region_json(droplet.region),
        "tags": list(droplet.tags),
        "vpc_uuid": droplet.vpc_uuid,
    }


def _features(droplet: Droplet) -> list[str]:
    flags = {"backups": droplet.backups, "ipv6": droplet.ipv6_ip is not None}
    flags["monitoring"] = droplet.monitoring
    return [name for name, on in flags.items() if on] + ["private_networking"]


def _backup_window(state: State) -> JSON:
    start = math.ceil(state.now() / _DAY) * _DAY
    return {"start": iso(start), "end": iso(start + 4 * 3600)}


def _networks(state: State, droplet: Droplet) -> JSON:
    if not droplet.booted:
        return {"v4": [], "v6": []}
    v4 = []
    if droplet.public_ip is not None:
        v4.append(_v4(droplet.public_ip, ipaddress.IPv4Network((droplet.public_ip, 20), False)))
    vpc = state.vpcs.get(droplet.vpc_uuid)
    private = ipaddress.IPv4Network(vpc.ip_range if vpc else (droplet.private_ip, 20), False)
    v4.append({**_v4(droplet.private_ip, private), "type": "private"})
    v6 = []
    if droplet.ipv6_ip is not None:
        gateway = ipaddress.IPv6Network((droplet.ipv6_ip, 64), False).network_address + 1
        address = {"ip_address": droplet.ipv6_ip, "netmask": 64, "gateway": str(gateway)}
        v6.append({**address, "type": "public"})
    return {"v4": v4, "v6": v6}


def _v4(address: str, network: ipaddress.IPv4Network) -> JSON:
    return {
        "ip_address": address,
        "netmask": str(network.netmask),
        "gateway": str(network.network_address + 1),
        "type": "public",
    }


# -- create -------------------------------------------------------------------------------


def _names(body: JSON) -> list[str]:
    if "names" in body and body["names"] is not None:
        names = validate.str_list(body, "names", pattern=NAME_PATTERN)
        if not 1 <= len(names) <= MAX_NAMES:
            raise ApiError.unprocessable(f"names must list between 1 and {MAX_NAMES} names")
    else:
        names = [validate.string(body, "name", pattern=NAME_PATTERN, max_length=255)]
    for index, name in enumerate(names):
        if len(name) > 255:
            raise ApiError.unprocessable(f"names[{index}] must be at most 255 characters")
    return names


def _read_spec(body: JSON) -> _Spec:
    size_slug = validate.string(body, "size")
    size = offerings.SIZES.get(size_slug)
    if size is None:
        raise ApiError.unprocessable("You specified an invalid size for Droplet creation.")
    if body.get("image") in (None, ""):
        raise ApiError.unprocessable("image is required")
    image = offerings.find_image(body["image"])
    if image is None:
        raise ApiError.unprocessable("You specified an invalid image for Droplet creation.")
    region = _resolve_region(validate.string(body, "region", ""), size)
    ipv6 = validate.optional_bool(body, "ipv6", False)
    public = validate.optional_bool(body, "public_networking", True)
    if ipv6 and not public:
        raise ApiError.unprocessable("ipv6 requires public_networking to be true")
    return _Spec(
        size=size,
        image=image,
        region=region,
        tags=validate.tag_names(body),
        vpc_uuid=validate.string(body, "vpc_uuid", "") or None,
        volumes=validate.str_list(body, "volumes"),
        backups=validate.optional_bool(body, "backups", False),
        ipv6=ipv6,
        monitoring=validate.optional_bool(body, "monitoring", False),
        public_networking=public,
    )


def _resolve_region(requested: str, size: offerings.Size) -> str:
    """An exact slug, a prefix such as ``nyc`` (the first open match) or, if empty, any."""
    if requested in offerings.REGION_NAMES:
        if not offerings.is_open_region(requested):
            raise ApiError.unprocessable(f"Region {requested} is not available.")
        if requested not in size.regions:
            raise ApiError.unprocessable(f"Size {size.slug} is not available in {requested}.")
        return requested
    matches = [slug for slug in size.regions if slug.startswith(requested)]
    if not matches:
        raise ApiError.unprocessable("You specified an invalid region for Droplet creation.")
    return matches[0]


def _check_room(state: State, spec: _Spec, count: int) -> None:
    if len(state.droplets) + count > state.config.droplet_limit:
        raise ApiError.unprocessable(
            f"creating {count} droplet(s) will exceed your droplet limit "
            f"({state.config.droplet_limit})"
        )
    vpc = state.chosen_vpc("vpc_uuid", spec.vpc_uuid, spec.region)
    # Checked up front so a batch is made whole or not at all.
    if state.free_addresses(vpc) < count:
        raise ApiError.unprocessable(f"VPC {vpc.name} has too few free addresses left")
    if spec.volumes and count > 1:
        raise ApiError.unprocessable("volumes can only be attached when creating one droplet")
    for volume_id in spec.volumes:
        volume = state.volumes.get(volume_id)
        if volume is None or volume.region != spec.region or volume.droplet_ids:
            raise ApiError.unprocessable(f"volume {volume_id} is not available in {spec.region}")


def _new_droplet(state: State, spec: _Spec, name: str) -> Droplet:
    vpc = state.vpcs[spec.vpc_uuid] if spec.vpc_uuid else state.default_vpc(spec.region)
    droplet_id = state.new_droplet_id()
    droplet = Droplet(
        id=droplet_id,
        name=name,
        region=spec.region,
        size=spec.size.slug,
        image=spec.image.slug,
        created_at=state.now(),
        vpc_uuid=vpc.id,
        private_ip=state.private_ip(vpc),
        public_ip=state.public_ip() if spec.public_networking else None,
        ipv6_ip=f"2001:db8:{droplet_id % 0xFFFF:x}::2" if spec.ipv6 else None,
        disk=spec.size.disk,
        tags=list(spec.tags),
        volume_ids=list(spec.volumes),
        backups=spec.backups,
        monitoring=spec.monitoring,
    )
    for volume_id in spec.volumes:
        state.volumes[volume_id].droplet_ids.append(droplet_id)

    boot = assign(droplet, status="active", booted=True)
    latency = state.config.latencies.droplet_boot
    action = state.start_action(
        "create", "droplet", droplet_id, spec.region, latency=latency, effect=boot, busy=droplet
    )
    droplet.create_action = action.id
    state.droplets.add(droplet)
    billing.opened(state, droplet_id, name, droplet.size, droplet.created_at)
    return droplet


@ROUTES("POST", "/v2/droplets")
def create_droplets(state: State, call: Call) -> Reply:
    body = call.body()
    names = _names(body)
    spec = _read_spec(body)
    _check_room(state, spec, len(names))
    state.ensure_tags(spec.tags)
    made = [_new_droplet(state, spec, name) for name in names]
    call.created.extend(DROPLETS.path(droplet.id) for droplet in made)
    links = {"actions": [_create_link(call, droplet) for droplet in made]}
    if "names" in body and body["names"] is not None:
        return Reply(202, {"droplets": [droplet_json(state, d) for d in made], "links": links})
    return Reply(202, {"droplet": droplet_json(state, made[0]), "links": links})


def _create_link(call: Call, droplet: Droplet) -> JSON:
    href = call.url(f"/v2/actions/{droplet.create_action}")
    return {"id": droplet.create_action, "rel": "create", "href": href}


# -- read and delete ------------------------------------------------------------------------


@ROUTES("DELETE", "/v2/droplets")
def delete_by_tag(state: State, call: Call) -> Reply:
    tag = call.query.get("tag_name")
    if not tag:
        raise ApiError.bad_request("tag_name is required to delete droplets by tag")
    if tag not in state.tags:
        raise ApiError.not_found()
    for droplet in [d for d in state.droplets.values() if tag in d.tags]:
        _destroy(state, droplet)
    return Reply(204)


def _select(state: State, call: Call) -> list[Droplet]:
    tag, name = call.query.get("tag_name"), call.query.get("name")
    kind = call.query.get("type")
    if tag is not None and (name is not None or kind is not None):
        raise ApiError.unprocessable("tag_name cannot be combined with name or type")
    if kind not in (None, "droplets", "gpus"):
        raise ApiError.bad_request("type must be droplets or gpus")
    return [
        droplet
        for droplet in state.droplets.values()
        if (tag is None or tag in droplet.tags)
        and (name is None or droplet.name.lower() == name.lower())
        and kind != "gpus"  # the emulated catalog has no GPU sizes
    ]


def _destroy(state: State, droplet: Droplet) -> None:
    """Remove a droplet and let go of what referred to it, as DigitalOcean does."""
    del state.droplets[droplet.id]
    billing.closed(state, droplet.id, state.now())
    holders: list[Volume | LoadBalancer | Firewall] = [
        *state.volumes.values(),
        *state.load_balancers.values(),
        *state.firewalls.values(),
    ]
    for holder in holders:
        if droplet.id in holder.droplet_ids:
            holder.droplet_ids.remove(droplet.id)


DROPLETS = Collection(
    "droplet", "droplets", "droplet_id", lambda state: state.droplets, numeric_id, droplet_json,
    select=_select, destroy=_destroy,
)  # fmt: skip
DROPLETS.serve(ROUTES)
