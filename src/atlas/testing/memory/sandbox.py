"""The memory provider's sandbox: a fresh cloud on a manual clock, its faults and samples."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from atlas.providers.declarations import KindSample, Sandbox
from atlas.testing.memory.clock import Clock, ManualClock
from atlas.testing.memory.cloud import MemoryCloud, NewObject
from atlas.testing.memory.provider import MemoryProvider

__all__ = ["SAMPLES", "by_hand", "make_sandbox"]

_LAN = {"type": "network", "name": "lan", "specifications": {"ip_range": "10.30.0.0/16"}}
_APP = {
    "type": "server",
    "name": "app",
    "specifications": {"size": "small", "image": "debian-12", "network": "lan"},
}

#: How the conformance kit exercises each kind. Seven servers take two create calls (the
#: cloud makes at most five per call), so batches are exercised.
SAMPLES: tuple[KindSample, ...] = (
    KindSample("network", {"ip_range": "10.20.0.0/16"}),
    KindSample(
        "server",
        {"size": "small", "image": "debian-12", "count": 7, "network": "lan"},
        update={"size": "medium", "image": "debian-12", "count": 7, "network": "lan"},
        needs=(_LAN,),
        count=7,
    ),
    KindSample(
        "disk",
        {"size_gb": 20, "attach_to": "app"},
        update={"size_gb": 40, "attach_to": "app"},
        needs=(_LAN, _APP),
    ),
)


def by_hand(
    cloud: MemoryCloud, token: str, region: str
) -> Callable[[str, str], Awaitable[Sequence[str]]]:
    """:attr:`Sandbox.unmanaged <atlas.providers.Sandbox.unmanaged>` for ``cloud``: one
    object of a kind's sample, made with no marks, returned once it is active and listed."""

    async def make(kind: str, name: str) -> Sequence[str]:
        sample = next((s for s in SAMPLES if s.type == kind), None)
        if sample is None:
            raise ValueError(f"the memory sandbox has no sample of {kind!r}")
        specs = sample.specifications
        attributes: dict[str, Any] = {"region": region}
        if kind == "network":
            attributes["ip_range"] = specs["ip_range"]
        elif kind == "server":
            attributes |= {"size": specs["size"], "image": specs.get("image"), "network_id": None}
        else:
            attributes |= {"size_gb": specs["size_gb"], "server_id": None}
        [made] = await cloud.create(token, kind, [NewObject(name, {}, attributes)])
        # A person makes it, waits for it to be ready, and only later runs atlas discover.
        settle = cloud.latencies.create.get(kind, 0.0) + cloud.latencies.list_lag + 0.001
        if isinstance(cloud.clock, ManualClock):
            cloud.clock.advance(settle)
        else:
            await cloud.clock.sleep(settle)
        return [made.id]

    return make


def make_sandbox(
    cloud: MemoryCloud | None = None,
    *,
    clock: Clock | None = None,
    token: str | None = None,
    region: str = "mem-1",
) -> Sandbox:
    """A provider on a cloud of its own (by default on a :class:`ManualClock`, so waits
    cost no real time), which accepts only the sandbox's token.

    Pass ``cloud`` to watch it (``cloud.calls``, ``cloud.objects(kind)``); it must accept
    ``token`` (or any token).
    """
    token = token or "mem_" + secrets.token_hex(16)
    if cloud is None:
        cloud = MemoryCloud(clock=clock or ManualClock(), tokens=[token])
    provider = MemoryProvider(cloud, token=token)
    return Sandbox(
        provider,
        cloud.is_empty,
        lambda: len(cloud.calls),
        "an in-process memory cloud"
        + (" on a manual clock" if isinstance(cloud.clock, ManualClock) else ""),
        faults=cloud.faults,
        region=region,
        samples=SAMPLES,
        secret=token,
        unmanaged=by_hand(cloud, token, region),
    )
