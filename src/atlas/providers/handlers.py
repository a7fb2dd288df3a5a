"""The crash-safety machinery every provider needs, so that a provider writes only per-kind code.

A provider subclasses :class:`HandlerProvider` and writes one :class:`KindHandler` per resource
kind: how to create a batch of objects, find what carries a resource's marks (tags or a
deterministic name), poll, read, update and delete. The core then owns the rules that make
atlas safe on any cloud:

- **dispatch**: each call goes to the handler of the resource's kind;
- **ambiguous creates are never repeated** (:func:`ambiguous`, :class:`CreateAttempts`): when
  a create ends in doubt (a 5xx, a timeout, a dropped connection), the handler's ``find`` looks
  for what the attempt made and it is adopted; only when nothing is found is the call made
  again;
- **resume adopts first**: with ``recover``, what already carries the resource's marks is
  reported and only the missing objects are created;
- **ids are reported the moment they exist** (``on_created``), batch by batch, so the journal
  has them before anything else can go wrong;
- **batched polling**: one poll per kind per round, whatever the number of resources, rounds
  started ``poll_interval`` apart; concurrent waits on a kind share its rounds, whichever
  infrastructure (owner) they belong to: a provider instance is one account, so one list of
  the kind (:meth:`KindHandler.poll_owners`) answers them all, and each wait returns as soon
  as its own resources are ready;
- **no poll right after a create**: a create's own answer is the freshest state there is, so
  objects this provider instance has just created are first polled one ``poll_interval``
  after their create returned; a wait on objects not just created (a resume, an update's
  wait, a refresh) is polled at once (or in the next round, when rounds already run);
- **the visibility grace**: an object a poll does not show right after its create is still
  appearing, not failed, until ``visibility_grace`` seconds have passed;
- **waiting until gone** (:func:`until_gone`): a delete returns once the object is gone, and
  is sent again now and then, since clouds drop some.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

import attrs

from atlas.exceptions import (
    AtlasError,
    ConnectError,
    PluginError,
    ProviderOperationError,
    ServerError,
    TransportError,
    WaitTimeoutError,
)
from atlas.model.cloud import CloudObject, Owner, ResourceState
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec
from atlas.providers.contract import OnCreated, Provider, StepContext
from atlas.providers.shared import SharedReads

__all__ = [
    "CreateAttempts",
    "HandlerProvider",
    "KindHandler",
    "Timing",
    "ambiguous",
    "create_objects",
    "until_gone",
]

logger = logging.getLogger("atlas.providers")

T = TypeVar("T")

#: Statuses a wait stops at.
_SETTLED = ("active", "error")


@attrs.frozen
class Timing:
    """How a provider paces itself; tests inject a fake clock and sleep."""

    poll_interval: float = 1.0
    #: How long an object may be missing right after its create before that counts as failure.
    visibility_grace: float = 30.0
    #: How many times a create is tried when each attempt ends in doubt and left nothing behind.
    create_attempts: int = 3
    #: How long one action (a resize, a delete) may take.
    action_timeout: float = 600.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    @property
    def real_time(self) -> bool:
        """Whether time is the real one (else the HTTP layer must share the fake clock)."""
        return self.clock is time.monotonic and self.sleep is asyncio.sleep


def ambiguous(exc: BaseException) -> bool:
    """Whether a failed create may nonetheless have been applied.

    A connection that was never established cannot have been; a 5xx, a timeout or a dropped
    connection may have. (429s and connect errors are retried by the HTTP layer already.)
    """
    if isinstance(exc, ConnectError):
        return False
    return isinstance(exc, ServerError | TransportError)


class CreateAttempts:
    """Creates that are never blindly repeated.

    ``post`` is tried; when it fails in doubt, ``find`` looks for what it made, and whatever
    was found is adopted. Only when the look finds nothing is ``post`` tried again.
    """

    def __init__(self, timing: Timing) -> None:
        self.timing = timing

    async def run(
        self, post: Callable[[], Awaitable[T]], find: Callable[[], Awaitable[T | None]], what: str
    ) -> T:
        for attempt in range(1, self.timing.create_attempts + 1):
            try:
                return await post()
            except AtlasError as exc:
                if not ambiguous(exc) or attempt == self.timing.create_attempts:
                    raise
                logger.warning(
                    "create of %s ended in doubt (%s); looking for it", what, type(exc).__name__
                )
                found = await find()
                if found is not None:
                    logger.info("adopted %s made by the attempt that ended in doubt", what)
                    return found
        raise AssertionError("unreachable")  # pragma: no cover


async def until_gone(
    timing: Timing,
    what: str,
    look: Callable[[], Awaitable[object | None]],
    delete: Callable[[], Awaitable[None]],
) -> None:
    """Return once ``look`` finds nothing; ``delete`` is sent again every fifth round, since
    clouds accept some deletes and then drop them."""
    deadline = timing.clock() + timing.action_timeout
    rounds = 0
    while await look() is not None:
        if timing.clock() > deadline:
            raise ProviderOperationError(
                f"{what} is still there {timing.action_timeout:g}s after its delete"
            )
        rounds += 1
        if rounds % 5 == 0:
            await delete()
        await timing.sleep(timing.poll_interval)


class KindHandler(abc.ABC):
    """The live operations of one resource kind at one cloud.

    Subclasses set ``type`` and implement the abstract methods; each does one thing against the
    cloud and leaves retries in doubt, adoption, polling rounds and waits to the core.
    """

    #: The resource type this handler manages (``ResourceKind.type``).
    type: str
    #: Objects one create call can make (a cloud that creates ten servers per call says 10).
    batch_size: int = 1
    #: Create calls of one resource in flight at once.
    concurrent_creates: int = 1

    def __init__(self, timing: Timing) -> None:
        self.timing = timing
        #: When the create call of each object made through this handler returned, by id,
        #: kept for one poll interval: a wait on them polls first once it has passed.
        self._created_at: dict[str, float] = {}

    @property
    def noun(self) -> str:
        """What messages call one object of the kind (``"load balancer"``); by default the
        type in words. A subclass may set it as a class attribute."""
        return self.type.replace("_", " ")

    # -- creating ----------------------------------------------------------------------------

    @abc.abstractmethod
    def object_names(self, ctx: StepContext) -> list[str]:
        """The deterministic names of the objects ``ctx.resource`` consists of, in index
        order (one, or several for a counted resource). ``find`` recognises them."""

    @abc.abstractmethod
    async def create(self, ctx: StepContext, names: Sequence[str]) -> list[CloudObject]:
        """One create call for the objects ``names`` (at most ``batch_size``), carrying the
        owner's marks; the objects as the cloud accepted them."""

    @abc.abstractmethod
    async def find(self, owner: Owner, resource: str) -> list[CloudObject]:
        """Every object at the cloud that carries the marks of ``owner``'s ``resource`` (its
        tags, or its deterministic name): how a create in doubt, or a resumed one, is adopted.
        When several carry one name, the first is adopted: put the oldest first."""

    async def finish_create(self, ctx: StepContext, state: ResourceState) -> ResourceState:
        """What a create does once its objects exist (attach a volume, say). By default,
        nothing. Must be safe to run again on a resume."""
        del ctx
        return state

    # -- reading -----------------------------------------------------------------------------

    @abc.abstractmethod
    async def poll(
        self, owner: Owner, states: Sequence[ResourceState]
    ) -> Mapping[str, CloudObject]:
        """One round of status for ``states`` (as few calls as possible: one list, ideally):
        the objects the cloud shows, by id. An id missing from the answer is not there (yet)."""

    async def poll_owners(
        self, wanted: Mapping[Owner, Sequence[ResourceState]]
    ) -> Mapping[str, CloudObject]:
        """One round of status for the states of several owners at once (two or more; one
        owner's are polled with :meth:`poll`): every object shown, by id, as :meth:`poll`.

        The rounds of a kind are shared by every wait on it in the provider's account, so
        that infrastructures applied at once do not each list the kind every round. By
        default this is one :meth:`poll` per owner, which saves nothing; a kind whose list
        can show every owner's objects in one call (a list without the owner filter, or one
        that never had one) overrides it to make the round one call."""
        listed: dict[str, CloudObject] = {}
        for owner, states in wanted.items():
            listed.update(await self.poll(owner, states))
        return listed

    async def read(self, owner: Owner, state: ResourceState) -> ResourceState | None:
        """The resource as it is now, or ``None`` when none of its objects exist. By default,
        whatever carries its marks (see :meth:`find`)."""
        found = await self.find(owner, state.name)
        return ResourceState(self.type, state.name, tuple(found)) if found else None

    def drift(
        self, spec: InfrastructureSpec, resource: ResourceSpec, state: ResourceState
    ) -> list[str]:
        """Differences between ``state`` as read and ``resource``, one sentence each."""
        del spec, resource, state
        return []

    @abc.abstractmethod
    async def discover(self, owner: Owner) -> list[ResourceState]:
        """Every resource of this kind that carries ``owner``'s marks, one state per
        resource, sorted by name."""

    # -- changing ----------------------------------------------------------------------------

    @abc.abstractmethod
    async def update(self, ctx: StepContext, state: ResourceState) -> ResourceState:
        """Change ``state`` in place to match ``ctx.resource``; the state afterwards."""

    @abc.abstractmethod
    async def delete(self, owner: Owner, state: ResourceState) -> ResourceState | None:
        """Ask the cloud to delete every object of ``state`` (and any other carrying its
        marks). An object already gone is not an error. The core then waits until they are
        gone (see :meth:`remaining`): those of ``state``, or of the state returned here when
        the delete asked for more (objects found by their marks)."""

    async def remaining(self, owner: Owner, state: ResourceState) -> ResourceState | None:
        """What is left of ``state`` after its delete, as each round of the wait until gone
        sees it; ``None`` once nothing is. By default :meth:`read`; a kind whose read falls
        back to looking by marks (a list) may look by id alone here, since the delete has
        just asked for everything carrying them."""
        return await self.read(owner, state)


