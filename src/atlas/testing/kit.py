"""What the conformance suite's tests work with: the provider under test and one kit per test.

A :class:`Target` is the provider named by ``--atlas-provider`` with the registry it comes
from; it makes a fresh :class:`~atlas.providers.Sandbox` for every test. A :class:`Kit` is one
test's sandbox, an :class:`~atlas.providers.Owner` no other test shares, an event loop, and
the few steps every test needs (a sample's spec, its needs created first, a wait).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any, TypeVar

import attrs
import pytest

from atlas.exceptions import AtlasError
from atlas.model.cloud import CloudObject, Owner, ResourceState
from atlas.model.infrastructure import InfrastructureSpec
from atlas.providers.contract import OnCreated, Provider, StepContext
from atlas.providers.declarations import Faults, KindSample, Sandbox
from atlas.providers.registry import ProviderRegistry
from atlas.runtime import default_registry
from atlas.spec.validate import validate_spec

__all__ = ["KIT_TAGS", "SUBJECT", "Built", "Kit", "Target", "subject_name"]

T = TypeVar("T")

#: The name of the resource a sample describes, in the spec the kit builds around it.
SUBJECT = "subject"
#: Tags on every spec the kit builds, so that tagging is exercised too.
KIT_TAGS: Mapping[str, str] = {"suite": "atlas-kit"}


def subject_name(kind: str) -> str:
    """The subject's name where several samples share one spec (``subject-load-balancer``)."""
    return f"{SUBJECT}-{kind.replace('_', '-')}"


@attrs.frozen
class Target:
    """The provider under test and the registry it is registered in."""

    name: str
    registry: ProviderRegistry

    @classmethod
    def resolve(cls, name: str) -> Target:
        """``memory`` is registered by the kit itself (it has no entry point); any other
        provider comes from the plugins installed in this environment."""
        if name == "memory":
            from atlas.testing import memory  # noqa: PLC0415 - only for this provider

            registry = memory.registry()
        else:
            registry = default_registry()
        try:
            info = registry.get(name)
        except AtlasError as exc:
            raise pytest.UsageError(f"--atlas-provider={name}: {exc}") from None
        return cls(info.name, registry)

    def sandbox(self) -> Sandbox:
        """A fresh sandbox from the provider's ``atlas_sandbox`` hook."""
        pm = self.registry.plugin_manager
        sandbox = None if pm is None else pm.hook.atlas_sandbox(provider=self.name)
        if sandbox is None:
            raise pytest.UsageError(
                f"provider {self.name!r} offers no sandbox: its plugin implements no "
                "atlas_sandbox hook for it (docs/testing-providers.md says how)"
            )
        if not sandbox.samples:
            raise pytest.UsageError(
                f"the {self.name} sandbox declares no samples, so the kit has nothing to create"
            )
        return sandbox  # type: ignore[no-any-return]

    def ready_timeout(self, kind: str) -> float:
        return self.registry.get(self.name).ready_timeout(kind)


@attrs.frozen
class Built:
    """A sample created by the kit: its spec, the states of its needs, and its own state."""

    spec: InfrastructureSpec
    deps: Mapping[str, ResourceState]
    state: ResourceState

    def ctx(self, owner: Owner, spec: InfrastructureSpec | None = None) -> StepContext:
        spec = spec or self.spec
        return StepContext(owner, spec, spec.resource(SUBJECT), self.deps)


