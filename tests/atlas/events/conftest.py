"""Fixtures for the event tests: fake time, the canary secret, outboxes and webhook sinks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from atlas.credentials import Secret
from atlas.events import WebhookSink
from tests.atlas.events.fakes import CANARY, URL, FakeOutbox, Receiver
from tests.atlas.http.http_fakes import FakeTime


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def secret() -> Secret:
    return Secret(CANARY)


@pytest.fixture(params=["fake", "sqlite"])
def outbox(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The in-memory fake, and the real SQLite store when it is importable."""
    if request.param == "fake":
        yield FakeOutbox()
        return
    try:
        from atlas.store import SQLiteStore
    except ImportError:  # pragma: no cover - while the store is being written
        pytest.skip("atlas.store.SQLiteStore is not available")
    store = SQLiteStore(":memory:")
    yield store
    store.close()


@pytest.fixture
async def make_sink(
    fake_time: FakeTime, secret: Secret
) -> AsyncIterator[Callable[..., WebhookSink]]:
    """WebhookSinks over a Receiver, on fake time, without jitter unless asked."""
    made: list[WebhookSink] = []

    def make(receiver: Receiver, **kwargs: Any) -> WebhookSink:
        kwargs.setdefault("jitter", False)
        sink = WebhookSink(
            URL,
            secret,
            transport=receiver.transport,
            sleep=fake_time.sleep,
            clock=fake_time.clock,
            wall_clock=fake_time.wall,
            **kwargs,
        )
        made.append(sink)
        return sink

    yield make
    for sink in made:
        await sink.aclose()
