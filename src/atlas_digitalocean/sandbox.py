"""The DigitalOcean sandbox: the provider wired to an in-process emulator, with the neutral
faults and one sample per kind for the conformance kit."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx

from atlas.exceptions import PluginError
from atlas.providers.declarations import KindSample, Sandbox
from atlas_digitalocean.emulator import Emulator, EmulatorConfig
from atlas_digitalocean.faults import EmulatorFaults, SkippingClock
from atlas_digitalocean.ops.base import OpsSettings
from atlas_digitalocean.provider import DigitalOceanProvider

__all__ = ["KNOWN_GAPS", "LATENCY_SCALE", "REGION", "SAMPLES", "make_sandbox"]

#: Transitions at a tenth of DigitalOcean's usual pace: seconds, not minutes.
LATENCY_SCALE = 0.1
#: The region the samples are made in.
REGION = "fra1"

_WEB = {
    "type": "droplet",
    "name": "web",
    "specifications": {"size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64"},
}
#: How the conformance kit exercises each kind.
SAMPLES: tuple[KindSample, ...] = (
    KindSample(
        "droplet",
        {"size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64", "count": 3},
        update={"size": "s-1vcpu-2gb", "image": "ubuntu-24-04-x64", "count": 3},
        count=3,
    ),
    KindSample(
        "volume",
        {"size_gigabytes": 10, "attach_to": "web"},
        update={"size_gigabytes": 20, "attach_to": "web"},
        needs=(_WEB,),
    ),
    KindSample(
        "database",
        {"engine": "pg", "version": "16", "size": "db-s-1vcpu-1gb"},
        update={"engine": "pg", "version": "16", "size": "db-s-1vcpu-2gb"},
    ),
    KindSample(
        "load_balancer",
        {
            "droplets": ["web"],
            "forwarding_rules": [
                {
                    "entry_protocol": "http",
                    "entry_port": 80,
                    "target_protocol": "http",
                    "target_port": 8080,
                }
            ],
        },
        needs=(_WEB,),
    ),
    KindSample(
        "firewall",
        {
            "droplets": ["web"],
            "inbound_rules": [
                {"protocol": "tcp", "ports": "22", "sources": {"addresses": ["203.0.113.0/24"]}}
            ],
        },
        needs=(_WEB,),
    ),
    # No ip_range: the emulator picks a free one, so two owners' VPCs never overlap.
    KindSample("vpc", {"description": "made by atlas's conformance kit"}),
)

#: Conformance tests DigitalOcean fails today (see docs/testing-providers.md): none.
KNOWN_GAPS: dict[str, str] = {}


def _by_hand_body(
    kind: str, name: str, specifications: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The request a person would send to make ``name`` of ``kind`` from a sample: its own
    name, no tags, nothing it refers to (a volume made by hand is attached to nothing)."""
    body: dict[str, Any] = {"region": REGION}
    if kind == "droplet":
        count = int(specifications.get("count", 1))
        names = [name] if count == 1 else [f"{name}-{i}" for i in range(1, count + 1)]
        body |= {"size": specifications["size"], "image": specifications["image"]}
        body |= {"name": names[0]} if count == 1 else {"names": names}
        return "/v2/droplets", body
    if kind == "volume":
        return "/v2/volumes", body | {
            "name": name,
            "size_gigabytes": specifications["size_gigabytes"],
        }
    if kind == "database":
        keys = ("engine", "version", "size", "num_nodes")
        return "/v2/databases", body | {"name": name, "num_nodes": 1} | {
            k: specifications[k] for k in keys if k in specifications
        }
    raise PluginError(f"the DigitalOcean sandbox cannot make a {kind} by hand (not importable)")


def _by_hand(emulator: Emulator, token: str) -> Callable[[str, str], Awaitable[Sequence[str]]]:
    """The sandbox's ``unmanaged`` hook: a resource made through the emulator's HTTP API, as
    a person would make it (no atlas tags, their own name)."""
    samples = {s.type: dict(s.specifications) for s in SAMPLES}

    async def make(kind: str, name: str) -> Sequence[str]:
        if kind not in samples:
            raise PluginError(f"the DigitalOcean sandbox has no sample {kind}")
        path, body = _by_hand_body(kind, name, samples[kind])
        async with httpx.AsyncClient(
            transport=emulator.transport(),
            base_url="https://api.digitalocean.com",
            headers={"Authorization": f"Bearer {token}"},
        ) as client:
            response = await client.post(path, json=body)
        if response.status_code >= 400:
            raise PluginError(f"the emulator refused {path}: {response.status_code}")
        out = response.json()
        if "droplets" in out:
            return [str(d["id"]) for d in out["droplets"]]
        [item] = [out[k] for k in ("droplet", "volume", "database") if k in out]
        return [str(item["id"])]

    return make


def make_sandbox(latency_scale: float = LATENCY_SCALE) -> Sandbox:
    # A fresh account, as a new user's: no region has a VPC yet (atlas makes a region's own
    # default VPC before a stack's, see DigitalOceanProvider.account_steps).
    clock = SkippingClock()
    emulator = Emulator(EmulatorConfig(latency_scale=latency_scale), clock=clock)
    token = "dop_v1_sandbox_" + secrets.token_hex(16)
    provider = DigitalOceanProvider(
        token,
        transport=emulator.transport(),
        env={},
        settings=OpsSettings(poll_interval=0.1),
    )
    return Sandbox(
        provider,
        emulator.is_empty,
        lambda: len(emulator.log),
        f"an in-process DigitalOcean emulator (transitions at {latency_scale:g}x)",
        faults=EmulatorFaults(emulator, clock),
        region=REGION,
        samples=SAMPLES,
        secret=token,
        known_gaps=KNOWN_GAPS,
        unmanaged=_by_hand(emulator, token),
    )