class Kit:
    """One test's sandbox, owner and event loop."""

    def __init__(self, target: Target, sandbox: Sandbox, runner: asyncio.Runner) -> None:
        self.target = target
        self.sandbox = sandbox
        self.runner = runner
        self.owner = self.new_owner()

    @staticmethod
    def new_owner() -> Owner:
        """An owner no other test (nor run) shares: a fresh workspace."""
        tag = uuid.uuid4().hex[:8]
        return Owner(f"kit-{tag}", f"kit-{tag[:6]}")

    @property
    def provider(self) -> Provider:
        return self.sandbox.provider

    @property
    def faults(self) -> Faults:
        if self.sandbox.faults is None:
            pytest.fail(
                f"the {self.target.name} sandbox injects no faults (Sandbox.faults is None): "
                "the crash-safety tests need them"
            )
        return self.sandbox.faults

    @property
    def secret(self) -> str:
        if not self.sandbox.secret:
            pytest.fail(
                f"the {self.target.name} sandbox does not say which credential its provider "
                "presents (Sandbox.secret), so the kit cannot look for it"
            )
        return self.sandbox.secret

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on this test's event loop."""
        return self.runner.run(coro)

    # -- specs -------------------------------------------------------------------------------

    def document(
        self,
        samples: Sequence[tuple[str, KindSample, Mapping[str, Any]]],
        owner: Owner | None = None,
    ) -> dict[str, Any]:
        """A spec document with every sample's needs (once each) and its subject, named."""
        owner = owner or self.owner
        needs: dict[str, Mapping[str, Any]] = {}
        for _, sample, _ in samples:
            for need in sample.needs:
                seen = needs.setdefault(need["name"], need)
                if seen != need:
                    pytest.fail(
                        f"two samples need a resource called {need['name']!r} and describe it "
                        "differently; needs that share a name must be the same resource"
                    )
        subjects = [
            {"type": sample.type, "name": name, "specifications": dict(specs)}
            for name, sample, specs in samples
        ]
        return {
            "name": owner.infrastructure,
            "provider": self.target.name,
            "region": self.sandbox.region,
            "tags": dict(KIT_TAGS),
            "resources": [*(dict(n) for n in needs.values()), *subjects],
        }

    def spec(
        self,
        sample: KindSample,
        specifications: Mapping[str, Any] | None = None,
        owner: Owner | None = None,
    ) -> InfrastructureSpec:
        """The sample as a validated spec: its needs, then the subject."""
        specs = sample.specifications if specifications is None else specifications
        doc = self.document([(SUBJECT, sample, specs)], owner)
        return validate_spec(doc, registry=self.target.registry, purpose="create")

    # -- steps -------------------------------------------------------------------------------

    async def wait(self, state: ResourceState, owner: Owner | None = None) -> ResourceState:
        """Wait until ``state`` settles; it must end ``active``."""
        [ready] = await self.provider.wait(
            owner or self.owner, [state], timeout=self.target.ready_timeout(state.type)
        )
        assert ready.status == "active", f"{state.type} {state.name} ended {ready.status}: {ready}"
        return ready

    async def needs(
        self, spec: InfrastructureSpec, owner: Owner | None = None
    ) -> dict[str, ResourceState]:
        """Carry out the account steps the spec's creates need (as the core does before a
        plan's changes), then create and wait for every resource but the subject, in order."""
        owner = owner or self.owner
        for step in await self.provider.account_steps(spec, list(spec.resources)):
            await self.provider.prepare(step)
        deps: dict[str, ResourceState] = {}
        for res in spec.resources:
            if res.name == SUBJECT:
                continue
            made = await self.provider.create(StepContext(owner, spec, res, deps))
            deps[res.name] = await self.wait(made, owner)
        return deps

    async def build(
        self,
        sample: KindSample,
        *,
        owner: Owner | None = None,
        on_created: OnCreated | None = None,
        wait: bool = True,
    ) -> Built:
        """The sample's needs, then the subject (ready, unless ``wait`` is false)."""
        owner = owner or self.owner
        spec = self.spec(sample, owner=owner)
        deps = await self.needs(spec, owner)
        ctx = StepContext(owner, spec, spec.resource(SUBJECT), deps)
        state = await self.provider.create(ctx, on_created=on_created)
        return Built(spec, deps, await self.wait(state, owner) if wait else state)

    async def discovered(self, kind: str, owner: Owner | None = None) -> list[CloudObject]:
        """The subject's objects as ``discover`` finds them."""
        found = await self.provider.discover(owner or self.owner)
        return [o for s in found if s.type == kind and s.name == SUBJECT for o in s.objects]
