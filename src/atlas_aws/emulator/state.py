"""What the fidelity layer remembers per emulated account: faults armed, launch tokens,
launch times, the request count and the rate-limit buckets."""

from __future__ import annotations

import enum
import threading

import attrs

__all__ = ["Account", "Bucket", "DeletingDb", "Fault", "FaultKind", "Launch"]


class FaultKind(enum.Enum):
    #: The call is carried out, then answered with a server error.
    ERROR_AFTER = "error_after"
    #: The call is carried out, then the connection drops unanswered.
    DROP_AFTER = "drop_after"
    #: The call is refused as over the rate limit.
    THROTTLE = "throttle"


@attrs.define
class Fault:
    kind: FaultKind
    #: The EC2 action it strikes (``None``: any).
    action: str | None
    remaining: int


@attrs.frozen
class Launch:
    """One ``RunInstances`` as a ``ClientToken`` remembers it."""

    fingerprint: str
    body: bytes
    instance_ids: tuple[str, ...]


@attrs.define
class Bucket:
    """EC2's request token bucket: ``capacity`` requests at once, ``refill`` a second."""

    capacity: float
    refill: float
    tokens: float
    at: float

    def take(self, now: float) -> bool:
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.refill)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


@attrs.frozen
class DeletingDb:
    """A DB instance RDS is deleting: since when, as it was last shown, its subnet group."""

    at: float
    element: str
    subnet_group: str


@attrs.define
class Account:
    """One emulated account (one access key id)."""

    account_id: str
    lock: threading.Lock = attrs.field(factory=threading.Lock)
    faults: list[Fault] = attrs.field(factory=list)
    tokens: dict[str, Launch] = attrs.field(factory=dict)
    #: Instance id (or load balancer ARN) -> when it was launched (the layer's clock).
    launched: dict[str, float] = attrs.field(factory=dict)
    requests: int = 0
    #: The EC2 and RDS actions atlas asked for, in order (what tests count calls by).
    actions: list[str] = attrs.field(factory=list)
    regions: set[str] = attrs.field(factory=set)
    #: Target group ARN -> until when ELBv2 still holds it for a deleted load balancer.
    released: dict[str, float] = attrs.field(factory=dict)
    buckets: dict[str, Bucket] = attrs.field(factory=dict)
    #: ``<region>/<DBInstanceIdentifier>`` -> when it was created (the layer's clock).
    db_created: dict[str, float] = attrs.field(factory=dict)
    #: ``<region>/<DBInstanceIdentifier>`` of the DB instances being deleted.
    db_deleting: dict[str, DeletingDb] = attrs.field(factory=dict)

    def strike(self, kind: FaultKind, action: str) -> bool:
        """Whether an armed fault of ``kind`` strikes this ``action`` (and use it up)."""
        with self.lock:
            for fault in self.faults:
                if fault.kind is kind and fault.remaining > 0 and fault.action in (None, action):
                    fault.remaining -= 1
                    return True
        return False

    def armed(self) -> int:
        with self.lock:
            return sum(f.remaining for f in self.faults)
