"""The memory provider's sandbox: a fresh cloud on a manual clock, its faults and samples."""

from __future__ import annotations

import secrets

from atlas.providers.declarations import KindSample, Sandbox
from atlas.testing.memory.clock import Clock, ManualClock
from atlas.testing.memory.cloud import MemoryCloud
from atlas.testing.memory.provider import MemoryProvider

__all__ = ["SAMPLES", "make_sandbox"]

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
    )
