"""The DigitalOcean plugin: hook implementations only.

Every atlas command loads this module (``atlas --help`` lists the plugin's command), so it
imports what an estimate needs (kinds, checks, prices) and leaves the live provider, its HTTP
client and the emulator to the calls that use them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from atlas.cost.catalog import PriceCatalog
from atlas.plugins import hookimpl
from atlas.providers.declarations import CliCommand, ProviderInfo, ResourceKind, Sandbox
from atlas_digitalocean.checks import check_spec
from atlas_digitalocean.credentials import TOKEN
from atlas_digitalocean.prices import load_price_catalog
from atlas_digitalocean.resources import KINDS

if TYPE_CHECKING:
    from atlas.portable.contract import PortableTranslator
    from atlas.providers.contract import ProviderConfig
    from atlas_digitalocean.provider import DigitalOceanProvider


def _build_provider(config: ProviderConfig) -> DigitalOceanProvider:
    """:meth:`DigitalOceanProvider.from_config`, imported when a live provider is wanted."""
    from atlas_digitalocean.provider import DigitalOceanProvider  # noqa: PLC0415

    return DigitalOceanProvider.from_config(config)


def _emulator_main(argv: Sequence[str]) -> int:
    """``atlas emulator --provider digitalocean``: the emulator is imported when it runs."""
    from atlas_digitalocean.emulator.cli import main  # noqa: PLC0415

    return main(argv)


PROVIDER = ProviderInfo(
    name="digitalocean",
    title="DigitalOcean",
    package="atlas-infra",
    check=check_spec,
    factory=_build_provider,
    aliases=("do",),
    credentials=TOKEN,
    environment={
        "DIGITALOCEAN_API_URL": "where the API is (default https://api.digitalocean.com): "
        "set it to talk to the emulator",
        "DIGITALOCEAN_POLL_INTERVAL": "seconds between status polls (default 1)",
    },
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
def atlas_emulator(provider: str) -> CliCommand | None:
    if provider not in ("digitalocean", *PROVIDER.aliases):
        return None
    return CliCommand("emulator", "serve a DigitalOcean API emulator on loopback", _emulator_main)


@hookimpl
def atlas_sandbox(provider: str) -> Sandbox | None:
    if provider not in ("digitalocean", *PROVIDER.aliases):
        return None
    from atlas_digitalocean.sandbox import make_sandbox  # noqa: PLC0415 - only when asked

    return make_sandbox()


@hookimpl
def atlas_portable_translator(provider: str) -> PortableTranslator | None:
    if provider not in ("digitalocean", *PROVIDER.aliases):
        return None
    from atlas_digitalocean.portable import DigitalOceanTranslator  # noqa: PLC0415 - when asked

    return DigitalOceanTranslator()
