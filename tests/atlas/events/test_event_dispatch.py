"""The dispatcher: every pending event to every hook and sink, in order, at least once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pluggy
import pytest

from atlas.events import DeliveryReport, EventDispatcher, WebhookSink
from atlas.exceptions import StateError
from atlas.model.records import EventRecord
from atlas.plugins import get_plugin_manager, hookimpl
from tests.atlas.events.fakes import CrashingOutbox, Receiver, Recorder, make_event
from tests.atlas.http.http_fakes import FakeTime

MakeSink = Callable[..., WebhookSink]


def _pm(*plugins: object) -> pluggy.PluginManager:
    return get_plugin_manager(plugins=plugins, autoload=False)


def _queue(outbox: Any, count: int) -> list[EventRecord]:
    events = [make_event(name=f"web-{i}") for i in range(count)]
    outbox.add_events(events)
    return events


def _ids(events: list[EventRecord]) -> list[str]:
    return [event.id for event in events]


async def test_every_event_goes_to_every_target_in_order_then_is_marked(
    outbox: Any, make_sink: MakeSink
) -> None:
    events = _queue(outbox, 3)
    log: list[str] = []
    first, second = Recorder("first", log=log), Recorder("second", log=log)
    receiver = Receiver(httpx.Response(204))
    dispatcher = EventDispatcher(outbox, _pm(first, second), [make_sink(receiver)])

    report = await dispatcher.deliver_pending()

    assert report == DeliveryReport(delivered=tuple(_ids(events)))
    assert report.ok
    assert first.seen == second.seen == receiver.delivery_ids == _ids(events)
    # Event by event: all of one event's targets before the next event.
    assert [entry.split(":")[1] for entry in log] == [e.id for e in events for _ in (1, 2)]
    assert outbox.pending_events() == []
    assert await dispatcher.deliver_pending() == DeliveryReport()


async def test_the_hook_gets_the_record_itself(outbox: Any) -> None:
    [event] = _queue(outbox, 1)
    seen: list[EventRecord] = []

    class Plugin:
        @hookimpl
        def atlas_on_event(self, event: EventRecord) -> None:
            seen.append(event)

    await EventDispatcher(outbox, _pm(Plugin())).deliver_pending()

    assert seen == [event]


async def test_a_failing_hook_keeps_its_event_pending_and_spares_the_rest(
    outbox: Any, make_sink: MakeSink, caplog: pytest.LogCaptureFixture
) -> None:
    events = _queue(outbox, 3)
    bad_id = events[1].id
    broken, healthy = Recorder("broken", fail_on=[bad_id]), Recorder("healthy")
    receiver = Receiver()
    dispatcher = EventDispatcher(outbox, _pm(broken, healthy), [make_sink(receiver)])

    report = await dispatcher.deliver_pending()

    assert report.delivered == (events[0].id, events[2].id)
    assert report.pending == (bad_id,)
    [failure] = report.failures
    assert (failure.event_id, failure.event_type, failure.target) == (
        bad_id,
        "infrastructure.created",
        "hook:broken",
    )
    assert failure.reason == "RuntimeError: broken cannot take infrastructure.created"
    assert not failure.permanent
    # The other hook and the webhook still had it, and every later event.
    assert healthy.seen == receiver.delivery_ids == _ids(events)
    assert _ids(outbox.pending_events()) == [bad_id]
    assert f"event {bad_id} (infrastructure.created) not delivered" in caplog.text
    assert "Traceback" in caplog.text  # the plugin's author needs it


async def test_a_failed_event_is_delivered_next_time_without_repeating_the_others(
    outbox: Any, make_sink: MakeSink
) -> None:
    [event] = _queue(outbox, 1)
    flaky, healthy = Recorder("flaky", fail_on=[event.id]), Recorder("healthy")
    receiver = Receiver()
    dispatcher = EventDispatcher(outbox, _pm(flaky, healthy), [make_sink(receiver)])
    assert not (await dispatcher.deliver_pending()).ok

    flaky.fail_on.clear()
    report = await dispatcher.deliver_pending()

    assert report.delivered == (event.id,)
    assert flaky.seen == [event.id, event.id]
    assert healthy.seen == receiver.delivery_ids == [event.id]  # accepted once is enough
    assert outbox.pending_events() == []


async def test_a_permanent_refusal_keeps_the_event_pending_and_is_reported(
    outbox: Any, make_sink: MakeSink, fake_time: FakeTime
) -> None:
    events = _queue(outbox, 3)
    refused = events[0].id

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400 if request.headers["X-Atlas-Delivery"] == refused else 200)

    receiver = Receiver(answer)
    sink = make_sink(receiver)
    dispatcher = EventDispatcher(outbox, sinks=[sink])

    report = await dispatcher.deliver_pending()

    assert report.pending == (refused,)
    assert report.delivered == (events[1].id, events[2].id)
    [failure] = report.failures
    assert failure.target == sink.name
    assert failure.permanent
    assert failure.reason == "refused with HTTP 400"
    assert str(failure) == (
        f"infrastructure.created {refused} -> webhook:https://hooks.example.test: "
        "permanent: refused with HTTP 400"
    )
    assert receiver.delivery_ids == _ids(events)  # refused once, not retried, others went on
    assert fake_time.sleeps == []
    assert _ids(outbox.pending_events()) == [refused]


async def test_an_unreachable_webhook_is_not_knocked_on_again_in_the_same_pass(
    outbox: Any, make_sink: MakeSink
) -> None:
    events = _queue(outbox, 3)
    hook = Recorder("hook")
    receiver = Receiver(httpx.ConnectError("down"))
    sink = make_sink(receiver, max_attempts=3)
    dispatcher = EventDispatcher(outbox, _pm(hook), [sink])

    report = await dispatcher.deliver_pending()

    assert report.delivered == ()
    assert report.pending == tuple(_ids(events))
    first, *skipped = report.failures
    assert first.attempted
    assert "unreachable (ConnectError); gave up after 3 attempts" in first.reason
    assert [f.event_id for f in skipped] == _ids(events)[1:]
    assert all(not f.attempted and f.reason.startswith("not tried") for f in skipped)
    assert len(receiver.requests) == 3  # the first event's attempts only
    assert hook.seen == _ids(events)

    # Back up: the webhook gets them in order; the hook, which had them, not again.
    receiver.answers = [httpx.Response(200)]
    receiver.requests.clear()
    report = await dispatcher.deliver_pending()

    assert report.delivered == tuple(_ids(events))
    assert receiver.delivery_ids == _ids(events)
    assert hook.seen == _ids(events)


async def test_order_is_the_outbox_order_across_batches(outbox: Any, make_sink: MakeSink) -> None:
    events = _queue(outbox, 7)
    receiver = Receiver()
    dispatcher = EventDispatcher(outbox, sinks=[make_sink(receiver)])

    reports = [await dispatcher.deliver_pending(limit=3) for _ in range(3)]

    assert [len(r.delivered) for r in reports] == [3, 3, 1]
    assert receiver.delivery_ids == _ids(events)
    assert [body["infrastructure_name"] for body in receiver.bodies()] == [
        f"web-{i}" for i in range(7)
    ]


async def test_a_crash_before_marking_means_a_redelivery_with_the_same_id(
    outbox: Any, make_sink: MakeSink
) -> None:
    [event] = _queue(outbox, 1)
    hook, receiver = Recorder("hook"), Receiver()
    crashing = CrashingOutbox(outbox)
    before = EventDispatcher(crashing, _pm(hook), [make_sink(receiver)])

    with pytest.raises(StateError):
        await before.deliver_pending()
    assert _ids(outbox.pending_events()) == [event.id]

    # The process restarts: a new dispatcher knows nothing of the first one's deliveries.
    after = EventDispatcher(crashing, _pm(hook), [make_sink(receiver)])
    report = await after.deliver_pending()

    assert report.delivered == (event.id,)
    assert hook.seen == [event.id, event.id]
    assert receiver.delivery_ids == [event.id, event.id]
    first, second = receiver.bodies()
    assert first == second
    assert outbox.pending_events() == []


async def test_a_store_error_without_a_restart_marks_without_redelivering(
    outbox: Any, make_sink: MakeSink
) -> None:
    [event] = _queue(outbox, 1)
    hook, receiver = Recorder("hook"), Receiver()
    dispatcher = EventDispatcher(CrashingOutbox(outbox), _pm(hook), [make_sink(receiver)])

    with pytest.raises(StateError):
        await dispatcher.deliver_pending()
    report = await dispatcher.deliver_pending()

    assert report.delivered == (event.id,)
    assert hook.seen == receiver.delivery_ids == [event.id]


async def test_without_targets_events_are_marked_delivered(outbox: Any) -> None:
    events = _queue(outbox, 2)

    report = await EventDispatcher(outbox, _pm()).deliver_pending()

    assert report.delivered == tuple(_ids(events))
    assert outbox.pending_events() == []


async def test_an_async_hook_implementation_is_awaited(outbox: Any) -> None:
    [event] = _queue(outbox, 1)
    seen: list[str] = []

    class AsyncPlugin:
        @hookimpl
        async def atlas_on_event(self, event: EventRecord) -> None:
            await asyncio.sleep(0)
            seen.append(event.id)

    report = await EventDispatcher(outbox, _pm(AsyncPlugin())).deliver_pending()

    assert seen == [event.id]
    assert report.ok


async def test_a_hook_implementation_may_take_no_argument(outbox: Any) -> None:
    _queue(outbox, 2)
    calls: list[None] = []

    class Plugin:
        @hookimpl
        def atlas_on_event(self) -> None:
            calls.append(None)

    assert (await EventDispatcher(outbox, _pm(Plugin())).deliver_pending()).ok
    assert len(calls) == 2


async def test_plugins_registered_later_are_included(outbox: Any) -> None:
    pm = _pm()
    dispatcher = EventDispatcher(outbox, pm)
    [event] = _queue(outbox, 1)
    late = Recorder("late")
    pm.register(late)

    await dispatcher.deliver_pending()

    assert late.seen == [event.id]


async def test_sink_names_must_be_unique(outbox: Any, make_sink: MakeSink) -> None:
    sinks = [make_sink(Receiver()), make_sink(Receiver())]

    with pytest.raises(ValueError, match=r"unique \(pass name=...\)"):
        EventDispatcher(outbox, sinks=sinks)


async def test_overlapping_passes_do_not_deliver_twice(outbox: Any, make_sink: MakeSink) -> None:
    events = _queue(outbox, 2)
    receiver = Receiver(httpx.Response(500), httpx.Response(200))
    dispatcher = EventDispatcher(outbox, sinks=[make_sink(receiver)])

    reports = await asyncio.gather(dispatcher.deliver_pending(), dispatcher.deliver_pending())

    assert sorted(len(r.delivered) for r in reports) == [0, 2]
    assert receiver.delivery_ids == [events[0].id, events[0].id, events[1].id]


async def test_one_warning_line_per_failed_delivery(
    outbox: Any, make_sink: MakeSink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="atlas.events")
    [event] = _queue(outbox, 1)
    dispatcher = EventDispatcher(outbox, sinks=[make_sink(Receiver(httpx.Response(422)))])

    await dispatcher.deliver_pending()

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        f"event {event.id} (infrastructure.created) not delivered: "
        f"infrastructure.created {event.id} -> webhook:https://hooks.example.test: "
        "permanent: refused with HTTP 422"
    ]


# -- the loop ------------------------------------------------------------------------------------


async def test_run_drains_a_backlog_and_stops_when_told(outbox: Any) -> None:
    events = _queue(outbox, 5)
    stop = asyncio.Event()
    seen: list[str] = []

    class Stopper:
        @hookimpl
        def atlas_on_event(self, event: EventRecord) -> None:
            seen.append(event.id)
            if len(seen) == len(events):
                stop.set()

    # Batches of 2: no rest between full batches, so no waiting at all here.
    await asyncio.wait_for(EventDispatcher(outbox, _pm(Stopper())).run(3600, stop, limit=2), 5)

    assert seen == _ids(events)
    assert outbox.pending_events() == []


async def test_run_survives_a_failing_pass(outbox: Any, caplog: pytest.LogCaptureFixture) -> None:
    [event] = _queue(outbox, 1)
    stop = asyncio.Event()

    class StopWhenEmpty(CrashingOutbox):
        def pending_events(self, *, limit: int = 100) -> list[EventRecord]:
            events = super().pending_events(limit=limit)
            if not events:
                stop.set()
            return events

    hook = Recorder("hook")
    dispatcher = EventDispatcher(StopWhenEmpty(outbox, crashes=2), _pm(hook))

    await asyncio.wait_for(dispatcher.run(0, stop), 5)

    assert hook.seen == [event.id]  # the hook had it; the store caught up on later passes
    assert outbox.pending_events() == []
    assert caplog.text.count("event delivery pass failed") == 2
