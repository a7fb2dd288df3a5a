"""Block storage volumes: ``/v2/volumes`` and their actions.

Creates are synchronous (201). Attach, detach and resize are actions that answer 202 at once
and change the volume (and the droplet's ``volume_ids``) only when they complete.
"""

from __future__ import annotations

from atlas_digitalocean.emulator import catalog, validate
from atlas_digitalocean.emulator.errors import ApiError
from atlas_digitalocean.emulator.records import Droplet, Volume
from atlas_digitalocean.emulator.routing import Route
from atlas_digitalocean.emulator.state import Effect, State
from atlas_digitalocean.emulator.tags import check_tag_names
from atlas_digitalocean.emulator.wire import JSON, Call, Reply, iso, paginate

NAME_PATTERN = r"[a-z]([-a-z0-9]*[a-z0-9])?"
MAX_GIGABYTES = 16_384
MAX_VOLUMES_PER_DROPLET = 15
_LABEL_LIMITS = {"": 16, "ext4": 16, "xfs": 12}


def volume_json(volume: Volume) -> JSON:
    return {
        "id": volume.id,
        "name": volume.name,
        "description": volume.description,
        "size_gigabytes": volume.size_gigabytes,
        "created_at": iso(volume.created_at),
        "droplet_ids": list(volume.droplet_ids),
        "region": catalog.region_json(volume.region),
        "filesystem_type": volume.filesystem_type,
        "filesystem_label": volume.filesystem_label,
        "tags": list(volume.tags),
    }


def _open_region(body: JSON, key: str = "region") -> str:
    region = validate.required_str(body, key)
    if not catalog.is_open_region(region):
        raise ApiError.unprocessable(f"{key} {region!r} is not an available region")
    return region


def create_volume(state: State, call: Call) -> Reply:
    body = call.body()
    name = validate.required_str(body, "name", pattern=NAME_PATTERN, max_length=64)
    size = validate.required_int(body, "size_gigabytes", minimum=1, maximum=MAX_GIGABYTES)
    region = _open_region(body)
    if validate.optional_str(body, "snapshot_id", ""):
        raise ApiError.not_found("snapshot not found: the emulator has no volume snapshots")
    fs_type = validate.choice(body, "filesystem_type", ("", "ext4", "xfs"), "")
    label = validate.optional_str(body, "filesystem_label", "", max_length=_LABEL_LIMITS[fs_type])
    tags = check_tag_names(validate.str_list(body, "tags"))
    if any(v.name == name and v.region == region for v in state.volumes.values()):
        raise ApiError.conflict(f"a volume named {name} already exists in {region}")
    state.ensure_tags(tags)
    volume = Volume(
        id=state.new_uuid(),
        name=name,
        region=region,
        size_gigabytes=size,
        description=validate.optional_str(body, "description", ""),
        created_at=state.now(),
        filesystem_type=fs_type,
        filesystem_label=label,
        tags=tags,
    )
    state.volumes[volume.id] = volume
    call.created.append(f"/v2/volumes/{volume.id}")
    return Reply(201, {"volume": volume_json(volume)})


def list_volumes(state: State, call: Call) -> Reply:
    name, region = call.query.get("name"), call.query.get("region")
    found = [
        volume
        for volume in state.volumes.values()
        if (name is None or volume.name == name) and (region is None or volume.region == region)
    ]
    return Reply(200, paginate(call, "volumes", found, volume_json))


def get_volume(state: State, call: Call) -> Reply:
    return Reply(200, {"volume": volume_json(state.volume(call.params["volume_id"]))})


def _delete(state: State, volume: Volume) -> None:
    if volume.droplet_ids:
        raise ApiError.conflict(
            "A volume that's attached to a Droplet cannot be deleted. "
            "Please detach it first before deleting."
        )
    del state.volumes[volume.id]


def delete_volume(state: State, call: Call) -> Reply:
    _delete(state, state.volume(call.params["volume_id"]))
    return Reply(204)


def delete_by_name(state: State, call: Call) -> Reply:
    name, region = call.query.get("name"), call.query.get("region")
    if not name or not region:
        raise ApiError.bad_request("name and region are required to delete a volume by name")
    for volume in list(state.volumes.values()):
        if volume.name == name and volume.region == region:
            _delete(state, volume)
            return Reply(204)
    raise ApiError.not_found()


