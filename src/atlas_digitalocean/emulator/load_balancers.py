"""Load balancers: ``/v2/load_balancers``.

A create answers 202 with status ``new``; the balancer turns ``active`` (and gets its IP)
after the load-balancer latency. An update is a PUT of the full representation: every
client-settable attribute left out goes back to its default, as DigitalOcean documents.
The droplets are chosen either by ``droplet_ids`` or by ``tag``, never both.
"""

from __future__ import annotations

from typing import Any

from atlas_digitalocean.emulator import offerings, validate
from atlas_digitalocean.emulator.collection import Collection
from atlas_digitalocean.emulator.errors import ApiError
from atlas_digitalocean.emulator.exchange import JSON, Call, Reply, iso
from atlas_digitalocean.emulator.records import LoadBalancer
from atlas_digitalocean.emulator.routing import Routes
from atlas_digitalocean.emulator.state import State
from atlas_digitalocean.emulator.validate import TAG_PATTERN

ENTRY_PROTOCOLS = ("http", "https", "http2", "http3", "tcp", "udp")
TARGET_PROTOCOLS = ("http", "https", "http2", "tcp", "udp")
_LEGACY_SIZES = {"lb-small": 1, "lb-medium": 3, "lb-large": 6}
_HEALTH_DEFAULTS: JSON = {
    "protocol": "http",
    "port": 80,
    "path": "/",
    "check_interval_seconds": 10,
    "response_timeout_seconds": 5,
    "unhealthy_threshold": 5,
    "healthy_threshold": 3,
}
# (attribute, default, allowed values or None for a boolean)
_CHOICES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("algorithm", "round_robin", ("round_robin", "least_connections")),
    ("network", "EXTERNAL", ("EXTERNAL", "INTERNAL")),
    ("network_stack", "IPV4", ("IPV4", "DUALSTACK")),
    ("type", "REGIONAL", ("REGIONAL", "REGIONAL_NETWORK", "GLOBAL")),
    ("tls_cipher_policy", "DEFAULT", ("DEFAULT", "STRONG")),
)
_FLAGS = (
    "redirect_http_to_https",
    "enable_proxy_protocol",
    "enable_backend_keepalive",
    "disable_lets_encrypt_dns_records",
)

ROUTES = Routes()


def load_balancer_json(state: State, lb: LoadBalancer) -> JSON:
    settings = lb.settings
    dualstack = settings["network_stack"] == "DUALSTACK" and lb.status == "active"
    # A documentation-range IPv6 derived from the IPv4, so it is stable across reads.
    return {
        "id": lb.id,
        "name": lb.name,
        "ip": lb.ip,
        "ipv6": f"2001:db8:ffff::{lb.ip.rsplit('.', 1)[-1]}" if dualstack else "",
        "status": lb.status,
        "created_at": iso(lb.created_at),
        **settings,
        "region": offerings.region_json(lb.region),
        "tag": lb.tag,
        "droplet_ids": _members(state, lb),
        "vpc_uuid": lb.vpc_uuid,
        "project_id": lb.project_id,
    }


def _members(state: State, lb: LoadBalancer) -> list[int]:
    if not lb.tag:
        return list(lb.droplet_ids)
    return [d.id for d in state.droplets.values() if lb.tag in d.tags and d.region == lb.region]


# -- reading a representation ---------------------------------------------------------------


def _rule(rule: JSON, where: str) -> JSON:
    entry = validate.choice(rule, "entry_protocol", ENTRY_PROTOCOLS, "", where=where)
    normalised = {
        "entry_protocol": entry,
        "entry_port": validate.integer(rule, "entry_port", where=where, minimum=1),
        "target_protocol": validate.choice(
            rule, "target_protocol", TARGET_PROTOCOLS, "", where=where
        ),
        "target_port": validate.integer(rule, "target_port", where=where, minimum=1),
        "certificate_id": validate.string(rule, "certificate_id", "", where=where),
        "tls_passthrough": validate.optional_bool(rule, "tls_passthrough", False, where=where),
    }
    if entry == "https" and not (normalised["certificate_id"] or normalised["tls_passthrough"]):
        raise ApiError.unprocessable(f"{where}certificate_id is required unless tls_passthrough")
    return normalised


def forwarding_rules(body: JSON) -> list[JSON]:
    rules = validate.object_list(body, "forwarding_rules")
    if not rules:
        raise ApiError.unprocessable("forwarding_rules must list at least one rule")
    return [_rule(rule, f"forwarding_rules[{index}].") for index, rule in enumerate(rules)]


def _health_check(body: JSON) -> JSON:
    given = validate.optional_object(body, "health_check")
    where = "health_check."
    checked: JSON = {}
    for key, default in _HEALTH_DEFAULTS.items():
        if key == "protocol":
            checked[key] = validate.choice(
                given, key, ("http", "https", "tcp"), default, where=where
            )
        elif key == "path":
            checked[key] = validate.string(given, key, default, where=where)
        else:
            checked[key] = validate.integer(given, key, default, where=where, minimum=1)
    return checked


def _sticky_sessions(body: JSON) -> JSON:
    given = validate.optional_object(body, "sticky_sessions")
    where = "sticky_sessions."
    kind = validate.choice(given, "type", ("cookies", "none"), "none", where=where)
    if kind == "none":
        return {"type": "none"}
    return {
        "type": kind,
        "cookie_name": validate.string(given, "cookie_name", where=where),
        "cookie_ttl_seconds": validate.integer(given, "cookie_ttl_seconds", where=where, minimum=1),
    }


