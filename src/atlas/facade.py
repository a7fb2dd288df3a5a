"""``AsyncAtlas`` and ``Atlas``: what another agent needs, with ``import atlas``.

    async with atlas.AsyncAtlas() as a:
        plan = await a.plan(spec, refresh=True)   # review it: changes, cost, data loss
        op = await a.apply(plan)                  # exactly that plan, or StalePlanError

``Atlas`` offers the same methods for code that is not async, each declared with its
signature (``tests/atlas/test_facade_api.py`` keeps the two in step). Both validate before
anything is sent, refuse a plan over budget unless told otherwise, and journal every operation in
the state store (``$ATLAS_STATE``, default ``.atlas/state.db``).

``Atlas.in_sandbox("digitalocean")`` (or ``AsyncAtlas.in_sandbox``) works against the provider's
in-process emulator with a store in memory: no account, no token, nothing kept.
"""

from __future__ import annotations

import asyncio
import builtins
import datetime as dt
import functools
import logging
import os
import threading
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import attrs

from atlas.cost.accrual import CostReport, parse_month, workspace_costs
from atlas.cost.billing import Duration
from atlas.cost.budgets import threshold_warnings
from atlas.cost.engine import estimate_spec
from atlas.cost.estimate import Estimate
from atlas.cost.money import Money
from atlas.credentials import Secret
from atlas.events import DeliveryReport, EventDispatcher, WebhookSink
from atlas.exceptions import (
    BudgetExceededError,
    OperationInterruptedError,
    PluginError,
    Problem,
    ProvisioningUnavailableError,
    RecordNotFoundError,
    SpecValidationError,
    StalePlanError,
)
from atlas.lifecycle.basis import changes_since, take_basis
from atlas.lifecycle.discovery import Discovery, discovery
from atlas.lifecycle.executor import ProgressCallback
from atlas.lifecycle.operations import OperationRunner, additions
from atlas.lifecycle.plan import Plan, make_plan, needs_import
from atlas.model.cloud import Owner, ResourceState
from atlas.model.infrastructure import Budget, InfrastructureSpec, ResourceSpec
from atlas.model.records import InfrastructureRecord, OperationRecord, ResourceRecord, utcnow
from atlas.portable.kinds import ANY
from atlas.portable.record import recorded_placement
from atlas.providers.contract import ActualCharges, FoundResource, Provider
from atlas.providers.declarations import Purpose, Sandbox
from atlas.providers.registry import ProviderRegistry, not_live_message
from atlas.runtime import SpecSource, default_registry
from atlas.spec.load import load_document
from atlas.spec.validate import validate_spec
from atlas.store.base import StateStore, Stats

if TYPE_CHECKING:
    from atlas.store.budget import StoreBudgets

