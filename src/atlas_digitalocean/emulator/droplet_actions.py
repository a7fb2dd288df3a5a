"""Droplet actions: ``/v2/droplets/{droplet_id}/actions[/{action_id}]``.

An action answers 201 at once, stays ``in-progress`` for the droplet-action latency and only
then changes the droplet. A droplet runs one action at a time: asking for another while one
is pending (its create included) is a 422, as on DigitalOcean.
"""

from __future__ import annotations

from collections.abc import Callable

from atlas_digitalocean.emulator import catalog, validate
from atlas_digitalocean.emulator.droplets import NAME_PATTERN
from atlas_digitalocean.emulator.errors import ApiError
from atlas_digitalocean.emulator.records import Droplet
from atlas_digitalocean.emulator.routing import Route
from atlas_digitalocean.emulator.state import Effect, State
from atlas_digitalocean.emulator.wire import JSON, Call, Reply, paginate

# Every type the API defines, so an unknown type and an unemulated one get different answers.
SPEC_TYPES = frozenset(
    {
        "enable_backups", "disable_backups", "change_backup_policy", "reboot", "power_cycle",
        "shutdown", "power_off", "power_on", "restore", "password_reset", "resize", "rebuild",
        "rename", "change_kernel", "enable_ipv6", "snapshot",
    }
)  # fmt: skip

Plan = Callable[[State, Droplet, JSON], Effect]


def _set_status(status: str) -> Plan:
    def plan(_state: State, droplet: Droplet, _body: JSON) -> Effect:
        def effect(_due: float) -> None:
            droplet.status = status

        return effect

    return plan


def _set_backups(enabled: bool) -> Plan:
    def plan(_state: State, droplet: Droplet, _body: JSON) -> Effect:
        def effect(_due: float) -> None:
            droplet.backups = enabled

        return effect

    return plan


def _resize(_state: State, droplet: Droplet, body: JSON) -> Effect:
    slug = validate.required_str(body, "size")
    size = catalog.SIZES.get(slug)
    if size is None or droplet.region not in size.regions:
        raise ApiError.unprocessable(f"size {slug!r} is not available in {droplet.region}")
    if droplet.status != "off":
        raise ApiError.unprocessable("Droplet must be powered off before it can be resized.")
    grow_disk = validate.optional_bool(body, "disk", False)
    if size.disk < droplet.disk:
        raise ApiError.unprocessable(
            f"size {slug} has a {size.disk} GB disk, smaller than the droplet's {droplet.disk} GB"
        )

    def effect(_due: float) -> None:
        droplet.size = slug
        if grow_disk:
            droplet.disk = size.disk

    return effect


def _rename(_state: State, droplet: Droplet, body: JSON) -> Effect:
    name = validate.required_str(body, "name", pattern=NAME_PATTERN, max_length=255)

    def effect(_due: float) -> None:
        droplet.name = name

    return effect


def _enable_ipv6(_state: State, droplet: Droplet, _body: JSON) -> Effect:
    def effect(_due: float) -> None:
        if droplet.ipv6_ip is None:
            droplet.ipv6_ip = f"2001:db8:{droplet.id % 0xFFFF:x}::2"

    return effect


PLANS: dict[str, Plan] = {
    "power_off": _set_status("off"),
    "shutdown": _set_status("off"),
    "power_on": _set_status("active"),
    "reboot": _set_status("active"),
    "power_cycle": _set_status("active"),
    "enable_backups": _set_backups(True),
    "disable_backups": _set_backups(False),
    "resize": _resize,
    "rename": _rename,
    "enable_ipv6": _enable_ipv6,
}


def post_action(state: State, call: Call) -> Reply:
    droplet = state.droplet(call.int_param("droplet_id"))
    body = call.body()
    action_type = validate.required_str(body, "type")
    if action_type not in SPEC_TYPES:
        raise ApiError.unprocessable(f"type {action_type!r} is not a droplet action")
    plan = PLANS.get(action_type)
    if plan is None:
        raise ApiError.unprocessable(f"the emulator does not implement the {action_type} action")
    if droplet.pending_action is not None:
        raise ApiError.unprocessable("Droplet already has a pending event.")
    effect = plan(state, droplet, body)

    def complete(due: float) -> None:
        droplet.pending_action = None
        effect(due)

    latency = state.config.latencies.droplet_action
    action = state.start_action(
        action_type, "droplet", droplet.id, droplet.region, latency=latency, effect=complete
    )
    droplet.pending_action = action.id
    return Reply(201, {"action": catalog.action_json(action)})


def list_actions(state: State, call: Call) -> Reply:
    droplet = state.droplet(call.int_param("droplet_id"))
    mine = [
        action
        for action in state.actions.values()
        if action.resource_type == "droplet" and action.resource_id == droplet.id
    ]
    return Reply(200, paginate(call, "actions", mine, catalog.action_json))


def get_action(state: State, call: Call) -> Reply:
    droplet = state.droplet(call.int_param("droplet_id"))
    action = state.action(call.int_param("action_id"))
    if action.resource_type != "droplet" or action.resource_id != droplet.id:
        raise ApiError.not_found()
    return Reply(200, {"action": catalog.action_json(action)})


ROUTES = (
    Route("POST", "/v2/droplets/{droplet_id}/actions", post_action),
    Route("GET", "/v2/droplets/{droplet_id}/actions", list_actions),
    Route("GET", "/v2/droplets/{droplet_id}/actions/{action_id}", get_action),
)
