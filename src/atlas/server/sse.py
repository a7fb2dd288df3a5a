"""An operation's progress as server-sent events, until the operation ends.

The stream starts with everything so far and then follows the journal: a reconnecting client
simply gets the whole story again. Events, each ``data`` one JSON object:

- ``step``: a step whose status (or provider ids) changed, shaped like ``operation.steps[]``;
- ``deployment.started`` ... ``infrastructure.destroyed``: the lifecycle events of the
  operation, as webhooks carry them;
- ``operation``: the operation whenever it changed (``status``, ``completed_steps``, ...);
- ``end``: the last one, ``{"operation_id", "status", "error"}``; the stream then closes.

It reads the store, woken by the operation's own progress when it runs in this process and
every ``watch_interval`` seconds otherwise (an operation resumed by another process); a comment
line keeps quiet connections open through proxies.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from atlas.events import event_to_json
from atlas.facade import AsyncAtlas
from atlas.server.context import Service
from atlas.server.responses import iso, operation_json, step_json

__all__ = ["operation_events"]

_ENDED = ("completed", "failed")


def _frame(seq: int, name: str, data: Any) -> bytes:
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return f"id: {seq}\nevent: {name}\ndata: {text}\n\n".encode()


async def operation_events(
    svc: Service, atlas: AsyncAtlas, operation_id: str
) -> AsyncIterator[bytes]:
    """The stream of one operation (which must exist in ``atlas``'s workspace)."""
    seq = 0
    steps_seen: dict[int, tuple[Any, ...]] = {}
    events_seen: set[str] = set()
    last_op: dict[str, Any] | None = None
    quiet_since = time.monotonic()
    while True:
        op = atlas.operation(operation_id)
        steps = atlas.store.steps(operation_id)
        # Steps and lifecycle events in the order they happened; the operation after them.
        frames: list[tuple[str, str, Any]] = []
        for step in steps:
            key = (step.status, step.provider_ids, step.error)
            if steps_seen.get(step.index) != key:
                steps_seen[step.index] = key
                when = iso(step.finished_at or step.started_at) or ""
                frames.append((when, "step", step_json(step)))
        for event in atlas.store.events_of(atlas.workspace, operation_id):
            if event.id not in events_seen:
                events_seen.add(event.id)
                frames.append((iso(event.time) or "", event.type, event_to_json(event)))
        frames.sort(key=lambda frame: frame[0])
        current = operation_json(op, steps)
        if current != last_op:
            last_op = current
            frames.append(("", "operation", current))
        for _, name, data in frames:
            seq += 1
            yield _frame(seq, name, data)
        if op.status in _ENDED:
            end = {"operation_id": op.id, "status": op.status, "error": op.error}
            yield _frame(seq + 1, "end", end)
            return
        if frames:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= svc.settings.keepalive:
            quiet_since = time.monotonic()
            yield b": keep-alive\n\n"
        if svc.stopping.is_set():
            return
        await svc.operations.changed(svc.settings.watch_interval)
