"""Cloud firewalls: ``/v2/firewalls`` and their droplets, tags and rules.

Every change answers at once and leaves the firewall ``waiting`` with one pending change per
affected droplet; after the firewall latency it is ``succeeded`` with no pending changes.
An update is a PUT of the full representation: rules, droplets and tags left out are gone.
The spec lists 400, not 422, for bad firewall bodies, so this module answers 400.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from atlas_digitalocean.emulator import validate
from atlas_digitalocean.emulator.collection import Collection
from atlas_digitalocean.emulator.errors import ApiError
from atlas_digitalocean.emulator.exchange import JSON, Call, Reply, iso
from atlas_digitalocean.emulator.records import Firewall
from atlas_digitalocean.emulator.routing import Handler, Routes
from atlas_digitalocean.emulator.state import State

T = TypeVar("T")

NAME_PATTERN = r"[a-zA-Z0-9][a-zA-Z0-9\.-]+"
MAX_DROPLETS = 10
MAX_TAGS = 5
MAX_RULES = 50
_PORTS = re.compile(r"(\d+)(?:-(\d+))?")
_PEER_LISTS: dict[str, Callable[..., list[Any]]] = {
    "addresses": validate.str_list,
    "droplet_ids": validate.int_list,
    "load_balancer_uids": validate.str_list,
    "kubernetes_ids": validate.str_list,
    "tags": validate.str_list,
}
ROUTES = Routes()


@contextmanager
def _as_bad_request() -> Iterator[None]:
    try:
        yield
    except ApiError as exc:
        if exc.status != 422:
            raise
        raise ApiError.bad_request(exc.message) from exc


def firewall_json(_state: State, firewall: Firewall) -> JSON:
    return {
        "id": firewall.id,
        "name": firewall.name,
        "status": firewall.status,
        "created_at": iso(firewall.created_at),
        "pending_changes": [dict(change) for change in firewall.pending_changes],
        "inbound_rules": [dict(rule) for rule in firewall.inbound_rules],
        "outbound_rules": [dict(rule) for rule in firewall.outbound_rules],
        "droplet_ids": list(firewall.droplet_ids),
        "tags": list(firewall.tags),
    }


# -- reading rules --------------------------------------------------------------------------


def _ports(rule: JSON, protocol: str, where: str) -> str:
    ports = validate.string(rule, "ports", "", where=where)
    if protocol == "icmp":
        return ports or "0"
    if ports == "all":
        return "0"
    found = _PORTS.fullmatch(ports)
    low, high = (int(found.group(1)), int(found.group(2) or found.group(1))) if found else (1, 0)
    if not (found and 0 <= low <= high <= 65535):
        raise ApiError.unprocessable(f"{where}ports must be a port, a range like 8000-9000, or 0")
    return ports


def _peers(rule: JSON, key: str, where: str) -> JSON:
    given = validate.optional_object(rule, key, where=where)
    peers = {
        name: reader(given, name, where=f"{where}{key}.")
        for name, reader in _PEER_LISTS.items()
        if given.get(name) is not None
    }
    if not any(peers.values()):
        raise ApiError.unprocessable(f"{where}{key} must name at least one address or resource")
    return peers


def _rules(body: JSON, key: str, peer_key: str) -> list[JSON]:
    rules = []
    for index, rule in enumerate(validate.object_list(body, key)):
        where = f"{key}[{index}]."
        protocol = validate.choice(rule, "protocol", ("tcp", "udp", "icmp"), "", where=where)
        rules.append(
            {
                "protocol": protocol,
                "ports": _ports(rule, protocol, where),
                peer_key: _peers(rule, peer_key, where),
            }
        )
    return rules


def _read_rules(body: JSON) -> tuple[list[JSON], list[JSON]]:
    inbound = _rules(body, "inbound_rules", "sources")
    outbound = _rules(body, "outbound_rules", "destinations")
    if not inbound and not outbound:
        raise ApiError.unprocessable("a firewall needs inbound_rules or outbound_rules")
    if len(inbound) + len(outbound) > MAX_RULES:
        raise ApiError.unprocessable(f"a firewall can have at most {MAX_RULES} rules")
    return inbound, outbound


def _read_droplets(state: State, body: JSON) -> list[int]:
    droplet_ids = validate.int_list(body, "droplet_ids")
    for droplet_id in droplet_ids:
        if droplet_id not in state.droplets:
            raise ApiError.unprocessable(f"droplet_ids: droplet {droplet_id} does not exist")
    return list(dict.fromkeys(droplet_ids))


def _read_tags(_state: State, body: JSON) -> list[str]:
    return list(dict.fromkeys(validate.tag_names(body)))


def _check_limits(droplet_ids: list[int], tags: list[str]) -> None:
    if len(droplet_ids) > MAX_DROPLETS:
        raise ApiError.bad_request(f"a firewall can have at most {MAX_DROPLETS} droplets")
    if len(tags) > MAX_TAGS:
        raise ApiError.bad_request(f"a firewall can have at most {MAX_TAGS} tags")


# -- pending changes ------------------------------------------------------------------------


def _covered(state: State, firewall: Firewall) -> set[int]:
    tagged = {d.id for d in state.droplets.values() if set(d.tags) & set(firewall.tags)}
    return set(firewall.droplet_ids) | tagged


def _changing(state: State, firewall: Firewall, **values: Any) -> None:
    """Set the firewall's attributes to ``values`` and put it in ``waiting`` until the
    latency passes, with a pending change for every droplet it starts or stops covering."""
    before = _covered(state, firewall)
    for name, value in values.items():
        setattr(firewall, name, value)
    after = _covered(state, firewall)
    firewall.pending_changes = [
        {"droplet_id": d, "removing": d not in after, "status": "waiting"}
        for d in sorted(before | after)
    ]
    firewall.status = "waiting"
    firewall.generation += 1
    generation = firewall.generation

    def settle(_due: float) -> None:
        if firewall.generation == generation:
            firewall.status, firewall.pending_changes = "succeeded", []

    state.after(state.config.latencies.firewall, settle)


# -- endpoints ------------------------------------------------------------------------------


def _representation(state: State, body: JSON) -> dict[str, Any]:
    """The attributes a create or an update (a PUT of the whole firewall) sets."""
    with _as_bad_request():
        name = validate.string(body, "name", pattern=NAME_PATTERN, max_length=255)
        inbound, outbound = _read_rules(body)
        droplet_ids, tags = _read_droplets(state, body), _read_tags(state, body)
    _check_limits(droplet_ids, tags)
    return {
        "name": name,
        "inbound_rules": inbound,
        "outbound_rules": outbound,
        "droplet_ids": droplet_ids,
        "tags": tags,
    }


@ROUTES("POST", "/v2/firewalls")
def create_firewall(state: State, call: Call) -> Reply:
    values = _representation(state, call.body())
    firewall = Firewall(state.new_uuid(), values["name"], state.now(), [], [], [], [])
    _changing(state, firewall, **values)
    state.ensure_tags(values["tags"])
    return FIREWALLS.made(state, call, firewall, 202)


FIREWALLS = Collection(
    "firewall", "firewalls", "firewall_id", lambda state: state.firewalls, str, firewall_json
)
FIREWALLS.serve(ROUTES)


@ROUTES("PUT", "/v2/firewalls/{firewall_id}")
def update_firewall(state: State, call: Call) -> Reply:
    firewall = FIREWALLS.find(state, call)
    values = _representation(state, call.body())
    _changing(state, firewall, **values)
    state.ensure_tags(values["tags"])
    return FIREWALLS.reply(state, firewall)


def _merged(current: list[T], items: list[T], *, adding: bool) -> list[T]:
    kept = [item for item in current if item not in items]
    return kept + items if adding else kept


# The lists of what a firewall protects: their readers, and what one entry is called.
_TARGETS: dict[str, tuple[Callable[[State, JSON], list[Any]], str]] = {
    "droplet_ids": (_read_droplets, "droplet"),
    "tags": (_read_tags, "tag"),
}


def _edit_targets(field: str, adding: bool) -> Handler:
    """``POST`` (adding) or ``DELETE`` of droplets or tags: the firewall keeps the others."""
    read, noun = _TARGETS[field]

    def handler(state: State, call: Call) -> Reply:
        firewall = FIREWALLS.find(state, call)
        with _as_bad_request():
            given = read(state, call.body())
            if not given:
                raise ApiError.unprocessable(f"{field} must list at least one {noun}")
        targets: dict[str, list[Any]] = {"droplet_ids": firewall.droplet_ids, "tags": firewall.tags}
        targets[field] = _merged(targets[field], given, adding=adding)
        _check_limits(targets["droplet_ids"], targets["tags"])
        if adding and field == "tags":
            state.ensure_tags(given)
        _changing(state, firewall, **{field: targets[field]})
        return Reply(204)

    return handler


def _edit_rules(adding: bool) -> Handler:
    def handler(state: State, call: Call) -> Reply:
        firewall = FIREWALLS.find(state, call)
        with _as_bad_request():
            inbound, outbound = _read_rules(call.body())
        _changing(
            state,
            firewall,
            inbound_rules=_merged(firewall.inbound_rules, inbound, adding=adding),
            outbound_rules=_merged(firewall.outbound_rules, outbound, adding=adding),
        )
        return Reply(204)

    return handler


# POST adds to what the firewall has, DELETE takes away.
ROUTES.add("POST", "/v2/firewalls/{firewall_id}/droplets", _edit_targets("droplet_ids", True))
ROUTES.add("DELETE", "/v2/firewalls/{firewall_id}/droplets", _edit_targets("droplet_ids", False))
ROUTES.add("POST", "/v2/firewalls/{firewall_id}/tags", _edit_targets("tags", True))
ROUTES.add("DELETE", "/v2/firewalls/{firewall_id}/tags", _edit_targets("tags", False))
ROUTES.add("POST", "/v2/firewalls/{firewall_id}/rules", _edit_rules(True))
ROUTES.add("DELETE", "/v2/firewalls/{firewall_id}/rules", _edit_rules(False))