async def create_objects(
    handler: KindHandler,
    ctx: StepContext,
    names: Sequence[str],
    made: dict[str, CloudObject],
    *,
    on_created: OnCreated | None = None,
) -> None:
    """Make the objects of ``names`` that ``made`` (objects by name) lacks, the way every
    create does: in batches of ``batch_size``, ``concurrent_creates`` calls at once, each
    under the ambiguous-create rule; what each call made is added to ``made`` and reported
    through ``on_created`` as soon as it returns, and when it returned is noted, so that a
    wait on them polls first one ``poll_interval`` later. A handler's update that adds
    objects (a count that grows) makes them with this too."""
    attempts = CreateAttempts(handler.timing)
    for _ in range(len(names) + 1):  # each round makes at least one object, or raises
        missing = [n for n in names if n not in made]
        if not missing:
            return
        await _create_round(handler, attempts, ctx, missing, made, on_created=on_created)
    raise ProviderOperationError(f"the objects of {ctx.name!r} could not all be created")


async def _create_round(
    handler: KindHandler,
    attempts: CreateAttempts,
    ctx: StepContext,
    missing: Sequence[str],
    made: dict[str, CloudObject],
    *,
    on_created: OnCreated | None,
) -> None:
    """``missing`` in batches, ``concurrent_creates`` calls at once. A failed call stops
    further calls; those in flight finish and are reported before the failure is raised,
    so nothing that was created goes unrecorded."""
    gate = asyncio.Semaphore(handler.concurrent_creates)
    failures: list[Exception] = []

    async def create(batch: list[str]) -> None:
        async with gate:
            if failures:
                return
            try:
                created = await _create_batch(handler, attempts, ctx, batch)
                _note_created(handler, created)
                for obj in created:
                    made.setdefault(obj.name, obj)
                if on_created is not None:
                    await on_created(ctx.name, created)
            except Exception as exc:  # raised below, once the others are recorded
                failures.append(exc)

    size = max(1, handler.batch_size)
    batches = [list(missing[i : i + size]) for i in range(0, len(missing), size)]
    await asyncio.gather(*(create(b) for b in batches))
    if failures:
        raise failures[0]


