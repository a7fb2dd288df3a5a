"""Actions: ``/v2/actions``, and the per-object action lists of droplets and volumes.

An action is how DigitalOcean reports asynchronous work (a droplet booting, a volume being
attached): ``in-progress`` until its latency passes, then ``completed``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from atlas_digitalocean.emulator.collection import Collection
from atlas_digitalocean.emulator.errors import ApiError
from atlas_digitalocean.emulator.exchange import JSON, Call, Reply, iso, numeric_id
from atlas_digitalocean.emulator.offerings import region_json
from atlas_digitalocean.emulator.records import Action
from atlas_digitalocean.emulator.routing import Routes
from atlas_digitalocean.emulator.state import R, State


def action_json(_state: State, action: Action) -> JSON:
    return {
        "id": action.id,
        "status": action.status,
        "type": action.type,
        "started_at": iso(action.started_at),
        "completed_at": None if action.completed_at is None else iso(action.completed_at),
        "resource_id": action.resource_id,
        "resource_type": action.resource_type,
        "region": region_json(action.region),
        "region_slug": action.region,
    }


ACTIONS = Collection(
    "action", "actions", "action_id", lambda state: state.actions, numeric_id, action_json
)
ROUTES = Routes()
ACTIONS.serve(ROUTES, delete=False)


def serve_actions_of(
    routes: Routes, owner: Collection[Any, R], mine: Callable[[State, R], list[Action]]
) -> None:
    """Register the list and the read of one object's actions (``.../{id}/actions`` and
    ``.../{id}/actions/{action_id}``); ``mine`` says which actions are the object's."""
    template = f"/v2/{owner.plural}/{{{owner.param}}}/actions"

    def list_actions(state: State, call: Call) -> Reply:
        return ACTIONS.page(state, call, mine(state, owner.find(state, call)))

    def get_action(state: State, call: Call) -> Reply:
        of_owner = mine(state, owner.find(state, call))
        action = ACTIONS.find(state, call)
        if action not in of_owner:
            raise ApiError.not_found()
        return ACTIONS.reply(state, action)

    routes.add("GET", template, list_actions)
    routes.add("GET", f"{template}/{{action_id}}", get_action)
