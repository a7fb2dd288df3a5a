"""VPC networks: ``/v2/vpcs``.

Creates are synchronous. Names are unique in the account. The first VPC in a region becomes
its default; the default can be moved to another VPC but never unset, and neither a default
VPC nor one with members can be deleted (403, as the spec documents).
"""

from __future__ import annotations

import ipaddress

from atlas_digitalocean.emulator import offerings, validate
from atlas_digitalocean.emulator.collection import Collection
from atlas_digitalocean.emulator.errors import ApiError
from atlas_digitalocean.emulator.exchange import JSON, Call, Reply, iso, paginate
from atlas_digitalocean.emulator.records import Vpc
from atlas_digitalocean.emulator.routing import Routes
from atlas_digitalocean.emulator.state import State

NAME_PATTERN = r"[a-zA-Z0-9\-\.]+"
_PRIVATE_BLOCKS = tuple(
    ipaddress.IPv4Network(block) for block in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)
_WIDEST_PREFIX, _NARROWEST_PREFIX = 16, 28

ROUTES = Routes()


def vpc_json(_state: State, vpc: Vpc) -> JSON:
    return {
        "id": vpc.id,
        "urn": f"do:vpc:{vpc.id}",
        "name": vpc.name,
        "description": vpc.description,
        "region": vpc.region,
        "ip_range": vpc.ip_range,
        "default": vpc.default,
        "created_at": iso(vpc.created_at),
    }


def _name(state: State, body: JSON, current: Vpc | None = None) -> str:
    default = current.name if current else ""
    name = validate.string(body, "name", default, pattern=NAME_PATTERN, max_length=255)
    if not name:
        raise ApiError.unprocessable("name is required")
    if any(v.name == name and v is not current for v in state.vpcs.values()):
        raise ApiError.conflict(f"a VPC named {name} already exists")
    return name


def _ip_range(state: State, body: JSON) -> str:
    given = validate.string(body, "ip_range", "")
    if not given:
        return state.free_ip_range()
    try:
        network = ipaddress.IPv4Network(given)
    except ValueError:
        raise ApiError.unprocessable(f"ip_range {given!r} is not a CIDR block") from None
    if not any(network.subnet_of(block) for block in _PRIVATE_BLOCKS):
        raise ApiError.unprocessable("ip_range must be inside an RFC 1918 private range")
    if not _WIDEST_PREFIX <= network.prefixlen <= _NARROWEST_PREFIX:
        raise ApiError.unprocessable(
            f"ip_range must be between /{_WIDEST_PREFIX} and /{_NARROWEST_PREFIX}"
        )
    for other in state.vpcs.values():
        if network.overlaps(ipaddress.IPv4Network(other.ip_range)):
            raise ApiError.unprocessable(f"ip_range overlaps the VPC {other.name}")
    return str(network)


@ROUTES("POST", "/v2/vpcs")
def create_vpc(state: State, call: Call) -> Reply:
    body = call.body()
    name = _name(state, body)
    region = offerings.open_region(body)
    description = validate.string(body, "description", "", max_length=255)
    vpc = state.add_vpc(name, region, description, _ip_range(state, body))
    return VPCS.made(state, call, vpc, 201)


def _make_default(state: State, vpc: Vpc, wanted: bool) -> None:
    if wanted == vpc.default:
        return
    if not wanted:
        raise ApiError.unprocessable(
            "default cannot be unset; make another VPC in the region the default instead"
        )
    for other in state.vpcs.values():
        if other.region == vpc.region:
            other.default = other is vpc


def _update(state: State, call: Call, *, full: bool) -> Reply:
    vpc = VPCS.find(state, call)
    body = call.body()
    if full:
        validate.string(body, "name")
    name = _name(state, body, vpc)
    description = validate.string(
        body, "description", "" if full else vpc.description, max_length=255
    )
    _make_default(state, vpc, validate.optional_bool(body, "default", vpc.default))
    vpc.name, vpc.description = name, description
    return VPCS.reply(state, vpc)


@ROUTES("PUT", "/v2/vpcs/{vpc_id}")
def replace_vpc(state: State, call: Call) -> Reply:
    return _update(state, call, full=True)


@ROUTES("PATCH", "/v2/vpcs/{vpc_id}")
def patch_vpc(state: State, call: Call) -> Reply:
    return _update(state, call, full=False)


def members(state: State, vpc: Vpc) -> list[tuple[str, str, float]]:
    """``(urn, name, created_at)`` of everything inside the VPC."""
    found = [
        (f"do:droplet:{d.id}", d.name, d.created_at)
        for d in state.droplets.values()
        if d.vpc_uuid == vpc.id
    ]
    found += [
        (f"do:dbaas:{d.id}", d.name, d.created_at)
        for d in state.databases.values()
        if d.private_network_uuid == vpc.id
    ]
    found += [
        (f"do:loadbalancer:{lb.id}", lb.name, lb.created_at)
        for lb in state.load_balancers.values()
        if lb.vpc_uuid == vpc.id
    ]
    return found


@ROUTES("GET", "/v2/vpcs/{vpc_id}/members")
def list_members(state: State, call: Call) -> Reply:
    vpc = VPCS.find(state, call)
    kind = call.query.get("resource_type")
    found = [m for m in members(state, vpc) if kind is None or m[0].startswith(f"do:{kind}:")]
    return Reply(200, paginate(call, "members", found, _member_json))


def _member_json(member: tuple[str, str, float]) -> JSON:
    urn, name, created_at = member
    return {"urn": urn, "name": name, "created_at": iso(created_at)}


def _destroy(state: State, vpc: Vpc) -> None:
    if vpc.default:
        raise ApiError.forbidden("A region's default VPC cannot be deleted.")
    if members(state, vpc):
        raise ApiError.forbidden("A VPC with members cannot be deleted.")
    del state.vpcs[vpc.id]


VPCS = Collection(
    "vpc", "vpcs", "vpc_id", lambda state: state.vpcs, str, vpc_json, destroy=_destroy
)
VPCS.serve(ROUTES)
