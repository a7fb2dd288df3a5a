"""The DigitalOcean plugin: hook implementations only."""

from __future__ import annotations

from collections.abc import Sequence

from atlas.cost.catalog import PriceCatalog
from atlas.plugins import hookimpl
from atlas.providers.declarations import CliCommand, ProviderInfo, ResourceKind, Sandbox
from atlas_digitalocean.checks import check_spec
from atlas_digitalocean.credentials import TOKEN
from atlas_digitalocean.prices import load_price_catalog
from atlas_digitalocean.provider import DigitalOceanProvider
from atlas_digitalocean.resources import KINDS

PROVIDER = ProviderInfo(
    name="digitalocean",
    title="DigitalOcean",
    package="atlas-infra",
    check=check_spec,
    factory=DigitalOceanProvider.from_config,
    aliases=("do",),
    credentials=TOKEN,
    ready_timeouts={
        "droplet": 600.0,
        "volume": 300.0,
        "database": 1800.0,
        "load_balancer": 900.0,
        "firewall": 300.0,
        "vpc": 120.0,
    },
    currency="USD",
    example={
        "name": "web-app",
        "provider": "digitalocean",
        "region": "nyc3",
        "resources": [
            {
                "type": "droplet",
                "name": "web",
                "specifications": {"size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64"},
            }
        ],
        "tags": {"env": "dev"},
    },
)


@hookimpl
def atlas_add_providers() -> Sequence[ProviderInfo]:
    return [PROVIDER]


@hookimpl
def atlas_add_resource_kinds() -> Sequence[ResourceKind]:
    return KINDS


@hookimpl
def atlas_add_price_catalogs() -> Sequence[PriceCatalog]:
    return [load_price_catalog()]


@hookimpl
def atlas_cli_commands() -> Sequence[CliCommand]:
    from atlas_digitalocean.emulator.cli import main  # noqa: PLC0415 - only when run

    return [CliCommand("emulator", "serve a DigitalOcean API emulator on loopback", main)]


@hookimpl
def atlas_sandbox(provider: str) -> Sandbox | None:
    if provider not in ("digitalocean", *PROVIDER.aliases):
        return None
    from atlas_digitalocean.sandbox import make_sandbox  # noqa: PLC0415 - only when asked

    return make_sandbox()
