"""The DigitalOcean sandbox: the provider wired to an in-process emulator, with the neutral
faults and one sample per kind for the conformance kit."""

from __future__ import annotations

import secrets

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
    )
