"""Fixtures for the HTTP layer's tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from atlas.credentials import Secret
from atlas.http import ApiClient, BearerAuth, RetryPolicy
from tests.atlas.http.http_fakes import (
    BASE_URL,
    CANARY,
    PAGINATION,
    RATE_LIMITS,
    FakeTime,
    Script,
    read_error,
)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def token() -> Secret:
    return Secret(CANARY)


@pytest.fixture
def make_client(fake_time: FakeTime, token: Secret) -> Callable[..., ApiClient]:
    """Build ApiClients for the test API on fake time over a Script; fast retry policy unless
    one is given (and any other option)."""

    def make(script: Script, **kwargs: Any) -> ApiClient:
        kwargs.setdefault("retry", RetryPolicy(jitter=False))
        kwargs.setdefault("auth", BearerAuth(token))
        kwargs.setdefault("rate_limits", RATE_LIMITS)
        kwargs.setdefault("paginator", PAGINATION)
        kwargs.setdefault("errors", read_error)
        client = ApiClient(
            BASE_URL,
            transport=script.transport,
            sleep=fake_time.sleep,
            clock=fake_time.clock,
            wall_clock=fake_time.wall,
            **kwargs,
        )
        return client

    return make
