"""MemoryCloud: a small cloud held in memory, answering plain async Python calls.

It is the "API" the reference provider talks to, and it behaves the way real clouds do where
that matters to atlas:

- every call carries a token, and a wrong one is refused (:class:`AuthenticationError`);
- objects are ``creating`` for a while before they are ``active`` (per-kind latency, on an
  injectable clock), ``updating`` while they change and ``deleting`` for a moment before
  they are gone;
- a search by marks (tags) does not show an object for ``list_lag`` seconds after its create,
  as clouds whose tag index lags behind; a look-up by name is always current;
- it refuses too many calls in a window (:class:`RateLimitError` with a retry-after);
- servers are created in batches of at most 5 per call, and two servers may share a name
  (so a blindly repeated create makes a duplicate); networks and disks have unique names;
- :attr:`MemoryCloud.faults` injects the provider-neutral faults of
  :class:`atlas.providers.Faults`.

Nothing here knows atlas's resources or specs: the provider translates.
"""

from __future__ import annotations

import builtins
import itertools
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Literal

import attrs

from atlas.exceptions import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TransportError,
)
from atlas.testing.memory.clock import Clock, RealClock
from atlas.testing.memory.faults import MemoryFaults

__all__ = ["KIND_NAMES", "Latencies", "MemoryCloud", "MemoryObject", "NewObject", "RateLimit"]

#: The kinds of object the memory cloud holds.
KIND_NAMES = ("network", "server", "disk")
#: Server sizes the cloud offers.
SIZES = ("small", "medium", "large")
#: Objects one create call may make, per kind.
BATCH_LIMITS: Mapping[str, int] = {"network": 1, "server": 5, "disk": 1}
_UNIQUE_NAMES = frozenset({"network", "disk"})
_ID_PREFIX = {"network": "net", "server": "srv", "disk": "dsk"}

Status = Literal["creating", "active", "updating", "deleting"]


@attrs.frozen
class Latencies:
    """Seconds things take on the memory cloud's clock."""

    create: Mapping[str, float] = attrs.field(
        factory=lambda: {"network": 2.0, "server": 5.0, "disk": 3.0}
    )
    update: float = 3.0
    delete: float = 2.0
    #: How long a fresh object is missing from searches by marks.
    list_lag: float = 1.0

    def scaled(self, factor: float) -> Latencies:
        """Every latency times ``factor`` (a tenth, for a cloud that plays in real time)."""
        return Latencies(
            {kind: seconds * factor for kind, seconds in self.create.items()},
            self.update * factor,
            self.delete * factor,
            self.list_lag * factor,
        )


@attrs.frozen
class RateLimit:
    """At most ``calls`` calls in any ``per`` seconds."""

    calls: int = 600
    per: float = 60.0


@attrs.frozen
class NewObject:
    """One object a create asks for."""

    name: str
    marks: Mapping[str, str] = attrs.field(factory=dict)
    attributes: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class MemoryObject:
    """An object as the cloud shows it (a copy: changing it changes nothing)."""

    id: str
    kind: str
    name: str
    status: Status
    marks: Mapping[str, str]
    attributes: Mapping[str, Any]


@attrs.define
class _Stored:
    id: str
    kind: str
    name: str
    marks: dict[str, str]
    attributes: dict[str, Any]
    status: Status
    created_at: float
    due: float  # when a creating/updating/deleting object settles

    def view(self) -> MemoryObject:
        return MemoryObject(
            self.id, self.kind, self.name, self.status, dict(self.marks), dict(self.attributes)
        )


