"""The webhook sink: signed requests, what is retried and for how long, and what is refused."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable

import httpx
import pytest

from atlas.credentials import Secret
from atlas.events import DeliveryError, WebhookSink, event_body, sign, verify_signature
from tests.atlas.events.fakes import CANARY, URL, Receiver, make_event
from tests.atlas.events.loopback import LoopbackReceiver
from tests.atlas.http.http_fakes import FakeTime

MakeSink = Callable[..., WebhookSink]


# -- the request and its signature ---------------------------------------------------------------


async def test_the_request_carries_the_event_and_its_headers(
    make_sink: MakeSink, fake_time: FakeTime
) -> None:
    receiver = Receiver(httpx.Response(200))
    event = make_event()

    await make_sink(receiver).send(event)

    [request] = receiver.requests
    assert request.method == "POST"
    assert str(request.url) == URL
    assert request.content == event_body(event)
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Atlas-Event"] == "infrastructure.created"
    assert request.headers["X-Atlas-Delivery"] == event.id
    assert request.headers["X-Atlas-Timestamp"] == str(int(fake_time.wall()))
    assert request.headers["User-Agent"].startswith("atlas/")
    assert receiver.verifies(request, now=fake_time.wall())


async def test_the_signature_is_hmac_sha256_of_timestamp_dot_body(
    make_sink: MakeSink, fake_time: FakeTime
) -> None:
    # What a receiver without atlas computes, spelled out once.
    receiver = Receiver()
    await make_sink(receiver).send(make_event())
    [request] = receiver.requests
    timestamp = request.headers["X-Atlas-Timestamp"]
    message = timestamp.encode() + b"." + request.content
    expected = hmac.new(CANARY.encode(), message, hashlib.sha256).hexdigest()

    assert request.headers["X-Atlas-Signature"] == f"sha256={expected}"


def _signed(secret: str = CANARY, timestamp: int = 1_700_000_000) -> tuple[str, bytes, str]:
    body = event_body(make_event())
    return str(timestamp), body, sign(Secret(secret), timestamp, body)


def test_verify_signature_accepts_a_fresh_genuine_request() -> None:
    timestamp, body, signature = _signed()

    assert verify_signature(Secret(CANARY), timestamp, body, signature, now=1_700_000_010)
    assert verify_signature(CANARY, int(timestamp), body, signature, now=1_700_000_010)
    assert verify_signature(CANARY.encode(), timestamp, body.decode(), signature, now=1.7e9)


def test_verify_signature_refuses_a_wrong_secret() -> None:
    timestamp, body, signature = _signed()

    assert not verify_signature("whsec_wrong", timestamp, body, signature, now=1_700_000_000)
    _, _, forged = _signed(secret="whsec_wrong")
    assert not verify_signature(CANARY, timestamp, body, forged, now=1_700_000_000)


@pytest.mark.parametrize("skew", [301, -301, 10_000])
def test_verify_signature_refuses_a_stale_or_future_timestamp(skew: int) -> None:
    timestamp, body, signature = _signed()
    now = 1_700_000_000 + skew

    assert not verify_signature(CANARY, timestamp, body, signature, now=now)
    assert verify_signature(CANARY, timestamp, body, signature, now=now, tolerance_seconds=10**5)


def test_verify_signature_refuses_an_altered_body_or_timestamp() -> None:
    timestamp, body, signature = _signed()

    assert not verify_signature(CANARY, timestamp, body + b" ", signature, now=1_700_000_000)
    assert not verify_signature(CANARY, "1700000001", body, signature, now=1_700_000_000)


@pytest.mark.parametrize(
    "timestamp",
    ["", "soon", "1.7e9", "-1700000000", "1_700_000_000", "\u0661\u0667" + "\u0660" * 8],
)
def test_verify_signature_refuses_a_malformed_timestamp(timestamp: str) -> None:
    _, body, signature = _signed()

    assert not verify_signature(CANARY, timestamp, body, signature, now=1_700_000_000)
    # Even signed over exactly that string, it is not a timestamp.
    forged = sign(CANARY, timestamp, body)
    assert not verify_signature(CANARY, timestamp, body, forged, now=1_700_000_000)


@pytest.mark.parametrize("signature", ["", "sha256=", "sha1=abc", "sha256=ÿ", "garbage"])
def test_verify_signature_refuses_a_malformed_signature(signature: str) -> None:
    timestamp, body, _ = _signed()

    assert not verify_signature(CANARY, timestamp, body, signature, now=1_700_000_000)


# -- retries -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(500),
        httpx.Response(502),
        httpx.Response(503),
        httpx.Response(504),
        httpx.Response(408),
        httpx.Response(429),
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("slow"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("peer closed"),
    ],
    ids=repr,
)
async def test_a_transient_failure_is_retried_then_delivered(
    make_sink: MakeSink, fake_time: FakeTime, failure: httpx.Response | Exception
) -> None:
    receiver = Receiver(failure, failure, httpx.Response(202))
    event = make_event()

    await make_sink(receiver, backoff_initial=1.0).send(event)

    assert len(receiver.requests) == 3
    assert receiver.delivery_ids == [event.id] * 3
    assert fake_time.sleeps == [1.0, 2.0]  # exponential, no real sleeping


async def test_every_attempt_is_signed_afresh(make_sink: MakeSink, fake_time: FakeTime) -> None:
    # A retry long after the first attempt must not arrive with a stale timestamp.
    receiver = Receiver(httpx.Response(500), httpx.Response(200))
    sink = make_sink(receiver, backoff_initial=400.0, backoff_max=400.0, max_total_time=1000.0)

    await sink.send(make_event())

    first, second = receiver.requests
    assert int(second.headers["X-Atlas-Timestamp"]) == int(first.headers["X-Atlas-Timestamp"]) + 400
    assert receiver.verifies(second, now=fake_time.wall())
    assert first.content == second.content


async def test_retry_after_is_honoured(make_sink: MakeSink, fake_time: FakeTime) -> None:
    receiver = Receiver(
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.Response(503, headers={"Retry-After": "3"}),
        httpx.Response(200),
    )

    await make_sink(receiver).send(make_event())

    assert fake_time.sleeps == [7.0, 3.0]


async def test_backoff_is_capped(make_sink: MakeSink, fake_time: FakeTime) -> None:
    receiver = Receiver(httpx.Response(500))
    sink = make_sink(receiver, max_attempts=6, backoff_initial=1.0, backoff_max=4.0)

    with pytest.raises(DeliveryError):
        await sink.send(make_event())

    assert fake_time.sleeps == [1.0, 2.0, 4.0, 4.0, 4.0]


async def test_backoff_has_jitter(make_sink: MakeSink, fake_time: FakeTime) -> None:
    receiver = Receiver(httpx.Response(500))
    sink = make_sink(receiver, max_attempts=8, backoff_initial=1.0, backoff_max=4.0, jitter=True)

    with pytest.raises(DeliveryError):
        await sink.send(make_event())

    caps = [1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    assert all(0 <= slept <= cap for slept, cap in zip(fake_time.sleeps, caps, strict=True))
    assert fake_time.sleeps != caps


async def test_out_of_attempts_is_a_transient_failure(make_sink: MakeSink) -> None:
    receiver = Receiver(httpx.Response(503))

    with pytest.raises(DeliveryError) as caught:
        await make_sink(receiver, max_attempts=3).send(make_event())

    assert len(receiver.requests) == 3
    assert not caught.value.permanent
    assert caught.value.status == 503
    assert caught.value.attempts == 3
    assert "answered HTTP 503; gave up after 3 attempts" in str(caught.value)


async def test_the_total_time_is_bounded(make_sink: MakeSink, fake_time: FakeTime) -> None:
    receiver = Receiver(httpx.ConnectError("refused"))
    sink = make_sink(receiver, max_attempts=100, backoff_initial=1.0, max_total_time=20.0)
    started = fake_time.clock()

    with pytest.raises(DeliveryError, match="unreachable"):
        await sink.send(make_event())

    assert fake_time.sleeps == [1.0, 2.0, 4.0, 8.0]  # the next (16 s) would overrun 20 s
    assert fake_time.clock() - started <= 20.0


async def test_the_request_timeout_never_outlasts_the_budget(
    make_sink: MakeSink, fake_time: FakeTime
) -> None:
    timeouts: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        timeouts.append(request.extensions["timeout"]["read"])
        return httpx.Response(500)

    sink = make_sink(Receiver(answer), timeout=10.0, backoff_initial=4.0, max_total_time=14.0)
    with pytest.raises(DeliveryError):
        await sink.send(make_event())

    assert timeouts == [10.0, 10.0, 2.0]  # after 4 s, 10 s still fit; after 4 + 8, only 2
    sink = make_sink(Receiver(answer), timeout=10.0, backoff_initial=8.0, max_total_time=14.0)
    timeouts.clear()
    with pytest.raises(DeliveryError):
        await sink.send(make_event())
    assert timeouts == [10.0, 6.0]  # 8 s slept: 6 s left


async def test_a_long_retry_after_is_not_slept_but_remembered(
    make_sink: MakeSink, fake_time: FakeTime
) -> None:
    receiver = Receiver(httpx.Response(429, headers={"Retry-After": "120"}), httpx.Response(200))
    sink = make_sink(receiver, max_total_time=60.0)

    with pytest.raises(DeliveryError, match="asking to wait 120s") as caught:
        await sink.send(make_event())
    assert not caught.value.permanent
    assert fake_time.sleeps == []

    # The next send, before the receiver's time is up, does not knock.
    with pytest.raises(DeliveryError, match="asked to wait 120s more"):
        await sink.send(make_event())
    assert len(receiver.requests) == 1

    fake_time.now += 120
    await sink.send(make_event())
    assert len(receiver.requests) == 2


# -- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 413, 422, 501, 301, 302])
async def test_a_refusal_is_permanent_and_not_retried(
    make_sink: MakeSink, fake_time: FakeTime, status: int
) -> None:
    headers = {"Location": "https://elsewhere.test/"} if 300 <= status < 400 else {}
    receiver = Receiver(httpx.Response(status, headers=headers))

    with pytest.raises(DeliveryError) as caught:
        await make_sink(receiver).send(make_event())

    assert len(receiver.requests) == 1  # and no redirect followed
    assert caught.value.permanent
    assert caught.value.status == status
    assert str(caught.value) == f"refused with HTTP {status}"
    assert fake_time.sleeps == []


async def test_an_event_that_cannot_be_encoded_is_refused_without_a_request(
    make_sink: MakeSink,
) -> None:
    import attrs

    receiver = Receiver()
    event = attrs.evolve(make_event(), data={"bad": object()})

    with pytest.raises(DeliveryError, match="cannot encode") as caught:
        await make_sink(receiver).send(event)

    assert caught.value.permanent
    assert receiver.requests == []


# -- construction and logging --------------------------------------------------------------------


def test_the_secret_must_be_a_secret() -> None:
    with pytest.raises(TypeError, match="Secret"):
        WebhookSink(URL, CANARY)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        WebhookSink(URL, Secret(""))


@pytest.mark.parametrize("url", ["hooks.example.test/atlas", "ftp://hooks.example.test/", "/x"])
def test_the_url_must_be_absolute_http(url: str) -> None:
    with pytest.raises(ValueError, match="absolute http"):
        WebhookSink(url, Secret(CANARY))


async def test_the_name_leaves_out_the_path(make_sink: MakeSink) -> None:
    sink = make_sink(Receiver())
    named = make_sink(Receiver(), name="ops webhook")

    assert sink.name == "webhook:https://hooks.example.test"
    assert "T0KEN" not in repr(sink)
    assert named.name == "ops webhook"


async def test_one_log_line_per_attempt(
    make_sink: MakeSink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="atlas.events")
    receiver = Receiver(httpx.Response(500), httpx.ConnectError("x"), httpx.Response(200))
    event = make_event()

    await make_sink(receiver).send(event)

    attempts = [r.getMessage() for r in caplog.records if "POST" in r.getMessage()]
    assert attempts == [
        f"webhook:https://hooks.example.test: POST {event.id} (infrastructure.created) "
        f"-> {outcome} in 0.000s (attempt {n})"
        for n, outcome in [(1, 500), (2, "ConnectError"), (3, 200)]
    ]
    assert all(r.name == "atlas.events" for r in caplog.records)


async def test_the_body_is_the_wire_shape(make_sink: MakeSink) -> None:
    receiver = Receiver()
    event = make_event(cost="-7.005", currency="EUR")

    await make_sink(receiver).send(event)

    [body] = receiver.bodies()
    assert body["cost_change"] == -7.01
    assert body["cost_change_exact"] == "-7.005"
    assert body["currency"] == "EUR"
    assert json.loads(event_body(event)) == body


# -- over a real socket ----------------------------------------------------------------------


async def test_a_receiver_on_loopback_takes_a_genuine_request_and_refuses_a_forged_one() -> None:
    event = make_event()
    with LoopbackReceiver(secret=CANARY) as receiver:
        async with WebhookSink(receiver.url, Secret(CANARY)) as genuine:
            await genuine.send(event)
        async with WebhookSink(receiver.url, Secret(CANARY + "-not")) as forged:
            with pytest.raises(DeliveryError) as refused:
                await forged.send(event)
    assert (refused.value.status, refused.value.permanent) == (401, True)
    ok, bad = receiver.deliveries
    assert (ok.verified, ok.status, bad.verified, bad.status) == (True, 204, False, 401)
    assert ok.body == bad.body == event_body(event)
    assert ok.delivery_id == bad.delivery_id == event.id
