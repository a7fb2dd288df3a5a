"""Provider-wide behaviour: credentials, base URL, the droplet limit, live prices, no leaks."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from atlas import CapacityError, CredentialsError, Money, Owner, ProviderRegistry
from atlas.exceptions import AuthenticationError
from atlas.providers import StepContext
from atlas_digitalocean.emulator import Emulator, EmulatorConfig, ManualClock
from atlas_digitalocean.ops.base import OpsSettings
from atlas_digitalocean.prices import load_price_catalog
from atlas_digitalocean.provider import DEFAULT_API_URL, DigitalOceanProvider
from tests.atlas_digitalocean.provider.conftest import TOKEN, provider_on, spec_of

CANARY = "dop_v1_" + "c4a7a11e" * 8  # made up, and searched for everywhere below


async def test_missing_token_names_every_source_tried() -> None:
    provider = DigitalOceanProvider(env={})
    with pytest.raises(CredentialsError) as info:
        await provider.api()
    text = str(info.value)
    for source in (
        "DIGITALOCEAN_TOKEN",
        "DIGITALOCEAN_ACCESS_TOKEN",
        "DIGITALOCEAN_API_TOKEN",
        "context manager",
    ):
        assert source in text


async def test_token_from_the_environment_and_base_url_setting(emulator: Emulator) -> None:
    env = {"DIGITALOCEAN_ACCESS_TOKEN": TOKEN, "DIGITALOCEAN_API_URL": "http://emulator.test"}
    provider = DigitalOceanProvider(env=env, transport=emulator.transport())
    assert provider.base_url == "http://emulator.test"
    api = await provider.api()
    assert (await api.account())["droplet_limit"] == 1000
    assert DigitalOceanProvider(env={}).base_url == DEFAULT_API_URL
    await provider.aclose()


async def test_rejected_token_is_a_clear_error(emulator: Emulator) -> None:
    strict = Emulator(EmulatorConfig(latency_scale=0, tokens={"the-right-one"}))
    provider = DigitalOceanProvider(CANARY, transport=strict.transport(), env={})
    with pytest.raises(AuthenticationError) as info:
        await (await provider.api()).account()
    assert info.value.status == 401
    assert CANARY not in str(info.value)
    await provider.aclose()


async def test_droplet_limit_is_checked_before_creating(
    provider: DigitalOceanProvider, owner: Owner
) -> None:
    await provider.check_capacity(owner, {"droplet": 1000})
    with pytest.raises(CapacityError) as info:
        await provider.check_capacity(owner, {"droplet": 1001})
    assert str(info.value) == (
        "the plan adds 1001 droplets, more than the account's droplet limit of 1000 (ask "
        "DigitalOcean support to raise it)"
    )


async def test_a_capacity_refusal_tells_nothing_of_what_others_run(clock: ManualClock) -> None:
    """One token, one account, every workspace of a server: workspace B is refused because
    of workspace A's droplets, and must not learn how many A has."""
    shared = Emulator(EmulatorConfig(latency_scale=1.0, droplet_limit=7, seed=7), clock=clock)
    provider = provider_on(shared, clock)
    try:
        names = [f"a-web-{i}" for i in range(3)]  # workspace A's
        body = {"names": names, "region": "nyc3", "size": "s-1vcpu-1gb", "image": "debian-12-x64"}
        await (await provider.api()).create_droplets(body)
        await provider.check_capacity(Owner("ws-b", "shop"), {"droplet": 4})
        with pytest.raises(CapacityError) as info:
            await provider.check_capacity(Owner("ws-b", "shop"), {"droplet": 5})
    finally:
        await provider.aclose()
    message = str(info.value)
    assert message == (
        "the plan adds 5 droplets, which would take the account past its droplet limit of 7: "
        "every droplet of the account counts, whoever made it (ask DigitalOcean support to "
        "raise the limit, or use an account of your own)"
    )
    assert not any(figure in message for figure in "34")  # A's count, or the room it leaves


async def test_live_sizes_refresh_the_catalog(provider: DigitalOceanProvider) -> None:
    catalog = await provider.refresh_catalog(load_price_catalog())
    price = catalog.price("droplet:s-1vcpu-1gb")
    assert price is not None
    assert price.monthly == Money(Decimal("6.0"))
    assert price.source == "live-sizes"
    assert catalog.sources["live-sizes"].title.startswith("GET ")


async def test_canary_token_never_leaks(
    emulator: Emulator,
    clock: ManualClock,
    registry: ProviderRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    settings = OpsSettings(clock=clock, sleep=sleep)
    provider = DigitalOceanProvider(
        CANARY, transport=emulator.transport(), env={}, settings=settings
    )
    owner = Owner("default", "shop")
    droplet = {"size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64"}
    spec = spec_of(registry, {"type": "droplet", "name": "web", "specifications": droplet})
    state = await provider.create(StepContext(owner, spec, spec.resources[0], {}))
    await provider.wait(owner, [state], timeout=30)
    errors: list[Exception] = []
    try:
        await (await provider.api()).get_droplet("999999")
    except Exception as exc:  # the error text and repr are what we inspect
        errors.append(exc)
    await provider.delete(owner, state)
    api = await provider.api()
    seen = [
        repr(provider),
        repr(api),
        repr(api.client),
        repr(state),
        *(r.getMessage() for r in caplog.records),
        *(str(e) for e in errors),
        *(repr(e) for e in errors),
    ]
    assert errors
    assert all(CANARY not in text for text in seen)
    await provider.aclose()