class MemoryCloud:
    """An account on the memory cloud.

    :param clock: the cloud's time (default: real time); share a
        :class:`~atlas.testing.memory.ManualClock` with the provider to run in no real time.
    :param tokens: the tokens accepted; ``None`` accepts any non-empty one.
    :param latencies: how long transitions take.
    :param rate_limit: calls allowed per window; ``None`` for no limit.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        tokens: Collection[str] | None = None,
        latencies: Latencies | None = None,
        rate_limit: RateLimit | None = RateLimit(),
    ) -> None:
        self.clock: Clock = clock or RealClock()
        self.latencies = latencies or Latencies()
        self.rate_limit = rate_limit
        self.faults = MemoryFaults(self, KIND_NAMES)
        #: Every call received, refused ones too: ``"create server"``, ``"list disk"``...
        self.calls: list[str] = []
        self._tokens = None if tokens is None else frozenset(tokens)
        self._objects: dict[str, dict[str, _Stored]] = {kind: {} for kind in KIND_NAMES}
        self._ids = itertools.count(1)
        self._recent: list[float] = []

    # -- the API -----------------------------------------------------------------------------

    async def create(self, token: str, kind: str, items: Sequence[NewObject]) -> list[MemoryObject]:
        """Create ``items`` (at most ``BATCH_LIMITS[kind]``), all or none."""
        self._enter(token, "create", kind)
        if not 1 <= len(items) <= BATCH_LIMITS[kind]:
            raise self._bad(kind, f"one call creates 1 to {BATCH_LIMITS[kind]} {kind}s")
        for item in items:
            self._check_new(kind, item)
        now = self.clock()
        made = []
        for item in items:
            stored = _Stored(
                f"{_ID_PREFIX[kind]}-{next(self._ids):06d}",
                kind,
                item.name,
                dict(item.marks),
                dict(item.attributes),
                "creating",
                now,
                now + self.latencies.create.get(kind, 0.0),
            )
            self._objects[kind][stored.id] = stored
            made.append(stored.view())
        self._strike_after_apply(kind)
        return made

    async def get(self, token: str, kind: str, object_id: str) -> MemoryObject:
        """The object ``object_id``; :class:`NotFoundError` when there is none."""
        self._enter(token, "get", kind)
        return self._stored(kind, object_id).view()

    async def list(
        self,
        token: str,
        kind: str,
        *,
        marks: Mapping[str, str] | None = None,
        name_prefix: str | None = None,
    ) -> list[MemoryObject]:
        """Objects carrying every one of ``marks`` and, when given, whose names start with
        ``name_prefix``.

        A look-up by name is always current; without ``name_prefix`` it is a search of the tag
        index, which shows no object younger than ``latencies.list_lag``."""
        self._enter(token, "list", kind)
        visible_since = self.clock() - self.latencies.list_lag
        found = []
        for stored in self._objects[kind].values():
            if name_prefix is not None and not stored.name.startswith(name_prefix):
                continue
            if name_prefix is None and stored.created_at > visible_since:
                continue
            if all(stored.marks.get(k) == v for k, v in (marks or {}).items()):
                found.append(stored.view())
        return found

    async def update(
        self,
        token: str,
        kind: str,
        object_id: str,
        *,
        attributes: Mapping[str, Any] | None = None,
        marks: Mapping[str, str] | None = None,
    ) -> MemoryObject:
        """Change some attributes and/or replace the marks of one settled object."""
        self._enter(token, "update", kind)
        stored = self._stored(kind, object_id)
        if stored.status != "active":
            raise ConflictError(
                f"{kind} {object_id} is {stored.status}; change it once it is active",
                status=409,
                code="conflict",
                method="update",
                url=f"memory:{kind}",
            )
        changes = dict(attributes or {})
        self._check_change(stored, changes)
        if changes:
            stored.attributes.update(changes)
            stored.status, stored.due = "updating", self.clock() + self.latencies.update
        if marks is not None:
            stored.marks = dict(marks)
        return stored.view()

    async def delete(self, token: str, kind: str, object_id: str) -> None:
        """Start deleting an object; it is gone ``latencies.delete`` seconds later."""
        self._enter(token, "delete", kind)
        stored = self._stored(kind, object_id)
        if kind == "network" and self._members(object_id):
            raise ConflictError(
                f"network {object_id} still has servers",
                status=409,
                code="conflict",
                method="delete",
                url="memory:network",
            )
        if stored.status != "deleting":
            stored.status, stored.due = "deleting", self.clock() + self.latencies.delete
        if kind == "server":
            for disk in self._objects["disk"].values():
                if disk.attributes.get("server_id") == object_id:
                    disk.attributes["server_id"] = None  # as clouds detach a dying server's disks

    # -- looking inside (tests) ------------------------------------------------------------

    def objects(self, kind: str) -> builtins.list[MemoryObject]:
        """Every object of ``kind`` now, deleting ones included."""
        self._settle()
        return [s.view() for s in self._objects[_known(kind)].values()]

    def is_empty(self) -> bool:
        """Whether the account holds no object at all."""
        self._settle()
        return not any(self._objects.values())

    # -- what faults do behind the provider's back -----------------------------------------

    def delete_outside(self, kind: str, object_id: str) -> None:
        self._settle()
        self._objects[kind].pop(object_id, None)

    def change_outside(self, kind: str, object_id: str) -> None:
        self._settle()
        stored = self._objects[kind].get(object_id)
        if stored is None:
            raise ValueError(f"there is no {kind} {object_id} to change")
        if kind == "server":
            size = stored.attributes.get("size")
            stored.attributes["size"] = next(s for s in SIZES if s != size)
        elif kind == "disk":
            stored.attributes["size_gb"] = int(stored.attributes.get("size_gb", 0)) + 10
        else:
            stored.marks["changed"] = "outside"

    # -- helpers -----------------------------------------------------------------------------

    def _enter(self, token: str, verb: str, kind: str) -> None:
        """What every call goes through first: the log, the token, the rate limits."""
        self.calls.append(f"{verb} {kind}")
        where = f"memory:{kind}"
        if not token or (self._tokens is not None and token not in self._tokens):
            # The token itself is never part of the message.
            raise AuthenticationError(
                "the token was refused", status=401, code="unauthorized", method=verb, url=where
            )
        advised = self.faults.take_throttle()
        if advised is None:
            advised = self._over_limit()
        if advised is not None:
            raise RateLimitError("too many calls", retry_after=advised, method=verb, url=where)
        if kind not in KIND_NAMES:
            raise self._bad(kind, f"no such kind; the memory cloud has {', '.join(KIND_NAMES)}")
        self._settle()

    def _over_limit(self) -> float | None:
        if self.rate_limit is None:
            return None
        now = self.clock()
        self._recent = [t for t in self._recent if t > now - self.rate_limit.per]
        if len(self._recent) >= self.rate_limit.calls:
            return self._recent[0] + self.rate_limit.per - now
        self._recent.append(now)
        return None

    def _settle(self) -> None:
        now = self.clock()
        for objects in self._objects.values():
            for object_id, stored in list(objects.items()):
                if stored.due > now:
                    continue
                if stored.status == "deleting":
                    del objects[object_id]
                elif stored.status in ("creating", "updating"):
                    stored.status = "active"

    def _strike_after_apply(self, kind: str) -> None:
        mode = self.faults.take_after_apply(kind)
        where = f"memory:{kind}"
        if mode == "error":
            raise ServerError(
                "internal error (injected, after the create was applied)",
                status=500,
                code="internal_error",
                method="create",
                url=where,
            )
        if mode == "drop":
            raise TransportError(
                "the connection dropped before the answer (injected, after the create was applied)",
                method="create",
                url=where,
            )

    def _stored(self, kind: str, object_id: str) -> _Stored:
        stored = self._objects[kind].get(object_id)
        if stored is None:
            raise NotFoundError(
                f"no {kind} {object_id}", status=404, code="not_found", url=f"memory:{kind}"
            )
        return stored

    def _members(self, network_id: str) -> builtins.list[str]:
        servers = self._objects["server"].values()
        return [s.id for s in servers if s.attributes.get("network_id") == network_id]

    def _check_new(self, kind: str, item: NewObject) -> None:
        if not item.name:
            raise self._bad(kind, "every object needs a name")
        if kind in _UNIQUE_NAMES and any(s.name == item.name for s in self._objects[kind].values()):
            raise ConflictError(
                f"a {kind} called {item.name!r} exists already",
                status=409,
                code="conflict",
                method="create",
                url=f"memory:{kind}",
            )
        attributes = dict(item.attributes)
        if kind == "network" and not isinstance(attributes.get("ip_range"), str):
            raise self._bad(kind, "a network needs an ip_range")
        if kind == "server":
            if attributes.get("size") not in SIZES:
                raise self._bad(kind, f"size must be one of {', '.join(SIZES)}")
            self._check_ref(kind, "network", attributes.get("network_id"))
        if kind == "disk":
            size = attributes.get("size_gb")
            if not isinstance(size, int) or size < 1:
                raise self._bad(kind, "size_gb must be a positive whole number")
            self._check_ref(kind, "server", attributes.get("server_id"))

    def _check_change(self, stored: _Stored, changes: Mapping[str, Any]) -> None:
        kind, old = stored.kind, stored.attributes
        if kind == "network" and changes.get("ip_range", old["ip_range"]) != old["ip_range"]:
            raise self._bad(kind, "a network's ip_range cannot change")
        if kind == "server" and "size" in changes and changes["size"] not in SIZES:
            raise self._bad(kind, f"size must be one of {', '.join(SIZES)}")
        if kind == "disk":
            if changes.get("size_gb", old["size_gb"]) < old["size_gb"]:
                raise self._bad(kind, "a disk only grows")
            if "server_id" in changes:
                self._check_ref(kind, "server", changes["server_id"])

    def _check_ref(self, kind: str, target: str, object_id: object) -> None:
        if object_id is None:
            return
        stored = self._objects[target].get(str(object_id))
        if stored is None or stored.status == "deleting":
            raise self._bad(kind, f"{target} {object_id} does not exist")

    @staticmethod
    def _bad(kind: str, message: str) -> BadRequestError:
        return BadRequestError(message, status=400, code="bad_request", url=f"memory:{kind}")


def _known(kind: str) -> str:
    if kind not in KIND_NAMES:
        raise ValueError(f"the memory cloud has no kind {kind!r}; it has {', '.join(KIND_NAMES)}")
    return kind
