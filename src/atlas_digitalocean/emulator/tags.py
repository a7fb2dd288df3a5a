"""Tags: ``/v2/tags`` and ``/v2/tags/{tag_id}/resources``.

Tags are not objects that cost anything; droplet, volume and database creates make the tags
they name, and a tag's resource counts are computed from what carries it right now.
"""

from __future__ import annotations

from typing import Any

from atlas_digitalocean.emulator import validate
from atlas_digitalocean.emulator.collection import Collection
from atlas_digitalocean.emulator.databases import DATABASES
from atlas_digitalocean.emulator.droplets import DROPLETS
from atlas_digitalocean.emulator.errors import ApiError
from atlas_digitalocean.emulator.exchange import JSON, Call, Reply, paginate
from atlas_digitalocean.emulator.routing import Routes
from atlas_digitalocean.emulator.state import State
from atlas_digitalocean.emulator.volumes import VOLUMES

ROUTES = Routes()
# The groups of a tag's resources, in the order the API lists them.
_GROUPS = ("droplets", "images", "volumes", "volume_snapshots", "databases")
_TAGGABLE: tuple[Collection[Any, Any], ...] = (DROPLETS, VOLUMES, DATABASES)
_BY_TYPE = {collection.singular: collection for collection in _TAGGABLE}


def _tagged(state: State, name: str) -> dict[str, list[tuple[float, str]]]:
    """``(created_at, path)`` of what carries the tag, by group; images and snapshots are
    not emulated, so theirs are empty."""
    groups: dict[str, list[tuple[float, str]]] = {group: [] for group in _GROUPS}
    for collection in _TAGGABLE:
        groups[collection.plural] = [
            (record.created_at, collection.path(record.id))
            for record in collection.table(state).values()
            if name in record.tags
        ]
    return groups


def _counted(base_url: str, items: list[tuple[float, str]]) -> JSON:
    counted: JSON = {"count": len(items)}
    if items:
        # Approximation: most resources are tagged when created, so take the newest.
        counted["last_tagged_uri"] = base_url + max(items)[1]
    return counted


def tag_json(state: State, base_url: str, name: str) -> JSON:
    groups = _tagged(state, name)
    everything = [item for items in groups.values() for item in items]
    resources = _counted(base_url, everything)
    resources.update({group: _counted(base_url, items) for group, items in groups.items()})
    return {"name": name, "resources": resources}


def _known_tag(state: State, call: Call) -> str:
    name = call.params["tag_id"]
    if name not in state.tags:
        raise ApiError.not_found()
    return name


@ROUTES("GET", "/v2/tags")
def list_tags(state: State, call: Call) -> Reply:
    return Reply(
        200, paginate(call, "tags", list(state.tags), lambda n: tag_json(state, call.base_url, n))
    )


@ROUTES("POST", "/v2/tags")
def create_tag(state: State, call: Call) -> Reply:
    name = call.body().get("name")
    if not (isinstance(name, str) and validate.is_tag_name(name)):
        # The one endpoint whose 400 uses the error_with_root_causes shape.
        problem = f"Error validating resource tag: tag-name {name!r} contains invalid characters"
        raise ApiError(400, "bad_request", problem, body=_root_causes(problem))
    state.ensure_tags([name])
    return Reply(201, {"tag": tag_json(state, call.base_url, name)})


def _root_causes(problem: str) -> JSON:
    return {"error": problem, "messages": None, "root_causes": [problem]}


@ROUTES("GET", "/v2/tags/{tag_id}")
def get_tag(state: State, call: Call) -> Reply:
    return Reply(200, {"tag": tag_json(state, call.base_url, _known_tag(state, call))})


@ROUTES("DELETE", "/v2/tags/{tag_id}")
def delete_tag(state: State, call: Call) -> Reply:
    name = _known_tag(state, call)
    for collection in _TAGGABLE:
        for record in collection.table(state).values():
            if name in record.tags:
                record.tags.remove(name)
    del state.tags[name]
    return Reply(204)


def _carriers(state: State, call: Call) -> list[list[str]]:
    """The tag lists of the resources named in the body (each must exist)."""
    found = []
    for index, entry in enumerate(validate.object_list(call.body(), "resources")):
        where = f"resources[{index}]."
        kind = validate.choice(entry, "resource_type", _BY_TYPE, "", where=where)
        resource_id = validate.string(entry, "resource_id", where=where)
        found.append(_BY_TYPE[kind].lookup(state, resource_id).tags)
    return found


@ROUTES("POST", "/v2/tags/{tag_id}/resources")
def tag_resources(state: State, call: Call) -> Reply:
    name = _known_tag(state, call)
    for tags in _carriers(state, call):
        if name not in tags:
            tags.append(name)
    return Reply(204)


@ROUTES("DELETE", "/v2/tags/{tag_id}/resources")
def untag_resources(state: State, call: Call) -> Reply:
    name = _known_tag(state, call)
    for tags in _carriers(state, call):
        if name in tags:
            tags.remove(name)
    return Reply(204)
