"""The request log: what was asked, by route template, and how it was answered."""

from __future__ import annotations

import threading
from collections import Counter

import attrs


@attrs.frozen
class RequestRecord:
    """One exchange. ``key`` is the method and route template, e.g.
    ``GET /v2/droplets/{droplet_id}``; ``status`` is ``None`` when the connection was dropped."""

    key: str
    path: str
    status: int | None
    request_id: str
    at: float


class RequestLog:
    """Every exchange in order, with counters benchmarks and tests can assert on."""

    def __init__(self) -> None:
        self._records: list[RequestRecord] = []
        self._lock = threading.Lock()

    def add(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    @property
    def records(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def counts(self) -> Counter[str]:
        """Requests per key (``"POST /v2/droplets"``)."""
        return Counter(record.key for record in self.records)

    def count(self, key: str | None = None, *, status: int | None = None) -> int:
        """Requests matching ``key`` and/or ``status``; everything when both are ``None``."""
        return sum(
            1
            for record in self.records
            if (key is None or record.key == key) and (status is None or record.status == status)
        )

    @property
    def throttled(self) -> int:
        """How many requests were answered 429."""
        return self.count(status=429)

    @property
    def dropped(self) -> int:
        """How many connections were dropped by a ``drop_after`` fault."""
        return sum(1 for record in self.records if record.status is None)
