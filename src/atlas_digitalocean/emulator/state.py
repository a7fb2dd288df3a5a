"""The emulated account: every object, the pending transitions, and identifier sources.

Time is lazy. Nothing runs in the background: asynchronous work is a scheduled effect with
a due time, and ``settle()`` applies every effect that is due by the injected clock before
the emulator answers a request. A test that moves its clock moves the cloud.
"""

from __future__ import annotations

import heapq
import ipaddress
import itertools
import random
import string
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from atlas_digitalocean.emulator.config import EmulatorConfig
from atlas_digitalocean.emulator.errors import ApiError
from atlas_digitalocean.emulator.records import (
    Action,
    Database,
    Droplet,
    Firewall,
    LoadBalancer,
    Volume,
    Vpc,
)

if TYPE_CHECKING:
    from atlas_digitalocean.emulator.billing import Usage


class _Record(Protocol):
    @property
    def id(self) -> Any: ...


class _Busy(Protocol):
    pending_action: int | None


K = TypeVar("K")
R = TypeVar("R", bound=_Record)

Effect = Callable[[float], None]
"""A scheduled change; it receives its due time, so timestamps do not depend on when a
request happened to settle it."""

# Benchmarking range (RFC 2544): looks like a public address but never routes anywhere.
_PUBLIC_POOL = ipaddress.IPv4Address("198.18.0.0")
_VPC_POOL_START = ipaddress.IPv4Address("10.100.0.0")
_SECRET_ALPHABET = string.ascii_lowercase + string.digits


def assign(record: object, **values: object) -> Effect:
    """An effect that, when due, sets the record's attributes to ``values``, in order."""

    def effect(_due: float) -> None:
        for name, value in values.items():
            setattr(record, name, value)

    return effect


class Table(dict[K, R]):
    """The records of one kind by id."""

    def find(self, key: K) -> R:
        """The record ``key`` names; a 404 when there is none."""
        record = self.get(key)
        if record is None:
            raise ApiError.not_found()
        return record

    def add(self, record: R) -> None:
        """Keep ``record`` under its id."""
        self[record.id] = record


