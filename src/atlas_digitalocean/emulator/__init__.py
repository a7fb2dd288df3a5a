"""A stateful emulator of the DigitalOcean API v2, for tests and offline development.

In process, hand its transport to httpx::

    emulator = Emulator(EmulatorConfig(latency_scale=0))
    client = httpx.Client(
        base_url="https://api.digitalocean.com",
        transport=emulator.transport(),
        headers={"Authorization": "Bearer any-token"},
    )

or serve it on loopback (``serve()`` in code, ``python -m atlas_digitalocean.emulator`` from
a shell). Droplets, volumes, databases, load balancers, firewalls and VPCs keep their state,
move through their statuses on an injectable clock, and answer in DigitalOcean's wire format
with its envelopes, pagination, errors and rate-limit headers. Faults can be injected to test
what a client does when the cloud misbehaves.
"""

from __future__ import annotations

from atlas_digitalocean.emulator.clock import ManualClock
from atlas_digitalocean.emulator.config import EmulatorConfig, Latencies, RateLimits
from atlas_digitalocean.emulator.core import KINDS, Emulator, ExchangeHook
from atlas_digitalocean.emulator.faults import ConnectionDropped, Fault, FaultKind
from atlas_digitalocean.emulator.log import RequestLog, RequestRecord
from atlas_digitalocean.emulator.server import ServedEmulator, serve

__all__ = [
    "KINDS",
    "ConnectionDropped",
    "Emulator",
    "EmulatorConfig",
    "ExchangeHook",
    "Fault",
    "FaultKind",
    "Latencies",
    "ManualClock",
    "RateLimits",
    "RequestLog",
    "RequestRecord",
    "ServedEmulator",
    "serve",
]
