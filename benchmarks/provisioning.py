"""Benchmarks 1 and 2: N identical droplets, created, waited on until active, and destroyed,
by atlas and by the libraries people use today, against the emulator served on loopback with a
boot latency L and DigitalOcean's real rate limits (250 per sliding minute, 5,000 per hour).

A *run* takes every tool once per N, each against a fresh emulator, back to back; ratios to
atlas are computed within a run, then the median over runs is reported.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import attrs

from atlas_digitalocean.emulator import RequestRecord
from benchmarks.harness import (
    Table,
    emulator_config,
    median,
    rate_limit_floor,
    run_worker,
    served,
    spread,
    throttled,
    verdict,
)

PEERS = ("libcloud", "pydo", "pydo-names", "python-digitalocean")
LABELS = {
    "atlas": "atlas",
    "libcloud": "apache-libcloud (wait_until_running)",
    "pydo": "pydo, one droplet per call",
    "pydo-names": "pydo, `names` (10 per call)",
    "python-digitalocean": "python-digitalocean (Action.wait)",
}
#: Runs that failed (a library raising, say), reported under the tables.
FAILURES: list[str] = []
#: Targets from the issue.
CALLS_TARGET = 0.2  # calls per droplet, whole cycle, at N = 100
ACTIVE_TARGET = 1.2  # x L at N = 100; x the rate-limit floor at N = 500


@attrs.frozen
class Run:
    """One tool, one N, one fresh emulator."""

    tool: str
    n: int
    boot: float
    start: float
    active: float
    end: float
    records: tuple[RequestRecord, ...]
    limiter: dict[str, float] | None = None

    @property
    def active_s(self) -> float:
        return self.active - self.start

    @property
    def cycle_s(self) -> float:
        return self.end - self.start

    @property
    def calls(self) -> int:
        return len(self.records)

    @property
    def calls_to_active(self) -> int:
        return sum(1 for r in self.records if r.at <= self.active)

    @property
    def per_droplet(self) -> float:
        return self.calls / self.n

    @property
    def throttled(self) -> int:
        return throttled(self.records)

    @property
    def floor(self) -> float:
        return rate_limit_floor(self.calls_to_active, self.boot)

    def routes(self) -> Counter[str]:
        return Counter(r.key for r in self.records)


def measure(
    tool: str,
    n: int,
    *,
    boot: float,
    poll: float | None = None,
    split: int | None = None,
) -> Run:
    """Run one workload in a child process against a fresh emulator; count what it sent."""
    config = emulator_config(boot=boot, droplet_limit=max(1000, 2 * n))
    with served(config) as emu:
        args = [tool, "--url", emu.url, "--n", str(n)]
        args += ["--poll", str(poll)] if poll is not None else []
        args += ["--split", str(split)] if split is not None else []
        marks = run_worker(args)
        records = tuple(emu.emulator.log.records)
        if not emu.emulator.is_empty():
            raise RuntimeError(f"{tool} at N={n} left objects behind")
    created = sum(1 for r in records if r.key == "POST /v2/droplets" and r.status == 202)
    if created == 0:
        raise RuntimeError(f"{tool} at N={n} created nothing")
    return Run(
        tool, n, boot, marks["start"], marks["active"], marks["end"], records, marks.get("limiter")
    )


def run_all(
    sizes: Sequence[int],
    peer_sizes: Sequence[int],
    runs: int,
    *,
    boot: float,
    peers: Sequence[str] = PEERS,
) -> list[list[Run]]:
    """``runs`` rounds; each round is atlas at every N and each peer at each N in
    ``peer_sizes``, back to back."""
    rounds: list[list[Run]] = []
    for i in range(1, runs + 1):
        batch: list[Run] = []
        for n in sizes:
            tools = ["atlas", *(peers if n in peer_sizes else ())]
            for tool in tools:
                try:
                    run = measure(tool, n, boot=boot)
                except RuntimeError as exc:
                    # One failed run must not cost the others; the tables report it.
                    FAILURES.append(f"run {i}, N={n}, {tool}: {str(exc).splitlines()[0]}")
                    print(f"  run {i}/{runs}  N={n:<4} {tool:<20} FAILED: {exc}", flush=True)
                    continue
                print(
                    f"  run {i}/{runs}  N={n:<4} {tool:<20} active {run.active_s:6.2f} s  "
                    f"cycle {run.cycle_s:6.2f} s  calls {run.calls:5d}  429s {run.throttled}",
                    flush=True,
                )
                batch.append(run)
        rounds.append(batch)
    return rounds


def _pick(rounds: Sequence[Sequence[Run]], tool: str, n: int) -> list[Run]:
    return [r for batch in rounds for r in batch if r.tool == tool and r.n == n]


def _ratios(rounds: Sequence[Sequence[Run]], tool: str, n: int, metric: str) -> list[float]:
    """``metric`` of ``tool`` over atlas's, within each round."""
    out = []
    for batch in rounds:
        mine = [r for r in batch if r.tool == tool and r.n == n]
        base = [r for r in batch if r.tool == "atlas" and r.n == n]
        if mine and base and getattr(base[0], metric):
            out.append(getattr(mine[0], metric) / getattr(base[0], metric))
    return out