class State:
    def __init__(
        self, config: EmulatorConfig, clock: Callable[[], float], rng: random.Random
    ) -> None:
        self.config = config
        self.rng = rng
        self._clock = clock
        self.droplets: Table[int, Droplet] = Table()
        self.volumes: Table[str, Volume] = Table()
        self.databases: Table[str, Database] = Table()
        self.load_balancers: Table[str, LoadBalancer] = Table()
        self.firewalls: Table[str, Firewall] = Table()
        self.vpcs: Table[str, Vpc] = Table()
        self.tags: dict[str, float] = {}
        #: What droplets ran at what size when (atlas_digitalocean.emulator.billing).
        self.usage: list[Usage] = []
        #: Each invoiced month's (uuid, number), made when first shown.
        self.invoice_ids: dict[str, tuple[str, str]] = {}
        self.actions: Table[int, Action] = Table()
        self._events: list[tuple[float, int, Effect]] = []
        self._sequence = itertools.count()
        self._droplet_ids = itertools.count(rng.randrange(300_000_000, 400_000_000))
        self._action_ids = itertools.count(rng.randrange(2_000_000_000, 2_100_000_000))
        self._public_hosts = itertools.count(10)
        self.account_uuid = self.new_uuid()
        self.team_uuid = self.new_uuid()
        self.project_uuid = self.new_uuid()

    # -- time ---------------------------------------------------------------------------------

    def now(self) -> float:
        return self._clock()

    def after(self, latency: float, effect: Effect) -> float:
        """Schedule ``effect`` once ``latency`` (scaled) has passed; returns the due time."""
        due = self.now() + self.config.scaled(latency)
        heapq.heappush(self._events, (due, next(self._sequence), effect))
        return due

    def settle(self) -> None:
        """Apply every scheduled effect that is due, oldest first."""
        now = self.now()
        while self._events and self._events[0][0] <= now:
            due, _, effect = heapq.heappop(self._events)
            effect(due)

    # -- identifiers and secrets ----------------------------------------------------------------

    def new_uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def new_droplet_id(self) -> int:
        return next(self._droplet_ids)

    def secret(self, length: int = 16) -> str:
        return "".join(self.rng.choice(_SECRET_ALPHABET) for _ in range(length))

    # -- actions ------------------------------------------------------------------------------

    def start_action(
        self,
        action_type: str,
        resource_type: str,
        resource_id: int | None,
        region: str,
        *,
        latency: float,
        effect: Effect | None = None,
        busy: _Busy | None = None,
    ) -> Action:
        """Record an in-progress action that completes, applying ``effect``, after ``latency``.
        ``busy`` is the object that runs one action at a time: its ``pending_action`` names
        this one until it completes."""
        action = Action(
            id=next(self._action_ids),
            type=action_type,
            resource_type=resource_type,
            resource_id=resource_id,
            region=region,
            started_at=self.now(),
        )
        self.actions.add(action)

        def complete(due: float) -> None:
            action.status = "completed"
            action.completed_at = due
            if busy is not None:
                busy.pending_action = None
            if effect is not None:
                effect(due)

        self.after(latency, complete)
        if busy is not None:
            busy.pending_action = action.id
        return action

    # -- tags -----------------------------------------------------------------------------------

    def ensure_tags(self, names: Iterable[str]) -> None:
        """Tags named on a create spring into existence, as on DigitalOcean."""
        for name in names:
            self.tags.setdefault(name, self.now())

    # -- networking -----------------------------------------------------------------------------

    def add_vpc(
        self, name: str, region: str, description: str, ip_range: str, *, auto: bool = False
    ) -> Vpc:
        """A new VPC; the first in its region becomes the region's default."""
        has_default = any(v.default for v in self.vpcs.values() if v.region == region)
        vpc = Vpc(
            id=self.new_uuid(),
            name=name,
            region=region,
            description=description,
            ip_range=ip_range,
            created_at=self.now(),
            default=not has_default,
            auto_created=auto,
        )
        self.vpcs.add(vpc)
        return vpc

    def default_vpc(self, region: str) -> Vpc:
        """The region's default VPC, created on first use as DigitalOcean does: a droplet,
        database cluster or load balancer created without a VPC "will be assigned to your
        account's default VPC for the region" (droplets_create ``vpc_uuid``), and in a region
        with none DigitalOcean makes ``default-<region>`` for it."""
        for vpc in self.vpcs.values():
            if vpc.region == region and vpc.default:
                return vpc
        return self.add_vpc(f"default-{region}", region, "", self.free_ip_range(), auto=True)

    def chosen_vpc(self, key: str, vpc_id: str | None, region: str) -> Vpc:
        """The VPC a create names in its field ``key``, which must be in ``region``; without
        one, the region's default."""
        if not vpc_id:
            return self.default_vpc(region)
        vpc = self.vpcs.get(vpc_id)
        if vpc is None or vpc.region != region:
            raise ApiError.unprocessable(f"{key} {vpc_id} is not a VPC in {region}")
        return vpc

    def free_ip_range(self) -> str:
        """The next /20 in 10.0.0.0/8 that overlaps no existing VPC."""
        taken = [ipaddress.IPv4Network(v.ip_range) for v in self.vpcs.values()]
        for block in itertools.count():
            candidate = ipaddress.IPv4Network((int(_VPC_POOL_START) + block * 4096, 20))
            if not any(candidate.overlaps(other) for other in taken):
                return str(candidate)
        raise AssertionError("unreachable: itertools.count() does not end")

    def free_addresses(self, vpc: Vpc) -> int:
        """Addresses still free in the VPC (the network, gateway and broadcast are taken)."""
        return max(0, ipaddress.IPv4Network(vpc.ip_range).num_addresses - 1 - vpc.next_host)

    def private_ip(self, vpc: Vpc) -> str:
        if not self.free_addresses(vpc):
            raise ApiError.unprocessable(f"VPC {vpc.name} has no free addresses left")
        address = ipaddress.IPv4Network(vpc.ip_range).network_address + vpc.next_host
        vpc.next_host += 1
        return str(address)

    def public_ip(self) -> str:
        return str(_PUBLIC_POOL + next(self._public_hosts))
