"""DigitalOceanProvider: the live side of the plugin, one handler per kind on the core's
machinery (:class:`atlas.providers.HandlerProvider`)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from decimal import Decimal

import attrs
import httpx

from atlas.cost.catalog import Price, PriceCatalog, Source
from atlas.cost.money import Money
from atlas.credentials import CredentialChain, Secret
from atlas.exceptions import CapacityError, ConflictError, PluginError
from atlas.http import RetryPolicy
from atlas.model.cloud import Owner, ResourceState
from atlas.model.infrastructure import InfrastructureSpec, ResourceSpec
from atlas.providers import (
    AccountStep,
    ActualCharges,
    CreateAttempts,
    FoundResource,
    HandlerProvider,
    KindHandler,
    ProviderConfig,
)
from atlas_digitalocean import imports
from atlas_digitalocean.api import DigitalOceanAPI
from atlas_digitalocean.credentials import digitalocean_token_chain
from atlas_digitalocean.ops import ALL_OPS, OpsSettings
from atlas_digitalocean.ops.base import TaggedHandler
from atlas_digitalocean.ops.vpcs import default_vpc_name, region_default

__all__ = ["API_URL_ENV", "DEFAULT_API_URL", "POLL_INTERVAL_ENV", "DigitalOceanProvider"]

DEFAULT_API_URL = "https://api.digitalocean.com"
#: Points atlas at another DigitalOcean-compatible endpoint (the emulator, say).
API_URL_ENV = "DIGITALOCEAN_API_URL"
#: Seconds between status polls, when no ``settings`` are given (default 1).
POLL_INTERVAL_ENV = "DIGITALOCEAN_POLL_INTERVAL"

#: How long the price list and the account's limits, as read, answer every operation that
#: asks (applies started together read them once; prices and limits change far less often).
ACCOUNT_FACTS_FOR = 60.0
#: How long one count of the account's droplets answers capacity checks, each adding what it
#: let through, so that applies checked together are counted together.
DROPLET_COUNT_FOR = 10.0
#: How long one list of the VPCs answers the question of a region without a default.
VPC_LIST_FOR = 5.0


@attrs.define
class _Tally:
    """The account's droplets as last counted, plus those the checks since have let through."""

    droplets: int


