"""The DigitalOcean sandbox: the provider wired to an in-process emulator."""

from __future__ import annotations

from atlas.providers.declarations import Sandbox
from atlas_digitalocean.emulator import Emulator, EmulatorConfig
from atlas_digitalocean.emulator.catalog import OPEN_REGIONS
from atlas_digitalocean.ops.base import OpsSettings
from atlas_digitalocean.provider import DigitalOceanProvider

__all__ = ["LATENCY_SCALE", "make_sandbox"]

#: Transitions at a tenth of DigitalOcean's usual pace: seconds, not minutes.
LATENCY_SCALE = 0.1


def make_sandbox(latency_scale: float = LATENCY_SCALE) -> Sandbox:
    # An account that has used every region, so VPCs atlas makes are never a region's default.
    emulator = Emulator(
        EmulatorConfig(latency_scale=latency_scale, default_vpc_regions=OPEN_REGIONS)
    )
    provider = DigitalOceanProvider(
        "sandbox-token",
        transport=emulator.transport(),
        env={},
        settings=OpsSettings(poll_interval=0.1),
    )
    return Sandbox(
        provider,
        emulator.is_empty,
        lambda: len(emulator.log),
        f"an in-process DigitalOcean emulator (transitions at {latency_scale:g}x)",
    )