def atlas_table(rounds: Sequence[Sequence[Run]], sizes: Sequence[int], boot: float) -> Table:
    runs = len(rounds)
    table = Table(
        f"1. atlas provisioning N droplets (s-1vcpu-1gb), L = {boot:g} s, real rate limits "
        f"- median (min-max) of {runs} run{'s' * (runs > 1)}",
        [
            "N",
            "all active (s)",
            "÷ L",
            "rate-limit floor (s)",
            "÷ floor",
            "create→active→destroy (s)",
            "calls / droplet",
            "429s",
            "targets",
        ],
    )
    for n in sizes:
        mine = _pick(rounds, "atlas", n)
        if not mine:
            continue
        active_l = [r.active_s / boot for r in mine]
        over_floor = [r.active_s / r.floor for r in mine]
        calls = [r.per_droplet for r in mine]
        t429 = [r.throttled for r in mine]
        checks = [f"429s = 0: {verdict(max(t429) == 0)}"]
        if n == 100:
            checks.append(f"≤ {ACTIVE_TARGET} x L: {verdict(median(active_l) <= ACTIVE_TARGET)}")
            checks.append(f"≤ {CALLS_TARGET} calls: {verdict(median(calls) <= CALLS_TARGET)}")
        if n >= 500:
            ok = median(over_floor) <= ACTIVE_TARGET
            checks.append(f"≤ {ACTIVE_TARGET} x floor: {verdict(ok)}")
        table.add(
            n,
            spread([r.active_s for r in mine]),
            spread(active_l),
            spread([r.floor for r in mine], "{:.0f}"),
            spread(over_floor),
            spread([r.cycle_s for r in mine]),
            spread(calls, "{:.3f}"),
            spread(t429, "{:.0f}"),
            "; ".join(checks),
        )
    table.notes += [f"FAILED, left out: {f}" for f in FAILURES if ", atlas:" in f]
    table.notes += [
        "all active: from the start of `AsyncAtlas.apply` until it returns with every droplet "
        "active (its pre-flight reads of live prices and the account's droplet limit included).",
        "rate-limit floor: the earliest all can be active given the calls made before that moment "
        "(C) at 250 per sliding minute: 60 s x ⌊(C - 1) / 250⌋ + L.",
        "calls / droplet: every request the emulator received during the whole cycle, ÷ N.",
    ]
    return table


def routes_table(
    rounds: Sequence[Sequence[Run]], sizes: Sequence[int], tools: Sequence[str]
) -> Table:
    seen: list[str] = []
    for batch in rounds:
        for run in batch:
            seen += [k for k in run.routes() if k not in seen]
    seen.sort(key=lambda k: (k.split(" ")[1], k.split(" ")[0]))
    table = Table(
        "1b. API calls per droplet by route, whole cycle (median over runs)",
        ["N", "tool", *(short_route(k) for k in seen), "of which 429"],
    )
    for n in sizes:
        for tool in tools:
            mine = _pick(rounds, tool, n)
            if not mine:
                continue
            cells = [median([r.routes()[k] / n for r in mine]) for k in seen]
            t429 = median([r.throttled / n for r in mine])
            table.add(n, LABELS[tool], *(f"{c:.2f}" if c else "-" for c in cells), f"{t429:.2f}")
    table.notes.append(
        "Routes without /v2/; `{id}` is a droplet id. `DELETE droplets` is the delete by tag "
        "(`?tag_name=`); atlas's `GET droplets` are tag-filtered lists (one per polling round, "
        "200 per page), plus one `per_page=1` count before creating and one check after deleting."
    )
    return table


def short_route(key: str) -> str:
    """A route as the tables show it: ``/v2/`` and placeholder names shortened."""
    method, path = key.split(" ", 1)
    path = path.removeprefix("/v2/").replace("{droplet_id}", "{id}")
    return f"{method} {path.replace('{action_id}', '{action}')}"


def peers_table(
    rounds: Sequence[Sequence[Run]], sizes: Sequence[int], peers: Sequence[str], boot: float
) -> Table:
    runs = len(rounds)
    table = Table(
        f"2. The same workload with other libraries, same emulator, same runs - median of "
        f"{runs} run{'s' * (runs > 1)}; x atlas = the library's figure over atlas's in the "
        "same run",
        [
            "N",
            "library",
            "all active (s)",
            "÷ L",
            "x atlas",
            "cycle (s)",
            "x atlas",
            "calls / droplet",
            "x atlas",
            "429s",
        ],
    )
    for n in sizes:
        for tool in ("atlas", *peers):
            mine = _pick(rounds, tool, n)
            if not mine:
                continue
            base = tool == "atlas"
            table.add(
                n,
                LABELS[tool],
                f"{median([r.active_s for r in mine]):.2f}",
                f"{median([r.active_s / boot for r in mine]):.2f}",
                "1" if base else f"{median(_ratios(rounds, tool, n, 'active_s')):.1f}",
                f"{median([r.cycle_s for r in mine]):.2f}",
                "1" if base else f"{median(_ratios(rounds, tool, n, 'cycle_s')):.1f}",
                f"{median([r.per_droplet for r in mine]):.2f}",
                "1" if base else f"{median(_ratios(rounds, tool, n, 'per_droplet')):.1f}",
                f"{median([r.throttled for r in mine]):.0f}",
            )
    table.notes += [f"FAILED, left out: {f}" for f in FAILURES]
    table.notes += [
        "Each library runs as its documentation shows, sequentially, with its own waiter where it "
        "has one; how each was pointed at the emulator and how 429s are handled is in "
        "benchmarks/peers.py.",
        "Peers build size/image/region objects directly (no lookup calls); atlas reads live "
        "prices and the account's droplet limit before creating (3 calls per apply).",
    ]
    return table
