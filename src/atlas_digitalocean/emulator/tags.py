"""Tags: ``/v2/tags`` and ``/v2/tags/{tag_id}/resources``.

Tags are not objects that cost anything; droplet, volume and database creates make the tags
they name, and a tag's resource counts are computed from what carries it right now.
"""

from __future__ import annotations

import re

from atlas_digitalocean.emulator import validate
from atlas_digitalocean.emulator.errors import ApiError
from atlas_digitalocean.emulator.routing import Route
from atlas_digitalocean.emulator.state import State
from atlas_digitalocean.emulator.wire import JSON, Call, Reply, paginate

TAG_PATTERN = r"[a-zA-Z0-9_\-:]+"
TAG_MAX_LENGTH = 255


def check_tag_names(names: list[str], field: str = "tags") -> list[str]:
    """Tag names from a create body; a bad one is a 422 naming the field."""
    for index, name in enumerate(names):
        if len(name) > TAG_MAX_LENGTH or not re.fullmatch(TAG_PATTERN, name):
            raise ApiError.unprocessable(f"{field}[{index}] is not a valid tag name: {name!r}")
    return names


def _tagged(state: State, name: str) -> dict[str, list[tuple[float, str]]]:
    return {
        "droplets": [
            (d.created_at, f"/v2/droplets/{d.id}")
            for d in state.droplets.values()
            if name in d.tags
        ],
        "images": [],
        "volumes": [
            (v.created_at, f"/v2/volumes/{v.id}") for v in state.volumes.values() if name in v.tags
        ],
        "volume_snapshots": [],
        "databases": [
            (d.created_at, f"/v2/databases/{d.id}")
            for d in state.databases.values()
            if name in d.tags
        ],
    }


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


def list_tags(state: State, call: Call) -> Reply:
    return Reply(
        200, paginate(call, "tags", list(state.tags), lambda n: tag_json(state, call.base_url, n))
    )


def create_tag(state: State, call: Call) -> Reply:
    name = call.body().get("name")
    if not isinstance(name, str) or not re.fullmatch(TAG_PATTERN, name) or len(name) > 255:
        # The one endpoint whose 400 uses the error_with_root_causes shape.
        problem = f"Error validating resource tag: tag-name {name!r} contains invalid characters"
        raise ApiError(400, "bad_request", problem, body=_root_causes(problem))
    state.ensure_tags([name])
    return Reply(201, {"tag": tag_json(state, call.base_url, name)})


def _root_causes(problem: str) -> JSON:
    return {"error": problem, "messages": None, "root_causes": [problem]}


def get_tag(state: State, call: Call) -> Reply:
    return Reply(200, {"tag": tag_json(state, call.base_url, _known_tag(state, call))})


def delete_tag(state: State, call: Call) -> Reply:
    name = _known_tag(state, call)
    tag_lists = [d.tags for d in state.droplets.values()]
    tag_lists += [v.tags for v in state.volumes.values()]
    tag_lists += [d.tags for d in state.databases.values()]
    for tags in tag_lists:
        if name in tags:
            tags.remove(name)
    del state.tags[name]
    return Reply(204)


def _carriers(state: State, call: Call) -> list[list[str]]:
    """The tag lists of the resources named in the body (each must exist)."""
    found = []
    for index, entry in enumerate(validate.object_list(call.body(), "resources")):
        where = f"resources[{index}]."
        kind = validate.choice(
            entry, "resource_type", ("droplet", "volume", "database"), "", where=where
        )
        resource_id = validate.required_str(entry, "resource_id", where=where)
        if kind == "droplet":
            found.append(state.droplet(int(resource_id) if resource_id.isdigit() else 0).tags)
        elif kind == "volume":
            found.append(state.volume(resource_id).tags)
        else:
            found.append(state.database(resource_id).tags)
    return found


def tag_resources(state: State, call: Call) -> Reply:
    name = _known_tag(state, call)
    for tags in _carriers(state, call):
        if name not in tags:
            tags.append(name)
    return Reply(204)


def untag_resources(state: State, call: Call) -> Reply:
    name = _known_tag(state, call)
    for tags in _carriers(state, call):
        if name in tags:
            tags.remove(name)
    return Reply(204)


ROUTES = (
    Route("GET", "/v2/tags", list_tags),
    Route("POST", "/v2/tags", create_tag),
    Route("GET", "/v2/tags/{tag_id}", get_tag),
    Route("DELETE", "/v2/tags/{tag_id}", delete_tag),
    Route("POST", "/v2/tags/{tag_id}/resources", tag_resources),
    Route("DELETE", "/v2/tags/{tag_id}/resources", untag_resources),
)
