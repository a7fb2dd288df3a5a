"""The emulator's public names, pinned so that changing them is a deliberate act."""

from __future__ import annotations

import atlas_digitalocean.emulator as emulator_package


def test_the_public_names_are_exactly_these() -> None:
    assert emulator_package.__all__ == [
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
    for name in emulator_package.__all__:
        assert getattr(emulator_package, name) is not None


def test_kinds_name_every_collection_objects_can_render() -> None:
    assert emulator_package.KINDS == (
        "droplets", "volumes", "databases", "load_balancers", "firewalls", "vpcs", "tags",
        "actions",
    )  # fmt: skip