# -- actions --------------------------------------------------------------------------------


def _target_droplet(state: State, volume: Volume, body: JSON) -> Droplet:
    droplet_id = validate.required_int(body, "droplet_id")
    droplet = state.droplets.get(droplet_id)
    if droplet is None:
        raise ApiError.unprocessable(f"droplet_id {droplet_id} is not a droplet")
    if droplet.region != volume.region:
        raise ApiError.unprocessable("the droplet and the volume must be in the same region")
    return droplet


def _attach(state: State, volume: Volume, body: JSON) -> Effect:
    droplet = _target_droplet(state, volume, body)
    if volume.droplet_ids:
        raise ApiError.unprocessable("This volume is already attached to a Droplet.")
    if len(droplet.volume_ids) >= MAX_VOLUMES_PER_DROPLET:
        raise ApiError.unprocessable(
            f"a droplet can have at most {MAX_VOLUMES_PER_DROPLET} volumes attached"
        )

    def effect(_due: float) -> None:
        if volume.id in state.volumes and droplet.id in state.droplets:
            volume.droplet_ids = [droplet.id]
            droplet.volume_ids.append(volume.id)

    return effect


def _detach(state: State, volume: Volume, body: JSON) -> Effect:
    droplet = _target_droplet(state, volume, body)
    if droplet.id not in volume.droplet_ids:
        raise ApiError.unprocessable("Attachment not found")

    def effect(_due: float) -> None:
        if droplet.id in volume.droplet_ids:
            volume.droplet_ids.remove(droplet.id)
        if volume.id in droplet.volume_ids:
            droplet.volume_ids.remove(volume.id)

    return effect


def _resize(_state: State, volume: Volume, body: JSON) -> Effect:
    size = validate.required_int(body, "size_gigabytes", maximum=MAX_GIGABYTES)
    if size <= volume.size_gigabytes:
        raise ApiError.unprocessable("Volumes may only be resized upwards.")

    def effect(_due: float) -> None:
        volume.size_gigabytes = size

    return effect


_ACTIONS = {"attach": _attach, "detach": _detach, "resize": _resize}


def post_action(state: State, call: Call) -> Reply:
    volume = state.volume(call.params["volume_id"])
    body = call.body()
    action_type = validate.choice(body, "type", _ACTIONS, "")
    if validate.optional_str(body, "region", volume.region) != volume.region:
        raise ApiError.unprocessable(f"region must be the volume's region, {volume.region}")
    if volume.pending_action is not None:
        raise ApiError.unprocessable("This volume already has an action in progress.")
    effect = _ACTIONS[action_type](state, volume, body)

    def complete(due: float) -> None:
        volume.pending_action = None
        effect(due)

    latency = state.config.latencies.volume_action
    action = state.start_action(
        f"{action_type}_volume", "volume", None, volume.region, latency=latency, effect=complete
    )
    volume.pending_action = action.id
    volume.action_ids.append(action.id)
    return Reply(202, {"action": catalog.action_json(action)})


def list_actions(state: State, call: Call) -> Reply:
    volume = state.volume(call.params["volume_id"])
    mine = [state.actions[action_id] for action_id in volume.action_ids]
    return Reply(200, paginate(call, "actions", mine, catalog.action_json))


def get_action(state: State, call: Call) -> Reply:
    volume = state.volume(call.params["volume_id"])
    action_id = call.int_param("action_id")
    if action_id not in volume.action_ids:
        raise ApiError.not_found()
    return Reply(200, {"action": catalog.action_json(state.actions[action_id])})


ROUTES = (
    Route("POST", "/v2/volumes", create_volume),
    Route("GET", "/v2/volumes", list_volumes),
    Route("DELETE", "/v2/volumes", delete_by_name),
    Route("GET", "/v2/volumes/{volume_id}", get_volume),
    Route("DELETE", "/v2/volumes/{volume_id}", delete_volume),
    Route("POST", "/v2/volumes/{volume_id}/actions", post_action),
    Route("GET", "/v2/volumes/{volume_id}/actions", list_actions),
    Route("GET", "/v2/volumes/{volume_id}/actions/{action_id}", get_action),
)
