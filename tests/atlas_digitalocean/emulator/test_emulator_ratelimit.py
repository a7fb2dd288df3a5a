"""Rate limits as DigitalOcean applies them: per token, a sliding minute and a sliding hour."""

from __future__ import annotations

import httpx
import pytest

from atlas_digitalocean.emulator import Emulator, EmulatorConfig, ManualClock, RateLimits
from tests.atlas_digitalocean.emulator.emulator_support import BASE_URL, TOKEN


def _client(emulator: Emulator, token: str = TOKEN) -> httpx.Client:
    return httpx.Client(
        base_url=BASE_URL,
        transport=emulator.transport(),
        headers={"Authorization": f"Bearer {token}"},
    )


def test_the_251st_request_in_a_minute_gets_a_burst_429_with_retry_after(
    emulator: Emulator, clock: ManualClock
) -> None:
    with _client(emulator) as client:
        for index in range(250):
            response = client.get("/v2/account")
            assert response.status_code == 200
            assert response.headers["ratelimit-remaining"] == str(5000 - index - 1)
            clock.advance(0.125)  # exact in binary, so the arithmetic below is too
        refused = client.get("/v2/account")
        assert refused.status_code == 429
        assert refused.json()["id"] == "too_many_requests"
        assert refused.json()["message"] == "API Rate limit exceeded."
        assert (
            refused.headers["retry-after"] == "29"
        )  # the oldest leaves at t0 + 60; now t0 + 31.25
        assert refused.headers["ratelimit-remaining"] == "4750"
        clock.advance(29)
        assert client.get("/v2/account").status_code == 200
    assert emulator.log.throttled == 1


def test_ratelimit_reset_is_when_the_oldest_request_leaves_the_hour(
    emulator: Emulator, clock: ManualClock
) -> None:
    start = clock()
    with _client(emulator) as client:
        client.get("/v2/account")
        clock.advance(100)
        response = client.get("/v2/account")
    assert response.headers["ratelimit-limit"] == "5000"
    assert response.headers["ratelimit-reset"] == str(int(start) + 3600)


def test_the_hourly_limit_refuses_without_retry_after_until_requests_age_out(
    clock: ManualClock,
) -> None:
    emulator = Emulator(EmulatorConfig(rate_limits=RateLimits(per_hour=10)), clock=clock)
    with _client(emulator) as client:
        for _ in range(10):
            assert client.get("/v2/account").status_code == 200
            clock.advance(60)
        refused = client.get("/v2/account")
        assert refused.status_code == 429
        assert "retry-after" not in refused.headers
        assert refused.headers["ratelimit-remaining"] == "0"
        clock.advance(3000)  # the first request is now an hour old
        assert client.get("/v2/account").status_code == 200


def test_limits_are_per_token(clock: ManualClock) -> None:
    emulator = Emulator(EmulatorConfig(rate_limits=RateLimits(per_minute=2)), clock=clock)
    with _client(emulator, "a") as first, _client(emulator, "b") as second:
        assert [first.get("/v2/account").status_code for _ in range(3)] == [200, 200, 429]
        assert second.get("/v2/account").status_code == 200


def test_refused_requests_do_not_count_against_the_window(clock: ManualClock) -> None:
    emulator = Emulator(EmulatorConfig(rate_limits=RateLimits(per_minute=1)), clock=clock)
    with _client(emulator) as client:
        client.get("/v2/account")
        for _ in range(5):
            assert client.get("/v2/account").status_code == 429
        clock.advance(60)
        assert client.get("/v2/account").status_code == 200


def test_limits_can_be_switched_off(clock: ManualClock) -> None:
    emulator = Emulator(EmulatorConfig(rate_limits=RateLimits(enabled=False)), clock=clock)
    with _client(emulator) as client:
        responses = [client.get("/v2/account") for _ in range(300)]
    assert {r.status_code for r in responses} == {200}
    assert responses[-1].headers["ratelimit-remaining"] == "5000"


@pytest.mark.parametrize("scale", [-1.0])
def test_negative_latency_scales_are_refused(scale: float) -> None:
    with pytest.raises(ValueError, match="latency_scale"):
        EmulatorConfig(latency_scale=scale)