def _note_created(handler: KindHandler, created: Sequence[CloudObject]) -> None:
    """Note that the create of ``created`` returned now; notes older than a poll interval
    (which no longer put off any poll) are dropped."""
    now = handler.timing.clock()
    notes = handler._created_at
    for old in [i for i, at in notes.items() if now - at >= handler.timing.poll_interval]:
        del notes[old]
    for obj in created:
        notes[obj.id] = now


async def _create_batch(
    handler: KindHandler, attempts: CreateAttempts, ctx: StepContext, batch: list[str]
) -> list[CloudObject]:
    async def post() -> list[CloudObject]:
        return await handler.create(ctx, batch)

    async def find() -> list[CloudObject] | None:
        wanted = set(batch)
        return [o for o in await handler.find(ctx.owner, ctx.name) if o.name in wanted] or None

    what = f"{handler.noun} {batch[0]}" + ("…" if len(batch) > 1 else "")
    return await attempts.run(post, find, what)


class HandlerProvider(Provider):
    """A provider made of :class:`KindHandler` s; see the module docstring for what it adds.

    Subclasses implement :meth:`build_handlers` (called once, on first use, since building
    them usually means resolving the credential) and may override the optional
    :class:`Provider` methods.
    """

    def __init__(self, timing: Timing | None = None) -> None:
        self.timing = timing or Timing()
        self._missing_since: dict[str, float] = {}
        self._handlers: Mapping[str, KindHandler] | None = None
        #: The polling rounds of each kind, shared by every owner's waits (one instance is
        #: one account: one token).
        self._rounds: dict[tuple[asyncio.AbstractEventLoop, str], _Rounds] = {}
        #: Account-wide reads (prices, limits) shared by every operation, likewise.
        self.shared = SharedReads(self.timing.clock)

    @abc.abstractmethod
    async def build_handlers(self) -> Mapping[str, KindHandler]:
        """The handler of every kind, by type."""

    async def connect(self) -> None:
        """Build the handlers now: this is when the credential is looked up."""
        await self.handlers()

    async def handlers(self) -> Mapping[str, KindHandler]:
        """The handlers, built on first use."""
        if self._handlers is None:
            self._handlers = await self.build_handlers()
        return self._handlers

    async def handler(self, kind: str) -> KindHandler:
        try:
            return (await self.handlers())[kind]
        except KeyError:
            raise PluginError(f"the {self.name} provider cannot manage {kind!r}") from None

    # -- create ------------------------------------------------------------------------------

    async def create(
        self,
        ctx: StepContext,
        *,
        on_created: OnCreated | None = None,
        recover: bool = False,
    ) -> ResourceState:
        handler = await self.handler(ctx.resource.type)
        names = handler.object_names(ctx)
        made: dict[str, CloudObject] = {}
        if recover:
            for found in await handler.find(ctx.owner, ctx.name):
                if found.name in names:
                    made.setdefault(found.name, found)
            if made and on_created is not None:
                await on_created(ctx.name, list(made.values()))
        await create_objects(handler, ctx, names, made, on_created=on_created)
        state = ResourceState(handler.type, ctx.name, tuple(made[n] for n in names))
        return await handler.finish_create(ctx, state)

    # -- wait --------------------------------------------------------------------------------

    async def wait(
        self, owner: Owner, states: Sequence[ResourceState], *, timeout: float
    ) -> list[ResourceState]:
        """Poll until ready: each round costs one poll per kind, however many resources, and
        however many waits run at once, of one owner or of many (they share the rounds of a
        kind; each returns as soon as its own resources are ready). Resources whose objects
        this provider has just created are first polled one ``poll_interval`` after their
        create returned (polled sooner, the cloud would only repeat the create's answer);
        others at once, or in the next round when rounds of their kind already run."""
        current = {s.name: s for s in states}
        pending = [s for s in current.values() if s.status not in _SETTLED]
        if not pending:
            return [current[s.name] for s in states]
        deadline = self.timing.clock() + timeout
        kinds = sorted({s.type for s in pending})
        for kind in kinds:
            await self.handler(kind)  # a kind nobody handles fails here, before any round
        joined = [
            self._rounds_of(kind).join(owner, [s for s in pending if s.type == kind], deadline)
            for kind in kinds
        ]
        try:
            outcomes = await asyncio.gather(*joined)
        finally:
            for future in joined:  # a wait given up (cancelled, or failed) leaves its rounds
                future.cancel()
        late = False
        for fresh, timed_out in outcomes:
            late = late or timed_out
            current.update({s.name: s for s in fresh})
        if late:
            names = ", ".join(sorted(s.name for s in current.values() if s.status not in _SETTLED))
            raise WaitTimeoutError(
                f"not ready after {timeout:g}s: {names}; their ids are kept for a resume",
                states=[current[s.name] for s in states],
            )
        return [current[s.name] for s in states]

    def _rounds_of(self, kind: str) -> _Rounds:
        """The rounds polling ``kind`` on this event loop, started if none run."""
        key = (asyncio.get_running_loop(), kind)
        rounds = self._rounds.get(key)
        if rounds is None:
            rounds = self._rounds[key] = _Rounds(self, kind, lambda: self._rounds.pop(key))
        return rounds

    def _created_last(self, kind: str, states: Sequence[ResourceState]) -> float | None:
        """When the last create of an object of ``states`` returned, if this provider made
        one of them less than a poll interval ago; else ``None``."""
        handler = (self._handlers or {}).get(kind)
        if handler is None:
            return None
        now = self.timing.clock()
        made = [
            at
            for s in states
            for o in s.objects
            if (at := handler._created_at.get(o.id)) is not None
            and now - at < self.timing.poll_interval
        ]
        return max(made, default=None)

    async def _poll(
        self, kind: str, wanted: Mapping[Owner, Sequence[ResourceState]]
    ) -> Mapping[str, CloudObject]:
        """One round for ``wanted`` (states by owner): the owner's own poll when there is
        one owner, else the handler's poll of several."""
        handler = await self.handler(kind)
        if len(wanted) == 1:
            [(owner, states)] = wanted.items()
            return await handler.poll(owner, states)
        return await handler.poll_owners(wanted)

    def _refreshed(
        self, states: Sequence[ResourceState], listed: Mapping[str, CloudObject]
    ) -> list[ResourceState]:
        """``states`` with each object as ``listed`` shows it; one not shown is still
        appearing until the visibility grace has passed, then an error."""
        out = []
        for state in states:
            objects = []
            for obj in state.objects:
                if obj.id in listed:
                    self._missing_since.pop(obj.id, None)
                    objects.append(listed[obj.id])
                else:
                    objects.append(self._missing(obj))
            out.append(ResourceState(state.type, state.name, tuple(objects)))
        return out

    def _missing(self, obj: CloudObject) -> CloudObject:
        first = self._missing_since.setdefault(obj.id, self.timing.clock())
        if self.timing.clock() - first < self.timing.visibility_grace:
            return obj
        error = {**obj.attributes, "error": "disappeared after create"}
        return attrs.evolve(obj, status="error", attributes=error)

    def _until_next_round(self, began: float) -> float:
        """Rounds start ``poll_interval`` apart, however long a round's calls took, but never
        closer than a quarter of it."""
        interval = self.timing.poll_interval
        return max(interval / 4, interval - (self.timing.clock() - began))

    # -- the rest ----------------------------------------------------------------------------

    async def read(self, owner: Owner, state: ResourceState) -> ResourceState | None:
        return await (await self.handler(state.type)).read(owner, state)

    async def update(self, ctx: StepContext, state: ResourceState) -> ResourceState:
        handler = await self.handler(ctx.resource.type)
        # Clouds refuse changes to an object still being created: let it settle first.
        [ready] = await self.wait(ctx.owner, [state], timeout=self.timing.action_timeout)
        return await handler.update(ctx, ready)

    async def delete(self, owner: Owner, state: ResourceState) -> None:
        handler = await self.handler(state.type)
        asked = await handler.delete(owner, state) or state
        left: ResourceState | None = asked

        async def look() -> ResourceState | None:
            nonlocal left
            left = await handler.remaining(owner, asked)
            return left

        async def again() -> None:  # what the last look still saw: no extra call to find it
            if left is not None:
                await handler.delete(owner, left)

        await until_gone(self.timing, f"{handler.noun} {state.name!r}", look, again)

    async def discover(self, owner: Owner) -> list[ResourceState]:
        found: list[ResourceState] = []
        handlers = await self.handlers()
        for kind in sorted(handlers):
            found.extend(await handlers[kind].discover(owner))
        return found

    def drift(
        self, spec: InfrastructureSpec, resource: ResourceSpec, state: ResourceState
    ) -> list[str]:
        # Drift is asked about what a read just returned, so the handlers exist by then.
        handler = (self._handlers or {}).get(resource.type)
        return handler.drift(spec, resource, state) if handler is not None else []


