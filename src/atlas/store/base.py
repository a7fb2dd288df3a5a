"""The state store: what atlas knows it made, and every operation's journal.

A small protocol so that the embedded SQLite store (the default) and a PostgreSQL store for
several server replicas can stand in for each other. Every method is one transaction: a
state change and the event reporting it are committed together, or neither is.

Rules every implementation keeps:

- everything is scoped by workspace: a record of another workspace is never returned;
- one writer per infrastructure: :meth:`StateStore.lock` refuses a second operation with
  :class:`~atlas.exceptions.LockedError` naming the holder and since when, unless the holder is
  known dead (its process gone, or its heartbeat older than the lease);
- fencing: each take of a lock gets a token greater than any before it for that
  infrastructure; while a store instance holds a lock, every write it makes for that
  infrastructure (journal, records, heartbeat) checks, in the write's own transaction, that
  the lock still carries its token, and raises :class:`~atlas.exceptions.LockLostError` if
  another holder took it over, so a holder that only looked dead (paused, cut off) can never
  write over the journal of the one that carries on;
- an operation whose holder is gone is claimed by exactly one process
  (:meth:`StateStore.claim_orphans`) and carried on in place
  (:meth:`StateStore.continue_operation`);
- an operation's steps are written before the cloud is asked (intent), and provider ids the
  moment they are known, so a crash at any point leaves enough to resume.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol

import attrs

from atlas.model.cloud import CloudObject
from atlas.model.infrastructure import Budget
from atlas.model.records import (
    AuditEntry,
    BudgetRecord,
    EventRecord,
    InfrastructureRecord,
    OperationRecord,
    OperationStatus,
    ResourceRecord,
    StepRecord,
    StepStatus,
    ThresholdCrossing,
)

__all__ = ["LockInfo", "ObjectOwner", "Snapshot", "StateStore", "Stats"]


@attrs.frozen
class LockInfo:
    """Who holds an infrastructure's lock."""

    infrastructure_id: str
    operation_id: str
    acquired_at: dt.datetime
    heartbeat_at: dt.datetime
    holder: str  # "<host>:<pid>", to tell a crashed local holder from a live one
    #: The fencing token of this take (see the module docstring); 0 in stores written before
    #: tokens existed.
    token: int = 0


@attrs.frozen
class ObjectOwner:
    """Which resource of which infrastructure records a provider object."""

    workspace: str
    infrastructure: str
    resource: str
    imported: bool = False


@attrs.frozen
class Snapshot:
    """Everything a store holds, in every workspace, as of one instant: what a backup is made
    of (:mod:`atlas.store.backup`) and what :meth:`StateStore.restore` puts back.

    Each kind of record comes in the order every store gives it, so that two stores holding
    the same records give equal snapshots: infrastructures by workspace, creation time and id;
    resources by infrastructure and name; operations in the order they were recorded; steps by
    operation and index; events by ``seq``, their place in the outbox (commit order, across
    workspaces), which is restored with them; locks by infrastructure; budgets by workspace;
    threshold crossings by workspace, scope, month and threshold.
    """

    infrastructures: tuple[InfrastructureRecord, ...] = ()
    resources: tuple[ResourceRecord, ...] = ()
    operations: tuple[OperationRecord, ...] = ()
    steps: tuple[StepRecord, ...] = ()
    #: ``(seq, event)`` pairs.
    events: tuple[tuple[int, EventRecord], ...] = ()
    locks: tuple[LockInfo, ...] = ()
    #: The audit trail, every workspace's, by ``seq`` (each entry carries its own).
    audit: tuple[AuditEntry, ...] = ()
    #: The workspaces' own budgets (an infrastructure's is in its spec).
    budgets: tuple[BudgetRecord, ...] = ()
    #: The thresholds already crossed, each with the id of the event it queued.
    threshold_crossings: tuple[ThresholdCrossing, ...] = ()


@attrs.frozen
class Stats:
    """Figures for ``/stats``: counted from the records, never invented.

    Monthly costs are summed per currency, never across currencies: ``estimated_monthly_cost``
    and ``currency`` are the one total when every live infrastructure is billed in the same
    currency, and ``monthly_costs`` has each currency's total in any case.
    """

    total_infrastructures: int
    active_infrastructures: int
    total_resources: int
    #: The live infrastructures' monthly cost, by ISO 4217 currency code (in code order).
    monthly_costs: Mapping[str, Decimal]
    operations_in_progress: int

    @property
    def currency(self) -> str | None:
        """The currency of every live infrastructure; ``None`` when there is none, or several."""
        return next(iter(self.monthly_costs)) if len(self.monthly_costs) == 1 else None

    @property
    def estimated_monthly_cost(self) -> Decimal | None:
        """The total in :attr:`currency` (zero with no live infrastructure); ``None`` when they
        are billed in several currencies, which cannot be added up."""
        if len(self.monthly_costs) > 1:
            return None
        return sum(self.monthly_costs.values(), Decimal(0))


