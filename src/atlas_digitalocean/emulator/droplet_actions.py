"""Droplet actions: ``/v2/droplets/{droplet_id}/actions[/{action_id}]``.

An action answers 201 at once, stays ``in-progress`` for the droplet-action latency and only
then changes the droplet. A droplet runs one action at a time: asking for another while one
is pending (its create included) is a 422, as on DigitalOcean.
"""

from __future__ import annotations

from collections.abc import Callable

from atlas_digitalocean.emulator import billing, offerings, validate
from atlas_digitalocean.emulator.actions import ACTIONS, serve_actions_of
from atlas_digitalocean.emulator.droplets import DROPLETS, NAME_PATTERN
from atlas_digitalocean.emulator.errors import ApiError
from atlas_digitalocean.emulator.exchange import JSON, Call, Reply
from atlas_digitalocean.emulator.records import Action, Droplet
from atlas_digitalocean.emulator.routing import Routes
from atlas_digitalocean.emulator.state import Effect, State, assign

# Every type the API defines, so an unknown type and an unemulated one get different answers.
SPEC_TYPES = frozenset(
    {
        "enable_backups", "disable_backups", "change_backup_policy", "reboot", "power_cycle",
        "shutdown", "power_off", "power_on", "restore", "password_reset", "resize", "rebuild",
        "rename", "change_kernel", "enable_ipv6", "snapshot",
    }
)  # fmt: skip

Plan = Callable[[State, Droplet, JSON], Effect]
ROUTES = Routes()


def _set(**values: object) -> Plan:
    """A plan that, once the action completes, sets the droplet's attributes to ``values``."""
    return lambda _state, droplet, _body: assign(droplet, **values)


def _resize(state: State, droplet: Droplet, body: JSON) -> Effect:
    slug = validate.string(body, "size")
    size = offerings.SIZES.get(slug)
    if size is None or droplet.region not in size.regions:
        raise ApiError.unprocessable(f"size {slug!r} is not available in {droplet.region}")
    if droplet.status != "off":
        raise ApiError.unprocessable("Droplet must be powered off before it can be resized.")
    grow_disk = validate.optional_bool(body, "disk", False)
    if size.disk < droplet.disk:
        raise ApiError.unprocessable(
            f"size {slug} has a {size.disk} GB disk, smaller than the droplet's {droplet.disk} GB"
        )
    values: dict[str, object] = {"size": slug}
    if grow_disk:
        values["disk"] = size.disk
    change = assign(droplet, **values)

    def effect(due: float) -> None:
        change(due)
        # Billed at the new size from when the resize completes.
        billing.closed(state, droplet.id, due)
        billing.opened(state, droplet.id, droplet.name, slug, due)

    return effect


def _rename(_state: State, droplet: Droplet, body: JSON) -> Effect:
    return assign(droplet, name=validate.string(body, "name", pattern=NAME_PATTERN, max_length=255))


def _enable_ipv6(_state: State, droplet: Droplet, _body: JSON) -> Effect:
    def effect(_due: float) -> None:
        if droplet.ipv6_ip is None:
            droplet.ipv6_ip = f"2001:db8:{droplet.id % 0xFFFF:x}::2"

    return effect


PLANS: dict[str, Plan] = {
    "power_off": _set(status="off"),
    "shutdown": _set(status="off"),
    "power_on": _set(status="active"),
    "reboot": _set(status="active"),
    "power_cycle": _set(status="active"),
    "enable_backups": _set(backups=True),
    "disable_backups": _set(backups=False),
    "resize": _resize,
    "rename": _rename,
    "enable_ipv6": _enable_ipv6,
}


@ROUTES("POST", "/v2/droplets/{droplet_id}/actions")
def post_action(state: State, call: Call) -> Reply:
    droplet = DROPLETS.find(state, call)
    body = call.body()
    action_type = validate.string(body, "type")
    if action_type not in SPEC_TYPES:
        raise ApiError.unprocessable(f"type {action_type!r} is not a droplet action")
    plan = PLANS.get(action_type)
    if plan is None:
        raise ApiError.unprocessable(f"the emulator does not implement the {action_type} action")
    if droplet.pending_action is not None:
        raise ApiError.unprocessable("Droplet already has a pending event.")
    effect = plan(state, droplet, body)
    latency = state.config.latencies.droplet_action
    action = state.start_action(
        action_type,
        "droplet",
        droplet.id,
        droplet.region,
        latency=latency,
        effect=effect,
        busy=droplet,
    )
    return ACTIONS.reply(state, action, 201)


def _mine(state: State, droplet: Droplet) -> list[Action]:
    return [
        action
        for action in state.actions.values()
        if action.resource_type == "droplet" and action.resource_id == droplet.id
    ]


serve_actions_of(ROUTES, DROPLETS, _mine)
