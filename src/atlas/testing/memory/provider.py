"""MemoryProvider: the live provider of the memory cloud, written on the public SPI only.

It is a :class:`~atlas.providers.HandlerProvider`: the three handlers say how to create, find,
poll, change and delete one kind each, and the core adds the rules that make it safe
(creates in doubt adopted, never repeated; ids reported batch by batch; batched polls; the
visibility grace; deletes verified). A plugin author can read it as the smallest complete
example of a live provider.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence

from atlas.credentials import CredentialChain, CredentialSpec, Secret
from atlas.exceptions import ProviderOperationError
from atlas.http import RetryPolicy
from atlas.model.cloud import Owner
from atlas.model.infrastructure import ResourceSpec
from atlas.providers.contract import FoundResource, ProviderConfig
from atlas.providers.handlers import HandlerProvider, KindHandler, Timing
from atlas.testing.memory.api import MemoryAPI
from atlas.testing.memory.clock import Clock, RealClock
from atlas.testing.memory.cloud import Latencies, MemoryCloud, MemoryObject
from atlas.testing.memory.handlers import (
    HANDLERS,
    INFRASTRUCTURE_MARK,
    OWNER_MARK,
    RESOURCE_MARK,
    WORKSPACE_MARK,
    MemoryHandler,
)

__all__ = ["TOKEN", "MemoryProvider", "default_cloud", "spec_name", "timing_for"]

#: Where the memory cloud's token comes from: ``ATLAS_MEMORY_TOKEN``, then the Context
#: Manager key ``memory_token``.
TOKEN = CredentialSpec("memory cloud token", ("ATLAS_MEMORY_TOKEN",), "memory_token")


@functools.cache
def default_cloud() -> MemoryCloud:
    """The process-wide cloud the plugin's factory connects to: real time, transitions at a
    tenth of the usual pace, any non-empty token accepted."""
    return MemoryCloud(latencies=Latencies().scaled(0.1))


def timing_for(clock: Clock) -> Timing:
    """How a provider paces itself on ``clock``: polls a second apart on a manual clock
    (it costs nothing), a tenth of a second in real time."""
    if isinstance(clock, RealClock):
        return Timing(poll_interval=0.1, visibility_grace=5.0, action_timeout=60.0)
    return Timing(poll_interval=1.0, visibility_grace=30.0, clock=clock, sleep=clock.sleep)


class MemoryProvider(HandlerProvider):
    """An account on a :class:`MemoryCloud`.

    :param cloud: the cloud to talk to.
    :param token: the token to present; else ``credentials`` is resolved on first use.
    :param credentials: a chain built by the core from :data:`TOKEN`.
    :param timing: pacing; default :func:`timing_for` the cloud's clock.
    :param retry: how rate-limited and failed calls are retried; default the HTTP layer's.
    """

    name = "memory"

    def __init__(
        self,
        cloud: MemoryCloud,
        *,
        token: Secret | str | None = None,
        credentials: CredentialChain | None = None,
        timing: Timing | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(timing or timing_for(cloud.clock))
        self.cloud = cloud
        self._chain = credentials or TOKEN.chain(token, env={})
        self._retry = retry or RetryPolicy(max_total_wait=300.0)

    @classmethod
    def from_config(cls, config: ProviderConfig) -> MemoryProvider:
        """The provider as the core builds it (:data:`atlas.providers.ProviderFactory`)."""
        return cls(default_cloud(), credentials=config.credentials)

    def __repr__(self) -> str:
        return f"MemoryProvider(cloud={self.cloud!r})"

    async def build_handlers(self) -> Mapping[str, KindHandler]:
        token = await self._chain.resolve()
        api = MemoryAPI(self.cloud, token, retry=self._retry, sleep=self.timing.sleep)
        return {h.type: h(api, self.timing) for h in HANDLERS}

    # -- what exists outside atlas -----------------------------------------------------------

    async def memory_handlers(self) -> dict[str, MemoryHandler]:
        return {k: h for k, h in (await self.handlers()).items() if isinstance(h, MemoryHandler)}

    async def inventory(self, *, region: str | None = None) -> list[FoundResource]:
        """Every object of every kind, one list call per kind: atlas's grouped by the
        resource whose marks they carry, any other one resource each."""
        handlers = await self.memory_handlers()
        groups: list[tuple[MemoryHandler, str, list[MemoryObject], Owner | None]] = []
        for kind in sorted(handlers):
            handler = handlers[kind]
            managed: dict[tuple[str, str], list[MemoryObject]] = {}
            for o in sorted(await handler.api.list(kind), key=lambda o: (o.name, o.id)):
                if o.status == "deleting" or (region and o.attributes.get("region") != region):
                    continue
                if OWNER_MARK in o.marks:
                    key = (o.marks[OWNER_MARK], o.marks.get(RESOURCE_MARK, o.name))
                    managed.setdefault(key, []).append(o)
                else:
                    groups.append((handler, spec_name(o.name), [o], None))
            for (uid, resource), objects in managed.items():
                marks = objects[0].marks
                owner = Owner(marks.get(WORKSPACE_MARK, ""), marks.get(INFRASTRUCTURE_MARK, uid))
                groups.append((handler, resource, objects, owner))
        names = {o.id: name for _, name, objects, _ in groups for o in objects}
        found = [
            FoundResource(
                handler.type,
                name,
                str(objects[0].attributes.get("region", "")),
                tuple(handler.obj(o) for o in objects),
                handler.found_specifications(objects, names),
                owner,
            )
            for handler, name, objects, owner in groups
        ]
        return sorted(found, key=lambda f: (f.type, f.name))

    async def read_import(
        self,
        resource: ResourceSpec,
        region: str,
        ids: Sequence[str],
        names: Mapping[str, str],
    ) -> FoundResource:
        handlers = await self.memory_handlers()
        handler = handlers.get(resource.type)
        if handler is None:
            raise ProviderOperationError(f"the memory cloud has no {resource.type} to import")
        objects = []
        for object_id in ids:
            got = await handler.api.get(resource.type, object_id)
            if got is None:
                other = [k for k, h in handlers.items() if k != resource.type]
                for kind in other:
                    if await handlers[kind].api.get(kind, object_id) is not None:
                        raise ProviderOperationError(
                            f"{resource.name}: {object_id!r} is a {kind}, not a {resource.type}"
                        )
                raise ProviderOperationError(
                    f"{resource.name}: there is no {resource.type} {object_id!r} to import"
                )
            where = got.attributes.get("region")
            if where != region:
                raise ProviderOperationError(
                    f"{resource.name}: {resource.type} {object_id!r} is in {where}, "
                    f"the spec's region is {region}"
                )
            objects.append(got)
        return FoundResource(
            resource.type,
            resource.name,
            region,
            tuple(handler.obj(o) for o in objects),
            handler.found_specifications(objects, names),
        )


def spec_name(cloud_name: str) -> str:
    """A valid spec resource name made from a name the cloud has."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", cloud_name)[:64]
    name = re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", name)
    return name or "resource"
