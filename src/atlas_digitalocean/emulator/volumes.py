"""Block storage volumes: ``/v2/volumes`` and their actions.

Creates are synchronous (201). Attach, detach and resize are actions that answer 202 at once
and change the volume (and the droplet's ``volume_ids``) only when they complete.
"""

from __future__ import annotations

from atlas_digitalocean.emulator import offerings, validate
from atlas_digitalocean.emulator.actions import ACTIONS, serve_actions_of
from atlas_digitalocean.emulator.collection import Collection
from atlas_digitalocean.emulator.errors import ApiError
from atlas_digitalocean.emulator.exchange import JSON, Call, Reply, iso
from atlas_digitalocean.emulator.records import Action, Droplet, Volume
from atlas_digitalocean.emulator.routing import Routes
from atlas_digitalocean.emulator.state import Effect, State, assign

NAME_PATTERN = r"[a-z]([-a-z0-9]*[a-z0-9])?"
MAX_GIGABYTES = 16_384
MAX_VOLUMES_PER_DROPLET = 15
_LABEL_LIMITS = {"": 16, "ext4": 16, "xfs": 12}

ROUTES = Routes()


def volume_json(_state: State, volume: Volume) -> JSON:
    return {
        "id": volume.id,
        "name": volume.name,
        "description": volume.description,
        "size_gigabytes": volume.size_gigabytes,
        "created_at": iso(volume.created_at),
        "droplet_ids": list(volume.droplet_ids),
        "region": offerings.region_json(volume.region),
        "filesystem_type": volume.filesystem_type,
        "filesystem_label": volume.filesystem_label,
        "tags": list(volume.tags),
    }


@ROUTES("POST", "/v2/volumes")
def create_volume(state: State, call: Call) -> Reply:
    body = call.body()
    name = validate.string(body, "name", pattern=NAME_PATTERN, max_length=64)
    size = validate.integer(body, "size_gigabytes", minimum=1, maximum=MAX_GIGABYTES)
    region = offerings.open_region(body)
    if validate.string(body, "snapshot_id", ""):
        raise ApiError.not_found("snapshot not found: the emulator has no volume snapshots")
    fs_type = validate.choice(body, "filesystem_type", ("", "ext4", "xfs"), "")
    label = validate.string(body, "filesystem_label", "", max_length=_LABEL_LIMITS[fs_type])
    tags = validate.tag_names(body)
    if any(v.name == name and v.region == region for v in state.volumes.values()):
        raise ApiError.conflict(f"a volume named {name} already exists in {region}")
    state.ensure_tags(tags)
    volume = Volume(
        id=state.new_uuid(),
        name=name,
        region=region,
        size_gigabytes=size,
        description=validate.string(body, "description", ""),
        created_at=state.now(),
        filesystem_type=fs_type,
        filesystem_label=label,
        tags=tags,
    )
    return VOLUMES.made(state, call, volume, 201)


@ROUTES("DELETE", "/v2/volumes")
def delete_by_name(state: State, call: Call) -> Reply:
    name, region = call.query.get("name"), call.query.get("region")
    if not name or not region:
        raise ApiError.bad_request("name and region are required to delete a volume by name")
    for volume in list(state.volumes.values()):
        if volume.name == name and volume.region == region:
            _destroy(state, volume)
            return Reply(204)
    raise ApiError.not_found()


def _select(state: State, call: Call) -> list[Volume]:
    name, region = call.query.get("name"), call.query.get("region")
    return [
        volume
        for volume in state.volumes.values()
        if (name is None or volume.name == name) and (region is None or volume.region == region)
    ]


def _destroy(state: State, volume: Volume) -> None:
    if volume.droplet_ids:
        raise ApiError.conflict(
            "A volume that's attached to a Droplet cannot be deleted. "
            "Please detach it first before deleting."
        )
    del state.volumes[volume.id]


VOLUMES = Collection(
    "volume", "volumes", "volume_id", lambda state: state.volumes, str, volume_json,
    select=_select, destroy=_destroy,
)  # fmt: skip
VOLUMES.serve(ROUTES)


# -- actions --------------------------------------------------------------------------------


def _target_droplet(state: State, volume: Volume, body: JSON) -> Droplet:
    droplet_id = validate.integer(body, "droplet_id")
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
    size = validate.integer(body, "size_gigabytes", maximum=MAX_GIGABYTES)
    if size <= volume.size_gigabytes:
        raise ApiError.unprocessable("Volumes may only be resized upwards.")

    return assign(volume, size_gigabytes=size)


_ACTIONS = {"attach": _attach, "detach": _detach, "resize": _resize}


@ROUTES("POST", "/v2/volumes/{volume_id}/actions")
def post_action(state: State, call: Call) -> Reply:
    volume = VOLUMES.find(state, call)
    body = call.body()
    action_type = validate.choice(body, "type", _ACTIONS, "")
    if validate.string(body, "region", volume.region) != volume.region:
        raise ApiError.unprocessable(f"region must be the volume's region, {volume.region}")
    if volume.pending_action is not None:
        raise ApiError.unprocessable("This volume already has an action in progress.")
    effect = _ACTIONS[action_type](state, volume, body)
    latency = state.config.latencies.volume_action
    action = state.start_action(
        f"{action_type}_volume",
        "volume",
        None,
        volume.region,
        latency=latency,
        effect=effect,
        busy=volume,
    )
    volume.action_ids.append(action.id)
    return ACTIONS.reply(state, action, 202)


def _mine(state: State, volume: Volume) -> list[Action]:
    # Volume actions carry no resource id, so the volume keeps their ids.
    return [state.actions[action_id] for action_id in volume.action_ids]


serve_actions_of(ROUTES, VOLUMES, _mine)
