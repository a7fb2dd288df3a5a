"""The hooks atlas calls. Every hook is typed and documented here; this module is the reference.

A plugin implements any of them with :data:`atlas.plugins.hookimpl` and is found through the
``atlas`` entry-point group (or registered explicitly with ``get_plugin_manager(plugins=...)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from atlas.cost.catalog import Price, PriceCatalog
    from atlas.model.records import EventRecord
    from atlas.portable.contract import PortableTranslator
    from atlas.providers.declarations import CliCommand, ProviderInfo, ResourceKind, Sandbox

__all__ = [
    "atlas_add_price_catalogs",
    "atlas_add_providers",
    "atlas_add_resource_kinds",
    "atlas_adjust_price",
    "atlas_cli_commands",
    "atlas_emulator",
    "atlas_on_event",
    "atlas_portable_translator",
    "atlas_sandbox",
    "hookimpl",
    "hookspec",
]

PROJECT = "atlas"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def atlas_add_providers() -> Sequence[ProviderInfo]:
    """Register providers.

    Called once when a :class:`~atlas.providers.ProviderRegistry` is built. Two plugins that
    claim the same provider name make the registry refuse to build.

    :return: the providers this plugin offers.
    """
    raise NotImplementedError


@hookspec
def atlas_add_resource_kinds() -> Sequence[ResourceKind]:
    """Register resource kinds (``server``, ``volume``, ...) for providers.

    A plugin may add kinds to a provider another plugin registered; two kinds with the same
    ``(provider, type)`` make the registry refuse to build.

    :return: the resource kinds this plugin offers.
    """
    raise NotImplementedError


@hookspec
def atlas_add_price_catalogs() -> Sequence[PriceCatalog]:
    """Register price catalogs: one per provider, every figure with its source and date.

    :return: the catalogs this plugin ships.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def atlas_adjust_price(provider: str, sku: str, price: Price) -> Price | None:
    """Replace a catalog price, for negotiated rates or a reseller's markup.

    Called for every price an estimate looks up (once for like lines of one estimate, which
    share the answer); the first plugin that returns a price wins.

    :param provider: the provider whose catalog holds the price, e.g. ``"nimbus"``.
    :param sku: the catalog key, ``"<family>:<variant>"``, e.g. ``"server:small-1gb"``.
    :param price: the price as the catalog has it.
    :return: the price to use instead, or ``None`` to keep the catalog's.
    """
    raise NotImplementedError


@hookspec
def atlas_cli_commands() -> Sequence[CliCommand]:
    """Add subcommands to the ``atlas`` command line (``atlas emulator``, say).

    Every argument after the subcommand's name is passed to its ``main`` untouched. A
    subcommand named like a built-in one or another plugin's is refused.

    :return: the subcommands this plugin offers.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def atlas_emulator(provider: str) -> CliCommand | None:
    """Offer an emulator of a provider's cloud to serve on loopback: ``atlas emulator
    --provider NAME ARGS...`` runs it.

    The command is the core's, so that every provider's emulator is reached the same way
    and no two plugins compete for the name ``emulator``.

    :param provider: the provider's name, e.g. ``"nimbus"``.
    :return: a :class:`~atlas.providers.CliCommand` whose ``main(ARGS)`` serves the emulator
        until interrupted, or ``None`` if this plugin has none for that provider.
    """


@hookspec
def atlas_on_event(event: EventRecord) -> None:
    """Receive a lifecycle event (``deployment.started``, ``infrastructure.created``, ...).

    Events are committed to the store's outbox together with the change they report, then
    delivered at least once: an event may arrive again after a crash, so use ``event.id`` to
    recognise one already seen. An exception raised here leaves the event queued for the next
    delivery attempt; it never undoes the change.

    :param event: the event, with its stable id, time, workspace, infrastructure, operation
        and cost change.
    :return: nothing.
    """


@hookspec(firstresult=True)
def atlas_sandbox(provider: str) -> Sandbox | None:
    """Offer a sandbox for a provider: a live provider wired to an in-process fake cloud.

    ``atlas plan|apply --sandbox`` runs the whole lifecycle against it, with no account.

    :param provider: the provider's name, e.g. ``"nimbus"``.
    :return: a fresh :class:`~atlas.providers.Sandbox`, or ``None`` if this plugin has no
        sandbox for that provider.
    """


@hookspec(firstresult=True)
def atlas_portable_translator(provider: str) -> PortableTranslator | None:
    """Offer the translation of portable resources (``server``, ``database``...) into a
    provider's own kinds, so that specs may use portable kinds with ``provider: NAME`` and
    ``provider: any`` may place on it.

    The translator lists the provider's regions (each with its group and features) and, for
    one region, chooses the cheapest offering that meets every minimum of each portable
    resource, saying why, or refuses a resource in words (see
    :class:`~atlas.portable.PortableTranslator` for the rules it keeps).

    :param provider: the provider's name, e.g. ``"nimbus"``.
    :return: a :class:`~atlas.portable.PortableTranslator`, or ``None`` if this plugin has
        none for that provider.
    """
