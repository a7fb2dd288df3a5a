"""What exists in a DigitalOcean account, for ``atlas discover`` and ``import:``.

:func:`inventory` lists every droplet, volume and database cluster (the importable kinds),
grouped into resources: an object atlas made joins the others of its resource (by its
``atlas:<uid>:<resource>`` tag) and is marked ``managed_by``; any other object is a resource
of its own, named after its DigitalOcean name. :func:`read_import` reads given ids (GET by id)
for an import. VPCs are not importable: a region's default VPC is the account's own, and
one atlas makes is found by name already.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from atlas.exceptions import BadRequestError, NotFoundError, ProviderOperationError
from atlas.model.cloud import Owner
from atlas.model.infrastructure import ResourceSpec
from atlas.providers import FoundResource, ResourceKind
from atlas.spec.converter import make_converter, problems_from_cattrs
from atlas.spec.dump import dump_resource
from atlas_digitalocean.api import JSON
from atlas_digitalocean.naming import UNIQUE_NAMED
from atlas_digitalocean.ops.base import TaggedHandler, index_of
from atlas_digitalocean.resources import KINDS

__all__ = ["IMPORTABLE", "found_name", "inventory", "managed_by", "read_import"]

#: The kinds an import can adopt, by type.
IMPORTABLE: Mapping[str, ResourceKind] = {k.type: k for k in KINDS if k.importable}
#: How long a name made from a cloud name may be: short enough that the names atlas would
#: build from it (``<infrastructure>-<resource>-<uid>``) stay within DigitalOcean's limits.
MAX_NAME = 24
#: ``atlas:<uid>:<resource>``, the tag on every object of an atlas resource.
_RESOURCE_TAG = re.compile(r"^atlas:([0-9a-f]{8}):(.+)$")
_UUID = re.compile(r"^[0-9a-fA-F-]{32,36}$")

_converter = make_converter()


def found_name(cloud_name: str, kind: str) -> str:
    """A spec resource name made from a DigitalOcean name: lowercase letters, digits and
    ``-``, starting with a letter, at most :data:`MAX_NAME` characters (every kind's names
    and tags built from it are then ones DigitalOcean accepts)."""
    name = re.sub(r"[^a-z0-9]+", "-", cloud_name.lower()).lstrip("-0123456789")
    name = name[:MAX_NAME].rstrip("-")
    return name or kind.replace("_", "-")


def _short(object_id: str) -> str:
    """What tells two objects of one name apart in their spec names: a droplet's number,
    the first eight hex digits of a UUID."""
    return object_id if object_id.isdigit() else object_id.replace("-", "")[:8]


def managed_by(kind: str, d: JSON) -> Owner | None:
    """The atlas infrastructure an object's tag says it belongs to, if any.

    The tag holds the owner's uid; the infrastructure's name is read back from the object's
    name (``<infrastructure>-<resource>[-<n>]``, ``-<uid>`` for the kinds named uniquely).
    The workspace cannot be read from the cloud: it is ``default`` when that gives the tag's
    uid, else empty.
    """
    mark = _mark(d)
    if mark is None:
        return None
    uid, resource = mark
    name = str(d.get("name") or "")
    if kind in UNIQUE_NAMED:
        suffix = f"-{resource}-{uid}"
    else:
        suffix = f"-{resource}"
        name = re.sub(r"-\d+$", "", name) if not name.endswith(suffix) else name
    infrastructure = name[: -len(suffix)] if name.endswith(suffix) else ""
    workspace = "default" if Owner("default", infrastructure).uid == uid else ""
    return Owner(workspace, infrastructure)


def _mark(d: JSON) -> tuple[str, str] | None:
    for tag in d.get("tags") or []:
        match = _RESOURCE_TAG.match(str(tag))
        if match:
            return match.group(1), match.group(2)
    return None


def canonical(kind: ResourceKind, specs: Mapping[str, Any], what: str) -> dict[str, Any]:
    """``specs`` as the canonical document of the kind's spec class (defaults included)."""
    try:
        obj = _converter.structure(dict(specs), kind.spec_class)
    except Exception as exc:
        problems = "; ".join(str(p) for p in problems_from_cattrs(exc, "specifications"))
        raise ProviderOperationError(
            f"{what} cannot be described as a {kind.type} spec: {problems or exc}"
        ) from exc
    specifications: dict[str, Any] = dump_resource(ResourceSpec(kind.type, "-", obj))[
        "specifications"
    ]
    return specifications


async def inventory(
    handlers: Mapping[str, TaggedHandler], *, region: str | None = None
) -> list[FoundResource]:
    """Every droplet, volume and database cluster in the account (in ``region`` when given),
    one found resource per atlas resource or per object made outside atlas; sorted by type,
    then name. Names are unique across the listing: a name two objects would share gets
    the object's id after it (the first by cloud name and id keeps it plain)."""
    groups: dict[tuple[str, str], list[JSON]] = {}
    for kind in sorted(IMPORTABLE):
        for d in await handlers[kind].listing(region):
            mark = _mark(d)
            key = (kind, f"atlas:{mark[0]}:{mark[1]}" if mark else f"id:{d['id']}")
            groups.setdefault(key, []).append(d)

    groups = _series(groups)
    taken: set[str] = set()
    named: list[tuple[str, str, list[JSON]]] = []

    def order(item: tuple[tuple[str, str], list[JSON]]) -> tuple[str, str, str]:
        (kind, _), objects = item
        return (kind, str(objects[0].get("name") or ""), str(objects[0]["id"]))

    for (kind, group), objects in sorted(groups.items(), key=order):
        handler = handlers[kind]
        objects.sort(key=lambda d: index_of(handler.obj(d)))
        mark = _mark(objects[0])
        series = group.split(":", 2)[1] if group.startswith("series:") else None
        cloud = mark[1] if mark else series or str(objects[0].get("name") or "")
        base = found_name(cloud, kind)
        name = base
        if name in taken:
            name = f"{base}-{_short(str(objects[0]['id']))}"
        while name in taken:  # pragma: no cover - ids are unique; kept for safety
            name += "-x"
        taken.add(name)
        named.append((kind, name, objects))

    names = {str(d["id"]): name for _, name, objects in named for d in objects}
    found = [_found(handlers[kind], kind, name, objects, names) for kind, name, objects in named]
    return sorted(found, key=lambda f: (f.type, f.name))


