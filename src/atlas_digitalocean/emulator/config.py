"""Settings of an emulator: how long transitions take, rate limits, who may call it."""

from __future__ import annotations

from collections.abc import Iterable

import attrs


def _non_negative(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value!r}")


@attrs.frozen
class Latencies:
    """Seconds an asynchronous change takes on the emulated cloud, before ``latency_scale``.

    The defaults are short on purpose: long enough that a client which does not wait for
    completion gets caught, short enough for an interactive session against a served emulator.
    """

    droplet_boot: float = attrs.field(default=3.0, validator=_non_negative)
    droplet_action: float = attrs.field(default=2.0, validator=_non_negative)
    volume_action: float = attrs.field(default=1.0, validator=_non_negative)
    database_create: float = attrs.field(default=10.0, validator=_non_negative)
    database_resize: float = attrs.field(default=10.0, validator=_non_negative)
    load_balancer: float = attrs.field(default=5.0, validator=_non_negative)
    firewall: float = attrs.field(default=1.0, validator=_non_negative)


@attrs.frozen
class RateLimits:
    """DigitalOcean's per-token limits: a sliding minute (burst) and a sliding hour."""

    enabled: bool = True
    per_minute: int = 250
    per_hour: int = 5000


def _token_set(value: Iterable[str] | None) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        raise TypeError("tokens must be a collection of strings, not one string")
    return frozenset(value)


def _regions(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise TypeError("default_vpc_regions takes a collection of region slugs, not one string")
    return tuple(value)


@attrs.frozen
class EmulatorConfig:
    """Everything that shapes an emulator's behaviour; the state itself lives in the emulator.

    :param latencies: how long each asynchronous transition takes, in seconds.
    :param latency_scale: multiplies every latency; 0 makes every transition complete by the
        next request, which is the setting for unit tests.
    :param rate_limits: the per-token request limits and whether they are enforced.
    :param tokens: the bearer tokens accepted; ``None`` accepts any non-empty token.
    :param droplet_limit: the account's droplet limit, reported by ``GET /v2/account`` and
        enforced on create.
    :param seed: seeds identifiers and fake secrets, for reproducible runs; ``None`` draws a
        fresh seed so identifiers from two emulator runs do not collide.
    :param default_vpc_regions: regions whose default VPC exists from the start, as in an
        account that has used them before. Elsewhere, as DigitalOcean documents, the first VPC
        made in a region becomes its default (and can never be deleted).
    """

    latencies: Latencies = attrs.field(factory=Latencies)
    latency_scale: float = attrs.field(default=1.0, validator=_non_negative)
    rate_limits: RateLimits = attrs.field(factory=RateLimits)
    tokens: frozenset[str] | None = attrs.field(default=None, converter=_token_set)
    droplet_limit: int = 25
    seed: int | None = None
    default_vpc_regions: tuple[str, ...] = attrs.field(default=(), converter=_regions)

    def scaled(self, seconds: float) -> float:
        """The wall-clock delay of a transition that takes ``seconds`` on the real cloud."""
        return seconds * self.latency_scale
