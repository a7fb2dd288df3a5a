"""The webhook signing secret (a canary here) never shows: not in logs, reprs, errors or reports.

Neither does the signature, which is as good as the secret for the request it signs.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from atlas.events import DeliveryError, EventDispatcher, WebhookSink
from atlas.plugins import get_plugin_manager
from tests.atlas.events.fakes import CANARY, Receiver, Recorder, make_event

MakeSink = Callable[..., WebhookSink]


def _hostile(request: httpx.Request) -> httpx.Response:
    # A receiver (or a proxy) that echoes what it was sent, secret-looking things included.
    echo = f"{CANARY} {request.headers['X-Atlas-Signature']}"
    return httpx.Response(400, text=echo, headers={"X-Echo": echo})


def _leaky_transport_error(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError(f"cannot reach; key={CANARY}", request=request)


async def test_the_canary_never_shows(
    outbox: Any, make_sink: MakeSink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx's own included
    events = [make_event(), make_event(), make_event()]
    outbox.add_events(events)
    flaky = Receiver(httpx.Response(500), _leaky_transport_error)
    hostile = Receiver(_hostile)
    sinks = [
        make_sink(flaky, name="flaky", max_attempts=2),
        make_sink(hostile, name="hostile"),
    ]
    hook = Recorder("hook", fail_on=[events[0].id])
    dispatcher = EventDispatcher(outbox, get_plugin_manager(plugins=[hook], autoload=False), sinks)

    report = await dispatcher.deliver_pending()

    assert len(report.failures) == 1 + 3 + 3  # the hook; flaky tried once then skipped; hostile
    signatures = [r.headers["X-Atlas-Signature"] for r in flaky.requests + hostile.requests]
    shown = [
        caplog.text,
        repr(report),
        str(report),
        repr(dispatcher),
        *(repr(sink) for sink in sinks),
        *(repr(vars(sink)) for sink in sinks),
        *(repr(failure) for failure in report.failures),
    ]
    for text in shown:
        assert CANARY not in text
        assert not any(signature in text for signature in signatures)


@pytest.mark.parametrize("answer", [_hostile, _leaky_transport_error], ids=["echo", "transport"])
async def test_errors_and_their_tracebacks_do_not_carry_the_canary(
    make_sink: MakeSink, answer: Callable[[httpx.Request], httpx.Response]
) -> None:
    receiver = Receiver(answer)

    with pytest.raises(DeliveryError) as caught:
        await make_sink(receiver, max_attempts=2).send(make_event())

    signature = receiver.requests[0].headers["X-Atlas-Signature"]
    rendered = "".join(traceback.format_exception(caught.value))
    for text in [str(caught.value), repr(caught.value), repr(caught.value.args), rendered]:
        assert CANARY not in text
        assert signature not in text


def test_the_sink_cannot_be_pickled_with_its_secret(make_sink: MakeSink) -> None:
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(make_sink(Receiver()))