__all__ = [
    "WEBHOOK_SECRET_ENV",
    "WEBHOOK_URL_ENV",
    "AsyncAtlas",
    "Atlas",
    "CpuRunner",
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
#: A spec already validated (:meth:`AsyncAtlas.validate`), or anything one is read from.
SpecInput = SpecSource | InfrastructureSpec
#: No resource takes fewer bytes of JSON (``{"name":"a","type":"vpc"},``): a text's length
#: over this bounds how many resources it holds, before it is read.
_MIN_RESOURCE_BYTES = 26


class CpuRunner(Protocol):
    """Where :class:`AsyncAtlas` runs its CPU-heavy steps (validation, pricing, planning):
    ``work()``, a step on ``size`` resources, awaited for its result or its error.

    Without one they run in place, on the caller's event loop, which a spec of tens of
    thousands of resources holds for a second. The HTTP server passes one that runs large
    steps on its worker threads, so that its loop goes on answering meanwhile."""

    def __call__(self, work: Callable[[], T], size: int, /) -> Awaitable[T]: ...


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


def _share_rate_budget(store: StateStore) -> StoreBudgets | None:
    """Every process on ``store``'s database shares one rate budget per cloud account from
    now on (:mod:`atlas.store.budget`): the providers' limiters, made after this, ask it. A
    store nobody else can open (``:memory:``) leaves the in-process windows alone in charge."""
    from atlas.http.budget import set_budget_factory  # noqa: PLC0415 - only with a store
    from atlas.store.budget import budget_for_store  # noqa: PLC0415

    factory = budget_for_store(store)
    if factory is not None:
        set_budget_factory(factory)
    return factory


def _unshare_rate_budget(factory: StoreBudgets | None) -> None:
    """Limiters made after this instance closed no longer take slots from its store (which
    may be gone); those made before keep their budget until a new store replaces it."""
    from atlas.http.budget import budget_factory, set_budget_factory  # noqa: PLC0415

    if factory is None:
        return
    if budget_factory() is factory:
        set_budget_factory(None)
    factory.close()


class AsyncAtlas:
    """The lifecycle of infrastructures in one workspace.

    :param store: where records are kept (default: :func:`atlas.store.open_store`).
    :param registry: the installed providers (default: every installed plugin).
    :param workspace: the workspace every record belongs to.
    :param providers: live providers by name (default: built by each plugin's factory on
        first use, credentials from the environment or the Context Manager).
    :param provider_factory: a function from a provider name to a live provider, used instead
        of the plugins' factories.
    :param events: where lifecycle events go (default: the plugins' ``atlas_on_event`` and
        the webhook of ``ATLAS_WEBHOOK_URL``).
    :param run_cpu: runs the CPU-heavy steps (see :class:`CpuRunner`; default: in place).

    :meth:`in_sandbox` makes one whose cloud is a provider's in-process emulator.
    """

    #: The provider's in-process fake cloud, for an instance made by :meth:`in_sandbox`
    #: (``sandbox.is_empty()``, ``sandbox.requests()``); ``None`` otherwise.
    sandbox: Sandbox | None = None

    def __init__(
        self,
        *,
        store: StateStore | None = None,
        registry: ProviderRegistry | None = None,
        workspace: str = "default",
        providers: Mapping[str, Provider] | None = None,
        provider_factory: ProviderLookup | None = None,
        events: EventDispatcher | None = None,
        run_cpu: CpuRunner | None = None,
    ) -> None:
        if store is None:
            from atlas.store import open_store  # noqa: PLC0415 - opening a file is a choice

            store = open_store()
        self.store = store
        self._rate_budget = _share_rate_budget(store)
        self.registry = registry or default_registry()
        self.workspace = workspace
        self._providers: dict[str, Provider] = dict(providers or {})
        self._factory = provider_factory
        self._run_cpu = run_cpu
        self._sinks: list[WebhookSink] = []
        self.events = events or self._default_dispatcher()

    @classmethod
    def in_sandbox(
        cls, provider: str, *, workspace: str = "default", registry: ProviderRegistry | None = None
    ) -> AsyncAtlas:
        """An AsyncAtlas whose cloud is ``provider``'s sandbox (an in-process emulator, fresh
        for this instance) and whose store is in memory: no account, no token, nothing kept.

        ``provider`` is a provider name or alias; :class:`~atlas.exceptions.PluginError` when
        no installed plugin offers a sandbox for it. The fake cloud is :attr:`sandbox`.
        """
        from atlas.store import SQLiteStore  # noqa: PLC0415 - opening a store is a choice

        registry = registry or default_registry()
        name = registry.get(provider).name
        sandbox = registry.sandbox(name)
        if sandbox is None and registry.get(name).factory is None:
            raise ProvisioningUnavailableError(not_live_message(registry.get(name)))
        if sandbox is None:
            raise PluginError(f"no installed plugin offers a sandbox for provider {name!r}")
        made = cls(
            store=SQLiteStore(":memory:"),
            registry=registry,
            workspace=workspace,
            providers={name: sandbox.provider},
        )
        made.sandbox = sandbox
        return made

    async def __aenter__(self) -> AsyncAtlas:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the providers' connections and the webhook."""
        for provider in self._providers.values():
            await provider.aclose()
        for sink in self._sinks:
            await sink.aclose()
        _unshare_rate_budget(self._rate_budget)

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

    def validate(
        self, source: SpecSource, *, replace_placement: bool = False
    ) -> InfrastructureSpec:
        """Validate for ``create``; :class:`~atlas.SpecValidationError` lists every problem.

        A ``provider: any`` spec is placed as :meth:`plan` places it: an infrastructure of
        its name that exists keeps the provider and region it lives in, unless
        ``replace_placement``."""
        return self._placed(source, "create", replace_placement=replace_placement)[0]

    async def estimate(self, source: SpecInput, *, duration: Duration | None = None) -> Estimate:
        """What the spec costs, per resource and in total (offline; validated for
        ``estimate``, so only what prices depend on is required). With ``duration``, also for
        a run that long, each line under the billing rule of its price (which the line names).
        A spec already validated is priced as it is."""

        def price() -> Estimate:
            spec = self._validated(source, "estimate")
            return estimate_spec(spec, self.registry, duration=duration)

        return await self._cpu(price, _size(source))

    async def plan(
        self, source: SpecInput, *, refresh: bool = False, replace_placement: bool = False
    ) -> Plan:
        """What ``apply`` would do, with its cost; nothing is changed at the provider.

        With ``refresh``, the recorded resources are first read back from the provider (see
        :meth:`refresh`): what was deleted outside atlas is recreated, what drifted is put
        back, and prices are the provider's current ones. Only such a plan, which reads the
        cloud, lists the account steps (:attr:`Plan.account
        <atlas.lifecycle.plan.Plan.account>`) that ``apply`` carries out first.

        The plan records what it was made from (:attr:`Plan.basis
        <atlas.lifecycle.plan.Plan.basis>`): ``await apply(plan)`` carries out exactly this
        plan, and refuses it when the spec or the recorded state has changed since.

        ``source`` may be a spec :meth:`validate` returned: it is not validated again.

        The plan warns (:attr:`Plan.warnings <atlas.lifecycle.plan.Plan.warnings>`) of each
        budget threshold, the workspace's or the spec's, that the monthly cost crosses once
        it is applied.

        A ``provider: any`` spec is placed first (docs/portable.md): the plan carries the
        decision (:attr:`Plan.placement <atlas.lifecycle.plan.Plan.placement>`), and applying
        it records the decision with the infrastructure. Once the infrastructure exists it
        keeps its provider and region, even when another has become cheaper, until
        ``replace_placement``: then it is placed again, and moved to the region chosen (every
        resource replaced) when that is one of the same provider. A move to another provider
        is refused (:class:`~atlas.exceptions.SpecValidationError` at ``placement``): an
        infrastructure lives on one provider; destroy it, then apply the spec again.
        """
        spec, moved = await self._cpu(
            lambda: self._placed(source, "create", replace_placement=replace_placement),
            _size(source),
        )
        plan = await self._plan(spec, refresh=refresh, account=refresh)
        if moved is not None:
            plan = attrs.evolve(plan, placement_from=moved)
        warnings = threshold_warnings(
            self.store,
            self.workspace,
            spec_limit=spec.budget,
            cost_before=plan.cost_before.amount,
            cost_after=plan.cost_after.amount,
        )
        return attrs.evolve(plan, warnings=tuple(warnings)) if warnings else plan

    async def _plan(
        self, spec: InfrastructureSpec, *, refresh: bool, account: bool = False
    ) -> Plan:
        """The plan; with ``account``, the provider is also asked what the account needs
        before the resources the plan creates (:meth:`Provider.account_steps
        <atlas.providers.Provider.account_steps>`), which reads the cloud."""
        self._require_live(spec.provider)
        infra = self._live_infra(spec.name)
        registry = self.registry
        drift: dict[str, builtins.list[str]] = {}
        if refresh:
            registry = await self._live_prices(spec.provider)
            if infra is not None:
                found = await self.refresh(infra.id, spec=spec)
                drift = {d.resource: builtins.list(d.details) for d in found}
        recorded = self.store.list_resources(infra.id) if infra else []
        imports = await self._read_imports(spec, recorded)
        recorded_spec = self._recorded_spec(infra)
        plan = await self._cpu(
            lambda: make_plan(
                spec,
                recorded,
                registry,
                recorded_spec=recorded_spec,
                drift=drift,
                imports=imports,
            ),
            len(spec.resources) + len(recorded),
        )
        if account:
            plan = await self._account_steps(spec, plan)
        # Taken after the refresh, which records what it read: the state the plan is made from.
        provider = self.registry.get(spec.provider).name
        made_at = utcnow()
        basis = await self._cpu(  # (a digest of every resource, recorded and wanted)
            lambda: take_basis(
                self.store,
                self.workspace,
                spec,
                provider,
                read_cloud=refresh and account,
                made_at=made_at,
            ),
            len(spec.resources) + len(recorded),
        )
        return attrs.evolve(plan, basis=basis)

    async def _account_steps(self, spec: InfrastructureSpec, plan: Plan) -> Plan:
        """``plan`` with the account steps its creates need (none when it creates nothing)."""
        creates = [
            spec.resource(c.resource) for c in plan.changes if c.action in ("create", "replace")
        ]
        if not creates:
            return plan
        steps = await self._provider(spec.provider).account_steps(spec, creates)
        return attrs.evolve(plan, account=tuple(steps))

    async def _read_imports(
        self, spec: InfrastructureSpec, recorded: builtins.list[ResourceRecord]
    ) -> dict[str, FoundResource]:
        """Read, once, the objects each importing resource of ``spec`` adopts; refuse ids
        another resource (of any infrastructure, any workspace) records already."""
        by_name = {r.name: r for r in recorded}
        wanted = [
            (i, r) for i, r in enumerate(spec.resources) if needs_import(r, by_name.get(r.name))
        ]
        if not wanted:
            return {}
        provider_name = self.registry.get(spec.provider).name
        owned = self.store.owned_objects(provider_name)
        problems = []
        for index, res in wanted:
            for object_id in res.import_ids:
                who = owned.get(object_id)
                mine = who is not None and (
                    who.workspace == self.workspace
                    and who.infrastructure == spec.name
                    and who.resource == res.name
                )
                if who is not None and not mine:
                    problems.append(
                        Problem(
                            f"resources[{index}].import",
                            f"{object_id!r} belongs to resource {who.resource!r} of "
                            f"infrastructure {who.infrastructure!r} (workspace "
                            f"{who.workspace!r}) already",
                        )
                    )
        if problems:
            raise SpecValidationError(problems)
        # References in what is read back are by spec name: recorded objects, and the
        # objects the spec imports, are named for the provider.
        names = {o.id: r.name for r in recorded for o in r.objects}
        names.update({i: r.name for r in spec.resources for i in r.import_ids})
        provider = self._provider(provider_name)
        return {
            res.name: await provider.read_import(res, spec.region, res.import_ids, names)
            for _, res in wanted
        }

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
            recorded = dict(infra.spec)
            spec = await self._cpu(
                lambda: validate_spec(recorded, registry=self.registry), _size(recorded)
            )
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
            wanted = _named(spec, record.name) if spec is not None else None
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
        """The workspace's infrastructures, newest first."""
        return self.store.list_infrastructures(self.workspace, limit=limit, offset=offset)

    def operation(self, operation_id: str) -> OperationRecord:
        """An operation of this workspace by id."""
        op = self.store.get_operation(self.workspace, operation_id)
        if op is None:
            raise RecordNotFoundError(
                f"no operation {operation_id!r} in workspace {self.workspace!r}"
            )
        return op

    def operations(self, key: str) -> builtins.list[OperationRecord]:
        """An infrastructure's operations, newest first."""
        return self.store.list_operations(self.workspace, self.get(key).infrastructure.id)

    def stats(self) -> Stats:
        """Counts and the monthly cost of the workspace, destroyed infrastructures left out."""
        return self.store.stats(self.workspace)

    def providers(self) -> builtins.list[str]:
        """The installed provider names."""
        return list(self.registry.names())

    def costs(
        self, key: str | None = None, *, month: str | None = None, now: dt.datetime | None = None
    ) -> CostReport:
        """What the workspace (or the infrastructure ``key``) has cost in ``month``
        (``YYYY-MM``, UTC; default the current one) as of ``now`` (default: the clock), per
        resource, from the journal and each price's billing rule, with a forecast to the end
        of the month (:mod:`atlas.cost.accrual`). ``ValueError`` for a malformed month."""
        at = now or utcnow()
        year, mon = parse_month(month) if month is not None else (at.year, at.month)
        only = self.get(key).infrastructure if key is not None else None
        return workspace_costs(
            self.store, self.registry, self.workspace, now=at, year=year, month=mon, only=only
        )

    async def actual_costs(
        self, provider: str, *, month: str | None = None, now: dt.datetime | None = None
    ) -> ActualCharges | None:
        """What ``provider``'s own bill says the account was charged in ``month`` (default
        the current one), or ``None`` when the provider reports no charges
        (:meth:`Provider.actual_charges <atlas.providers.Provider.actual_charges>`)."""
        at = now or utcnow()
        year, mon = parse_month(month) if month is not None else (at.year, at.month)
        return await self._provider(provider).actual_charges(year, mon)

    # -- changing ----------------------------------------------------------------------------

    async def apply(
        self,
        source: SpecInput | Plan,
        *,
        budget: Budget | None = None,
        allow_over_budget: bool = False,
        rollback: bool = True,
        timeouts: Mapping[str, float] | None = None,
        on_progress: ProgressCallback | None = None,
        refresh: bool = True,
        stop: asyncio.Event | None = None,
        allow_data_loss: bool = False,
        replace_placement: bool = False,
    ) -> OperationRecord:
        """Make the infrastructure match the spec; the finished operation.

        ``source`` is a spec, or a :class:`~atlas.lifecycle.plan.Plan` made by :meth:`plan`:

        - A spec is validated and planned here: with ``refresh`` (the default), what exists is
          read back first and prices are the provider's current ones (see :meth:`plan`).
        - A plan is carried out exactly, step for step, with no second plan and nothing read
          again (``refresh`` does not apply: the plan read the cloud or not when it was made;
          one made without ``refresh`` has not asked what the account needs, which is then
          asked here, once). It is refused with :class:`~atlas.exceptions.StalePlanError`,
          saying what changed, when its spec or the recorded state is no longer the one it
          was made from (another apply, a refresh, a destroy).

        ``stop`` interrupts cleanly (the CLI sets it on the first Ctrl-C): once it is set, no
        new step starts, the steps under way finish and are journaled, and the operation ends
        ``failed`` with an error that starts ``interrupted:``, nothing rolled back; applying
        the same spec again resumes. It is only read, never awaited, so it may be set from a
        signal handler or another thread.

        An operation left unfinished by a crash is taken over: what it made is adopted.
        Raises, before anything is changed: :class:`~atlas.exceptions.BudgetExceededError`
        when the plan costs more than ``budget`` (or the spec's), unless ``allow_over_budget``;
        :class:`~atlas.exceptions.DataLossError` when it replaces or deletes a resource that
        keeps data (a database, a volume), unless ``allow_data_loss``. A spec :meth:`validate`
        returned is not validated again.

        A ``provider: any`` spec is placed as :meth:`plan` places it (``replace_placement``
        included), and the decision is recorded with the infrastructure.
        """
        plan, spec = await self._checked_plan(
            source,
            budget=budget,
            allow_over_budget=allow_over_budget,
            refresh=refresh,
            stop=stop,
            allow_data_loss=allow_data_loss,
            replace_placement=replace_placement,
        )
        return await self._carry_out(
            spec, plan, rollback=rollback, timeouts=timeouts, on_progress=on_progress, stop=stop
        )

    async def _checked_plan(
        self,
        source: SpecInput | Plan,
        *,
        budget: Budget | None = None,
        allow_over_budget: bool = False,
        refresh: bool = True,
        stop: asyncio.Event | None = None,
        allow_data_loss: bool = False,
        replace_placement: bool = False,
    ) -> tuple[Plan, InfrastructureSpec]:
        """What :meth:`apply` carries out, every check before anything is written done."""
        if isinstance(source, Plan):
            plan, spec = await self._planned(source)
            # The credential before anything is written (_planned reads the cloud only when
            # the plan did not: then it looks the credential up itself).
            await self._provider(spec.provider).connect()
        else:
            spec, moved = await self._cpu(
                lambda: self._placed(source, "create", replace_placement=replace_placement),
                _size(source),
            )
            # The credential first: without one, nothing is read, planned or written.
            await self._provider(spec.provider).connect()
            # What exists is read back, and the provider's current prices decide the budget.
            # What the account needs first is always asked: the operation will use the cloud.
            plan = await self._plan(spec, refresh=refresh, account=True)
            if moved is not None:
                plan = attrs.evolve(plan, placement_from=moved)
        plan.check_imports()  # atlas never replaces what it is asked to adopt
        self._check_budget(plan, budget, allow_over_budget)
        plan.check_data_loss(allow_data_loss)
        provider = self._provider(spec.provider)
        await provider.check_capacity(Owner(self.workspace, spec.name), additions(plan, spec))
        if stop is not None and stop.is_set():  # while planning: nothing is recorded yet
            raise OperationInterruptedError(
                f"interrupted before the apply of {spec.name} started: nothing changed"
            )
        if isinstance(source, Plan):
            # Checked again after the last await, so nothing of this process can come between
            # the check and the lock the operation takes first.
            self._check_basis(plan, spec)
        return plan, spec

    async def _carry_out(
        self,
        spec: InfrastructureSpec,
        plan: Plan,
        *,
        rollback: bool = True,
        timeouts: Mapping[str, float] | None = None,
        on_progress: ProgressCallback | None = None,
        stop: asyncio.Event | None = None,
        continuing: OperationRecord | None = None,
    ) -> OperationRecord:
        """Apply ``plan`` as one operation (``continuing`` one in place, when given)."""
        infra = self._live_infra(spec.name) or self._new_infra(spec, plan.currency)
        info = self.registry.get(spec.provider)
        runner = OperationRunner(
            store=self.store,
            provider=self._provider(spec.provider),
            kinds=self.registry.kinds(spec.provider),
            infra=infra,
            spec=spec,
            plan=plan,
            kind="apply",
            rollback=rollback,
            timeouts={**info.ready_timeouts, **(timeouts or {})},
            default_timeout=info.default_ready_timeout,
            on_progress=on_progress,
            stop=stop,
            continuing=continuing,
        )
        op = await runner.run()
        await self.deliver_events()
        return op

    async def _planned(self, plan: Plan) -> tuple[Plan, InfrastructureSpec]:
        """``plan``, checked to be current, with its account steps when it made none."""
        spec = plan.spec
        if spec is None or plan.basis is None:
            raise StalePlanError(
                "the plan records no spec or basis (make it with AsyncAtlas.plan): nothing "
                "can show it is still current; nothing was changed"
            )
        self._check_basis(plan, spec)
        if not plan.basis.read_cloud:
            plan = await self._account_steps(spec, plan)
        return plan, spec

    def check_plan(self, plan: Plan) -> None:
        """Raise :class:`~atlas.exceptions.StalePlanError` (its ``changed`` says what moved)
        when ``plan`` is no longer current: the spec, the recorded state or the workspace is
        not what it was made from. :meth:`apply` checks it too; this is for asking first (the
        CLI checks a saved plan before it asks for confirmation)."""
        if plan.spec is None or plan.basis is None:
            raise StalePlanError(
                "the plan records no spec or basis (make it with AsyncAtlas.plan): nothing "
                "can show it is still current; nothing was changed"
            )
        self._check_basis(plan, plan.spec)

    def _check_basis(self, plan: Plan, spec: InfrastructureSpec) -> None:
        assert plan.basis is not None
        changed = changes_since(plan.basis, self.store, self.workspace, spec)
        if changed:
            raise StalePlanError(
                f"the plan for {plan.infrastructure!r} is stale: " + "; ".join(changed) + ". "
                "Nothing was changed; make a new plan and review it",
                changed=changed,
            )

    async def destroy(
        self,
        key: str,
        *,
        on_progress: ProgressCallback | None = None,
        include_imported: bool = False,
        stop: asyncio.Event | None = None,
    ) -> OperationRecord:
        """Delete every resource of an infrastructure, dependents first, each delete verified.

        Imported resources (adopted with ``import:``) are left in place at the provider and
        only let go from the infrastructure (step ``release``), unless ``include_imported``.
        An infrastructure already destroyed has nothing to delete: the answer is the operation
        that destroyed it, and nothing new is recorded. ``stop`` interrupts as in
        :meth:`apply`; destroying again finishes the job."""
        return await self._destroy(
            key, on_progress=on_progress, include_imported=include_imported, stop=stop
        )

    async def _destroy(
        self,
        key: str,
        *,
        on_progress: ProgressCallback | None = None,
        include_imported: bool = False,
        stop: asyncio.Event | None = None,
        continuing: OperationRecord | None = None,
    ) -> OperationRecord:
        """:meth:`destroy`, carrying ``continuing`` on in place when given."""
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
        plan = await self._cpu(
            lambda: make_plan(
                empty,
                view.resources,
                self.registry,
                recorded_spec=infra.spec,
                delete_imported=include_imported,
            ),
            len(view.resources),
        )
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
            stop=stop,
            continuing=continuing,
        )
        op = await runner.run()
        await self.deliver_events()
        return op

    async def resume(
        self,
        operation_id: str,
        *,
        on_progress: ProgressCallback | None = None,
        stop: asyncio.Event | None = None,
    ) -> OperationRecord:
        """Carry on with an operation that did not finish, adopting what it made.

        One still ``in_progress`` (its process crashed, or its server replica died) is
        carried on in place: the same operation, planned again toward its spec from what the
        journal and the cloud say, ends ``completed`` or ``failed`` itself. Its lock must be
        free or its holder gone (:class:`~atlas.exceptions.LockedError` otherwise). One that
        ended ``failed`` (a timeout, an interrupt) is finished by a new operation toward the
        same spec. ``on_progress`` and ``stop`` are as in :meth:`apply`."""
        old = self.operation(operation_id)
        continuing = old if old.status in ("pending", "in_progress") else None
        if old.kind == "destroy":
            # A destroy that was deleting imported resources goes on deleting them.
            imported = {r.name for r in self.get(old.infrastructure_id).resources if r.imported}
            steps = self.store.steps(old.id)
            include = any(s.action == "delete" and s.resource in imported for s in steps)
            return await self._destroy(
                old.infrastructure_id,
                include_imported=include,
                on_progress=on_progress,
                stop=stop,
                continuing=continuing,
            )
        # The budget and the data loss were decided when the operation started (checked, or
        # knowingly allowed); finishing it does not decide again.
        plan, spec = await self._checked_plan(
            dict(old.spec), allow_over_budget=True, allow_data_loss=True, stop=stop
        )
        return await self._carry_out(
            spec, plan, on_progress=on_progress, stop=stop, continuing=continuing
        )

    async def discover(self, provider: str, *, region: str | None = None) -> Discovery:
        """Every resource of an importable kind in ``provider``'s account (in ``region``,
        when given) that no infrastructure owns, with its monthly cost. Owned means recorded
        in this store (any workspace) or carrying atlas's ownership marks.
        :meth:`Discovery.to_spec <atlas.lifecycle.discovery.Discovery.to_spec>` writes a spec
        that imports them."""
        name = self.registry.get(provider).name
        found = await self._provider(name).inventory(region=region)
        return discovery(name, region, found, self.store.owned_objects(name), self.registry)

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

    def _recorded_spec(self, infra: InfrastructureRecord | None) -> Mapping[str, Any] | None:
        """The document the recorded resources were made from: the last one applied in full,
        or, before any was (a first apply cut short), the spec of the newest operation, whose
        tags the resources it made carry."""
        if infra is None:
            return None
        if infra.spec:
            return infra.spec
        ops = self.store.list_operations(self.workspace, infra.id)
        return ops[0].spec if ops and ops[0].spec else infra.spec

    async def _cpu(self, work: Callable[[], T], size: int) -> T:
        """``work()``, a CPU-heavy step on ``size`` resources, where :class:`CpuRunner` says."""
        if self._run_cpu is None:
            return work()
        return await self._run_cpu(work, size)

    def _placed(
        self, source: SpecInput, purpose: Purpose, *, replace_placement: bool
    ) -> tuple[InfrastructureSpec, tuple[str, str] | None]:
        """The spec, validated, a ``provider: any`` one placed: where its infrastructure lives
        when it exists (the pin) unless ``replace_placement``; and, when a re-placement moves
        it to another region of its provider, the ``(provider, region)`` it moves from."""
        if isinstance(source, InfrastructureSpec):
            spec = source
            infra = self._live_infra(spec.name) if spec.placement is not None else None
        else:
            doc = load_document(source)
            name = doc.get("name") if isinstance(doc, Mapping) else None
            anywhere = isinstance(doc, Mapping) and doc.get("provider") == ANY
            infra = self._live_infra(name) if anywhere and isinstance(name, str) else None
            pin = None if infra is None or replace_placement else (infra.provider, infra.region)
            spec = validate_spec(doc, registry=self.registry, purpose=purpose, pin=pin)
        decision = spec.placement
        if decision is None or not decision.chosen:
            return spec, None
        if infra is None:  # placed now, for an infrastructure still to be made
            when = decision.decided_at or utcnow()
            return attrs.evolve(spec, placement=attrs.evolve(decision, decided_at=when)), None
        here = (infra.provider, infra.region)
        there = (decision.provider, decision.region)
        if there == here:
            recorded = recorded_placement(infra.spec)
            if replace_placement:  # placed afresh, where it already is
                kept = attrs.evolve(decision, kept=False, decided_at=utcnow())
            else:
                first = recorded.decided_at if recorded is not None else None
                when = first or decision.decided_at or utcnow()
                kept = attrs.evolve(decision, kept=True, decided_at=when)
            return attrs.evolve(spec, placement=kept), None
        _refuse_move(spec.name, here, there, replace_placement=replace_placement)
        return attrs.evolve(spec, placement=attrs.evolve(decision, decided_at=utcnow())), here

    def _validated(self, source: SpecInput, purpose: Purpose) -> InfrastructureSpec:
        if isinstance(source, InfrastructureSpec):
            return source
        return validate_spec(source, registry=self.registry, purpose=purpose)

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

    def _require_live(self, name: str) -> None:
        """Refuse, before anything is planned or recorded, a provider that nothing here can
        build a live side for (an estimate-only plugin)."""
        info = self.registry.get(name)
        if info.factory is None and info.name not in self._providers and self._factory is None:
            raise ProvisioningUnavailableError(not_live_message(info))

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
    """:class:`AsyncAtlas` for code that is not async: the same methods, blocking.

    Runs an event loop of its own in a background thread, so it works from any thread and
    even where another loop is running (a notebook). Use it as a context manager, or call
    :meth:`close`. Each method is the async twin's, with the same arguments; see
    :class:`AsyncAtlas` for what they mean.
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
        run_cpu: CpuRunner | None = None,
    ) -> None:
        self._start(
            functools.partial(
                AsyncAtlas,
                store=store,
                registry=registry,
                workspace=workspace,
                providers=providers,
                provider_factory=provider_factory,
                events=events,
                run_cpu=run_cpu,
            )
        )

    def _start(self, make: Callable[[], AsyncAtlas]) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, daemon=True, name="atlas-loop"
        )
        self._thread.start()
        # Built on the loop it will run on: what it opens belongs to that loop.
        self._async = self._call(_build(make))

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    @classmethod
    def in_sandbox(
        cls, provider: str, *, workspace: str = "default", registry: ProviderRegistry | None = None
    ) -> Atlas:
        """An Atlas whose cloud is ``provider``'s in-process emulator and whose store is in
        memory; see :meth:`AsyncAtlas.in_sandbox`. The fake cloud is :attr:`sandbox`."""
        made = cls.__new__(cls)
        made._start(
            functools.partial(
                AsyncAtlas.in_sandbox, provider, workspace=workspace, registry=registry
            )
        )
        return made

    def __enter__(self) -> Atlas:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the providers' connections and the webhook, then stop the event loop."""
        if self._loop.is_closed():
            return
        self._call(self._async.aclose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    # -- what the async twin holds -----------------------------------------------------------

    @property
    def store(self) -> StateStore:
        """The state store (``store.steps(op.id)``, ``store.events_of(...)``)."""
        return self._async.store

    @property
    def registry(self) -> ProviderRegistry:
        """The installed providers."""
        return self._async.registry

    @property
    def workspace(self) -> str:
        """The workspace every record belongs to."""
        return self._async.workspace

    @property
    def events(self) -> EventDispatcher:
        """Where lifecycle events go."""
        return self._async.events

    @property
    def sandbox(self) -> Sandbox | None:
        """The fake cloud of an instance made by :meth:`in_sandbox`; ``None`` otherwise."""
        return self._async.sandbox

    # -- reading -----------------------------------------------------------------------------

    def validate(
        self, source: SpecSource, *, replace_placement: bool = False
    ) -> InfrastructureSpec:
        """Validate for ``create`` (a ``provider: any`` spec placed); see
        :meth:`AsyncAtlas.validate`."""
        return self._async.validate(source, replace_placement=replace_placement)

    def estimate(self, source: SpecInput, *, duration: Duration | None = None) -> Estimate:
        """What the spec costs (offline); see :meth:`AsyncAtlas.estimate`."""
        return self._call(self._async.estimate(source, duration=duration))

    def plan(
        self, source: SpecInput, *, refresh: bool = False, replace_placement: bool = False
    ) -> Plan:
        """What :meth:`apply` would do, with its cost (a ``provider: any`` spec placed, and
        kept where it lives unless ``replace_placement``); see :meth:`AsyncAtlas.plan`."""
        return self._call(
            self._async.plan(source, refresh=refresh, replace_placement=replace_placement)
        )

    def check_plan(self, plan: Plan) -> None:
        """Raise ``StalePlanError`` when ``plan`` is no longer current; see
        :meth:`AsyncAtlas.check_plan`."""
        self._async.check_plan(plan)

    def refresh(self, key: str, *, spec: InfrastructureSpec | None = None) -> builtins.list[Drift]:
        """Read the recorded resources back and report drift; see :meth:`AsyncAtlas.refresh`."""
        return self._call(self._async.refresh(key, spec=spec))

    def get(self, key: str) -> InfrastructureView:
        """An infrastructure of this workspace by name or id."""
        return self._async.get(key)

    def list(self, *, limit: int = 100, offset: int = 0) -> builtins.list[InfrastructureRecord]:
        """The workspace's infrastructures, newest first."""
        return self._async.list(limit=limit, offset=offset)

    def operation(self, operation_id: str) -> OperationRecord:
        """An operation of this workspace by id."""
        return self._async.operation(operation_id)

    def operations(self, key: str) -> builtins.list[OperationRecord]:
        """An infrastructure's operations, newest first."""
        return self._async.operations(key)

    def stats(self) -> Stats:
        """Counts and the monthly cost of the workspace; see :meth:`AsyncAtlas.stats`."""
        return self._async.stats()

    def providers(self) -> builtins.list[str]:
        """The installed provider names."""
        return self._async.providers()

    def costs(
        self, key: str | None = None, *, month: str | None = None, now: dt.datetime | None = None
    ) -> CostReport:
        """Accrued cost and forecast for the month; see :meth:`AsyncAtlas.costs`."""
        return self._async.costs(key, month=month, now=now)

    def actual_costs(
        self, provider: str, *, month: str | None = None, now: dt.datetime | None = None
    ) -> ActualCharges | None:
        """The provider's own bill for the month; see :meth:`AsyncAtlas.actual_costs`."""
        return self._call(self._async.actual_costs(provider, month=month, now=now))

    def deliver_events(self) -> DeliveryReport:
        """Deliver what the event outbox holds; see :meth:`AsyncAtlas.deliver_events`."""
        return self._call(self._async.deliver_events())

    # -- changing ----------------------------------------------------------------------------

    def apply(
        self,
        source: SpecInput | Plan,
        *,
        budget: Budget | None = None,
        allow_over_budget: bool = False,
        rollback: bool = True,
        timeouts: Mapping[str, float] | None = None,
        on_progress: ProgressCallback | None = None,
        refresh: bool = True,
        stop: asyncio.Event | None = None,
        allow_data_loss: bool = False,
        replace_placement: bool = False,
    ) -> OperationRecord:
        """Make the infrastructure match the spec, or carry out exactly a :class:`Plan` made
        by :meth:`plan` (refused with ``StalePlanError`` once its basis changed); the finished
        operation. See :meth:`AsyncAtlas.apply` (budget, data loss, rollback, timeouts,
        progress, ``replace_placement``). Setting ``stop`` (from any thread: it is only read)
        stops starting steps; the operation then ends ``interrupted``, resumable."""
        return self._call(
            self._async.apply(
                source,
                budget=budget,
                allow_over_budget=allow_over_budget,
                rollback=rollback,
                timeouts=timeouts,
                on_progress=on_progress,
                refresh=refresh,
                stop=stop,
                allow_data_loss=allow_data_loss,
                replace_placement=replace_placement,
            )
        )

    def destroy(
        self,
        key: str,
        *,
        on_progress: ProgressCallback | None = None,
        include_imported: bool = False,
        stop: asyncio.Event | None = None,
    ) -> OperationRecord:
        """Delete every resource of an infrastructure (imported ones are left in place unless
        ``include_imported``; ``stop`` as in :meth:`apply`); see :meth:`AsyncAtlas.destroy`."""
        return self._call(
            self._async.destroy(
                key, on_progress=on_progress, include_imported=include_imported, stop=stop
            )
        )

    def discover(self, provider: str, *, region: str | None = None) -> Discovery:
        """What exists at ``provider`` that no infrastructure owns, priced; see
        :meth:`AsyncAtlas.discover`."""
        return self._call(self._async.discover(provider, region=region))

    def resume(
        self,
        operation_id: str,
        *,
        on_progress: ProgressCallback | None = None,
        stop: asyncio.Event | None = None,
    ) -> OperationRecord:
        """Carry on with an unfinished operation (``on_progress`` and ``stop`` as in
        :meth:`apply`); see :meth:`AsyncAtlas.resume`."""
        return self._call(self._async.resume(operation_id, on_progress=on_progress, stop=stop))

    def reconcile(self, key: str, *, delete: bool = False) -> builtins.list[ResourceState]:
        """Objects with this infrastructure's marks the store does not know; see
        :meth:`AsyncAtlas.reconcile`."""
        return self._call(self._async.reconcile(key, delete=delete))


def _refuse_move(
    name: str, here: tuple[str, str], there: tuple[str, str], *, replace_placement: bool
) -> None:
    """Raise :class:`SpecValidationError` at ``placement`` for a move of infrastructure
    ``name`` from ``here`` to ``there`` (``(provider, region)``) that is not to be made: to
    another provider ever (the lifecycle runs every step on one provider), or without
    ``replace_placement``."""
    if there[0] != here[0]:
        why = (
            f"placing {name} again chose {there[0]} {there[1]}, but it lives on {here[0]} "
            f"({here[1]}) and one infrastructure lives on one provider: atlas cannot move it "
            f"to another cloud. To move it, destroy it (atlas destroy {name}: its resources "
            "and their data are deleted), then apply the spec again; to keep it where it is, "
            "plan without --replace-placement (replace_placement)"
        )
        if not replace_placement:
            why = (
                f"the spec was placed on {there[0]} {there[1]}, but {name} lives on {here[0]} "
                f"({here[1]}) and one infrastructure lives on one provider; validate it with "
                "AsyncAtlas.validate (which keeps the recorded placement), or destroy it "
                f"(atlas destroy {name}) and apply the spec again"
            )
        raise SpecValidationError([Problem("placement", why)])
    if not replace_placement:
        raise SpecValidationError(
            [
                Problem(
                    "placement",
                    f"the spec was placed in {there[1]}, but {name} lives in {here[1]} "
                    f"({here[0]}); moving it replaces every resource: pass "
                    "replace_placement (atlas plan --replace-placement) to do so, or validate "
                    "it with AsyncAtlas.validate, which keeps the recorded placement",
                )
            ]
        )


def _named(spec: InfrastructureSpec, name: str) -> ResourceSpec | None:
    """The resource of ``spec`` called ``name`` (looked up by index, not by a scan: a refresh
    asks for every recorded resource)."""
    try:
        return spec.resource(name)
    except KeyError:
        return None


def _size(source: SpecInput | Mapping[str, Any]) -> int:
    """How many resources ``source`` holds, for :class:`CpuRunner` (for text or a file not
    yet read, a bound: its length over the fewest bytes a resource takes)."""
    if isinstance(source, InfrastructureSpec):
        return len(source.resources)
    if isinstance(source, Mapping):
        resources = source.get("resources")
        return len(resources) if isinstance(resources, list) else 0
    if isinstance(source, str | bytes):
        return len(source) // _MIN_RESOURCE_BYTES
    try:
        return os.stat(source).st_size // _MIN_RESOURCE_BYTES
    except (OSError, TypeError, ValueError):  # validation says what is wrong with it
        return 0


async def _build(make: Callable[[], AsyncAtlas]) -> AsyncAtlas:
    return make()
