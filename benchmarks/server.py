"""Benchmark 5 (HTTP server): PENDING the HTTP server issue; not run by default.

What it will measure, once ``atlas.server`` exists: requests per second and p50 / p99 latency
of ``POST /estimate-cost`` and ``GET /operations/{id}`` under a loopback load generator, the
server running as one worker process. Until then ``--only server`` prints only this notice;
no figure is made up.
"""

from __future__ import annotations

from benchmarks.harness import Table

PENDING = (
    "Pending the HTTP server issue (being written now): no figures yet. "
    "`python -m benchmarks --only server` will run it once `atlas.server` lands."
)


def table() -> Table:
    t = Table(
        "5. HTTP server (POST /estimate-cost, GET /operations/{id}) - pending",
        ["endpoint", "requests / s", "p50 (ms)", "p99 (ms)"],
    )
    t.add("POST /estimate-cost", "pending", "pending", "pending")
    t.add("GET /operations/{id}", "pending", "pending", "pending")
    t.notes.append(PENDING)
    return t
