"""Lifecycle events: made with the state change, kept in the outbox, delivered at least once.

    infrastructure.created | infrastructure.updated | infrastructure.destroyed
    deployment.started     | deployment.completed   | deployment.failed

The code that changes state makes an event with :func:`new_event` and hands it to the store in
the same call (``start_operation``, ``finish_operation``), so the change and its event are
committed together or not at all. An :class:`EventDispatcher` then delivers the outbox to every
``atlas_on_event`` plugin hook and to sinks such as a :class:`WebhookSink`::

    async with WebhookSink("https://hooks.example/atlas", Secret(signing_key)) as webhook:
        dispatcher = EventDispatcher(store, pm, sinks=[webhook])
        report = await dispatcher.deliver_pending()      # or: await dispatcher.run(5.0, stop)
        for failure in report.failures:
            print(failure)                               # which event, which target, why

Delivery is at least once: after a crash between delivering and marking an event delivered,
it is delivered again with the same ``id``; receivers dedupe on it. Webhook receivers verify
each request with :func:`verify_signature` (see :mod:`atlas.events.webhook`).
"""

from __future__ import annotations

from atlas.events.dispatch import (
    DeliveryError,
    DeliveryFailure,
    DeliveryReport,
    EventDispatcher,
    EventOutbox,
    EventSink,
)
from atlas.events.payload import EVENT_TYPES, event_body, event_to_json, new_event
from atlas.events.webhook import SIGNATURE_TOLERANCE, WebhookSink, sign, verify_signature

__all__ = [
    "EVENT_TYPES",
    "SIGNATURE_TOLERANCE",
    "DeliveryError",
    "DeliveryFailure",
    "DeliveryReport",
    "EventDispatcher",
    "EventOutbox",
    "EventSink",
    "WebhookSink",
    "event_body",
    "event_to_json",
    "new_event",
    "sign",
    "verify_signature",
]