class StateStore(Protocol):
    """The store atlas keeps its records in."""

    # -- infrastructures ---------------------------------------------------------------------

    def get_infrastructure(self, workspace: str, key: str) -> InfrastructureRecord | None:
        """By id or by name, within the workspace."""

    def list_infrastructures(
        self, workspace: str, *, limit: int = 100, offset: int = 0
    ) -> list[InfrastructureRecord]:
        """Newest first; destroyed ones included (their status says so)."""

    def save_infrastructure(self, record: InfrastructureRecord) -> None:
        """Insert or replace."""

    # -- resources ---------------------------------------------------------------------------

    def list_resources(self, infrastructure_id: str) -> list[ResourceRecord]: ...

    def save_resource(self, record: ResourceRecord) -> None:
        """Insert or replace by (infrastructure, name)."""

    def record_objects(
        self, infrastructure_id: str, name: str, objects: Sequence[CloudObject]
    ) -> None:
        """Add provider objects to a resource the moment their ids are known (merged by id).

        The resource row must exist (saved with status ``creating`` when its step started).
        """

    def delete_resource(self, infrastructure_id: str, name: str) -> None: ...

    def owned_objects(self, provider: str) -> dict[str, ObjectOwner]:
        """Every provider object id recorded for ``provider``'s infrastructures, in every
        workspace, with who records it: what ``discover`` sets aside, and what an import may
        not take from another infrastructure. (Across workspaces on purpose: an object one
        workspace owns is not free for another to adopt.)"""

    # -- operations and steps ----------------------------------------------------------------

    def start_operation(
        self, operation: OperationRecord, steps: Sequence[StepRecord], event: EventRecord
    ) -> None:
        """Record an operation, its planned steps and its ``deployment.started`` event."""

    def get_operation(self, workspace: str, operation_id: str) -> OperationRecord | None: ...

    def list_operations(self, workspace: str, infrastructure_id: str) -> list[OperationRecord]:
        """Newest first."""

    def unfinished_operation(self, infrastructure_id: str) -> OperationRecord | None:
        """The operation of this infrastructure still ``pending`` or ``in_progress``, if any."""

    def unfinished_operations(self) -> list[OperationRecord]:
        """Every operation still ``pending`` or ``in_progress``, in every workspace, oldest
        first: what a server restarting after a crash or a shutdown resumes."""

    def update_operation(self, operation_id: str, **changes: Any) -> OperationRecord:
        """Change some fields of an operation (progress, status, error, finished_at)."""

    def finish_operation(
        self,
        operation_id: str,
        status: OperationStatus,
        *,
        error: str | None,
        infrastructure: InfrastructureRecord,
        events: Sequence[EventRecord],
    ) -> None:
        """End an operation, save the infrastructure's new state and queue the events, as one
        transaction."""

    def steps(self, operation_id: str) -> list[StepRecord]: ...

    def update_step(
        self,
        operation_id: str,
        index: int,
        *,
        status: StepStatus,
        provider_ids: Sequence[str] | None = None,
        error: str | None = None,
        note: str | None = None,
    ) -> None:
        """Set a step's status (``running`` sets ``started_at``, an end state
        ``finished_at``), and its provider ids and note when given."""

    def continue_operation(
        self, operation_id: str, steps: Sequence[StepRecord], *, interrupted: str
    ) -> OperationRecord:
        """Carry an unfinished operation on in place, under its lock (held by this store),
        in one transaction: its steps that never started are dropped, those that were
        running end ``failed`` with ``interrupted`` as their error (their provider ids kept:
        the new steps adopt what they made), ``steps`` (indexed after every step recorded)
        are added, and ``total_steps`` becomes the steps done plus the new ones. The
        operation is ``in_progress`` again; its id, spec and start time are kept."""

    # -- locks -------------------------------------------------------------------------------

    @property
    def lease_seconds(self) -> float:
        """Seconds after its last heartbeat that a holder on another host is taken to be
        gone."""

    def lock(self, infrastructure_id: str, operation_id: str) -> int:
        """Take the infrastructure's lock for the operation, or raise ``LockedError``; the
        fencing token this store now writes under. Taking it again for the same operation
        and holder keeps the token."""

    def claim_orphans(
        self, *, limit: int = 10, skip: frozenset[str] = frozenset()
    ) -> list[OperationRecord]:
        """Claim operations left without a live holder, oldest first: the newest unfinished
        operation of an infrastructure whose lock is free, or held by a holder that is gone
        (its process dead on this host, or its heartbeat older than the lease). Each is
        locked for this process (a new token) in the same transaction; one another process
        is claiming at that moment is skipped, so each is claimed exactly once; so are the
        operation ids in ``skip``. The caller carries each on (:meth:`~atlas.AsyncAtlas.resume`)
        or releases it (:meth:`unlock`)."""

    def heartbeat(self, infrastructure_id: str, operation_id: str) -> None:
        """Renew the lease; ``LockLostError`` when another holder took the lock over."""

    def unlock(self, infrastructure_id: str, operation_id: str) -> None:
        """Release, if (and only if) held by this operation."""

    def lock_info(self, infrastructure_id: str) -> LockInfo | None: ...

    # -- events ------------------------------------------------------------------------------

    def add_events(self, events: Sequence[EventRecord]) -> None: ...

    def pending_events(self, *, limit: int = 100) -> list[EventRecord]:
        """Events not yet delivered, oldest first (every workspace: the dispatcher's view)."""

    def mark_delivered(self, event_ids: Sequence[str]) -> None: ...

    def events_of(self, workspace: str, operation_id: str) -> list[EventRecord]: ...

    async def follow(self, on_change: Callable[[], None], stop: asyncio.Event) -> None:
        """Until ``stop`` is set, call ``on_change`` soon after any process sharing the store
        commits a change to an operation's journal (its steps, its status, its events): what
        lets an event stream served by one replica follow an operation another replica runs.
        A store that cannot tell (one process alone on a file) just waits for ``stop``;
        readers then poll."""

    # -- the audit trail ---------------------------------------------------------------------

    def append_audit(self, entry: AuditEntry) -> AuditEntry:
        """Append ``entry`` to the audit trail and return it as stored: numbered after the last
        entry of every workspace, linked to its hash, redacted and hashed
        (:func:`atlas.store.audit.seal`). Appends are serialised, so the chain never forks;
        ``entry``'s own ``seq``, ``prev_hash`` and ``hash`` are ignored."""

    def audit_entries(
        self, workspace: str | None, *, after_seq: int = 0, limit: int = 100
    ) -> list[AuditEntry]:
        """Entries after ``after_seq``, oldest first, at most ``limit``: the workspace's, or
        with ``None`` every entry (the operator's view, what verification walks)."""

    # -- budgets -----------------------------------------------------------------------------

    def set_budget(self, workspace: str, budget: Budget | None) -> None:
        """Set (or, with ``None``, remove) the workspace's own budget."""

    def get_budget(self, workspace: str) -> Budget | None:
        """The workspace's own budget, if one is set."""

    def workspaces(self) -> list[str]:
        """Every workspace with an infrastructure or a budget, by name: what a budget check
        walks."""

    def cross_threshold(self, scope: str, month: str, threshold: int, event: EventRecord) -> bool:
        """Record that ``threshold`` (a percentage) of the budget ``scope`` (``workspace``, or
        ``infrastructure:<id>``) of ``event.workspace`` was crossed in ``month`` (YYYY-MM) and
        queue ``event``, in one transaction; ``False`` (nothing queued) when it was recorded
        before, so each threshold sends one event a month however many checkers race."""

    def crossed_thresholds(self, workspace: str, scope: str, month: str) -> list[int]:
        """The thresholds of ``scope`` already crossed in ``month``, ascending."""

    # -- backup ------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """Every record of every workspace, read in one transaction (a consistent view while
        others write)."""

    def restore(self, snapshot: Snapshot) -> None:
        """Put ``snapshot`` back, every record as it was (ids, times, an event's ``seq``), in
        one transaction; refused with ``StateError`` unless the store is empty (it holds no
        infrastructure, operation, event, lock, audit entry, budget or threshold crossing).
        The audit trail comes back as it was, hashes and all, so it verifies as it did; the
        thresholds crossed come back with their events, so none is alerted again."""

    # -- the rest ----------------------------------------------------------------------------

    def stats(self, workspace: str) -> Stats: ...

    def check(self) -> dict[str, Any]:
        """Health: the settings in force (journal mode, synchronous, ...), the schema version,
        and ``writable``: whether a write would succeed now (with ``write_error`` saying why
        not, in words that name no path or secret). Cheap enough for every health poll;
        raises when the store cannot be read."""

    def close(self) -> None: ...