class DigitalOceanProvider(HandlerProvider):
    """A DigitalOcean account.

    :param token: the API token; when omitted, the credentials chain is tried (environment
        ``DIGITALOCEAN_TOKEN``, ``DIGITALOCEAN_ACCESS_TOKEN``, ``DIGITALOCEAN_API_TOKEN``, then
        the Context Manager when ``jwt`` is given) the first time the API is needed.
    :param credentials: a chain built elsewhere (the core's, from the plugin's declaration).
    :param base_url: the API's address; default ``$DIGITALOCEAN_API_URL`` or the real API.
    :param transport: an httpx transport (the in-process emulator, in tests).
    :param settings: polling and timing; tests inject a fake clock and sleep.
    """

    name = "digitalocean"

    def __init__(
        self,
        token: Secret | str | None = None,
        *,
        jwt: Secret | str | None = None,
        credentials: CredentialChain | None = None,
        base_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        settings: OpsSettings | None = None,
        retry: RetryPolicy | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._env = os.environ if env is None else env
        self._chain = credentials or digitalocean_token_chain(token, jwt=jwt, env=env)
        self.base_url = base_url or self._env.get(API_URL_ENV) or DEFAULT_API_URL
        self._transport = transport
        super().__init__(settings or OpsSettings(poll_interval=self._poll_interval()))
        self._retry = retry
        self._api: DigitalOceanAPI | None = None
        #: Regions seen with a default VPC: DigitalOcean never deletes one (it can only move
        #: to another VPC of the region), so once seen, a region keeps having one.
        self._defaults: set[str] = set()

    @classmethod
    def from_config(cls, config: ProviderConfig) -> DigitalOceanProvider:
        """The provider as the core builds it (:data:`atlas.providers.ProviderFactory`)."""
        return cls(credentials=config.credentials, env=config.env)

    @property
    def settings(self) -> OpsSettings:
        """The timing given as ``settings`` (the core calls it :attr:`timing`)."""
        return self.timing

    def __repr__(self) -> str:
        return f"DigitalOceanProvider(base_url={self.base_url!r})"

    def _poll_interval(self) -> float:
        raw = self._env.get(POLL_INTERVAL_ENV)
        if raw is None:
            return OpsSettings().poll_interval
        try:
            value = float(raw)
        except ValueError:
            message = f"{POLL_INTERVAL_ENV} must be a number of seconds, not {raw!r}"
            raise PluginError(message) from None
        if not 0 < value <= 600:
            raise PluginError(f"{POLL_INTERVAL_ENV} must be between 0 and 600 seconds")
        return value

    async def api(self) -> DigitalOceanAPI:
        """The API, built on first use (this is when the token is looked up)."""
        if self._api is None:
            token = await self._chain.resolve()
            fake = not self.settings.real_time
            self._api = DigitalOceanAPI.connect(
                self.base_url,
                token,
                retry=self._retry,
                transport=self._transport,
                sleep=self.settings.sleep if fake else None,
                clock=self.settings.clock if fake else None,
            )
        return self._api

    async def build_handlers(self) -> Mapping[str, KindHandler]:
        api = await self.api()
        return {cls.type: cls(api, self.timing) for cls in ALL_OPS}

    async def _importers(self) -> dict[str, TaggedHandler]:
        handlers = await self.handlers()
        out = {k: h for k, h in handlers.items() if isinstance(h, TaggedHandler)}
        missing = set(imports.IMPORTABLE) - set(out)
        if missing:  # pragma: no cover - a declaration out of step with the handlers
            raise PluginError(f"no handler can list {', '.join(sorted(missing))}")
        return out

    async def inventory(self, *, region: str | None = None) -> list[FoundResource]:
        """Every droplet, volume and database cluster (see :mod:`atlas_digitalocean.imports`)."""
        return await imports.inventory(await self._importers(), region=region)

    async def read_import(
        self,
        resource: ResourceSpec,
        region: str,
        ids: Sequence[str],
        names: Mapping[str, str],
    ) -> FoundResource:
        return await imports.read_import(await self._importers(), resource, region, ids, names)

    async def aclose(self) -> None:
        if self._api is not None:
            await self._api.client.aclose()

    async def check_capacity(self, owner: Owner, additions: Mapping[str, int]) -> None:
        """Refuse a plan that would take the account past its droplet limit.

        The account may be shared: every workspace of a server with one token uses it. So the
        refusal never says how many droplets the account has, which would tell one workspace
        what the others run; only the plan's number and the account's limit."""
        del owner
        adding = additions.get("droplet", 0)
        if adding <= 0:
            return
        api = await self.api()
        account = await self.shared.get("account", api.account, ttl=ACCOUNT_FACTS_FOR)
        limit = int(account.get("droplet_limit") or 0)
        if not limit:
            return
        if adding > limit:
            raise CapacityError(
                f"the plan adds {adding} droplets, more than the account's droplet limit of "
                f"{limit} (ask DigitalOcean support to raise it)"
            )

        async def count() -> _Tally:
            return _Tally(await api.count_droplets())

        # One count answers the checks of applies started together; each check that passes
        # adds its droplets to it, so that together they are held to the limit too.
        tally = await self.shared.get("droplets", count, ttl=DROPLET_COUNT_FOR)
        if tally.droplets + adding > limit:
            raise CapacityError(
                f"the plan adds {adding} droplets, which would take the account past its "
                f"droplet limit of {limit}: every droplet of the account counts, whoever made "
                "it (ask DigitalOcean support to raise the limit, or use an account of your own)"
            )
        tally.droplets += adding

    async def delete(self, owner: Owner, state: ResourceState) -> None:
        await super().delete(owner, state)
        if state.type == "droplet":
            # The count capacity checks share is too high now: the next check counts again.
            self.shared.forget("droplets")

    async def account_steps(
        self, spec: InfrastructureSpec, creates: Sequence[ResourceSpec]
    ) -> list[AccountStep]:
        """A region's first VPC becomes its default, which DigitalOcean never deletes: when the
        plan makes a VPC in a region that has none, DigitalOcean's own ``default-<region>`` is
        made first (as the first droplet there would make it), so the stack's VPC stays
        deletable."""
        if not any(r.type == "vpc" for r in creates):
            return []
        region = spec.region
        if await self._has_default(region):
            return []
        reason = (
            f"{region} has no default VPC yet: made first, so the stack's VPC does not become "
            f"the default, which DigitalOcean never deletes (free; never destroyed)"
        )
        return [AccountStep("vpc", default_vpc_name(region), reason, region, {"region": region})]

    async def prepare(self, step: AccountStep) -> None:
        """Make a region's default VPC, unless the region has one (or the name is taken) by
        now: safe to repeat, and an answer lost on the way is looked for before failing."""
        if step.type != "vpc":
            await super().prepare(step)
            return
        region = str(step.details.get("region") or step.region)
        if region in self._defaults:
            return
        # Applies started together each plan this step: one of them makes it, all wait.
        await self.shared.get(
            ("default-vpc", step.name, region), lambda: self._make_default(step.name, region), ttl=0
        )

    async def _has_default(self, region: str) -> bool:
        """Whether ``region`` has a default VPC (one list, shared by the applies asking)."""
        if region not in self._defaults:
            api = await self.api()
            self._saw(await self.shared.get("vpcs", api.list_vpcs, ttl=VPC_LIST_FOR))
        return region in self._defaults

    async def _make_default(self, name: str, region: str) -> None:
        api = await self.api()

        async def made() -> bool | None:
            vpcs = await api.list_vpcs()
            self._saw(vpcs)
            return True if self._prepared(vpcs, name, region) else None

        async def post() -> bool:
            self._saw([await api.create_vpc({"name": name, "region": region})])
            return True

        if not await made():
            try:
                # A create that ends in doubt is looked for before it is tried again.
                await CreateAttempts(self.timing).run(post, made, f"VPC {name}")
            except ConflictError:
                # The name was taken a moment ago: what matters is whether the region has
                # its default now.
                if not await made():
                    raise
        self.shared.forget("vpcs")  # a list from before is out of date now

    def _saw(self, vpcs: Sequence[Mapping[str, object]]) -> None:
        """Remember the regions that ``vpcs`` (as the API showed them) prove have a default."""
        self._defaults.update(str(v.get("region")) for v in vpcs if v.get("default"))

    @staticmethod
    def _prepared(vpcs: Sequence[Mapping[str, object]], name: str, region: str) -> bool:
        return region_default(vpcs, region) is not None or any(v.get("name") == name for v in vpcs)

    async def refresh_catalog(self, catalog: PriceCatalog) -> PriceCatalog:
        """``catalog`` with droplet prices as the API quotes them now (``GET /v2/sizes``)."""
        api = await self.api()
        prices = [
            Price(
                f"droplet:{size['slug']}",
                Money(Decimal(str(size["price_monthly"])), catalog.currency),
                Money(Decimal(str(size["price_hourly"])), catalog.currency),
                "droplet",
                "live",
            )
            for size in await self.shared.get("sizes", api.list_sizes, ttl=ACCOUNT_FACTS_FOR)
        ]
        live = Source("live-sizes", f"GET {self.base_url}/v2/sizes (live)", self.base_url)
        return catalog.with_prices(prices, live)

    async def actual_charges(self, year: int, month: int) -> ActualCharges | None:
        """The account's charges for the month: the current month's usage so far from
        ``GET /v2/customers/my/balance``; an earlier month's issued invoice (or the invoice
        preview, while it is not issued) from ``GET /v2/customers/my/invoices``."""
        api = await self.api()
        period = f"{year:04d}-{month:02d}"
        balance = await api.balance()
        generated = _when(balance.get("generated_at"))
        # The balance is the month it was generated in: which month is "now" is DO's to say.
        if generated is not None and (generated.year, generated.month) == (year, month):
            return ActualCharges(
                year,
                month,
                Decimal(str(balance["month_to_date_usage"])),
                "USD",
                final=False,
                source="GET /v2/customers/my/balance",
                generated_at=generated,
            )
        listed = await api.invoices()
        for invoice in listed["invoices"]:
            if invoice.get("invoice_period") == period:
                amount = Decimal(str(invoice["amount"]))
                return ActualCharges(
                    year, month, amount, "USD", final=True, source="GET /v2/customers/my/invoices"
                )
        preview = listed.get("invoice_preview") or {}
        if preview.get("invoice_period") == period:
            return ActualCharges(
                year,
                month,
                Decimal(str(preview["amount"])),
                "USD",
                final=False,
                source="GET /v2/customers/my/invoices (invoice_preview)",
                generated_at=_when(preview.get("updated_at")),
            )
        return None


def _when(text: object) -> dt.datetime | None:
    if not isinstance(text, str) or not text:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
