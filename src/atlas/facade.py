"""``AsyncAtlas`` and ``Atlas``: what another agent needs, with ``import atlas``.

    async with atlas.AsyncAtlas() as a:
        plan = await a.plan(spec)
        op = await a.apply(spec)

``Atlas`` offers the same methods for code that is not async. Both validate before anything is
sent, refuse a plan over budget unless told otherwise, and journal every operation in the state
store (``$ATLAS_STATE``, default ``.atlas/state.db``).
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import os
import threading
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from atlas.cost.engine import estimate_spec
from atlas.cost.estimate import Estimate
from atlas.cost.money import Money
from atlas.credentials import Secret
from atlas.events import DeliveryReport, EventDispatcher, WebhookSink
from atlas.exceptions import BudgetExceededError, RecordNotFoundError
from atlas.lifecycle.executor import ProgressCallback
from atlas.lifecycle.operations import OperationRunner, additions
from atlas.lifecycle.plan import Plan, make_plan
from atlas.model.cloud import Owner, ResourceState
from atlas.model.infrastructure import Budget, InfrastructureSpec
from atlas.model.records import InfrastructureRecord, OperationRecord, ResourceRecord, utcnow
from atlas.providers.contract import Provider
from atlas.providers.registry import ProviderRegistry
from atlas.runtime import SpecSource, default_registry
from atlas.spec.validate import validate_spec
from atlas.store.base import StateStore, Stats

__all__ = [
    "WEBHOOK_SECRET_ENV",
    "WEBHOOK_URL_ENV",
    "AsyncAtlas",
    "Atlas",
    "Drift",
    "InfrastructureView",
]

logger = logging.getLogger("atlas")
#: Where lifecycle events are POSTed, signed with the secret (both needed to turn it on).
WEBHOOK_URL_ENV = "ATLAS_WEBHOOK_URL"
WEBHOOK_SECRET_ENV = "ATLAS_WEBHOOK_SECRET"  # noqa: S105 - the name of a variable, not a secret

T = TypeVar("T")
#: The live provider for a provider name (default: built by the plugin's factory).
ProviderLookup = Callable[[str], Provider]


@attrs.frozen
class Drift:
    """What a refresh found about one resource: ``deleted`` or ``changed`` outside atlas."""

    resource: str
    kind: str
    details: tuple[str, ...]


@attrs.frozen
class InfrastructureView:
    """An infrastructure with its resources, as the store has them."""

    infrastructure: InfrastructureRecord
    resources: tuple[ResourceRecord, ...]


class AsyncAtlas:
    """The lifecycle of infrastructures in one workspace.

    :param store: where records are kept (default: :func:`atlas.store.open_store`).
    :param registry: the installed providers (default: every installed plugin).
    :param workspace: the workspace every record belongs to.
    :param providers: live providers by name (default: built by each plugin's factory on
        first use, credentials from the environment or the Context Manager).
    """

    def __init__(
        self,
        *,
        store: StateStore | None = None,
        registry: ProviderRegistry | None = None,
        workspace: str = "default",
        providers: Mapping[str, Provider] | None = None,
        provider_factory: ProviderLookup | None = None,
        events: EventDispatcher | None = None,
    ) -> None:
        if store is None:
            from atlas.store import open_store  # noqa: PLC0415 - opening a file is a choice

            store = open_store()
        self.store = store
        self.registry = registry or default_registry()
        self.workspace = workspace
        self._providers: dict[str, Provider] = dict(providers or {})
        self._factory = provider_factory
        self._sinks: list[WebhookSink] = []
        self.events = events or self._default_dispatcher()

    async def __aenter__(self) -> AsyncAtlas:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for provider in self._providers.values():
            await provider.aclose()
        for sink in self._sinks:
            await sink.aclose()

    def _default_dispatcher(self) -> EventDispatcher:
        """Events go to the plugins' ``atlas_on_event`` and, when ``ATLAS_WEBHOOK_URL`` and
        ``ATLAS_WEBHOOK_SECRET`` are set, to that webhook, signed."""
        url = os.environ.get(WEBHOOK_URL_ENV)
        secret = os.environ.get(WEBHOOK_SECRET_ENV)
        if url and secret:
            self._sinks.append(WebhookSink(url, Secret(secret)))
        return EventDispatcher(self.store, self.registry.plugins, self._sinks)

    async def deliver_events(self) -> DeliveryReport:
        """Deliver what the outbox holds (at least once); what fails stays queued."""
        report = await self.events.deliver_pending()
        for failure in report.failures:
            logger.warning("event delivery failed: %s", failure)
        return report

    # -- reading -----------------------------------------------------------------------------

    def validate(self, source: SpecSource) -> InfrastructureSpec:
        return validate_spec(source, registry=self.registry, purpose="create")

    async def estimate(self, source: SpecSource) -> Estimate:
        spec = validate_spec(source, registry=self.registry, purpose="estimate")
        return estimate_spec(spec, self.registry)

    async def plan(self, source: SpecSource, *, refresh: bool = False) -> Plan:
        """What ``apply`` would do, with its cost; nothing is changed at the provider.

        With ``refresh``, the recorded resources are first read back from the provider (see
        :meth:`refresh`): what was deleted outside atlas is recreated, what drifted is put
        back, and prices are the provider's current ones. Only such a plan, which reads the
        cloud, lists the account steps (:attr:`Plan.account
        <atlas.lifecycle.plan.Plan.account>`) that ``apply`` carries out first.
        """
        spec = self.validate(source)
        return await self._plan(spec, refresh=refresh, account=refresh)

    async def _plan(
        self, spec: InfrastructureSpec, *, refresh: bool, account: bool = False
    ) -> Plan:
        """The plan; with ``account``, the provider is also asked what the account needs
        before the resources the plan creates (:meth:`Provider.account_steps
        <atlas.providers.Provider.account_steps>`), which reads the cloud."""
        infra = self._live_infra(spec.name)
        registry = self.registry
        drift: dict[str, builtins.list[str]] = {}
        if refresh:
            registry = await self._live_prices(spec.provider)
            if infra is not None:
                found = await self.refresh(infra.id, spec=spec)
                drift = {d.resource: builtins.list(d.details) for d in found}
        recorded = self.store.list_resources(infra.id) if infra else []
        plan = make_plan(
            spec, recorded, registry, recorded_spec=infra.spec if infra else None, drift=drift
        )
        if account:
            plan = await self._account_steps(spec, plan)
        return plan

    async def _account_steps(self, spec: InfrastructureSpec, plan: Plan) -> Plan:
        """``plan`` with the account steps its creates need (none when it creates nothing)."""
        creates = [
            spec.resource(c.resource) for c in plan.changes if c.action in ("create", "replace")
        ]
        if not creates:
            return plan
        steps = await self._provider(spec.provider).account_steps(spec, creates)
        return attrs.evolve(plan, account=tuple(steps))

    async def refresh(
        self, key: str, *, spec: InfrastructureSpec | None = None
    ) -> builtins.list[Drift]:
        """Read every recorded resource back from the provider; record what is there now and
        report what changed outside atlas (deleted, resized, retagged...).

        Drift is measured against ``spec`` (default: the spec last applied; an infrastructure
        whose first apply never finished has none, and only deletions are reported)."""
        view = self.get(key)
        infra = view.infrastructure
        if spec is None and infra.spec:
            spec = validate_spec(dict(infra.spec), registry=self.registry)
        provider = self._provider(infra.provider)
        owner = Owner(self.workspace, infra.name)
        found: builtins.list[Drift] = []
        for record in view.resources:
            if record.status in ("pending", "creating"):
                # A create an interrupted operation started: its ids may not be recorded yet,
                # so reading by id proves nothing. The next apply adopts what it made.
                continue
            fresh = await provider.read(owner, record.state())
            if fresh is None:
                self.store.save_resource(attrs.evolve(record, status="deleted", objects=()))
                found.append(Drift(record.name, "deleted", ("no longer exists at the provider",)))
                continue
            self.store.save_resource(attrs.evolve(record, objects=fresh.objects))
            wanted = (
                next((r for r in spec.resources if r.name == record.name), None)
                if (spec is not None)
                else None
            )
            details = provider.drift(spec, wanted, fresh) if spec and wanted else []
            if details:
                found.append(Drift(record.name, "changed", tuple(details)))
        return found

    async def _live_prices(self, provider_name: str) -> ProviderRegistry:
        catalog = self.registry.catalog(provider_name)
        if catalog is None:
            return self.registry
        fresh = await self._provider(provider_name).refresh_catalog(catalog)
        return self.registry.replace_catalog(fresh)

    def get(self, key: str) -> InfrastructureView:
        """An infrastructure of this workspace by name or id."""
        infra = self.store.get_infrastructure(self.workspace, key)
        if infra is None:
            raise RecordNotFoundError(f"no infrastructure {key!r} in workspace {self.workspace!r}")
        return InfrastructureView(infra, tuple(self.store.list_resources(infra.id)))

    def list(self, *, limit: int = 100, offset: int = 0) -> builtins.list[InfrastructureRecord]:
        return self.store.list_infrastructures(self.workspace, limit=limit, offset=offset)

    def operation(self, operation_id: str) -> OperationRecord:
        op = self.store.get_operation(self.workspace, operation_id)
        if op is None:
            raise RecordNotFoundError(
                f"no operation {operation_id!r} in workspace {self.workspace!r}"
            )
        return op

    def operations(self, key: str) -> builtins.list[OperationRecord]:
        return self.store.list_operations(self.workspace, self.get(key).infrastructure.id)

    def stats(self) -> Stats:
        return self.store.stats(self.workspace)

    def providers(self) -> builtins.list[str]:
        return list(self.registry.names())

    # -- changing ----------------------------------------------------------------------------

    async def apply(
        self,
        source: SpecSource,
        *,
        budget: Budget | None = None,
        allow_over_budget: bool = False,
        rollback: bool = True,
        timeouts: Mapping[str, float] | None = None,
        on_progress: ProgressCallback | None = None,
        refresh: bool = True,
    ) -> OperationRecord:
        """Make the infrastructure match the spec; the finished operation.

        With ``refresh`` (the default), what exists is read back first and prices are the
        provider's current ones (see :meth:`plan`).

        An operation left unfinished by a crash is taken over: what it made is adopted.
        Raises :class:`~atlas.exceptions.BudgetExceededError` (nothing changed) when the plan
        costs more than ``budget`` (or the spec's), unless ``allow_over_budget``.
        """
        spec = self.validate(source)
        # What exists is read back, and the provider's current prices decide the budget. What
        # the account needs first is always asked: the operation is about to use the cloud.
        plan = await self._plan(spec, refresh=refresh, account=True)
        self._check_budget(plan, budget, allow_over_budget)
        provider = self._provider(spec.provider)
        await provider.check_capacity(Owner(self.workspace, spec.name), additions(plan, spec))
        infra = self._live_infra(spec.name) or self._new_infra(spec, plan.currency)
        info = self.registry.get(spec.provider)
        runner = OperationRunner(
            store=self.store,
            provider=provider,
            kinds=self.registry.kinds(spec.provider),
            infra=infra,
            spec=spec,
            plan=plan,
            kind="apply",
            rollback=rollback,
            timeouts={**info.ready_timeouts, **(timeouts or {})},
            default_timeout=info.default_ready_timeout,
            on_progress=on_progress,
        )
        op = await runner.run()
        await self.deliver_events()
        return op

    async def destroy(
        self, key: str, *, on_progress: ProgressCallback | None = None
    ) -> OperationRecord:
        """Delete every resource of an infrastructure, dependents first, each delete verified.

        An infrastructure already destroyed has nothing to delete: the answer is the operation
        that destroyed it, and nothing new is recorded."""
        view = self.get(key)
        infra = view.infrastructure
        if infra.status == "destroyed" and not view.resources:
            done = self.store.list_operations(self.workspace, infra.id)
            if done:
                return done[0]
        # Only what the infrastructure is (not what it was meant to hold) matters here, and a
        # first apply that never finished recorded no spec.
        empty = InfrastructureSpec(
            name=infra.name,
            provider=infra.provider,
            region=infra.region,
            tags=dict(infra.spec.get("tags", {})),
        )
        plan = make_plan(empty, view.resources, self.registry, recorded_spec=infra.spec)
        runner = OperationRunner(
            store=self.store,
            provider=self._provider(infra.provider),
            kinds=self.registry.kinds(infra.provider),
            infra=infra,
            spec=empty,
            plan=plan,
            kind="destroy",
            rollback=False,
            on_progress=on_progress,
        )
        op = await runner.run()
        await self.deliver_events()
        return op

    async def resume(self, operation_id: str) -> OperationRecord:
        """Carry on with an operation that did not finish (a crash, a timeout): a new
        operation toward the same spec takes over, adopting what the old one made."""
        old = self.operation(operation_id)
        if old.kind == "destroy":
            return await self.destroy(old.infrastructure_id)
        # The budget was decided when the operation started (checked, or knowingly allowed);
        # finishing it does not decide again.
        return await self.apply(dict(old.spec), allow_over_budget=True)

    async def reconcile(self, key: str, *, delete: bool = False) -> builtins.list[ResourceState]:
        """What carries this infrastructure's ownership marks at the provider but is unknown
        to the store; with ``delete``, delete it. Nothing unmarked is ever touched."""
        view = self.get(key)
        infra = view.infrastructure
        provider = self._provider(infra.provider)
        known = {o.id for r in view.resources for o in r.objects}
        orphans: builtins.list[ResourceState] = []
        for state in await provider.discover(Owner(self.workspace, infra.name)):
            stray = tuple(o for o in state.objects if o.id not in known)
            if stray:
                orphans.append(ResourceState(state.type, state.name, stray))
        if delete:
            for state in orphans:
                await provider.delete(Owner(self.workspace, infra.name), state)
        return orphans

    # -- helpers -----------------------------------------------------------------------------

    def _live_infra(self, name: str) -> InfrastructureRecord | None:
        infra = self.store.get_infrastructure(self.workspace, name)
        return None if infra is None or infra.status == "destroyed" else infra

    def _new_infra(self, spec: InfrastructureSpec, currency: str) -> InfrastructureRecord:
        old = self.store.get_infrastructure(self.workspace, spec.name)
        now = utcnow()
        record = InfrastructureRecord(
            id=old.id if old is not None else str(uuid.uuid4()),
            workspace=self.workspace,
            name=spec.name,
            provider=spec.provider,
            region=spec.region,
            status="pending",
            spec={},
            monthly_cost=Decimal(0),
            currency=currency,
            created_at=now,
            updated_at=now,
        )
        self.store.save_infrastructure(record)
        return record

    def _provider(self, name: str) -> Provider:
        name = self.registry.get(name).name
        if name not in self._providers:
            if self._factory is not None:
                self._providers[name] = self._factory(name)
            else:
                self._providers[name] = self.registry.build(name)
        return self._providers[name]

    @staticmethod
    def _check_budget(plan: Plan, budget: Budget | None, allow: bool) -> None:
        limit = budget or plan.budget
        if limit is None or allow or not plan.over_budget(limit):
            return
        cap = Money(limit.monthly_limit, limit.currency)
        raise BudgetExceededError(
            f"the plan costs {plan.cost_after} a month, over the budget of {cap} "
            f"(now {plan.cost_before}, change {plan.cost_change}); nothing was changed",
            limit=str(cap),
            planned=str(plan.cost_after),
        )


class Atlas:
    """:class:`AsyncAtlas` for code that is not async: same methods, blocking.

    Runs an event loop of its own in a background thread, so it works from any thread and
    even where another loop is running (a notebook).
    """

    def __init__(self, **kwargs: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, daemon=True, name="atlas-loop"
        )
        self._thread.start()
        self._async = self._call(_build(kwargs))

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def __enter__(self) -> Atlas:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._call(self._async.aclose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._async, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attr(*args, **kwargs)
            if isinstance(result, Awaitable):
                return self._call(_await(result))
            return result

        return call


async def _build(kwargs: dict[str, Any]) -> AsyncAtlas:
    return AsyncAtlas(**kwargs)


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable
