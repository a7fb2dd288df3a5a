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
from atlas_digitalocean.emulator.errors import ApiError
from atlas_digitalocean.emulator.records import Firewall
from atlas_digitalocean.emulator.routing import Route
from atlas_digitalocean.emulator.state import State
from atlas_digitalocean.emulator.tags import check_tag_names
from atlas_digitalocean.emulator.wire import JSON, Call, Reply, iso, paginate

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


@contextmanager
def _as_bad_request() -> Iterator[None]:
    try:
        yield
    except ApiError as exc:
        if exc.status != 422:
            raise
        raise ApiError.bad_request(exc.message) from exc


def firewall_json(firewall: Firewall) -> JSON:
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
    ports = validate.optional_str(rule, "ports", "", where=where)
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


def _read_tags(body: JSON) -> list[str]:
    return list(dict.fromkeys(check_tag_names(validate.str_list(body, "tags"))))


def _check_limits(droplet_ids: list[int], tags: list[str]) -> None:
    if len(droplet_ids) > MAX_DROPLETS:
        raise ApiError.bad_request(f"a firewall can have at most {MAX_DROPLETS} droplets")
    if len(tags) > MAX_TAGS:
        raise ApiError.bad_request(f"a firewall can have at most {MAX_TAGS} tags")


# -- pending changes ------------------------------------------------------------------------


def _covered(state: State, firewall: Firewall) -> set[int]:
    tagged = {d.id for d in state.droplets.values() if set(d.tags) & set(firewall.tags)}
    return set(firewall.droplet_ids) | tagged


def _changing(state: State, firewall: Firewall, change: Callable[[], None]) -> None:
    """Apply ``change`` and put the firewall in ``waiting`` until the latency passes."""
    before = _covered(state, firewall)
    change()
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


def create_firewall(state: State, call: Call) -> Reply:
    body = call.body()
    with _as_bad_request():
        name = validate.required_str(body, "name", pattern=NAME_PATTERN, max_length=255)
        inbound, outbound = _read_rules(body)
        droplet_ids, tags = _read_droplets(state, body), _read_tags(body)
    _check_limits(droplet_ids, tags)
    firewall = Firewall(state.new_uuid(), name, state.now(), inbound, outbound, [], [])

    def assign() -> None:
        firewall.droplet_ids, firewall.tags = droplet_ids, tags

    _changing(state, firewall, assign)
    state.ensure_tags(tags)
    state.firewalls[firewall.id] = firewall
    call.created.append(f"/v2/firewalls/{firewall.id}")
    return Reply(202, {"firewall": firewall_json(firewall)})


def list_firewalls(state: State, call: Call) -> Reply:
    return Reply(200, paginate(call, "firewalls", list(state.firewalls.values()), firewall_json))


def get_firewall(state: State, call: Call) -> Reply:
    return Reply(200, {"firewall": firewall_json(state.firewall(call.params["firewall_id"]))})


def update_firewall(state: State, call: Call) -> Reply:
    firewall = state.firewall(call.params["firewall_id"])
    body = call.body()
    with _as_bad_request():
        name = validate.required_str(body, "name", pattern=NAME_PATTERN, max_length=255)
        inbound, outbound = _read_rules(body)
        droplet_ids, tags = _read_droplets(state, body), _read_tags(body)
    _check_limits(droplet_ids, tags)

    def replace() -> None:
        firewall.name, firewall.inbound_rules, firewall.outbound_rules = name, inbound, outbound
        firewall.droplet_ids, firewall.tags = droplet_ids, tags

    _changing(state, firewall, replace)
    state.ensure_tags(tags)
    return Reply(200, {"firewall": firewall_json(firewall)})


def delete_firewall(state: State, call: Call) -> Reply:
    del state.firewalls[state.firewall(call.params["firewall_id"]).id]
    return Reply(204)


def _merged(current: list[T], items: list[T], *, adding: bool) -> list[T]:
    kept = [item for item in current if item not in items]
    return kept + items if adding else kept


def _edit_droplets(adding: bool) -> Callable[[State, Call], Reply]:
    def handler(state: State, call: Call) -> Reply:
        firewall = state.firewall(call.params["firewall_id"])
        with _as_bad_request():
            given = _read_droplets(state, call.body())
            if not given:
                raise ApiError.unprocessable("droplet_ids must list at least one droplet")
        droplet_ids = _merged(firewall.droplet_ids, given, adding=adding)
        _check_limits(droplet_ids, firewall.tags)
        _changing(state, firewall, lambda: setattr(firewall, "droplet_ids", droplet_ids))
        return Reply(204)

    return handler


def _edit_tags(adding: bool) -> Callable[[State, Call], Reply]:
    def handler(state: State, call: Call) -> Reply:
        firewall = state.firewall(call.params["firewall_id"])
        with _as_bad_request():
            given = _read_tags(call.body())
            if not given:
                raise ApiError.unprocessable("tags must list at least one tag")
        tags = _merged(firewall.tags, given, adding=adding)
        _check_limits(firewall.droplet_ids, tags)
        state.ensure_tags(given if adding else [])
        _changing(state, firewall, lambda: setattr(firewall, "tags", tags))
        return Reply(204)

    return handler


def _edit_rules(adding: bool) -> Callable[[State, Call], Reply]:
    def handler(state: State, call: Call) -> Reply:
        firewall = state.firewall(call.params["firewall_id"])
        with _as_bad_request():
            inbound, outbound = _read_rules(call.body())

        def edit() -> None:
            firewall.inbound_rules = _merged(firewall.inbound_rules, inbound, adding=adding)
            firewall.outbound_rules = _merged(firewall.outbound_rules, outbound, adding=adding)

        _changing(state, firewall, edit)
        return Reply(204)

    return handler


ROUTES = (
    Route("POST", "/v2/firewalls", create_firewall),
    Route("GET", "/v2/firewalls", list_firewalls),
    Route("GET", "/v2/firewalls/{firewall_id}", get_firewall),
    Route("PUT", "/v2/firewalls/{firewall_id}", update_firewall),
    Route("DELETE", "/v2/firewalls/{firewall_id}", delete_firewall),
    Route("POST", "/v2/firewalls/{firewall_id}/droplets", _edit_droplets(True)),
    Route("DELETE", "/v2/firewalls/{firewall_id}/droplets", _edit_droplets(False)),
    Route("POST", "/v2/firewalls/{firewall_id}/tags", _edit_tags(True)),
    Route("DELETE", "/v2/firewalls/{firewall_id}/tags", _edit_tags(False)),
    Route("POST", "/v2/firewalls/{firewall_id}/rules", _edit_rules(True)),
    Route("DELETE", "/v2/firewalls/{firewall_id}/rules", _edit_rules(False)),
)