def _settings(body: JSON) -> JSON:
    """Every client-settable attribute, defaults filled in for whatever ``body`` leaves out."""
    settings: dict[str, Any] = {
        "forwarding_rules": forwarding_rules(body),
        "health_check": _health_check(body),
        "sticky_sessions": _sticky_sessions(body),
        "http_idle_timeout_seconds": validate.integer(
            body, "http_idle_timeout_seconds", 60, minimum=30, maximum=600
        ),
        "firewall": {
            key: validate.str_list(validate.optional_object(body, "firewall"), key)
            for key in ("deny", "allow")
        },
        **{key: validate.optional_bool(body, key, False) for key in _FLAGS},
        **{key: validate.choice(body, key, allowed, default) for key, default, allowed in _CHOICES},
    }
    legacy = validate.string(body, "size", "")
    if legacy and legacy not in _LEGACY_SIZES:
        raise ApiError.unprocessable("size must be one of lb-small, lb-medium, lb-large")
    default_units = _LEGACY_SIZES.get(legacy, 1)
    settings["size_unit"] = validate.integer(
        body, "size_unit", default_units, minimum=1, maximum=100
    )
    if legacy:
        settings["size"] = legacy
    return settings


def _targets(state: State, body: JSON, region: str) -> tuple[list[int], str]:
    """``(droplet_ids, tag)``: the balancer's droplets, chosen one way or the other."""
    droplet_ids = validate.int_list(body, "droplet_ids")
    tag = validate.string(body, "tag", "", pattern=TAG_PATTERN)
    if droplet_ids and tag:
        raise ApiError.unprocessable("droplet_ids and tag are mutually exclusive")
    for droplet_id in droplet_ids:
        droplet = state.droplets.get(droplet_id)
        if droplet is None or droplet.region != region:
            raise ApiError.unprocessable(f"droplet {droplet_id} is not a droplet in {region}")
    return droplet_ids, tag


# -- endpoints ------------------------------------------------------------------------------


@ROUTES("POST", "/v2/load_balancers")
def create_load_balancer(state: State, call: Call) -> Reply:
    body = call.body()
    region = offerings.open_region(body)
    settings = _settings(body)
    droplet_ids, tag = _targets(state, body, region)
    lb_id = state.new_uuid()
    lb = LoadBalancer(
        id=lb_id,
        name=validate.string(body, "name", f"{region}-load-balancer-{lb_id[:4]}"),
        region=region,
        created_at=state.now(),
        vpc_uuid=state.chosen_vpc("vpc_uuid", validate.string(body, "vpc_uuid", ""), region).id,
        project_id=validate.string(body, "project_id", state.project_uuid),
        settings=settings,
        droplet_ids=droplet_ids,
        tag=tag,
    )

    def activate(_due: float) -> None:
        lb.status, lb.ip = "active", state.public_ip()

    state.after(state.config.latencies.load_balancer, activate)
    return LOAD_BALANCERS.made(state, call, lb, 202)


LOAD_BALANCERS = Collection(
    "load_balancer", "load_balancers", "lb_id", lambda state: state.load_balancers, str,
    load_balancer_json,
)  # fmt: skip
LOAD_BALANCERS.serve(ROUTES)


@ROUTES("PUT", "/v2/load_balancers/{lb_id}")
def update_load_balancer(state: State, call: Call) -> Reply:
    lb = LOAD_BALANCERS.find(state, call)
    body = call.body()
    # Region and VPC cannot change; the name has no default to go back to, so it stays.
    for key, current in (("region", lb.region), ("vpc_uuid", lb.vpc_uuid)):
        if validate.string(body, key, current) != current:
            raise ApiError.unprocessable(f"{key} of a load balancer cannot be changed")
    settings = _settings(body)
    lb.droplet_ids, lb.tag = _targets(state, body, lb.region)
    lb.settings = settings
    lb.name = validate.string(body, "name", lb.name)
    lb.project_id = validate.string(body, "project_id", lb.project_id)
    return LOAD_BALANCERS.reply(state, lb)


@ROUTES("POST", "/v2/load_balancers/{lb_id}/droplets")
def add_droplets(state: State, call: Call) -> Reply:
    lb = LOAD_BALANCERS.find(state, call)
    if lb.tag:
        raise ApiError.unprocessable("this load balancer selects droplets by tag")
    wanted = validate.int_list(call.body(), "droplet_ids")
    droplet_ids, _ = _targets(state, {"droplet_ids": wanted}, lb.region)
    lb.droplet_ids.extend(d for d in droplet_ids if d not in lb.droplet_ids)
    return Reply(204)


@ROUTES("DELETE", "/v2/load_balancers/{lb_id}/droplets")
def remove_droplets(state: State, call: Call) -> Reply:
    lb = LOAD_BALANCERS.find(state, call)
    gone = set(validate.int_list(call.body(), "droplet_ids"))
    lb.droplet_ids = [d for d in lb.droplet_ids if d not in gone]
    return Reply(204)


@ROUTES("POST", "/v2/load_balancers/{lb_id}/forwarding_rules")
def add_rules(state: State, call: Call) -> Reply:
    lb = LOAD_BALANCERS.find(state, call)
    lb.settings["forwarding_rules"].extend(forwarding_rules(call.body()))
    return Reply(204)


@ROUTES("DELETE", "/v2/load_balancers/{lb_id}/forwarding_rules")
def remove_rules(state: State, call: Call) -> Reply:
    lb = LOAD_BALANCERS.find(state, call)
    gone = forwarding_rules(call.body())
    kept = [rule for rule in lb.settings["forwarding_rules"] if rule not in gone]
    if not kept:
        raise ApiError.unprocessable("a load balancer needs at least one forwarding rule")
    lb.settings["forwarding_rules"] = kept
    return Reply(204)