_NUMBERED = re.compile(r"^(?P<base>.+)-(?P<n>[1-9][0-9]*)$")


def _series(groups: dict[tuple[str, str], list[JSON]]) -> dict[tuple[str, str], list[JSON]]:
    """Droplets made outside atlas as a numbered series (``web-1``, ``web-2``, ... from 1 with
    no gap), alike in region, size, image, features and VPC, become one counted resource, as
    a droplet create with several names makes them; any other droplet stays on its own."""
    alike: dict[tuple[Any, ...], list[tuple[int, tuple[str, str]]]] = {}
    for key, objects in groups.items():
        kind, mark = key
        if kind != "droplet" or not mark.startswith("id:"):
            continue
        d = objects[0]
        m = _NUMBERED.match(str(d.get("name") or ""))
        if m is None:
            continue
        image = d.get("image") or {}
        signature = (
            m["base"],
            (d.get("region") or {}).get("slug"),
            d.get("size_slug"),
            image.get("slug") or image.get("id"),
            tuple(sorted(d.get("features") or [])),
            d.get("vpc_uuid"),
        )
        alike.setdefault(signature, []).append((int(m["n"]), key))
    out = dict(groups)
    for signature, members in alike.items():
        numbers = sorted(n for n, _ in members)
        if len(members) < 2 or numbers != list(range(1, len(members) + 1)):
            continue
        merged = [d for _, key in sorted(members) for d in out.pop(key)]
        out[("droplet", f"series:{signature[0]}:{merged[0]['id']}")] = merged
    return out


def _found(
    handler: TaggedHandler,
    kind: str,
    name: str,
    objects: Sequence[JSON],
    names: Mapping[str, str],
) -> FoundResource:
    first = objects[0]
    what = f"{handler.noun} {first.get('name')!r} ({first['id']})"
    return FoundResource(
        type=kind,
        name=name,
        region=handler.region(first) or "",
        objects=tuple(handler.obj(d) for d in objects),
        specifications=canonical(IMPORTABLE[kind], handler.found(objects, names), what),
        managed_by=managed_by(kind, first),
    )


def _plausible(kind: str, object_id: str) -> bool:
    """Whether ``object_id`` can be an id of ``kind`` at all (droplet ids are numbers, the
    others UUIDs), so that no request is sent with an id of the wrong form."""
    return object_id.isdigit() if kind == "droplet" else bool(_UUID.match(object_id))


async def _get(handler: TaggedHandler, object_id: str) -> JSON | None:
    if not _plausible(handler.type, object_id):
        return None
    try:
        return await handler.get(object_id)
    except (NotFoundError, BadRequestError):
        return None


async def read_import(
    handlers: Mapping[str, TaggedHandler],
    resource: ResourceSpec,
    region: str,
    ids: Sequence[str],
    names: Mapping[str, str],
) -> FoundResource:
    """The objects ``ids`` as the import of ``resource`` finds them (GET by id each)."""
    kind = resource.type
    where = f"{kind} {resource.name!r}"
    if kind not in IMPORTABLE:
        raise ProviderOperationError(
            f"{where}: DigitalOcean {kind.replace('_', ' ')}s cannot be imported "
            f"(importable: {', '.join(sorted(IMPORTABLE))})"
        )
    if not ids:
        raise ProviderOperationError(f"{where}: import names no id")
    if len(set(ids)) != len(ids):
        raise ProviderOperationError(f"{where}: import names an id twice")
    if kind != "droplet" and len(ids) > 1:
        raise ProviderOperationError(
            f"{where}: a {kind} is one object, the import names {len(ids)} ids"
        )
    handler = handlers[kind]
    objects: list[JSON] = []
    for object_id in ids:
        d = await _get(handler, object_id)
        if d is None:
            raise ProviderOperationError(f"{where}: {await _missing(handlers, kind, object_id)}")
        if handler.region(d) != region:
            raise ProviderOperationError(
                f"{where}: {handler.noun} {object_id} is in {handler.region(d)}, "
                f"the spec's region is {region}"
            )
        objects.append(d)
    what = f"{where} (import of {', '.join(ids)})"
    return FoundResource(
        type=kind,
        name=resource.name,
        region=region,
        objects=tuple(handler.obj(d) for d in objects),
        specifications=canonical(IMPORTABLE[kind], handler.found(objects, names), what),
        managed_by=managed_by(kind, objects[0]),
    )


async def _missing(handlers: Mapping[str, TaggedHandler], kind: str, object_id: str) -> str:
    """Why ``object_id`` is not a ``kind``: it is another kind's, or nothing's."""
    for other in sorted(IMPORTABLE):
        if other != kind and await _get(handlers[other], object_id) is not None:
            noun = handlers[other].noun
            return f"{object_id} is a {noun}, not a {handlers[kind].noun}"
    return f"there is no {handlers[kind].noun} {object_id} in the account"