@attrs.define(eq=False)
class _Waiter:
    """One wait's resources of one kind, as the last round saw them."""

    owner: Owner
    states: list[ResourceState]
    deadline: float
    #: When its first poll may be made: one interval after the create of objects just
    #: created (never after the deadline), else when it joined.
    due: float
    #: Resolves to the states and whether the deadline passed first.
    future: asyncio.Future[tuple[list[ResourceState], bool]]

    def pending(self) -> list[ResourceState]:
        return [s for s in self.states if s.status not in _SETTLED]


class _Rounds:
    """The polling rounds of one kind in one account, shared by every wait on it, whatever
    infrastructure (owner) it belongs to.

    Each round is one poll for everything still pending of every wait that is due, so
    resources of a kind that wait at the same time cost one call per round however many
    steps of however many infrastructures wait on them (when the handler can poll several
    owners in one call: :meth:`KindHandler.poll_owners`); a failed poll fails every wait of
    its round, as its own poll would have. Each wait is answered the round its own
    resources are ready, not when the others are.

    A wait is due at once, unless its objects were just created by this provider: then it is
    due one ``poll_interval`` after their create returned (the last of them; at its deadline
    if that comes first), since a poll sooner would only repeat the create's answer. A round
    polls the waits that are due and leaves the others for a later round; when none is due,
    the next round begins when the first one is. Rounds planned for other waits are never
    put off a whole interval for a new wait: a wait that joins while rounds run is polled from
    the first round it is due in. One move is allowed: a wait just created whose first poll
    falls less than half an interval after the next round moves that round to it, so that its
    rounds fall as its own would have after its create instead of almost a whole interval
    later; the others wait at most half an interval more. A wait on objects not just created
    never moves a round. The rounds stop when no wait is left (and start again with the next
    one).
    """

    def __init__(self, provider: HandlerProvider, kind: str, forget: Callable[[], object]) -> None:
        self.provider = provider
        self.kind = kind
        self._forget = forget
        self._waiters: list[_Waiter] = []
        self._task: asyncio.Task[None] | None = None
        self._next: float | None = None  # when the next round is to begin, once planned

    def join(
        self, owner: Owner, states: Sequence[ResourceState], deadline: float
    ) -> asyncio.Future[tuple[list[ResourceState], bool]]:
        future: asyncio.Future[tuple[list[ResourceState], bool]] = (
            asyncio.get_running_loop().create_future()
        )
        timing = self.provider.timing
        now = timing.clock()
        created = self.provider._created_last(self.kind, states)
        due = now if created is None else max(now, min(created + timing.poll_interval, deadline))
        self._waiters.append(_Waiter(owner, list(states), deadline, due, future))
        planned = self._next
        just_missed = planned is not None and planned <= due < planned + timing.poll_interval / 2
        if created is not None and just_missed:
            self._next = due  # its first poll falls just after the next round: move the round
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"atlas poll {self.kind}")
        return future

    async def _run(self) -> None:
        timing = self.provider.timing
        try:
            while self._live():
                for waiter in [w for w in self._waiters if timing.clock() > w.deadline]:
                    self._answer(waiter, timed_out=True)
                if not self._live():
                    return
                began = timing.clock()
                batch = [w for w in self._waiters if w.due <= began]
                if not batch:  # every wait was just created: the first one due starts
                    self._next = min(w.due for w in self._waiters)
                    await self._until_next()
                    continue
                self._next = began + timing.poll_interval  # as planned until the round ends
                wanted: dict[Owner, list[ResourceState]] = {}
                for waiter in batch:
                    wanted.setdefault(waiter.owner, []).extend(waiter.pending())
                try:
                    listed = await self.provider._poll(self.kind, wanted)
                except Exception as exc:  # every wait of this round gets it, as if its own
                    for waiter in batch:
                        self._answer(waiter, error=exc)
                    continue
                for waiter in batch:
                    fresh = {s.name: s for s in self.provider._refreshed(waiter.pending(), listed)}
                    waiter.states = [fresh.get(s.name, s) for s in waiter.states]
                    if not waiter.pending():
                        self._answer(waiter)
                if self._live():
                    then = timing.clock() + self.provider._until_next_round(began)
                    moved = self._next if self._next is not None else then
                    self._next = max(moved, then)  # a wait that joined meanwhile may move it
                    await self._until_next()
        finally:
            # Forgotten in the same step as the last check: a wait that joins later starts
            # rounds of its own. A cancelled loop cancels the waits it leaves.
            self._forget()
            for waiter in self._waiters:
                waiter.future.cancel()

    async def _until_next(self) -> None:
        """Sleep until the next round, however often a wait joining meanwhile moves it."""
        timing = self.provider.timing
        while self._next is not None and (later := self._next - timing.clock()) > 0:
            await timing.sleep(later)

    def _live(self) -> bool:
        """Whether any wait is left (waits given up by their caller are dropped)."""
        self._waiters = [w for w in self._waiters if not w.future.done()]
        return bool(self._waiters)

    def _answer(
        self, waiter: _Waiter, *, timed_out: bool = False, error: Exception | None = None
    ) -> None:
        if waiter in self._waiters:
            self._waiters.remove(waiter)
        if waiter.future.done():
            return
        if error is not None:
            waiter.future.set_exception(error)
        else:
            waiter.future.set_result((waiter.states, timed_out))
