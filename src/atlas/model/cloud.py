"""What exists in the cloud, as atlas records it: resources made of provider objects."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Literal

import attrs

__all__ = ["CloudObject", "Owner", "ResourceState", "ResourceStatus"]

#: The statuses the platform's agents read (controlvector-ecosystem.md).
ResourceStatus = Literal[
    "pending", "creating", "active", "updating", "error", "deleting", "deleted"
]


@attrs.frozen
class Owner:
    """Who owns the cloud objects atlas makes: a workspace's infrastructure.

    ``uid`` is derived, not stored, so that a run which crashed before recording anything
    still finds what it made: the same workspace and name always give the same uid.
    """

    workspace: str
    infrastructure: str

    @property
    def uid(self) -> str:
        digest = hashlib.sha256(f"{self.workspace}/{self.infrastructure}".encode()).hexdigest()
        return digest[:8]


@attrs.frozen
class CloudObject:
    """One object at the provider (one server of a resource with ``count: 3``).

    ``attributes`` are JSON-safe facts the provider reported (addresses, size, region...).
    """

    id: str
    name: str
    status: ResourceStatus
    attributes: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class ResourceState:
    """A spec resource as it exists: its objects, in index order."""

    type: str
    name: str
    objects: tuple[CloudObject, ...] = ()

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(o.id for o in self.objects)

    @property
    def status(self) -> ResourceStatus:
        """``active`` when every object is; otherwise the least advanced object's status."""
        if not self.objects:
            return "pending"
        order: tuple[ResourceStatus, ...] = (
            "error",
            "deleting",
            "deleted",
            "pending",
            "creating",
            "updating",
            "active",
        )
        return min((o.status for o in self.objects), key=order.index)

    def attribute(self, key: str, index: int = 0) -> Any:
        return self.objects[index].attributes.get(key) if self.objects else None
